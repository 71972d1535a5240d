"""Support calls' hooks: the retention job, its own call tools, its dashboard pages, and
forgetting a customer or a merchant."""

from __future__ import annotations

import logging
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

from merchant_voice.plugin_api import (
    OVERVIEW,
    SETTINGS,
    CallTool,
    DashboardPage,
    DashboardPanel,
    JobRegistry,
    MerchantInfo,
    RedactedCustomer,
    TenantSession,
    hookimpl,
)
from plugins.support_calls import dashboard
from plugins.support_calls.privacy import purge_expired, redact_phones
from plugins.support_calls.records import adopt_recordings, recordings_dir
from plugins.support_calls.settings import SupportCallsSettings
from plugins.support_calls.tools.service import service_tools

log = logging.getLogger(__name__)


@hookimpl
def startup(app: Flask) -> None:
    """Recordings of versions that kept them in ``<instance>/recordings`` move to the
    plugin's data folder, where retention and redaction find them."""
    with app.app_context():
        moved = adopt_recordings(Path(app.instance_path) / "recordings")
    if moved:
        log.info("moved %d call recordings into the plugin's data folder", moved)


@hookimpl
def register_jobs(registry: JobRegistry) -> None:
    registry.add("support_calls.retention", purge_expired, every=timedelta(days=1))


@hookimpl
def call_tools(settings: SupportCallsSettings) -> list[CallTool[SupportCallsSettings]]:
    return service_tools(settings)


@hookimpl
def customer_redacted(session: TenantSession, customer: RedactedCustomer) -> dict[str, Any]:
    """Their calls, found by their numbers: the platform's and those on their orders."""
    return {"deleted_calls": redact_phones(session, list(customer.all_phones))}


@hookimpl
def merchant_deleted(merchant: MerchantInfo) -> None:
    """Its recordings (its calls went with it)."""
    shutil.rmtree(recordings_dir() / str(merchant.id), ignore_errors=True)


@hookimpl
def dashboard_pages() -> list[DashboardPage]:
    return [dashboard.PAGE]


@hookimpl
def dashboard_panels(
    session: TenantSession, settings: SupportCallsSettings, place: str
) -> list[DashboardPanel] | None:
    if place == OVERVIEW:
        return [dashboard.overview_panel(session)]
    if place == SETTINGS:
        return [dashboard.settings_panel(settings)]
    return None
