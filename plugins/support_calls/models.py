"""Calls: one row per phone call, written as it happens."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from merchant_voice.db import Base, UTCDateTime, utcnow
from merchant_voice.tenancy import MerchantOwned


class CallStatus(enum.StrEnum):
    """Twilio's call statuses (the ones a status callback reports)."""

    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    FAILED = "failed"
    NO_ANSWER = "no-answer"
    CANCELED = "canceled"


FINAL_STATUSES = frozenset(
    {
        CallStatus.COMPLETED,
        CallStatus.BUSY,
        CallStatus.FAILED,
        CallStatus.NO_ANSWER,
        CallStatus.CANCELED,
    }
)


class Call(MerchantOwned, Base):
    """A shopper's call. ``stream_token_hash`` admits the one media stream of the call."""

    __tablename__ = "support_calls_calls"
    __table_args__ = (UniqueConstraint("merchant_id", "provider", "call_sid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20), default="twilio")
    call_sid: Mapped[str] = mapped_column(String(64))
    caller: Mapped[str] = mapped_column(String(32), default="")
    callee: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(20), default=CallStatus.RINGING.value)
    language: Mapped[str | None] = mapped_column(String(35))
    outcome: Mapped[str | None] = mapped_column(String(20))
    stream_token_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    stream_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stream_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_s: Mapped[int | None] = mapped_column()
