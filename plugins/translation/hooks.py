"""The translation plugin's hooks: its job, its command, and its counts."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import func, select

from merchant_voice.plugin_api import (
    LISTING,
    SETTINGS,
    DashboardPanel,
    JobContext,
    JobRegistry,
    TenantSession,
    hookimpl,
)
from plugins.translation import dashboard, service
from plugins.translation.cli import translate
from plugins.translation.models import ListingTranslation
from plugins.translation.settings import TranslationSettings


def run_job(context: JobContext[TranslationSettings]) -> dict[str, Any]:
    """Job ``translation.translate``: payload listing_ids (None: all), locales, overwrite_edits."""
    payload = context.payload

    def progress(done: int, total: int, work: float) -> None:
        context.progress(work, f"{done} of {total} translations")

    report = service.run(
        context.session,
        context.settings,
        payload.get("listing_ids"),
        payload.get("locales"),
        overwrite_edits=bool(payload.get("overwrite_edits")),
        progress=progress,
        waiting=context.waiting,
    )
    return report.as_dict()


@hookimpl
def register_jobs(registry: JobRegistry) -> None:
    registry.add(service.JOB_KIND, run_job)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(translate)


@hookimpl
def merchant_details(session: TenantSession) -> dict[str, Any]:
    query = select(ListingTranslation.locale, func.count(ListingTranslation.id)).group_by(
        ListingTranslation.locale
    )
    return {"translations": {locale: count for locale, count in session.execute(query)}}


@hookimpl
def dashboard_panels(
    session: TenantSession, settings: TranslationSettings, place: str, subject: int | None
) -> list[DashboardPanel] | None:
    if place == SETTINGS:
        return [dashboard.settings_panel(session)]
    if place != LISTING or subject is None:
        return None
    found = dashboard.panel(session, settings, subject)
    return [found] if found is not None else None
