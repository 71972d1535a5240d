"""``merchants``, ``apikeys`` and ``users`` commands."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import select

from merchant_voice import accounts, voices
from merchant_voice.cli.output import emit, handle_errors, json_option
from merchant_voice.extensions import database, engines, plugin_manager, settings
from models import ApiKey, Merchant, Role


def _merchant_data(merchant: Merchant) -> dict[str, Any]:
    return {
        "id": merchant.id,
        "slug": merchant.slug,
        "name": merchant.name,
        "default_locale": merchant.default_locale,
        "market_locales": merchant.market_locales,
        "currency": merchant.currency,
        "timezone": merchant.timezone,
        "storage_mb": merchant.storage_mb,
    }


@click.group(cls=AppGroup)
def merchants() -> None:
    """Create and list merchants."""


@merchants.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Display name.")
@click.option(
    "--locale",
    "default_locale",
    default="en_US",
    show_default=True,
    help="Default locale, e.g. de_DE.",
)
@click.option("--markets", default="", help="Market locales, comma-separated: de_DE,fr_FR.")
@click.option("--currency", default="USD", show_default=True, help="ISO 4217 code.")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone.")
@json_option
@handle_errors(
    {
        "default_locale": "--locale",
        "market_locales": "--markets",
        "slug": "SLUG",
        "name": "--name",
        "currency": "--currency",
        "timezone": "--timezone",
    }
)
def create_merchant(
    slug: str,
    name: str,
    default_locale: str,
    markets: str,
    currency: str,
    timezone: str,
    as_json: bool,
) -> None:
    """Create the merchant SLUG."""
    merchant = accounts.onboard_merchant(
        database(),
        plugin_manager(),
        slug=slug,
        name=name,
        default_locale=default_locale,
        market_locales=[m.strip() for m in markets.split(",") if m.strip()],
        currency=currency,
        timezone=timezone,
    )
    data = asdict(merchant)
    note = voices.warning(engines(), merchant)
    data["warnings"] = [note] if note else []
    if note and not as_json:  # in --json, the warnings are part of the data
        click.echo(note, err=True)
    emit(data, as_json, f"Created merchant {slug} (id {data['id']}).")


@merchants.command("list")
@json_option
def list_merchants(as_json: bool) -> None:
    """List every merchant."""
    with database().host_session() as session:
        rows = [
            _merchant_data(m) for m in session.scalars(select(Merchant).order_by(Merchant.slug))
        ]
    emit(
        rows,
        as_json,
        lambda: (
            "\n".join(
                f"{m['slug']:<24} {m['name']:<30} {m['default_locale']:<8} "
                + ",".join(m["market_locales"])
                for m in rows
            )
            or "No merchants yet."
        ),
    )


@merchants.command("quota")
@click.argument("slug")
@click.option("--storage-mb", type=int, help="The merchant's own storage quota, in MB.")
@click.option("--default", "to_default", is_flag=True, help="Back to [host] merchant_storage_mb.")
@json_option
@handle_errors({"slug": "SLUG", "storage_mb": "--storage-mb"})
def merchant_quota(slug: str, storage_mb: int | None, to_default: bool, as_json: bool) -> None:
    """Show or set the disk the merchant SLUG's files may take (narration audio)."""
    if storage_mb is not None and to_default:
        raise click.UsageError("give --storage-mb or --default, not both")
    host_mb = settings().host.merchant_storage_mb
    with database().host_transaction() as session:
        merchant = accounts.merchant_by_slug(session, slug)
        if storage_mb is not None or to_default:
            accounts.set_storage_quota(merchant, None if to_default else storage_mb)
        own = merchant.storage_mb
    data = {"slug": slug, "storage_mb": own if own is not None else host_mb, "own": own is not None}
    whose = "its own quota" if own is not None else "the host's [host] merchant_storage_mb"
    emit(data, as_json, f"Merchant {slug} may store {data['storage_mb']} MB of files ({whose}).")


@merchants.command("delete")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Confirm: the merchant's data cannot be recovered.")
@json_option
@handle_errors({"slug": "SLUG"})
def delete_merchant(slug: str, yes: bool, as_json: bool) -> None:
    """Delete the merchant SLUG with all its data: listings, calls, recordings, audio."""
    if not yes:
        raise click.UsageError(f"deleting {slug!r} erases all its data: add --yes to confirm")
    merchant = accounts.delete_merchant(database(), plugin_manager(), slug)
    emit(asdict(merchant), as_json, f"Deleted merchant {slug} and all its data.")


