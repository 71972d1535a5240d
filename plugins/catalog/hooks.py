"""The catalog's hooks: its import job, its command, its count, and the product tool."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import func, select

from merchant_voice.plugin_api import (
    CallTool,
    DashboardPage,
    JobContext,
    JobRegistry,
    PluginSettings,
    TenantSession,
    hookimpl,
)
from plugins.catalog import dashboard
from plugins.catalog.call_tools import PRODUCT_INFO
from plugins.catalog.cli import catalog
from plugins.catalog.importers import parse, store
from plugins.catalog.models import CatalogImport, Listing


def run_import(context: JobContext[PluginSettings]) -> dict[str, Any]:
    """Job ``catalog.import``: import an uploaded file, then drop its bytes."""
    record = context.session.get(CatalogImport, context.payload["import_id"])
    if record is None or record.content is None:
        raise LookupError(f"catalog import {context.payload['import_id']} has no file")
    content, format = record.content, record.format
    context.session.commit()  # no transaction (nor the write lock) while the file is parsed
    parsed = parse(content, format)  # listings are built as the store takes them
    total = max(parsed.rows, 1)
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        context.progress(done / total, f"{done} of {parsed.rows} rows")

    report = store(context.session, parsed, progress=advance).as_dict()
    context.session.writes_first()  # the record is read again, then written
    record.report, record.content = report, None
    return report


@hookimpl
def dashboard_pages() -> list[DashboardPage]:
    return [dashboard.PAGE]


@hookimpl
def register_jobs(registry: JobRegistry) -> None:
    registry.add("catalog.import", run_import)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(catalog)


@hookimpl
def merchant_details(session: TenantSession) -> dict[str, Any]:
    return {"listings": session.scalar(select(func.count(Listing.id)))}


@hookimpl
def call_tools() -> list[CallTool[PluginSettings]]:
    return [PRODUCT_INFO]
