"""flaky's hooks: each raises (one after writing a note, which must be rolled back)."""

from __future__ import annotations

from typing import Any

from merchant_voice.plugin_api import Job, TenantSession, hookimpl
from tests.plugins.notes.public import Note


@hookimpl
def merchant_created(session: TenantSession) -> None:
    session.add(Note(text="flaky was here"))
    session.flush()
    raise RuntimeError("flaky cannot seed merchants")  # its row above must be rolled back


@hookimpl
def merchant_details(session: TenantSession) -> dict[str, Any]:
    raise RuntimeError("flaky cannot describe merchants")


@hookimpl
def job_finished(session: TenantSession, job: Job) -> None:
    raise RuntimeError("flaky ignores jobs")


@hookimpl
def dashboard_panels(place: str) -> list[Any]:
    raise RuntimeError(f"flaky cannot draw a panel on the {place}")
