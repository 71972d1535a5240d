"""An import-linter contract of our own: plugins import each other only as they declare.

A plugin may import another plugin only when its declaration ``requires`` that
plugin, and then only the other's public module (``plugins.catalog.public``).
A module beside the plugins in their package (``plugins/_shared.py``) imports
none of them, so that it cannot pass one plugin's internals to another. The
declarations are read from each plugin's ``plugin.py``, so the rule follows
``requires`` as it changes; ``pyproject.toml`` names the packages that hold
plugins. Run by ``lint-imports`` (``scripts/test``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


@dataclass(frozen=True)
class _Violation:
    importer: str
    imported: str
    reason: str
    lines: tuple[str, ...]


class RequiredPluginsContract(Contract):
    """Configuration: ``containers`` (packages whose sub-packages with a ``plugin.py`` are
    plugins) and ``public_module`` (the one module a plugin shows others; ``public``)."""

    containers = fields.ListField(subfield=fields.StringField())
    public_module = fields.StringField(required=False, default="public")

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        plugins = self._plugins(graph)
        beside = self._beside_plugins(graph, plugins)
        violations: list[_Violation] = []
        for package, requires in [*plugins.items(), *((module, None) for module in beside)]:
            for importer in sorted({package, *graph.find_descendants(package)}):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    owner = _owner(imported, plugins)
                    if owner is None or owner == package:
                        continue
                    reason = self._refusal(owner, imported, requires)
                    if reason:
                        details = graph.get_import_details(importer=importer, imported=imported)
                        lines = tuple(f"{d['line_number']}: {d['line_contents']}" for d in details)
                        violations.append(_Violation(importer, imported, reason, lines))
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for violation in check.metadata["violations"]:
            output.print_error(f"{violation.importer} -> {violation.imported}: {violation.reason}")
            output.indent_cursor()
            for line in violation.lines:
                output.print_error(line, bold=False)
            output.new_line()

    def _plugins(self, graph: ImportGraph) -> dict[str, tuple[str, ...]]:
        """Each plugin package, with the names of the plugins it requires (none, for a
        declaration that does not import: the host refuses that plugin anyway)."""
        found: dict[str, tuple[str, ...]] = {}
        for container in self.containers:  # type: ignore[attr-defined]
            for package in sorted(graph.find_children(container)):
                if f"{package}.plugin" in graph.modules:
                    try:
                        declaration: Any = importlib.import_module(f"{package}.plugin").plugin
                    except Exception:
                        declaration = None
                    found[package] = tuple(getattr(declaration, "requires", ()))
        return found

    def _beside_plugins(self, graph: ImportGraph, plugins: dict[str, Any]) -> list[str]:
        """The modules and packages in the containers that are no plugin."""
        return [
            child
            for container in self.containers  # type: ignore[attr-defined]
            for child in sorted(graph.find_children(container))
            if child not in plugins
        ]

    def _refusal(self, owner: str, imported: str, requires: tuple[str, ...] | None) -> str | None:
        name = owner.rpartition(".")[2]
        public = f"{owner}.{self.public_module}"  # type: ignore[attr-defined]
        if requires is None:
            return f"imports plugin {name}, but is no plugin: only plugins import plugins"
        if name not in requires:
            return f"imports plugin {name}, which its declaration does not require"
        if imported != public:
            return f"reaches into plugin {name}: import its public module, {public}"
        return None


def _owner(module: str, plugins: dict[str, Any]) -> str | None:
    return next((p for p in plugins if module == p or module.startswith(f"{p}.")), None)
