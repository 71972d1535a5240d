"""A plugin whose hooks raise: the host must log, report and carry on."""

from __future__ import annotations

from typing import Any

from merchant_voice.plugin_api import Plugin, hookimpl
from merchant_voice.tenancy import TenantSession

plugin = Plugin(name="flaky", version="0.1.0", host_api="~=1.0")


@hookimpl
def merchant_created(session: TenantSession) -> None:
    raise RuntimeError("flaky cannot seed merchants")


@hookimpl
def merchant_details(session: TenantSession) -> dict[str, Any]:
    raise RuntimeError("flaky cannot describe merchants")


@hookimpl
def job_finished(session: TenantSession, job: Any) -> None:
    raise RuntimeError("flaky ignores jobs")