@click.group(cls=AppGroup)
def apikeys() -> None:
    """Create and revoke API keys."""


@apikeys.command("create")
@click.argument("slug")
@click.option("--label", default="", help="What the key is for.")
@json_option
@handle_errors()
def create_key(slug: str, label: str, as_json: bool) -> None:
    """Create an API key for merchant SLUG. The key is shown once, now."""
    with database().host_transaction() as session:
        merchant = accounts.merchant_by_slug(session, slug)
        api_key, key = accounts.create_api_key(session, merchant, label)
        data = {"merchant": slug, "prefix": api_key.prefix, "key": key, "label": label}
    emit(
        data, as_json, f"{key}\n(prefix {api_key.prefix}; store the key now: it is not shown again)"
    )


@apikeys.command("revoke")
@click.argument("prefix")
@json_option
@handle_errors()
def revoke_key(prefix: str, as_json: bool) -> None:
    """Revoke the API key whose prefix is PREFIX."""
    with database().host_transaction() as session:
        api_key = accounts.revoke_api_key(session, prefix)
        data = {"prefix": api_key.prefix, "revoked_at": api_key.revoked_at}
    emit(data, as_json, f"Revoked {api_key.prefix}.")


@apikeys.command("list")
@click.argument("slug")
@json_option
@handle_errors()
def list_keys(slug: str, as_json: bool) -> None:
    """List merchant SLUG's API keys (prefixes only)."""
    with database().host_session() as session:
        merchant = accounts.merchant_by_slug(session, slug)
        keys = session.scalars(
            select(ApiKey).where(ApiKey.merchant_id == merchant.id).order_by(ApiKey.created_at)
        ).all()
        rows = [
            {
                "prefix": k.prefix,
                "label": k.label,
                "created_at": k.created_at,
                "last_used_at": k.last_used_at,
                "revoked_at": k.revoked_at,
            }
            for k in keys
        ]
    emit(
        rows,
        as_json,
        lambda: (
            "\n".join(
                f"{r['prefix']}  {'revoked' if r['revoked_at'] else 'active ':<7}  {r['label']}"
                for r in rows
            )
            or "No API keys."
        ),
    )


@click.group(cls=AppGroup)
def users() -> None:
    """Create dashboard users and reset their passwords."""


_PASSWORD = click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="At least 10 characters; asked for when not given.",
)


@users.command("create")
@click.argument("slug")
@click.argument("email")
@_PASSWORD
@click.option(
    "--role",
    type=click.Choice([role.value for role in Role]),
    default=Role.OWNER.value,
    show_default=True,
    help="owner: everything; agent: calls and catalog only.",
)
@click.option("--locale", help="The dashboard's language for them (default: their browser's).")
@json_option
@handle_errors({"email": "EMAIL", "password": "--password", "role": "--role", "locale": "--locale"})
def create_user(
    slug: str, email: str, password: str, role: str, locale: str | None, as_json: bool
) -> None:
    """Create a dashboard user EMAIL for merchant SLUG."""
    with database().host_transaction() as session:
        merchant = accounts.merchant_by_slug(session, slug)
        user = accounts.create_user(session, merchant, email, password, role, locale)
        data = {
            "id": user.id,
            "merchant": slug,
            "email": user.email,
            "role": user.role,
            "locale": user.locale,
        }
    emit(data, as_json, f"Created user {user.email} ({user.role}) for {slug}.")


@users.command("reset-password")
@click.argument("slug")
@click.argument("email")
@_PASSWORD
@json_option
@handle_errors({"email": "EMAIL", "password": "--password"})
def reset_password(slug: str, email: str, password: str, as_json: bool) -> None:
    """Set a new password for user EMAIL of merchant SLUG; their sessions end."""
    with database().host_transaction() as session:
        merchant = accounts.merchant_by_slug(session, slug)
        user = accounts.reset_password(session, merchant, email, password)
        data = {"id": user.id, "merchant": slug, "email": user.email}
    emit(data, as_json, f"New password set for {user.email}; their sessions have ended.")
