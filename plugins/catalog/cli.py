"""``flask --app app catalog import MERCHANT FILE``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from merchant_voice.plugin_api import emit, handle_errors, json_option, merchant_session
from plugins.catalog.importers import parse, store


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
    with merchant_session(merchant) as tenant:
        parsed = parse(file.read_bytes(), format_)
        progress = click.progressbar(  # on stderr, so that --json output stays clean
            length=parsed.rows, label="Importing", file=sys.stderr
        )
        with progress as bar:
            report = store(tenant, parsed, progress=bar.update)
    data = report.as_dict()
    lines = [
        f"{report.format}: {report.rows} rows, {report.created} listings created,"
        f" {report.updated} updated, {len(report.errors)} rows with errors"
    ]
    lines += [f"  {error}" for error in report.errors]
    emit(data, as_json, "\n".join(lines))
