"""``flask --app app narrate MERCHANT --all|--listing HANDLE [--locales ...]``."""

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
from plugins.narration import service
from plugins.narration.settings import NarrationSettings


@click.command("narrate")
@with_appcontext
@click.argument("merchant")
@click.option("--locales", help="Comma-separated locales (default: all the merchant's).")
@click.option("--all", "all_listings", is_flag=True, help="Narrate every listing.")
@click.option("--listing", "handles", multiple=True, help="A listing's handle (repeatable).")
@click.option("--overwrite-edits", is_flag=True, help="Replace scripts people edited or approved.")
@json_option
@handle_errors({"locales": "--locales"})
def narrate(
    merchant: str,
    locales: str | None,
    all_listings: bool,
    handles: tuple[str, ...],
    overwrite_edits: bool,
    as_json: bool,
) -> None:
    """Write the narration scripts of MERCHANT's listings (--all, or --listing HANDLE)."""
    wanted = [part for part in (locales or "").split(",") if part.strip()] or None
    with merchant_session(merchant) as tenant:
        settings = current_settings(NarrationSettings)
        targets = service.locales(tenant, wanted)
        chosen = listings_for_command(tenant, all_listings, handles)
        bar = click.progressbar(
            length=len(chosen) * len(targets), label="Narrating", file=sys.stderr
        )
        with engines().chat_running(), bar:
            shown = 0

            def progress(done: int, _total: int) -> None:
                nonlocal shown
                bar.update(done - shown)
                shown = done

            report = service.narrate(
                tenant,
                settings,
                chosen,
                targets,
                overwrite_edits=overwrite_edits,
                progress=progress,
                waiting=tell_waiting,
            )
    audio = report.audio_counts()
    text = (
        f"{len(report.narrations)} scripts in {', '.join(targets)}: {report.written} written,"
        f" {report.current} current, {report.kept_edits} human edits kept"
        f" ({report.held} held for review: the listing changed what they say),"
        f" {report.flagged} flagged for review\n"
        f"audio: {', '.join(f'{count} {outcome}' for outcome, count in audio.items())}"
    )
    errors = sorted({str(n["audio_error"]) for n in report.narrations if n["audio_error"]})
    text += "".join(f"\n  {error}" for error in errors)
    emit(report.as_dict(), as_json, text)
