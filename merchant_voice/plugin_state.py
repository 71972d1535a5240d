"""Each merchant's choice of plugins and their settings, stored in SQL.

A merchant with no row for a plugin gets the plugin's ``enabled_by_default``
and its settings' defaults. Settings are validated against the plugin's schema
on every write, so what is stored always loads.

A plugin is enabled for a merchant only together with the plugins it
requires: enabling it while one of them is disabled is refused, and a plugin
whose requirement the merchant disables is off until that is enabled again.

The functions take the loaded plugins' declarations, in load order
(requirements first); :class:`~merchant_voice.plugin_manager.PluginManager`
passes them, after checking that a named plugin is loaded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from merchant_voice.errors import Conflict, ValidationFailed
from merchant_voice.plugin_declaration import Plugin, PluginSettings
from merchant_voice.tenancy import TenantSession, host_writes
from models.plugin_setting import MerchantPlugin

log = logging.getLogger(__name__)

Declarations = Mapping[str, Plugin]
"""The loaded plugins' declarations by name, in load order."""


@dataclass
class PluginState:
    """A loaded plugin as one merchant has it: enabled or not, and its settings (validated
    when first asked for: most callers only want to know what is enabled)."""

    plugin: Plugin
    enabled: bool  # chosen, and every plugin it requires is enabled
    chosen: bool  # what the merchant chose (or the plugin's default)
    row: MerchantPlugin | None

    @cached_property
    def settings(self) -> PluginSettings:
        return _validated(self.plugin, self.row)


def _rows(session: TenantSession) -> dict[str, MerchantPlugin]:
    return {row.plugin: row for row in session.scalars(select(MerchantPlugin))}


def states(plugins: Declarations, session: TenantSession) -> dict[str, PluginState]:
    """Every loaded plugin for the session's merchant, in load order (one query).

    A plugin counts as enabled when the merchant enabled it (or it is enabled by
    default) and every plugin it requires is enabled too.
    """
    rows = _rows(session)
    result: dict[str, PluginState] = {}
    for name, plugin in plugins.items():  # requirements come first
        row = rows.get(name)
        chosen = row.enabled if row is not None else plugin.enabled_by_default
        enabled = chosen and all(result[required].enabled for required in plugin.requires)
        result[name] = PluginState(plugin, enabled, chosen, row)
    return result


def _validated(plugin: Plugin, row: MerchantPlugin | None) -> PluginSettings:
    """Stored settings, validated; ones a plugin upgrade made invalid fall back to defaults."""
    try:
        return plugin.settings.model_validate(row.settings if row else {})
    except ValidationError as exc:
        log.error(
            "merchant %s: stored %s settings no longer validate, using defaults: %s",
            row.merchant_id if row else "?",
            plugin.name,
            ValidationFailed.from_pydantic(exc).detail,
        )
        return plugin.settings()


def settings_for(plugin: Plugin, session: TenantSession) -> PluginSettings:
    """The merchant's validated settings for ``plugin``, defaults filled in."""
    return _validated(plugin, _rows(session).get(plugin.name))


def _save(plugin: Plugin, session: TenantSession, **values: Any) -> None:
    """Write the merchant's row for ``plugin`` (the only writer of merchant_plugins)."""
    row = _rows(session).get(plugin.name)
    with host_writes(session):
        if row is None:
            row = MerchantPlugin(plugin=plugin.name, enabled=plugin.enabled_by_default, settings={})
            session.add(row)
        for key, value in values.items():
            setattr(row, key, value)
        session.flush()


def set_enabled(
    plugins: Declarations, session: TenantSession, name: str, enabled: bool
) -> list[str]:
    """Enable or disable loaded plugin ``name`` for the session's merchant (caller commits).

    Enabling is refused with :class:`Conflict` while a plugin it requires is disabled;
    nothing is written then. Disabling returns the enabled plugins that require ``name``
    (directly or in turn): they are off with it, and back on when it is enabled again.
    """
    before = states(plugins, session)
    if enabled:
        missing = [r for r in plugins[name].requires if not before[r].enabled]
        if missing:
            first = _switched_off(plugins, before, name)
            raise Conflict(
                f"{name} requires {', '.join(missing)}, which this merchant has disabled:"
                f" enable {', '.join(first)} first",
                requires=missing,
            )
    _save(plugins[name], session, enabled=enabled)
    after = states(plugins, session)
    return [
        other
        for other in before
        if other != name and before[other].enabled and not after[other].enabled
    ]


def _switched_off(plugins: Declarations, states: Mapping[str, PluginState], name: str) -> list[str]:
    """The plugins ``name`` requires, directly or in turn, that the merchant switched off:
    what to enable, in load order, before ``name``."""
    needed: set[str] = set()
    waiting = list(plugins[name].requires)
    while waiting:
        required = waiting.pop()
        if required not in needed:
            needed.add(required)
            waiting.extend(plugins[required].requires)
    return [other for other in plugins if other in needed and not states[other].chosen]


def configure(
    plugin: Plugin, session: TenantSession, values: Mapping[str, Any], *, merge: bool = True
) -> PluginSettings:
    """Merge ``values`` into the merchant's settings for ``plugin`` (or, without ``merge``,
    make them the whole settings, defaults for the rest), validated (caller commits).

    Raises :class:`ValidationFailed` naming each bad field; nothing is written then.
    """
    schema = plugin.settings
    row = _rows(session).get(plugin.name)
    stored = {k: v for k, v in (row.settings if row else {}).items() if k in schema.model_fields}
    try:
        validated = schema.model_validate({**stored, **values} if merge else dict(values))
    except ValidationError as exc:
        raise ValidationFailed.from_pydantic(exc) from None
    _save(plugin, session, settings=validated.model_dump(mode="json", exclude_defaults=True))
    return validated


def describe(plugins: Declarations, session: TenantSession) -> list[dict[str, Any]]:
    """One entry per loaded plugin (see :func:`entry`), by name."""
    found = states(plugins, session)
    return [entry(found[name]) for name in sorted(found)]


def entry(state: PluginState) -> dict[str, Any]:
    """A plugin as the merchant has it, to show: name, version, enabled, settings."""
    return {
        "name": state.plugin.name,
        "version": state.plugin.version,
        "enabled": state.enabled,
        "settings": {
            key: "**********" if "secret" in key and value else value
            for key, value in state.settings.model_dump(mode="json").items()
        },
    }
