"""Finds, checks and loads plugins; calls their hooks with failures contained.

``app.extensions["plugins"]`` holds the application's :class:`PluginManager`.
Plugins come from two places:

* built-in: every sub-package of the packages in ``[plugins] packages``
  (``plugins/`` by default) that has a ``plugin.py``;
* external: the ``merchant_voice.plugins`` entry-point group of installed
  distributions, each entry naming the module that holds ``plugin``.

A plugin that fails to import, is malformed, or needs another host API
version is *refused*: logged with the reason, listed by ``plugins list``, and
left out, while every other plugin loads.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import logging
import pkgutil
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy
from flask import Blueprint
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import ValidationError

from merchant_voice import HOST_API_VERSION, hookspecs
from merchant_voice.config import PluginsSettings
from merchant_voice.db import Base, utcnow
from merchant_voice.errors import PluginRefused, UnknownPlugin
from merchant_voice.plugin_api import NAME_PATTERN, Plugin
from merchant_voice.plugin_resources import PluginResources
from merchant_voice.tenancy import TenantSession

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "merchant_voice.plugins"


@dataclass
class LoadedPlugin:
    """A plugin that passed every check and is registered with the host."""

    declaration: Plugin
    module: ModuleType
    origin: str
    resources: PluginResources
    blueprints: tuple[Blueprint, ...] = ()

    @property
    def name(self) -> str:
        return self.declaration.name

    @property
    def version(self) -> str:
        return self.declaration.version


@dataclass(frozen=True)
class RefusedPlugin:
    """A plugin that could not be loaded, and why."""

    name: str
    origin: str
    reason: str


@dataclass(frozen=True)
class HookFailure:
    """A hook implementation that raised; kept for reports (``/readyz``, logs)."""

    plugin: str
    hook: str
    error: str
    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class _Candidate:
    name: str
    origin: str
    module: str
    load: Callable[[], Any]

    def migrations_dir(self) -> Path | None:
        """The plugin's Alembic folder, found without importing the plugin."""
        try:
            spec = importlib.util.find_spec(self.module)
        except (ImportError, ValueError):
            return None
        if spec is None or spec.origin is None:
            return None
        folder = Path(spec.origin).parent / "migrations" / "versions"
        return folder if folder.is_dir() else None


