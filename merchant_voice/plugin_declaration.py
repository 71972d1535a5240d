"""A plugin's declaration: who it is, what it needs, where its parts are.

A plugin's ``plugin.py`` holds a module-level ``plugin = Plugin(...)``. The
host reads every declaration first, checks it, orders the plugins by
``requires``, and only then imports each accepted plugin's models, hooks and
blueprints. So ``plugin.py`` imports nothing heavier than its settings class:
a refused plugin adds no tables and registers nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


class PluginSettings(BaseModel):
    """Base of a plugin's per-merchant settings. Every field needs a default."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


@dataclass(frozen=True)
class Plugin:
    """A plugin's declaration.

    ``models``, ``hooks`` and ``blueprints`` are import paths, relative to the
    plugin's package when they start with a dot (``".views:bp"``). They are
    imported only once the plugin is accepted. Hook implementations live in
    ``plugin.py`` itself, or - when they need the plugin's models - in the
    ``hooks`` module. ``requires`` names the plugins this one builds on: they
    load first, and a merchant enables them first.
    """

    name: str
    version: str
    host_api: str
    description: str = ""
    settings: type[PluginSettings] = PluginSettings
    requires: tuple[str, ...] = ()
    models: str | None = None
    hooks: str | None = None
    blueprints: tuple[str, ...] = ()
    credentials: tuple[str, ...] = ()
    enabled_by_default: bool = True
    speaks: bool = False  # to merchants' customers: enabling it warns of locales without a voice
