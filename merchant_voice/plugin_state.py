"""Each merchant's choice of plugins and their settings, stored in SQL.

A merchant with no row for a plugin gets the plugin's ``enabled_by_default``
and its settings' defaults. Settings are validated against the plugin's schema
on every write, so what is stored always loads.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import select

from merchant_voice.errors import ValidationFailed
from merchant_voice.plugin_api import PluginSettings
from merchant_voice.tenancy import TenantSession, host_writes
from models.plugin_setting import MerchantPlugin

if TYPE_CHECKING:
    from merchant_voice.plugin_manager import PluginManager

log = logging.getLogger(__name__)


def _rows(session: TenantSession) -> dict[str, MerchantPlugin]:
    return {row.plugin: row for row in session.scalars(select(MerchantPlugin))}


def enabled_plugins(manager: PluginManager, session: TenantSession) -> set[str]:
    """Names of the loaded plugins that the session's merchant has enabled."""
    rows = _rows(session)
    return {
        name
        for name, plugin in manager.plugins.items()
        if (rows[name].enabled if name in rows else plugin.declaration.enabled_by_default)
    }


def is_enabled(manager: PluginManager, session: TenantSession, name: str) -> bool:
    return name in enabled_plugins(manager, session)


def _save(
    manager: PluginManager, session: TenantSession, name: str, **values: Any
) -> MerchantPlugin:
    """Write the merchant's row for ``name`` (the only writer of merchant_plugins)."""
    plugin = manager.get(name)
    row = session.scalars(select(MerchantPlugin).where(MerchantPlugin.plugin == name)).first()
    with host_writes(session):
        if row is None:
            row = MerchantPlugin(
                plugin=name, enabled=plugin.declaration.enabled_by_default, settings={}
            )
            session.add(row)
        for key, value in values.items():
            setattr(row, key, value)
        session.flush()
    return row


def set_enabled(manager: PluginManager, session: TenantSession, name: str, enabled: bool) -> None:
    """Enable or disable ``name`` for the session's merchant (caller commits)."""
    _save(manager, session, name, enabled=enabled)


def settings_for(manager: PluginManager, session: TenantSession, name: str) -> PluginSettings:
    """The merchant's validated settings for ``name``, defaults filled in."""
    return _validated(manager, name, _rows(session).get(name))


def _validated(manager: PluginManager, name: str, row: MerchantPlugin | None) -> PluginSettings:
    """Stored settings, validated; ones a plugin upgrade made invalid fall back to defaults."""
    schema = manager.get(name).declaration.settings
    try:
        return schema.model_validate(row.settings if row else {})
    except ValidationError as exc:
        log.error(
            "merchant %s: stored %s settings no longer validate, using defaults: %s",
            row.merchant_id if row else "?",
            name,
            ValidationFailed.from_pydantic(exc).detail,
        )
        return schema()


def configure(
    manager: PluginManager, session: TenantSession, name: str, values: Mapping[str, Any]
) -> PluginSettings:
    """Merge ``values`` into the merchant's settings for ``name``, validated (caller commits).

    Raises :class:`ValidationFailed` naming each bad field; nothing is written then.
    """
    schema = manager.get(name).declaration.settings
    row = _rows(session).get(name)
    stored = {k: v for k, v in (row.settings if row else {}).items() if k in schema.model_fields}
    merged = {**stored, **values}
    try:
        validated = schema.model_validate(merged)
    except ValidationError as exc:
        raise ValidationFailed.from_pydantic(exc) from None
    _save(manager, session, name, settings=validated.model_dump(mode="json", exclude_defaults=True))
    return validated


def describe(manager: PluginManager, session: TenantSession) -> list[dict[str, Any]]:
    """One entry per loaded plugin: name, version, enabled, settings."""
    rows = _rows(session)
    entries = []
    for name, plugin in sorted(manager.plugins.items()):
        row = rows.get(name)
        settings = _validated(manager, name, row)
        entries.append(
            {
                "name": name,
                "version": plugin.version,
                "enabled": row.enabled if row else plugin.declaration.enabled_by_default,
                "settings": {
                    key: "**********" if "secret" in key and value else value
                    for key, value in settings.model_dump(mode="json").items()
                },
            }
        )
    return entries
