"""A plugin whose hooks raise: the host must log, report and carry on."""

from __future__ import annotations

from typing import Any

from merchant_voice.plugin_api import Plugin, hookimpl
from merchant_voice.tenancy import TenantSession
from tests.plugins.notes.models import Note

plugin = Plugin(name="flaky", version="0.1.0", host_api="~=1.0")


@hookimpl
def merchant_created(session: TenantSession) -> None:
    session.add(Note(text="flaky was here"))
    session.flush()
    raise RuntimeError("flaky cannot seed merchants")  # its row above must be rolled back


@hookimpl
def merchant_details(session: TenantSession) -> dict[str, Any]:
    raise RuntimeError("flaky cannot describe merchants")


@hookimpl
def job_finished(session: TenantSession, job: Any) -> None:
    raise RuntimeError("flaky ignores jobs")
