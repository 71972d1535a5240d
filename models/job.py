"""Background jobs: the durable record of every piece of queued work."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Enum, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from merchant_voice.orm import Base, UTCDateTime, utcnow
from merchant_voice.tenancy import MerchantOwned


class JobStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for a worker (first run, or a retry after its delay)
    RUNNING = "running"  # claimed by a worker, which sends heartbeats
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # every attempt failed; ``error`` says why

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED)


ESTIMATE_FROM = 0.02  # the share of a job done before its finish is estimated


def _new_id() -> str:
    return uuid.uuid4().hex


class Job(MerchantOwned, Base):
    __tablename__ = "jobs"
    __tenant_readonly__ = True  # written only through JobService

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=_new_id)
    kind: Mapped[str] = mapped_column(String(100))
    status: Mapped[JobStatus] = mapped_column(
        Enum(
            JobStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]
        ),
        default=JobStatus.QUEUED,
        index=True,
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    progress: Mapped[float] = mapped_column(default=0.0)
    progress_message: Mapped[str] = mapped_column(String(200), default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int]
    worker: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def expected_finish_at(self) -> datetime | None:
        """When a running attempt should finish at the pace it has kept so far (None: not
        running, or too little done to say)."""
        if self.status is not JobStatus.RUNNING or self.started_at is None:
            return None
        if not ESTIMATE_FROM <= self.progress < 1:
            return None
        elapsed = max(utcnow() - self.started_at, timedelta(0))
        return self.started_at + elapsed / self.progress


class JobSchedule(MerchantOwned, Base):
    """When a periodic job kind is next due for a merchant (claimed by one process only)."""

    __tablename__ = "job_schedules"
    __host_only__ = True
    __table_args__ = (UniqueConstraint("kind", "merchant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(100))
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
