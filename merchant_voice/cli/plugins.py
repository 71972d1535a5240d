"""``plugins`` commands: what is loaded, and each merchant's choice and settings."""

from __future__ import annotations

import json
from typing import Any

import click
from flask.cli import AppGroup

from merchant_voice import plugin_state, voices
from merchant_voice.cli.output import emit, handle_errors, json_option
from merchant_voice.extensions import engines, plugin_manager
from merchant_voice.web.hooks import merchant_session


@click.group(cls=AppGroup)
def plugins() -> None:
    """List plugins; enable, disable and configure them per merchant."""


@plugins.command("list")
@json_option
def list_plugins(as_json: bool) -> None:
    """Every plugin found, its version and status (loaded, refused, disabled)."""
    manager = plugin_manager()
    rows: list[dict[str, Any]] = [
        {
            "name": p.name,
            "version": p.version,
            "status": "loaded",
            "origin": p.origin,
            "host_api": p.declaration.host_api,
            "description": p.declaration.description,
        }
        for p in manager.plugins.values()
    ]
    rows += [
        {
            "name": r.name,
            "version": None,
            "status": "refused",
            "origin": r.origin,
            "reason": r.reason,
        }
        for r in manager.refused.values()
    ]
    rows += [
        {"name": name, "version": None, "status": "disabled on this host"}
        for name in manager.disabled
    ]
    rows.sort(key=lambda row: row["name"])

    def text() -> str:
        lines = []
        for row in rows:
            status = row["status"] + (f": {row['reason']}" if "reason" in row else "")
            lines.append(f"{row['name']:<20} {row['version'] or '-':<10} {status}")
        return "\n".join(lines) or "No plugins found."

    emit(rows, as_json, text)


def _set_enabled(slug: str, plugin: str, enabled: bool, as_json: bool) -> None:
    manager = plugin_manager()
    with merchant_session(slug) as session:
        off = manager.set_enabled(session, plugin, enabled)
        session.commit()
        speaks = enabled and manager.get(plugin).declaration.speaks
        note = voices.warning(engines(), session.merchant) if speaks else None
    if note and not as_json:  # in --json, the warnings are part of the data
        click.echo(note, err=True)
    word = "Enabled" if enabled else "Disabled"
    text = f"{word} {plugin} for {slug}." + (
        f" Off with it, as they require it: {', '.join(off)}." if off else ""
    )
    data = {"merchant": slug, "plugin": plugin, "enabled": enabled, "off_with_it": off}
    emit({**data, "warnings": [note] if note else []}, as_json, text)


@plugins.command("enable")
@click.argument("slug")
@click.argument("plugin")
@json_option
@handle_errors()
def enable(slug: str, plugin: str, as_json: bool) -> None:
    """Enable PLUGIN for merchant SLUG."""
    _set_enabled(slug, plugin, True, as_json)


@plugins.command("disable")
@click.argument("slug")
@click.argument("plugin")
@json_option
@handle_errors()
def disable(slug: str, plugin: str, as_json: bool) -> None:
    """Disable PLUGIN for merchant SLUG."""
    _set_enabled(slug, plugin, False, as_json)


def _parse_assignment(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"{text!r} is not key=value", param_hint="SETTINGS")
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


@plugins.command("configure")
@click.argument("slug")
@click.argument("plugin")
@click.argument("settings", nargs=-1, required=True)
@json_option
@handle_errors()
def configure(slug: str, plugin: str, settings: tuple[str, ...], as_json: bool) -> None:
    """Set PLUGIN's settings for merchant SLUG: key=value ... (values may be JSON)."""
    values = dict(_parse_assignment(item) for item in settings)
    manager = plugin_manager()
    with merchant_session(slug) as session:
        validated = manager.configure(session, plugin, values)
        session.commit()
    data = validated.model_dump(mode="json")
    emit(
        {"merchant": slug, "plugin": plugin, "settings": data},
        as_json,
        "\n".join(f"{key} = {json.dumps(value)}" for key, value in data.items()),
    )


@plugins.command("show")
@click.argument("slug")
@json_option
@handle_errors()
def show(slug: str, as_json: bool) -> None:
    """Merchant SLUG's plugins: enabled or not, and their settings."""
    manager = plugin_manager()
    with merchant_session(slug) as session:
        rows = plugin_state.describe(manager.declarations, session)
    emit(
        rows,
        as_json,
        lambda: (
            "\n".join(
                f"{r['name']:<20} {'enabled' if r['enabled'] else 'disabled':<9} "
                + json.dumps(r["settings"])
                for r in rows
            )
            or "No plugins loaded."
        ),
    )
