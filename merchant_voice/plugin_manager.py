"""The loaded plugins: loading them, each merchant's view of them, and calling their hooks.

``app.extensions["plugins"]`` holds the application's :class:`PluginManager`.
Loading goes in two passes (:mod:`merchant_voice.plugin_loading`): first
every declaration is read and checked, then the plugins load in dependency
order - each after the plugins it ``requires`` - importing their models,
hooks and blueprints. A plugin that fails a check, or whose requirement is
missing, disabled or refused, is *refused*: logged with the reason, listed by
``plugins list``, and left out with nothing registered, while every other
plugin loads.
"""

from __future__ import annotations

import inspect
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy
from flask import Blueprint

from merchant_voice import hookspecs, plugin_loading, plugin_state
from merchant_voice.config import PluginsSettings
from merchant_voice.errors import PluginRefused, UnknownPlugin
from merchant_voice.orm import Base, utcnow
from merchant_voice.plugin_declaration import Plugin, PluginSettings
from merchant_voice.plugin_loading import Candidate, Declared
from merchant_voice.plugin_resources import PluginResources
from merchant_voice.plugin_state import PluginState
from merchant_voice.tenancy import TenantSession

log = logging.getLogger(__name__)


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
class Contribution:
    """What one plugin's implementation of a merchant hook returned, with that plugin's
    settings for the merchant and its files: what a consumer of the hook needs to use it
    (support calls runs each plugin's call tools with that plugin's settings)."""

    plugin: str
    value: Any
    settings: PluginSettings
    resources: PluginResources


