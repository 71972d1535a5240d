"""The catalog plugin: listings and variants for every other plugin to use."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from merchant_voice import accounts
from merchant_voice.cli.output import emit, handle_errors, json_option
from merchant_voice.jobs import JobContext, JobRegistry
from merchant_voice.plugin_api import Plugin, hookimpl
from merchant_voice.tenancy import TenantSession

plugin = Plugin(
    name="catalog",
    version="0.1.0",
    host_api=">=1.0,<2",
    description="Product listings and variants, imported from Shopify and WooCommerce",
    models=".models",
    blueprints=(".api:bp", ".webhooks:bp"),
)


@click.group("catalog")
def catalog() -> None:
    """The merchants' product catalogs."""


@catalog.command("import")
@with_appcontext
@click.argument("merchant")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "format_",
    type=click.Choice(["shopify", "woocommerce"]),
    help="The file's format (detected from its header when not given).",
)
@json_option
@handle_errors()
def import_catalog(merchant: str, file: Path, format_: str | None, as_json: bool) -> None:
    """Import FILE (Shopify or WooCommerce product CSV) into MERCHANT's catalog."""
    from plugins.catalog.importers import parse, store

    db = current_app.extensions["db"]
    with db.host_session() as session:
        info = accounts.merchant_by_slug(session, merchant).info()
    parsed = parse(file.read_bytes(), format_)
    progress = click.progressbar(  # on stderr, so that --json output stays clean
        length=len(parsed.listings), label="Importing", file=sys.stderr
    )
    with db.tenant_session(info) as tenant, progress as bar:
        report = store(tenant, parsed, progress=bar.update)
    data = report.as_dict()
    lines = [
        f"{report.format}: {report.rows} rows, {report.created} listings created,"
        f" {report.updated} updated, {len(report.errors)} rows with errors"
    ]
    lines += [f"  {error}" for error in report.errors]
    emit(data, as_json, "\n".join(lines))


def run_import(context: JobContext) -> dict[str, Any]:
    """Job ``catalog.import``: import an uploaded file, then drop its bytes."""
    from plugins.catalog.importers import parse, store
    from plugins.catalog.models import CatalogImport

    record = context.session.get(CatalogImport, context.payload["import_id"])
    if record is None or record.content is None:
        raise LookupError(f"catalog import {context.payload['import_id']} has no file")
    parsed = parse(record.content, record.format)
    total = max(len(parsed.listings), 1)
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        context.progress(done / total, f"{done} of {total} listings")

    report = store(context.session, parsed, progress=advance).as_dict()
    record.report, record.content = report, None
    return report


@hookimpl
def register_jobs(registry: JobRegistry) -> None:
    registry.add("catalog.import", run_import)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(catalog)


@hookimpl
def merchant_details(session: TenantSession) -> dict[str, Any]:
    from plugins.catalog.models import Listing

    return {"listings": session.scalar(select(func.count(Listing.id)))}
