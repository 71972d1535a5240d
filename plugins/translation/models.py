"""Translations of listings, the translation memory and each merchant's glossary."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from merchant_voice.plugin_api import Base, MerchantOwned, UTCDateTime, utcnow


class Review(enum.StrEnum):
    MACHINE = "machine"  # as the model wrote it
    REVIEWED = "reviewed"  # a person approved it unchanged
    EDITED = "edited"  # a person changed it: re-runs leave it alone unless asked


class ListingTranslation(MerchantOwned, Base):
    """One listing in one locale.

    ``fields`` holds only what passed every check (title, description_html,
    bullet_points, attributes); a field that failed is absent and ``flags``
    says why. ``source_hashes`` fingerprints each source field as it was
    translated: a listing whose source has changed since is *outdated*.
    """

    __tablename__ = "translation_listings"
    __table_args__ = (UniqueConstraint("merchant_id", "listing_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_listings.id", ondelete="CASCADE"), index=True
    )
    locale: Mapped[str] = mapped_column(String(35))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    flags: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    source_hashes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    review: Mapped[str] = mapped_column(String(10), default=Review.MACHINE.value)
    model: Mapped[str] = mapped_column(String(200), default="")
    translated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class MemoryEntry(MerchantOwned, Base):
    """A translated segment, keyed by the SHA-256 of its masked source text."""

    __tablename__ = "translation_memory"
    __table_args__ = (UniqueConstraint("merchant_id", "locale", "source_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    locale: Mapped[str] = mapped_column(String(35))
    source_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GlossaryEntry(MerchantOwned, Base):
    """A term kept as written (no translation), or forced to a translation in a locale.

    ``locale`` is a locale (de_AT), a language (de) or "" for every locale.
    """

    __tablename__ = "translation_glossary"
    __table_args__ = (UniqueConstraint("merchant_id", "term", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(35), default="")
    translation: Mapped[str | None] = mapped_column(String(500))

    @classmethod
    def rows(cls, session: Session) -> list[tuple[str, str, str | None]]:
        """The merchant's glossary as (term, locale, translation) rows."""
        return [(g.term, g.locale, g.translation) for g in session.scalars(select(cls))]