class PluginManager:
    """The registry of the loaded plugins and the one way to call their hooks."""

    def __init__(self, settings: PluginsSettings) -> None:
        self.settings = settings
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, LoadedPlugin] = {}
        self.refused: dict[str, RefusedPlugin] = {}
        self.disabled: set[str] = set()
        self.unloaded_migrations: dict[str, Path] = {}  # disabled or refused plugins
        self.failures: deque[HookFailure] = deque(maxlen=100)

    # -- loading ---------------------------------------------------------------

    def load(self) -> None:
        """Discover and load every plugin. Never raises for a bad plugin."""
        for candidate in self._candidates():
            if candidate.name in self.settings.disabled:
                self.disabled.add(candidate.name)
                self._keep_migrations(candidate)
                log.info("plugin %s is disabled on this host", candidate.name)
                continue
            try:
                self._load(candidate)
            except PluginRefused as exc:
                self._keep_migrations(candidate)
                self.refused[candidate.name] = RefusedPlugin(
                    candidate.name, candidate.origin, exc.detail
                )
                log.error(
                    "plugin %s (%s) refused: %s", candidate.name, candidate.origin, exc.detail
                )

    def _keep_migrations(self, candidate: _Candidate) -> None:
        """Applied revisions of a plugin that is not loaded must stay resolvable."""
        folder = candidate.migrations_dir()
        if folder is not None:
            self.unloaded_migrations[candidate.name] = folder

    def _candidates(self) -> Iterator[_Candidate]:
        for package_name in self.settings.packages:
            try:
                package = importlib.import_module(package_name)
            except ImportError as exc:
                log.error("plugin package %s cannot be imported: %s", package_name, exc)
                continue
            for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
                if info.ispkg and not info.name.startswith("_"):
                    module = f"{package_name}.{info.name}.plugin"
                    yield _Candidate(info.name, f"built-in {module}", module, _importer(module))
        if self.settings.entry_points:
            for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
                dist = f"{entry.dist.name} {entry.dist.version}" if entry.dist else "?"
                yield _Candidate(
                    entry.name, f"entry point {entry.value} ({dist})", entry.module, entry.load
                )

    def _load(self, candidate: _Candidate) -> None:
        try:
            module = candidate.load()
        except Exception as exc:
            raise PluginRefused(f"failed to import: {type(exc).__name__}: {exc}") from exc
        declaration = getattr(module, "plugin", None)
        if not isinstance(declaration, Plugin):
            raise PluginRefused("its module defines no `plugin = Plugin(...)` declaration")
        _check_declaration(declaration, candidate.name)
        if declaration.name in self.plugins:
            other = self.plugins[declaration.name].origin
            raise PluginRefused(f"a plugin named {declaration.name!r} is already loaded ({other})")
        try:
            self._pm.register(module, name=declaration.name)
        except pluggy.PluginValidationError as exc:
            raise PluginRefused(f"invalid hook implementation: {exc}") from exc
        unknown = sorted(c.name for c in self._pm.get_hookcallers(module) or [] if c.spec is None)
        if unknown:
            self._pm.unregister(module)
            raise PluginRefused(f"invalid hook implementation: no such hook {', '.join(unknown)}")
        tables_before = set(Base.metadata.tables)
        try:
            package = module.__name__.rpartition(".")[0] or module.__name__
            if declaration.models:
                _import_path(declaration.models, package)
            foreign = sorted(
                t
                for t in set(Base.metadata.tables) - tables_before
                if not t.startswith(f"{declaration.name}_")
            )
            if foreign:
                raise PluginRefused(
                    f"its tables must be named {declaration.name}_...: {', '.join(foreign)}"
                )
            blueprints = tuple(_resolve_blueprint(path, package) for path in declaration.blueprints)
        except PluginRefused:
            self._pm.unregister(module)
            for table in set(Base.metadata.tables) - tables_before:
                Base.metadata.remove(Base.metadata.tables[table])
            raise
        root = Path(inspect.getfile(module)).parent
        self.plugins[declaration.name] = LoadedPlugin(
            declaration,
            module,
            candidate.origin,
            PluginResources(declaration.name, root),
            blueprints,
        )
        log.info(
            "plugin %s %s loaded (%s)", declaration.name, declaration.version, candidate.origin
        )

    # -- lookup ----------------------------------------------------------------

    def get(self, name: str) -> LoadedPlugin:
        try:
            return self.plugins[name]
        except KeyError:
            known = ", ".join(sorted(self.plugins)) or "none"
            why = self.refused[name].reason if name in self.refused else None
            detail = (
                f"plugin {name!r} is refused: {why}"
                if why
                else (f"no plugin named {name!r} is loaded (loaded: {known})")
            )
            raise UnknownPlugin(detail) from None

    def migration_dirs(self) -> list[Path]:
        """Alembic version folders of every loaded plugin that ships migrations."""
        return [
            p.resources.migrations_dir for p in self.plugins.values() if p.resources.migrations_dir
        ]

    # -- hooks -----------------------------------------------------------------

    def call(
        self, hook: str, *, session: TenantSession | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Call ``hook`` on every plugin (with ``session``: every plugin the merchant enabled).

        Returns ``{plugin: result}`` for implementations that returned something.
        An implementation that raises is logged and recorded in ``failures``; with a
        ``session``, its writes are rolled back to a savepoint. The others still run.
        """
        caller = getattr(self._pm.hook, hook)
        if session is not None:
            from merchant_voice.plugin_state import enabled_plugins

            kwargs["session"] = session
            allowed: set[str] | None = enabled_plugins(self, session)
        else:
            allowed = None
        expected = set(caller.spec.argnames) if caller.spec else set()
        if set(kwargs) != expected:
            raise TypeError(f"hook {hook} takes {sorted(expected)}, given {sorted(kwargs)}")
        results: dict[str, Any] = {}
        for impl in reversed(caller.get_hookimpls()):
            if allowed is not None and impl.plugin_name not in allowed:
                continue
            arguments = {name: kwargs[name] for name in impl.argnames}
            try:
                if session is not None:
                    with session.begin_nested():
                        result = impl.function(**arguments)
                else:
                    result = impl.function(**arguments)
            except Exception as exc:
                self.failures.append(
                    HookFailure(impl.plugin_name, hook, f"{type(exc).__name__}: {exc}")
                )
                log.exception("plugin %s failed in hook %s", impl.plugin_name, hook)
                continue
            if result is not None:
                results[impl.plugin_name] = result
        return results


def _importer(module: str) -> Callable[[], ModuleType]:
    return lambda: importlib.import_module(module)


def _check_declaration(declaration: Plugin, expected_name: str) -> None:
    if not NAME_PATTERN.match(declaration.name):
        raise PluginRefused(f"name {declaration.name!r} must match {NAME_PATTERN.pattern}")
    if declaration.name != expected_name:
        raise PluginRefused(
            f"declares the name {declaration.name!r}, but is installed as {expected_name!r}"
        )
    try:
        Version(declaration.version)
    except InvalidVersion:
        raise PluginRefused(f"version {declaration.version!r} is not a valid version") from None
    try:
        supported = SpecifierSet(declaration.host_api)
    except InvalidSpecifier:
        raise PluginRefused(f"host_api {declaration.host_api!r} is not a version range") from None
    if HOST_API_VERSION not in supported:
        raise PluginRefused(
            f"needs host API {declaration.host_api}, but this host provides {HOST_API_VERSION}"
        )
    try:
        declaration.settings()
    except ValidationError as exc:
        raise PluginRefused(f"its settings schema has fields without defaults: {exc}") from None


def _import_path(path: str, package: str) -> Any:
    module_name, _, attribute = path.partition(":")
    try:
        module = importlib.import_module(
            module_name, package if module_name.startswith(".") else None
        )
        return getattr(module, attribute) if attribute else module
    except Exception as exc:
        raise PluginRefused(f"cannot import {path!r}: {type(exc).__name__}: {exc}") from exc


def _resolve_blueprint(path: str, package: str) -> Blueprint:
    blueprint = _import_path(path, package)
    if not isinstance(blueprint, Blueprint):
        raise PluginRefused(f"blueprint {path!r} is not a flask.Blueprint")
    return blueprint
