"""A listing's narration in one locale: its script, and how it came about."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from merchant_voice.plugin_api import Base, MerchantOwned, UTCDateTime, utcnow


class ScriptStatus(enum.StrEnum):
    MACHINE = "machine"  # the model's, every check passed
    FLAGGED = "flagged"  # the model's last try failed a check: ``flags`` says which
    EDITED = "edited"  # a person wrote or changed it: re-runs leave it alone unless asked
    APPROVED = "approved"  # a person approved it: re-runs leave it alone unless asked
    # A person's script that the listing has since made wrong (it says a number, an old
    # price, that the listing no longer has: ``flags``): kept, not voiced, until a person
    # edits or approves it again.
    REVIEW = "review"


KEPT = (ScriptStatus.EDITED.value, ScriptStatus.APPROVED.value, ScriptStatus.REVIEW.value)
HELD = (ScriptStatus.FLAGGED.value, ScriptStatus.REVIEW.value)  # no audio until reviewed


class Narration(MerchantOwned, Base):
    """One listing's narration in one locale.

    ``source_hash`` fingerprints what the script was written from (the listing's
    fields as narrated, in that locale, and the length asked for): a script whose
    source has changed since is *outdated*, and a re-run writes it again.

    ``audio_hash`` is the content hash of the audio rendered (``render.Plan``); its files
    are ``files.paths(...)``. ``audio_error`` says why the last rendering failed.
    """

    __tablename__ = "narration_narrations"
    __table_args__ = (UniqueConstraint("merchant_id", "listing_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_listings.id", ondelete="CASCADE"), index=True
    )
    locale: Mapped[str] = mapped_column(String(35))
    script: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default=ScriptStatus.MACHINE.value)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    source_hash: Mapped[str] = mapped_column(String(64), default="")
    source_locale: Mapped[str] = mapped_column(String(35), default="")  # what it was told from
    model: Mapped[str] = mapped_column(String(200), default="")
    audio_hash: Mapped[str] = mapped_column(String(64), default="")
    voice: Mapped[str] = mapped_column(String(200), default="")
    audio_seconds: Mapped[float | None] = mapped_column(Float)
    sample_rate: Mapped[int | None] = mapped_column(Integer)
    loudness_lufs: Mapped[float | None] = mapped_column(Float)
    audio_bytes: Mapped[int] = mapped_column(Integer, default=0)  # the files', all formats
    audio_error: Mapped[str] = mapped_column(Text, default="")
    audio_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a run last read the listing for this narration (``refresh`` narrates again
    # those whose listing or translation changed since).
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class LexiconEntry(MerchantOwned, Base):
    """How the merchant's voice says a term: a respelling, or phonemes (eSpeak's, as Piper
    reads them). ``locale`` is a locale (de_AT), a language (de) or "" for every locale."""

    __tablename__ = "narration_lexicon"
    __table_args__ = (UniqueConstraint("merchant_id", "term", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(35), default="")
    respelling: Mapped[str | None] = mapped_column(String(500))
    phonemes: Mapped[str | None] = mapped_column(String(500))

    def said_as(self) -> str:
        """What the voice is given for the term: Piper reads ``[[ ... ]]`` as phonemes."""
        return f"[[ {self.phonemes} ]]" if self.phonemes else self.respelling or self.term
