"""``credentials`` commands: merchants' secrets, stored encrypted, never printed."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from merchant_voice import accounts
from merchant_voice.cli.output import emit, handle_errors, json_option
from merchant_voice.credentials import check_declared
from merchant_voice.extensions import credentials as store
from merchant_voice.extensions import database, plugin_manager


def _merchant_id(slug: str) -> int:
    with database().host_session() as session:
        return accounts.merchant_by_slug(session, slug).id


@click.group(cls=AppGroup)
def credentials() -> None:
    """Merchants' secrets (webhook secrets, telephony tokens): encrypted, never printed."""


@credentials.command("set")
@click.argument("slug")
@click.argument("name")
@click.option("--env", "env_name", help="Store a reference to this environment variable instead.")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the value from standard input.")
@json_option
@handle_errors({"value": "the value", "name": "NAME"})
def set_credential(
    slug: str, name: str, env_name: str | None, from_stdin: bool, as_json: bool
) -> None:
    """Set NAME (e.g. shopify.webhook_secret) for merchant SLUG; asks for the value."""
    check_declared(plugin_manager().declarations, name)
    merchant_id = _merchant_id(slug)
    if env_name:
        value = f"env:{env_name}"
    elif from_stdin:
        value = sys.stdin.read().strip()
    else:
        value = click.prompt("Value", hide_input=True, err=True)
    store().set(merchant_id, name, value, allow_env=True)
    kind = "env" if env_name else "encrypted"
    emit({"name": name, "kind": kind}, as_json, f"{name} set for {slug} ({kind})")


@credentials.command("list")
@click.argument("slug")
@json_option
@handle_errors()
def list_credentials(slug: str, as_json: bool) -> None:
    """The names of SLUG's credentials and how each is stored (never the values)."""
    rows = store().describe(_merchant_id(slug))
    lines = [
        f"{row['name']:<45} {row['kind'] + (' ' + row['env'] if row['env'] else ''):<30}"
        f" {row['updated_at']}"
        for row in rows
    ]
    emit(rows, as_json, "\n".join(lines) or "no credentials")


@credentials.command("delete")
@click.argument("slug")
@click.argument("name")
@json_option
@handle_errors()
def delete_credential(slug: str, name: str, as_json: bool) -> None:
    """Remove SLUG's credential NAME."""
    store().delete(_merchant_id(slug), name)
    emit({"name": name, "deleted": True}, as_json, f"{name} deleted for {slug}")


@credentials.command("rotate")
@json_option
@handle_errors()
def rotate(as_json: bool) -> None:
    """Re-encrypt every credential with host.credentials_key (after a key change)."""
    count = store().rotate()
    emit({"rotated": count}, as_json, f"{count} credentials re-encrypted with the current key")
