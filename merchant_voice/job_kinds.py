"""Job kinds and what their handlers receive: the jobs part of the plugin contract.

Plugins register kinds in their ``register_jobs`` hook; :mod:`merchant_voice.jobs` runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from merchant_voice.errors import JobError, UnknownJobKind
from merchant_voice.plugin_declaration import PluginSettings
from merchant_voice.tenancy import TenantSession

S = TypeVar("S", bound=PluginSettings)
S_co = TypeVar("S_co", bound=PluginSettings, covariant=True)


class JobContext(Protocol[S_co]):
    """What a handler gets: the job's identity and payload, the merchant's session, the
    settings of the plugin that owns the kind for that merchant, and a progress call."""

    @property
    def job_id(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def payload(self) -> dict[str, Any]: ...

    @property
    def attempt(self) -> int: ...

    @property
    def session(self) -> TenantSession: ...

    @property
    def settings(self) -> S_co: ...

    def progress(self, fraction: float, message: str = "") -> None:
        """Record progress (0..1); ``GET /api/v1/jobs/<id>`` shows it within ``heartbeat_s``."""

    def waiting(self, why: str) -> None:
        """Show what the job waits for, keeping its progress (``""``: it goes on, and its
        last progress message is shown again). A chat request's ``on_wait``: "starting the
        text model NAME" while an on-demand model's server starts."""


JobHandler = Callable[[JobContext[S]], dict[str, Any] | None]
"""Runs one job. Returns its JSON-serialisable result; raises to fail the attempt."""


@dataclass(frozen=True)
class JobKind:
    name: str
    plugin: str  # the plugin that registered it, and whose settings its jobs get
    handler: JobHandler[Any]
    max_attempts: int | None = None
    every: timedelta | None = None  # periodic: once per period for each merchant


class JobKinds:
    """Every job kind the host can run, as plugins registered them (``register_jobs``)."""

    def __init__(self) -> None:
        self._kinds: dict[str, JobKind] = {}

    def for_plugin(self, plugin: str) -> JobRegistry:
        """What ``plugin``'s ``register_jobs`` hook gets: it adds kinds named after it."""
        return JobRegistry(self, plugin)

    def _add(self, kind: JobKind) -> None:
        if kind.name in self._kinds:
            raise JobError(f"job kind {kind.name!r} is already registered")
        self._kinds[kind.name] = kind

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


class JobRegistry:
    """One plugin's hand on the job kinds: ``registry.add("notes.count", handler)``."""

    def __init__(self, kinds: JobKinds, plugin: str) -> None:
        self._kinds = kinds
        self.plugin = plugin

    def add(
        self,
        kind: str,
        handler: JobHandler[S],
        *,
        max_attempts: int | None = None,
        every: timedelta | None = None,
    ) -> None:
        """Register ``handler`` for ``kind``, named ``<plugin>.<action>`` after this plugin.
        Its jobs get this plugin's settings for their merchant.

        With ``every``, the host also queues the job itself, once per period, for
        each merchant that has the plugin enabled (see :mod:`merchant_voice.jobs.schedule`).
        """
        plugin, _, action = kind.partition(".")
        if plugin != self.plugin or not action:
            raise JobError(f"job kind {kind!r} must be named {self.plugin}.<action>")
        if every is not None and every < timedelta(minutes=1):
            raise JobError(f"job kind {kind!r}: a period under a minute is not supported")
        self._kinds._add(JobKind(kind, plugin, handler, max_attempts, every))
