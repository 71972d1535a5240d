"""The merchant's glossary, as the API and the dashboard read and replace it: terms kept
as written, or forced to a translation in a locale."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import delete, select

from merchant_voice.plugin_api import TenantSession, ValidationFailed
from plugins.translation.locales import normalize
from plugins.translation.models import GlossaryEntry


def _term(value: str) -> str:
    value = value.strip()
    if not re.search(r"\w", value):
        raise ValueError("a term needs at least one letter or digit")
    return value


class GlossaryTermIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    term: Annotated[str, AfterValidator(_term)] = Field(min_length=1, max_length=200)
    locale: Annotated[str, AfterValidator(lambda v: v and normalize(v))] = Field(
        "", description='A locale (de_AT), a language (de), or "" for every locale'
    )
    translation: str | None = Field(
        None, max_length=500, description="Forced translation; null: never translated"
    )


def terms(session: TenantSession) -> list[GlossaryTermIn]:
    rows = session.scalars(select(GlossaryEntry).order_by(GlossaryEntry.term, GlossaryEntry.locale))
    return [GlossaryTermIn(term=r.term, locale=r.locale, translation=r.translation) for r in rows]


def replace(session: TenantSession, new: Sequence[GlossaryTermIn]) -> None:
    """The merchant's whole glossary becomes ``new`` (caller commits); a term listed twice
    for one locale is refused (``ValidationFailed`` naming ``terms.<index>``)."""
    seen: set[tuple[str, str]] = set()
    for index, term in enumerate(new):
        if (term.term, term.locale) in seen:
            message = f"{term.term!r} is listed twice for locale {term.locale or '(all)'!r}"
            raise ValidationFailed(message, [{"field": f"terms.{index}", "message": message}])
        seen.add((term.term, term.locale))
    session.execute(delete(GlossaryEntry))
    session.add_all(GlossaryEntry(**term.model_dump()) for term in new)
