"""``flask --app app translate MERCHANT --all|--listing HANDLE [--locales ...]``."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from merchant_voice.plugin_api import (
    current_settings,
    emit,
    engines,
    handle_errors,
    json_option,
    merchant_session,
    tell_waiting,
)
from plugins.catalog.public import listings_for_command
from plugins.translation import service
from plugins.translation.settings import TranslationSettings


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
    wanted = [part for part in (locales or "").split(",") if part.strip()] or None
    with merchant_session(merchant) as tenant:
        settings = current_settings(TranslationSettings)
        targets = service.target_locales(tenant, settings, wanted)
        chosen = listings_for_command(tenant, all_listings, handles)
        total = len(chosen) * len(targets)
        bar = click.progressbar(length=total, label="Translating", file=sys.stderr)
        with engines().chat_running(), bar:
            shown = 0

            def progress(done: int, _total: int, _work: float) -> None:
                nonlocal shown
                bar.update(done - shown)
                shown = done

            report = service.translator(tenant, settings, tell_waiting).translate(
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
