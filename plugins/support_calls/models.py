"""Calls and their turns, written as they happen: a crash loses at most the turn in flight."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from merchant_voice.plugin_api import Base, MerchantOwned, UTCDateTime, utcnow


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


class Outcome(enum.StrEnum):
    RESOLVED = "resolved"
    HANDED_OFF = "handed_off"
    ABANDONED = "abandoned"
    SILENT = "silent"  # the host could not speak: no audio ever reached the caller


class Call(MerchantOwned, Base):
    """A shopper's call. ``stream_token_hash`` admits the one media stream of the call."""

    __tablename__ = "support_calls_calls"
    __table_args__ = (UniqueConstraint("merchant_id", "provider", "call_sid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20), default="twilio")
    call_sid: Mapped[str] = mapped_column(String(64))
    caller: Mapped[str] = mapped_column(String(32), default="")
    caller_key: Mapped[str] = mapped_column(String(16), default="", index=True)  # for redaction
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
    stream_sid: Mapped[str | None] = mapped_column(String(64))
    # What Twilio does once the stream ends (<Connect action>): "transfer" or "hang_up".
    next_action: Mapped[str | None] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(Text)  # left for the merchant
    recording_path: Mapped[str | None] = mapped_column(String(500))
    turns: Mapped[list[Turn]] = relationship(
        back_populates="call", order_by="Turn.index", cascade="all, delete-orphan"
    )


class Unanswered(enum.StrEnum):
    """Why a caller's utterance got no reply; every utterance is kept, answered or not."""

    EMPTY = "empty"  # nothing was recognised in it (a cough, a noise)
    SUPERSEDED = "superseded"  # the caller spoke again first: read with the next turn
    HUNG_UP = "hung_up"  # the caller hung up first
    RECOGNITION_FAILED = "recognition_failed"  # the speech engine failed: the fallback line


class Turn(MerchantOwned, Base):
    """One exchange: what the caller said, what the agent answered, and how long each stage took.

    Timings are in milliseconds from the end of the caller's speech: ``endpoint_ms`` (the
    end of turn was detected), ``asr_ms`` (speech recognition took), ``llm_first_token_ms``
    (the model's first token, from its request), ``reply_ready_ms`` (the reply's first
    audio was made; a reply that acts on the call is begun only once the end of the turn
    is certain), ``first_audio_ms`` (the first reply frame was sent: voice-to-voice latency).
    """

    __tablename__ = "support_calls_turns"
    __table_args__ = (UniqueConstraint("call_id", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(
        ForeignKey("support_calls_calls.id", ondelete="CASCADE"), index=True
    )
    index: Mapped[int] = mapped_column()
    source: Mapped[str] = mapped_column(String(10), default="speech")  # greeting, speech, dtmf
    transcript: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str | None] = mapped_column(String(35))
    reply: Mapped[str] = mapped_column(Text, default="")
    reply_locale: Mapped[str | None] = mapped_column(String(35))
    tool_calls: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # what the model wrote but the call's facts did not support: not spoken
    withheld: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    interrupted: Mapped[bool] = mapped_column(default=False)
    fallback: Mapped[bool] = mapped_column(default=False)  # the chat engine failed
    unanswered: Mapped[str | None] = mapped_column(String(20))  # why not (Unanswered); None: was
    endpoint_ms: Mapped[int | None] = mapped_column()
    asr_ms: Mapped[int | None] = mapped_column()
    llm_first_token_ms: Mapped[int | None] = mapped_column()
    reply_ready_ms: Mapped[int | None] = mapped_column()
    first_audio_ms: Mapped[int | None] = mapped_column()
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    call: Mapped[Call] = relationship(back_populates="turns")
