"""Merchants' credentials (webhook secrets, telephony tokens), encrypted at rest.

``app.extensions["credentials"]`` is one :class:`CredentialStore`. A
credential is named ``<plugin>.<name>`` (``support_calls.twilio_auth_token``),
where the plugin declares ``name`` in its ``credentials``, or is one of the
host's :data:`HOST_CREDENTIALS`: the shop platforms' webhook signing secrets,
shared by every plugin that takes their webhooks. It is stored either

* encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under ``[host]
  credentials_key`` (unset: a key generated once into
  ``instance/credentials_key``), or
* as an environment reference, ``env:NAME``, read when it is used (set by an
  operator on the command line only: a merchant cannot point at the host's
  environment through the API).

Values are never logged, listed or returned by the API. Keys rotate: put the
new key in ``credentials_key``, the old one in ``credentials_previous_keys``,
and run ``flask --app app credentials rotate``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask
from sqlalchemy import select

from merchant_voice.config import ENV_REF_PREFIX, Settings
from merchant_voice.db import Database
from merchant_voice.errors import ConfigError, CredentialUnreadable, NotFound, ValidationFailed
from merchant_voice.plugin_declaration import Plugin
from models.credential import Credential

log = logging.getLogger(__name__)

NAME = re.compile(r"^[a-z][a-z0-9_]{1,40}\.[a-z][a-z0-9_]{0,58}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,190}$")
MAX_VALUE = 4096


class CredentialStore:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.db = db
        host = settings.host
        primary = (
            host.credentials_key.get_secret_value()
            if host.credentials_key is not None
            else _generated_key(settings.instance_dir / "credentials_key")
        )
        keys = [primary, *(key.get_secret_value() for key in host.credentials_previous_keys)]
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except (ValueError, TypeError):
            raise ConfigError(
                "host.credentials_key (or a previous key) is not a Fernet key: 32 url-safe"
                " base64-encoded bytes, e.g. from `python -c 'from cryptography.fernet import"
                " Fernet; print(Fernet.generate_key().decode())'`"
            ) from None

    def init_app(self, app: Flask) -> None:
        app.extensions["credentials"] = self

    def set(self, merchant_id: int, name: str, value: str, *, allow_env: bool = False) -> None:
        """Store ``value`` (encrypted), or with ``allow_env`` an ``env:NAME`` reference."""
        _check_name(name)
        ciphertext, env_ref = None, None
        if allow_env and value.startswith(ENV_REF_PREFIX):
            env_ref = value.removeprefix(ENV_REF_PREFIX)
            if not ENV_NAME.match(env_ref):
                _invalid("value", f"{value!r} is not an environment reference (env:NAME)")
        elif not value:
            _invalid("value", "a credential cannot be empty")
        elif len(value) > MAX_VALUE:
            _invalid("value", f"longer than {MAX_VALUE} characters")
        else:
            ciphertext = self._fernet.encrypt(value.encode())
        with self.db.host_transaction() as session:
            row = _row(session, merchant_id, name)
            if row is None:
                row = Credential(merchant_id=merchant_id, name=name)
                session.add(row)
            row.ciphertext, row.env_ref = ciphertext, env_ref
        kind = "env" if env_ref else "encrypted"
        log.info("credential %s of merchant %d set (%s)", name, merchant_id, kind)

    def get(self, merchant_id: int, name: str) -> str | None:
        """The credential's value; None when it is not set (or its variable is unset)."""
        with self.db.host_session() as session:
            row = _row(session, merchant_id, name)
            if row is None:
                return None
            if row.env_ref is not None:
                return os.environ.get(row.env_ref) or None
            ciphertext = row.ciphertext
        try:
            return self._fernet.decrypt(ciphertext or b"").decode()
        except InvalidToken:
            raise CredentialUnreadable(
                f"credential {name} of merchant {merchant_id} does not decrypt with the configured"
                " keys: was host.credentials_key changed without keeping the old one in"
                " host.credentials_previous_keys?"
            ) from None

    def describe(self, merchant_id: int) -> list[dict[str, Any]]:
        """Names and kinds, never values."""
        with self.db.host_session() as session:
            rows = session.scalars(
                select(Credential)
                .where(Credential.merchant_id == merchant_id)
                .order_by(Credential.name)
            )
            return [
                {
                    "name": row.name,
                    "kind": "env" if row.env_ref is not None else "encrypted",
                    "env": row.env_ref,
                    "updated_at": row.updated_at.isoformat(),
                }
                for row in rows
            ]

    def delete(self, merchant_id: int, name: str) -> None:
        with self.db.host_transaction() as session:
            row = _row(session, merchant_id, name)
            if row is None:
                raise NotFound(f"no credential {name}")
            session.delete(row)

    def rotate(self) -> int:
        """Re-encrypt every stored credential with the current key; returns how many."""
        count = 0
        with self.db.host_transaction() as session:
            for row in session.scalars(
                select(Credential).where(Credential.ciphertext.is_not(None))
            ):
                try:
                    row.ciphertext = self._fernet.rotate(row.ciphertext or b"")
                except InvalidToken:
                    raise CredentialUnreadable(
                        f"credential {row.name} of merchant {row.merchant_id} does not decrypt"
                        " with any configured key; nothing was rotated"
                    ) from None
                count += 1
        return count


def _check_name(name: str) -> None:
    if not NAME.match(name):
        _invalid("name", f"{name[:60]!r} is not a credential name: <plugin>.<name>, lower case")


def _invalid(field: str, message: str) -> None:
    raise ValidationFailed(f"{field}: {message}", [{"field": field, "message": message}])


def _row(session: Any, merchant_id: int, name: str) -> Credential | None:
    query = select(Credential).where(Credential.merchant_id == merchant_id, Credential.name == name)
    row: Credential | None = session.scalars(query).first()
    return row


def _generated_key(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return path.read_text().strip()


HOST_CREDENTIALS = ("shopify.webhook_secret", "woocommerce.webhook_secret")


def declared(plugins: Mapping[str, Plugin]) -> list[str]:
    """Every credential name: the host's, and those the loaded ``plugins`` declare."""
    return sorted(
        [
            *HOST_CREDENTIALS,
            *(
                f"{name}.{credential}"
                for name, plugin in plugins.items()
                for credential in plugin.credentials
            ),
        ]
    )


def check_declared(plugins: Mapping[str, Plugin], name: str) -> None:
    """ValidationFailed (field ``name``) unless the host or a loaded plugin declares ``name``."""
    names = declared(plugins)
    if name not in names:
        known = ", ".join(names) or "none"
        _invalid("name", f"no credential is called {name[:60]!r} (known: {known})")
