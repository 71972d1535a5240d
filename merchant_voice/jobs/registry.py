"""Job kinds and what their handlers receive."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from merchant_voice.errors import JobError, UnknownJobKind
from merchant_voice.tenancy import TenantSession


class JobContext(Protocol):
    """What a handler gets: the job's identity, payload, merchant session, progress."""

    job_id: str
    kind: str
    payload: dict[str, Any]
    attempt: int
    session: TenantSession

    def progress(self, fraction: float, message: str = "") -> None:
        """Record progress (0..1); ``GET /api/v1/jobs/<id>`` shows it within ``heartbeat_s``."""


JobHandler = Callable[[JobContext], dict[str, Any] | None]
"""Runs one job. Returns its JSON-serialisable result; raises to fail the attempt."""


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: JobHandler
    max_attempts: int | None = None
    every: timedelta | None = None  # periodic: once per period for each merchant


class JobRegistry:
    """Every job kind the host can run, registered by plugins' ``register_jobs``."""

    def __init__(self) -> None:
        self._kinds: dict[str, JobKind] = {}

    def add(
        self,
        kind: str,
        handler: JobHandler,
        *,
        max_attempts: int | None = None,
        every: timedelta | None = None,
    ) -> None:
        """Register ``handler`` for ``kind`` (``<plugin>.<action>``).

        With ``every``, the host also queues the job itself, once per period, for
        each merchant that has the plugin enabled (see :mod:`merchant_voice.jobs.schedule`).
        """
        if kind in self._kinds:
            raise JobError(f"job kind {kind!r} is already registered")
        if "." not in kind:
            raise JobError(f"job kind {kind!r} must be named <plugin>.<action>")
        if every is not None and every < timedelta(minutes=1):
            raise JobError(f"job kind {kind!r}: a period under a minute is not supported")
        self._kinds[kind] = JobKind(kind, handler, max_attempts, every)

    def get(self, kind: str) -> JobKind:
        try:
            return self._kinds[kind]
        except KeyError:
            known = ", ".join(sorted(self._kinds)) or "none"
            raise UnknownJobKind(f"no job kind {kind!r} is registered (known: {known})") from None

    def __contains__(self, kind: str) -> bool:
        return kind in self._kinds

    def kinds(self) -> list[str]:
        return sorted(self._kinds)
