"""The catalog's hooks: its import job, its command, its count, and the product tool."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import func, select

from merchant_voice.plugin_api import (
    CallTool,
    DashboardPage,
    JobRegistry,
    PluginSettings,
    TenantSession,
    hookimpl,
)
from plugins.catalog import dashboard
from plugins.catalog.call_tools import PRODUCT_INFO
from plugins.catalog.cli import catalog
from plugins.catalog.imports import JOB_KIND, run_import
from plugins.catalog.models import Listing


@hookimpl
def dashboard_pages() -> list[DashboardPage]:
    return [dashboard.PAGE]


@hookimpl
def register_jobs(registry: JobRegistry) -> None:
    registry.add(JOB_KIND, run_import)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(catalog)


@hookimpl
def merchant_details(session: TenantSession) -> dict[str, Any]:
    return {"listings": session.scalar(select(func.count(Listing.id)))}


@hookimpl
def call_tools() -> list[CallTool[PluginSettings]]:
    return [PRODUCT_INFO]
