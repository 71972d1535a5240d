"""A merchant's pronunciation lexicon: the terms its voice says another way, per locale.

An entry for a locale (de_AT) wins over one for its language (de), which wins over
one for every locale (""). ``GET|PUT /api/v1/narration/lexicon``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from sqlalchemy import delete, select

from merchant_voice.plugin_api import TenantSession, ValidationFailed, normalize_locale
from plugins.narration.models import LexiconEntry

Said = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    term: str = Field(min_length=1, max_length=200)
    locale: str = Field("", max_length=35)  # a locale, a language, or "" for every locale
    respelling: Said | None = None
    phonemes: Annotated[Said, StringConstraints(pattern=r"^[^\[\]]+$")] | None = None

    @field_validator("term")
    @classmethod
    def _term(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the term is blank")
        return value.strip()

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        return normalize_locale(value) if value.strip() else ""

    @model_validator(mode="after")
    def _one_way(self) -> Entry:
        if (self.respelling is None) == (self.phonemes is None):
            raise ValueError("give the term a respelling or phonemes (one of the two)")
        return self


def entries(session: TenantSession) -> list[Entry]:
    rows = session.scalars(select(LexiconEntry).order_by(LexiconEntry.term, LexiconEntry.locale))
    return [
        Entry(term=r.term, locale=r.locale, respelling=r.respelling, phonemes=r.phonemes)
        for r in rows
    ]


def replace(session: TenantSession, new: Sequence[Entry]) -> None:
    """The merchant's whole lexicon becomes ``new`` (caller commits); a term given twice
    for one locale (in any case) is refused: ``ValidationFailed`` naming ``entries.<i>``."""
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(new):
        key = (entry.term.casefold(), entry.locale)
        if key in seen:
            message = f"{entry.term!r} is given twice for locale {entry.locale or '(all)'!r}"
            raise ValidationFailed(message, [{"field": f"entries.{index}", "message": message}])
        seen.add(key)
    session.execute(delete(LexiconEntry))
    session.add_all(
        LexiconEntry(term=e.term, locale=e.locale, respelling=e.respelling, phonemes=e.phonemes)
        for e in new
    )


def said_as(session: TenantSession, locale: str) -> dict[str, str]:
    """Term -> what the voice is given for it in ``locale``."""
    language = locale.split("_")[0]
    rank = {"": 0, language: 1, locale: 2}
    chosen: dict[str, tuple[int, LexiconEntry]] = {}
    for row in session.scalars(select(LexiconEntry).where(LexiconEntry.locale.in_(rank))):
        key = row.term.casefold()
        if key not in chosen or rank[row.locale] > chosen[key][0]:
            chosen[key] = (rank[row.locale], row)
    return {row.term: row.said_as() for _, row in chosen.values()}
