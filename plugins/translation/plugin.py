"""The translation plugin: listings translated into every market locale by the shared LLM."""

from __future__ import annotations

import sys
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from merchant_voice import accounts
from merchant_voice.cli.output import emit, handle_errors, json_option
from merchant_voice.errors import ValidationFailed
from merchant_voice.jobs import JobContext, JobRegistry
from merchant_voice.plugin_api import Plugin, hookimpl
from merchant_voice.tenancy import TenantSession
from plugins.translation.service import TranslationSettings

plugin = Plugin(
    name="translation",
    version="0.1.0",
    host_api=">=1.0,<2",
    description="Listings translated into the merchant's market locales, markup and numbers kept",
    settings=TranslationSettings,
    models=".models",
    blueprints=(".api:bp",),
)

JOB_KIND = "translation.translate"


def run_job(context: JobContext) -> dict[str, Any]:
    """Job ``translation.translate``: payload listing_ids (None: all), locales, overwrite_edits."""
    from plugins.translation import service

    payload = context.payload

    def progress(done: int, total: int) -> None:
        context.progress(done / max(total, 1), f"{done} of {total} translations")

    report = service.run(
        context.session,
        payload.get("listing_ids"),
        payload.get("locales"),
        overwrite_edits=bool(payload.get("overwrite_edits")),
        progress=progress,
    )
    return report.as_dict()


@click.command("translate")
@with_appcontext
@click.argument("merchant")
@click.option("--locales", help="Comma-separated target locales (default: the market locales).")
@click.option("--all", "all_listings", is_flag=True, help="Translate every listing.")
@click.option("--listing", "handles", multiple=True, help="A listing's handle (repeatable).")
@click.option("--overwrite-edits", is_flag=True, help="Replace translations edited by people.")
@json_option
@handle_errors({"locales": "--locales"})
def translate(
    merchant: str,
    locales: str | None,
    all_listings: bool,
    handles: tuple[str, ...],
    overwrite_edits: bool,
    as_json: bool,
) -> None:
    """Translate MERCHANT's listings (--all, or --listing HANDLE) into --locales."""
    from plugins.catalog.models import Listing
    from plugins.translation import service

    if all_listings == bool(handles):
        message = "give either --all or one or more --listing HANDLE"
        raise ValidationFailed(message, [{"field": "--all", "message": message}])
    db = current_app.extensions["db"]
    with db.host_session() as session:
        info = accounts.merchant_by_slug(session, merchant).info()
    wanted = [part for part in (locales or "").split(",") if part.strip()] or None
    with db.tenant_session(info) as tenant:
        targets = service.target_locales(tenant, wanted)
        ids = None
        if handles:
            query = select(Listing.handle, Listing.id).where(Listing.handle.in_(handles))
            found = {handle: listing_id for handle, listing_id in tenant.execute(query)}
            missing = [h for h in handles if h not in found]
            if missing:
                message = f"no listing with handle {', '.join(missing)}"
                raise ValidationFailed(message, [{"field": "--listing", "message": message}])
            ids = [found[h] for h in handles]
        chosen = service.listings(tenant, ids)
        total = len(chosen) * len(targets)
        bar = click.progressbar(length=total, label="Translating", file=sys.stderr)
        with current_app.extensions["engines"].chat_running(), bar:
            shown = 0

            def progress(done: int, _total: int) -> None:
                nonlocal shown
                bar.update(done - shown)
                shown = done

            report = service.translator(tenant).translate(
                chosen, targets, overwrite_edits=overwrite_edits, progress=progress
            )
    data = report.as_dict()
    text = (
        f"{report.translations} translations into {', '.join(targets)}: {report.written} written,"
        f" {report.unchanged} unchanged, {report.kept_edits} human edits kept,"
        f" {report.flagged_fields} fields flagged; {report.sent} segments sent to the model,"
        f" {report.memory_hits} from translation memory, in {report.seconds:.1f} s"
    )
    emit(data, as_json, text)


@hookimpl
def register_jobs(registry: JobRegistry) -> None:
    registry.add(JOB_KIND, run_job)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(translate)


@hookimpl
def merchant_details(session: TenantSession) -> dict[str, Any]:
    from plugins.translation.models import ListingTranslation

    query = select(ListingTranslation.locale, func.count(ListingTranslation.id)).group_by(
        ListingTranslation.locale
    )
    return {"translations": {locale: count for locale, count in session.execute(query)}}
