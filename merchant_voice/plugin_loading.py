"""Finding plugins and checking their declarations, before anything of theirs is loaded.

Plugins come from two places:

* built-in: every sub-package of the packages in ``[plugins] packages``
  (``plugins/`` by default) that has a ``plugin.py``;
* external: the ``merchant_voice.plugins`` entry-point group of installed
  distributions, each entry naming the module that holds ``plugin``.

A candidate's declaration module is imported alone and must add no tables;
its declaration is checked; then the candidates are put in dependency order.
:class:`~merchant_voice.plugin_manager.PluginManager` drives it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import logging
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from flask import Blueprint
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import ValidationError

from merchant_voice import HOST_API_VERSION
from merchant_voice.config import PluginsSettings
from merchant_voice.errors import PluginRefused
from merchant_voice.orm import Base
from merchant_voice.plugin_declaration import NAME_PATTERN, Plugin

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "merchant_voice.plugins"


@dataclass(frozen=True)
class Candidate:
    """A plugin found, not imported yet."""

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


@dataclass(frozen=True)
class Declared:
    """A candidate whose declaration passed its checks; nothing else of it is loaded."""

    candidate: Candidate
    declaration: Plugin
    module: ModuleType

    @property
    def package(self) -> str:
        return self.module.__name__.rpartition(".")[0] or self.module.__name__


def candidates(settings: PluginsSettings) -> Iterator[Candidate]:
    for package_name in settings.packages:
        try:
            package = importlib.import_module(package_name)
        except ImportError as exc:
            log.error("plugin package %s cannot be imported: %s", package_name, exc)
            continue
        for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
            if info.ispkg and not info.name.startswith("_"):
                module = f"{package_name}.{info.name}.plugin"
                yield Candidate(info.name, f"built-in {module}", module, _importer(module))
    if settings.entry_points:
        for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = f"{entry.dist.name} {entry.dist.version}" if entry.dist else "?"
            yield Candidate(
                entry.name, f"entry point {entry.value} ({dist})", entry.module, entry.load
            )


def declare(candidate: Candidate) -> Declared:
    """Import the declaration module alone and check the declaration. A refused one leaves
    no table behind, even one its module imported."""
    tables_before = set(Base.metadata.tables)
    try:
        try:
            module = candidate.load()
        except Exception as exc:
            raise PluginRefused(f"failed to import: {type(exc).__name__}: {exc}") from exc
        added = sorted(set(Base.metadata.tables) - tables_before)
        if added:
            raise PluginRefused(
                f"importing its declaration added tables ({', '.join(added)}): import models"
                " only from the modules named in `models` and `hooks`"
            )
        declaration = getattr(module, "plugin", None)
        if not isinstance(declaration, Plugin):
            raise PluginRefused("its module defines no `plugin = Plugin(...)` declaration")
        _check_declaration(declaration, candidate.name)
    except PluginRefused:
        drop_tables_since(tables_before)
        raise
    return Declared(candidate, declaration, module)


def drop_tables_since(tables_before: set[str]) -> None:
    """Forget the tables registered since ``tables_before`` (a plugin being refused)."""
    for table in set(Base.metadata.tables) - tables_before:
        Base.metadata.remove(Base.metadata.tables[table])


def dependency_order(declared: dict[str, Declared]) -> list[Declared]:
    """Every declared plugin, each after the declared plugins it requires, otherwise in
    discovery order; plugins caught in a requirement cycle come last (and are refused)."""
    ordered: list[Declared] = []
    placed: set[str] = set()
    waiting = list(declared.values())
    while waiting:
        ready = next(
            (
                found
                for found in waiting
                if all(r in placed or r not in declared for r in found.declaration.requires)
            ),
            None,
        )
        if ready is None:  # a cycle: nothing left can be placed
            return ordered + waiting
        waiting.remove(ready)
        ordered.append(ready)
        placed.add(ready.declaration.name)
    return ordered


def import_path(path: str, package: str) -> Any:
    """``module`` or ``module:attribute``, relative to ``package`` when it starts with a dot."""
    module_name, _, attribute = path.partition(":")
    try:
        module = importlib.import_module(
            module_name, package if module_name.startswith(".") else None
        )
        return getattr(module, attribute) if attribute else module
    except Exception as exc:
        raise PluginRefused(f"cannot import {path!r}: {type(exc).__name__}: {exc}") from exc


def resolve_blueprint(path: str, package: str) -> Blueprint:
    blueprint = import_path(path, package)
    if not isinstance(blueprint, Blueprint):
        raise PluginRefused(f"blueprint {path!r} is not a flask.Blueprint")
    return blueprint


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
    bad = [r for r in declaration.requires if not NAME_PATTERN.match(r) or r == declaration.name]
    if bad:
        raise PluginRefused(f"requires {', '.join(map(repr, bad))}: not another plugin's name")
    try:
        declaration.settings()
    except ValidationError as exc:
        raise PluginRefused(f"its settings schema has fields without defaults: {exc}") from None
