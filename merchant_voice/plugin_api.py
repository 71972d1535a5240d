"""What a plugin imports: its declaration, its settings base, the hook marker.

A plugin is a package whose ``plugin.py`` holds a module-level ``plugin``
(a :class:`Plugin`) and any hook implementations::

    from merchant_voice.plugin_api import Plugin, PluginSettings, hookimpl

    class Settings(PluginSettings):
        greeting: str = "Hello"

    plugin = Plugin(name="notes", version="1.2.0", host_api=">=1.0,<2",
                    settings=Settings, models=".models", blueprints=(".views:bp",),
                    credentials=("api_token",))   # secrets: `credentials set`, never settings

    @hookimpl
    def register_jobs(registry): ...

Everything else is found by convention in the plugin's folder:
``migrations/versions/`` (Alembic, branch labelled with the plugin's name),
``templates/`` (Jinja2, for the blueprint), ``prompts/`` (Jinja2 prompt
templates) and ``translations/<locale>/LC_MESSAGES/messages.po`` (Babel).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pluggy
from pydantic import BaseModel, ConfigDict

from merchant_voice.hookspecs import PROJECT_NAME

if TYPE_CHECKING:
    from merchant_voice.tenancy import TenantSession

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


class PluginSettings(BaseModel):
    """Base of a plugin's per-merchant settings. Every field needs a default."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


@dataclass(frozen=True)
class Plugin:
    """A plugin's declaration.

    ``models`` and ``blueprints`` are import paths, relative to the plugin's
    package when they start with a dot (``".views:bp"``). They are imported
    only once the plugin is accepted, so a refused plugin adds no tables.
    """

    name: str
    version: str
    host_api: str
    description: str = ""
    settings: type[PluginSettings] = PluginSettings
    models: str | None = None
    blueprints: tuple[str, ...] = ()
    credentials: tuple[str, ...] = ()
    enabled_by_default: bool = True

    def merchant_settings(self, session: TenantSession) -> PluginSettings:
        """This plugin's settings for the session's merchant (in an app context)."""
        from merchant_voice.extensions import plugin_manager
        from merchant_voice.plugin_state import settings_for

        return settings_for(plugin_manager(), session, self.name)

    def credential(self, session: TenantSession, name: str) -> str | None:
        """The session's merchant's credential ``name`` (declared in ``credentials``), or None."""
        from merchant_voice.extensions import credentials

        if name not in self.credentials:
            raise KeyError(f"plugin {self.name} declares no credential {name!r}")
        return credentials().get(session.merchant.id, f"{self.name}.{name}")
