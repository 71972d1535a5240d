"""A merchant's translation settings (``plugins configure MERCHANT translation KEY=VALUE``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from merchant_voice.plugin_api import PluginSettings
from plugins.translation.locales import language, normalize

LimitedField = Literal["title", "description_html", "bullet_points"]


def _limit_key(value: str) -> str:
    return value if value == "*" else normalize(value)


def _source_locale(value: str) -> str:
    return value and normalize(value)


def _default_limits() -> dict[str, dict[LimitedField, int]]:
    return {"*": {"title": 255}}


class TranslationSettings(PluginSettings):
    """Per merchant: ``flask --app app plugins configure MERCHANT translation KEY=VALUE``."""

    source_locale: str = Field(
        "", description="The listings' locale; empty: the merchant's default"
    )
    max_lengths: dict[
        Annotated[str, AfterValidator(_limit_key)], dict[LimitedField, Annotated[int, Field(gt=0)]]
    ] = Field(
        default_factory=_default_limits,
        description='Characters per field, by locale, language or "*": {"de": {"title": 150}}',
    )
    retries: int = Field(2, ge=0, le=5, description="Retries of a segment that fails a check")

    def limits_for(self, locale: str) -> dict[str, int]:
        """``*``, then the language's, then the locale's own limits."""
        limits: dict[str, int] = {}
        for key in ("*", language(locale), locale):
            limits.update({str(name): n for name, n in self.max_lengths.get(key, {}).items()})
        return limits
