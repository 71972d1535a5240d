"""A merchant's narration settings (``plugins configure MERCHANT narration KEY=VALUE``)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, model_validator

from merchant_voice.plugin_api import PluginSettings


class NarrationSettings(PluginSettings):
    """Per merchant: ``flask --app app plugins configure MERCHANT narration KEY=VALUE``."""

    min_seconds: int = Field(20, ge=5, le=300, description="Shortest narration, in seconds")
    max_seconds: int = Field(40, ge=5, le=300, description="Longest narration, in seconds")
    words_per_minute: int = Field(
        150, ge=60, le=260, description="Speaking rate the length is judged by"
    )
    retries: int = Field(2, ge=0, le=5, description="Retries of a script that fails a check")
    follow_catalog: bool = Field(
        True,
        description="Every hour, narrate again the listings (or translations) changed since"
        " their narrations were made, in those narrations' locales",
    )
    link_hours: int = Field(
        168, ge=1, le=8760, description="How long a signed audio link for storefronts works"
    )

    @model_validator(mode="after")
    def _ordered(self) -> NarrationSettings:
        if self.min_seconds > self.max_seconds:
            raise ValueError("min_seconds must not be above max_seconds")
        return self

    def word_range(self) -> tuple[int, int]:
        """The fewest and most words a script may have."""
        rate = self.words_per_minute / 60
        return round(self.min_seconds * rate), round(self.max_seconds * rate)

    def link_lifetime(self) -> timedelta:
        return timedelta(hours=self.link_hours)