class PluginManager:
    """The registry of the loaded plugins and the one way to call their hooks."""

    def __init__(self, settings: PluginsSettings) -> None:
        self.settings = settings
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, LoadedPlugin] = {}  # in load order: requirements first
        self.refused: dict[str, RefusedPlugin] = {}
        self.disabled: set[str] = set()
        self.unloaded_migrations: dict[str, Path] = {}  # disabled or refused plugins
        self.failures: deque[HookFailure] = deque(maxlen=100)

    # -- loading ---------------------------------------------------------------

    def load(self) -> None:
        """Discover, check and load every plugin. Never raises for a bad plugin."""
        declared: dict[str, Declared] = {}
        for candidate in plugin_loading.candidates(self.settings):
            if candidate.name in self.settings.disabled:
                self.disabled.add(candidate.name)
                self._keep_migrations(candidate)
                log.debug("plugin %s is disabled on this host", candidate.name)
                continue
            try:
                found = plugin_loading.declare(candidate)
                if found.declaration.name in declared:
                    other = declared[found.declaration.name].candidate.origin
                    raise PluginRefused(
                        f"a plugin named {found.declaration.name!r} was found first ({other})"
                    )
            except PluginRefused as exc:
                self._refuse(candidate, exc.detail)
                continue
            declared[found.declaration.name] = found
        for found in plugin_loading.dependency_order(declared):
            try:
                for required in found.declaration.requires:
                    if required not in self.plugins:
                        raise PluginRefused(self._unmet(required, declared))
                self._load(found)
            except PluginRefused as exc:
                self._refuse(found.candidate, exc.detail)

    def _refuse(self, candidate: Candidate, reason: str) -> None:
        self._keep_migrations(candidate)
        self.refused[candidate.name] = RefusedPlugin(candidate.name, candidate.origin, reason)
        log.error("plugin %s (%s) refused: %s", candidate.name, candidate.origin, reason)

    def _unmet(self, required: str, declared: dict[str, Declared]) -> str:
        if required in self.refused:
            return f"requires {required}, which is refused: {self.refused[required].reason}"
        if required in self.disabled:
            return f"requires {required}, which is disabled on this host"
        if required in declared:
            return f"requires {required}, which cannot load: its requirements form a cycle"
        return f"requires {required}, which is not installed"

    def _keep_migrations(self, candidate: Candidate) -> None:
        """Applied revisions of a plugin that is not loaded must stay resolvable."""
        folder = candidate.migrations_dir()
        if folder is not None:
            self.unloaded_migrations[candidate.name] = folder

    def _load(self, found: Declared) -> None:
        """Import the accepted plugin's models, hooks and blueprints, and register them."""
        declaration = found.declaration
        tables_before = set(Base.metadata.tables)
        hooks: ModuleType | None = None
        try:
            if declaration.models:
                plugin_loading.import_path(declaration.models, found.package)
            foreign = sorted(
                t
                for t in set(Base.metadata.tables) - tables_before
                if not t.startswith(f"{declaration.name}_")
            )
            if foreign:
                raise PluginRefused(
                    f"its tables must be named {declaration.name}_...: {', '.join(foreign)}"
                )
            hooks = found.module
            if declaration.hooks:
                hooks = plugin_loading.import_path(declaration.hooks, found.package)
            self._register(hooks, declaration.name)
            blueprints = tuple(
                plugin_loading.resolve_blueprint(path, found.package)
                for path in declaration.blueprints
            )
        except PluginRefused:
            if hooks is not None and self._pm.is_registered(hooks):
                self._pm.unregister(hooks)
            plugin_loading.drop_tables_since(tables_before)
            raise
        root = Path(inspect.getfile(found.module)).parent
        self.plugins[declaration.name] = LoadedPlugin(
            declaration,
            found.module,
            found.candidate.origin,
            PluginResources(declaration.name, root),
            blueprints,
        )
        origin = found.candidate.origin
        log.debug("plugin %s %s loaded (%s)", declaration.name, declaration.version, origin)

    def _register(self, hooks: ModuleType, name: str) -> None:
        try:
            self._pm.register(hooks, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginRefused(f"invalid hook implementation: {exc}") from exc
        except ValueError as exc:  # the module is another plugin's hooks already
            raise PluginRefused(f"its hooks cannot be registered: {exc}") from exc
        unknown = sorted(c.name for c in self._pm.get_hookcallers(hooks) or [] if c.spec is None)
        if unknown:
            raise PluginRefused(f"invalid hook implementation: no such hook {', '.join(unknown)}")

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

    @property
    def declarations(self) -> Mapping[str, Plugin]:
        """The loaded plugins' declarations, in load order."""
        return {name: plugin.declaration for name, plugin in self.plugins.items()}

    def migration_dirs(self) -> list[Path]:
        """Alembic version folders of every loaded plugin that ships migrations."""
        return [
            p.resources.migrations_dir for p in self.plugins.values() if p.resources.migrations_dir
        ]

    # -- each merchant's plugins (stored by plugin_state) ------------------------

    def states(self, session: TenantSession) -> dict[str, PluginState]:
        """Every loaded plugin as the session's merchant has it: enabled, settings."""
        return plugin_state.states(self.declarations, session)

    def is_enabled(self, session: TenantSession, name: str) -> bool:
        state = self.states(session).get(name)
        return state is not None and state.enabled

    def settings_for(self, session: TenantSession, name: str) -> PluginSettings:
        """The merchant's validated settings of plugin ``name``."""
        return plugin_state.settings_for(self.get(name).declaration, session)

    def set_enabled(self, session: TenantSession, name: str, enabled: bool) -> list[str]:
        """See :func:`merchant_voice.plugin_state.set_enabled` (caller commits)."""
        self.get(name)
        return plugin_state.set_enabled(self.declarations, session, name, enabled)

    def configure(
        self, session: TenantSession, name: str, values: Mapping[str, Any], *, merge: bool = True
    ) -> PluginSettings:
        """See :func:`merchant_voice.plugin_state.configure` (caller commits)."""
        return plugin_state.configure(self.get(name).declaration, session, values, merge=merge)

    # -- hooks -----------------------------------------------------------------

    def call(
        self,
        hook: str,
        *,
        session: TenantSession | None = None,
        every_plugin: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Call ``hook`` on every plugin (with ``session``: every plugin the merchant enabled,
        or with ``every_plugin`` every loaded one).

        Returns ``{plugin: result}``, in call order, for implementations that returned
        something. An implementation that raises is logged and recorded in ``failures``;
        with a ``session``, its writes are rolled back to a savepoint. The others still run.
        """
        if session is not None:
            found = self.contributions(hook, session, every_plugin=every_plugin, **kwargs)
            return {c.plugin: c.value for c in found}
        return self.call_each(hook, lambda _plugin: kwargs)

    def call_each(self, hook: str, arguments: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
        """Call ``hook`` on every plugin with arguments of its own, ``arguments(plugin)``
        (``register_jobs`` gets each plugin a registry in its name); as :meth:`call`."""
        results: dict[str, Any] = {}
        for impl in self._implementations(hook):
            given = arguments(impl.plugin_name)
            self._check_arguments(hook, given)
            try:
                result = impl.function(**{name: given[name] for name in impl.argnames})
            except Exception as exc:
                self._failed(impl.plugin_name, hook, exc)
                continue
            if result is not None:
                results[impl.plugin_name] = result
        return results

    def contributions(
        self, hook: str, session: TenantSession, *, every_plugin: bool = False, **kwargs: Any
    ) -> list[Contribution]:
        """Call merchant hook ``hook`` on every plugin the session's merchant enabled (with
        ``every_plugin``: every loaded one), each with its own ``settings``; what each
        returned (None aside), in call order."""
        states = self.states(session)
        self._check_arguments(hook, {**kwargs, "session": session, "settings": None})
        found: list[Contribution] = []
        for impl in self._implementations(hook):
            state = states.get(impl.plugin_name)
            if state is None or not (state.enabled or every_plugin):
                continue
            given = {**kwargs, "session": session, "settings": state.settings}
            try:
                with session.begin_nested():
                    result = impl.function(**{name: given[name] for name in impl.argnames})
            except Exception as exc:
                self._failed(impl.plugin_name, hook, exc)
                continue
            if result is not None:
                resources = self.plugins[impl.plugin_name].resources
                found.append(Contribution(impl.plugin_name, result, state.settings, resources))
        return found

    def _check_arguments(self, hook: str, given: dict[str, Any]) -> None:
        caller = getattr(self._pm.hook, hook)
        expected = set(caller.spec.argnames) if caller.spec else set()
        if set(given) != expected:
            raise TypeError(f"hook {hook} takes {sorted(expected)}, given {sorted(given)}")

    def _implementations(self, hook: str) -> list[pluggy.HookImpl]:
        """``tryfirst`` ones, then the rest in load order, then ``trylast`` ones."""
        order = {name: index for index, name in enumerate(self.plugins)}

        def rank(impl: pluggy.HookImpl) -> tuple[int, int]:
            group = 0 if impl.tryfirst else 2 if impl.trylast else 1
            return group, order.get(impl.plugin_name, len(order))

        return sorted(getattr(self._pm.hook, hook).get_hookimpls(), key=rank)

    def _failed(self, plugin: str, hook: str, exc: Exception) -> None:
        self.failures.append(HookFailure(plugin, hook, f"{type(exc).__name__}: {exc}"))
        log.error("plugin %s failed in hook %s", plugin, hook, exc_info=exc)
