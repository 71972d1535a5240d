"""The narration plugin's hooks: its job, its command, its counts, and its files' care."""

from __future__ import annotations

from typing import Any

import click
from flask import Flask
from sqlalchemy import func, select

from merchant_voice.plugin_api import (
    LISTING,
    SETTINGS,
    DashboardPanel,
    JobContext,
    JobRegistry,
    MerchantInfo,
    TenantSession,
    hookimpl,
)
from plugins.catalog.public import chosen_listings
from plugins.narration import dashboard, files, refresh, service
from plugins.narration.cli import narrate
from plugins.narration.models import Narration
from plugins.narration.settings import NarrationSettings


def run_job(context: JobContext[NarrationSettings]) -> dict[str, Any]:
    """Job ``narration.narrate``: payload listing_ids (None: all), locales, overwrite_edits."""
    payload = context.payload

    def progress(done: int, total: int) -> None:
        context.progress(done / max(total, 1), f"{done} of {total} narrations")

    session = context.session
    report = service.narrate(
        session,
        context.settings,
        chosen_listings(session, payload.get("listing_ids")),
        service.locales(session, payload.get("locales"), narrated=True),
        overwrite_edits=bool(payload.get("overwrite_edits")),
        progress=progress,
        waiting=context.waiting,
    )
    return report.as_dict()


@hookimpl
def startup(app: Flask) -> None:
    files.watch_listing_deletions()


@hookimpl
def merchant_deleted(merchant: MerchantInfo) -> None:
    files.remove_merchant(merchant.id)


@hookimpl
def register_jobs(registry: JobRegistry) -> None:
    registry.add(service.JOB_KIND, run_job)
    registry.add(refresh.JOB_KIND, refresh.run_refresh, every=refresh.EVERY)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(narrate)


@hookimpl
def merchant_details(session: TenantSession) -> dict[str, Any]:
    query = select(Narration.status, func.count(Narration.id)).group_by(Narration.status)
    return {
        "narrations": {status: count for status, count in session.execute(query)},
        "audio_bytes": files.used_bytes(session),
    }


@hookimpl
def dashboard_panels(
    session: TenantSession, settings: NarrationSettings, place: str, subject: int | None
) -> list[DashboardPanel] | None:
    if place == SETTINGS:
        return [dashboard.settings_panel(session)]
    if place != LISTING or subject is None:
        return None
    found = dashboard.panel(session, settings, subject)
    return [found] if found is not None else None
