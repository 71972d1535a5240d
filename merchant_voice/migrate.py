"""Alembic for the host and its plugins: one history, one branch per plugin.

The host's revisions live in ``migrations/versions``; each loaded plugin's in
``<plugin>/migrations/versions``, on a branch labelled with the plugin's name
whose first revision ``depends_on`` the host revision it needs. ``upgrade``
to ``heads`` therefore applies the host's and every loaded plugin's.

Plugin tables are named ``<plugin>_...``; autogenerate for a plugin only sees
its own tables, and for the host only the host's.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from merchant_voice.db import Database
from merchant_voice.orm import Base
from merchant_voice.plugin_manager import PluginManager

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
HOST_BRANCH = "host"


def _table_filter(plugins: PluginManager, plugin: str | None) -> Callable[[str], bool]:
    prefixes = tuple(f"{name}_" for name in plugins.plugins)
    if plugin is None:
        return lambda table: table == "alembic_version" or not table.startswith(prefixes)
    return lambda table: table.startswith(f"{plugin}_")


class Migrations:
    """Alembic commands over the host's and the loaded plugins' revisions."""

    def __init__(self, db: Database, plugins: PluginManager) -> None:
        self.db = db
        self.plugins = plugins

    def config(
        self, connection: Any, plugin: str | None = None, all_tables: bool = False
    ) -> Config:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.set_main_option("path_separator", "os")
        locations = [
            MIGRATIONS_DIR / "versions",
            *self.plugins.migration_dirs(),
            *self.plugins.unloaded_migrations.values(),  # so their applied revisions resolve
        ]
        config.set_main_option("version_locations", os.pathsep.join(str(p) for p in locations))
        config.attributes["connection"] = connection
        config.attributes["metadata"] = Base.metadata
        config.attributes["include_table"] = (
            None if all_tables else _table_filter(self.plugins, plugin)
        )
        # Column types a revision names come from the host's module, or, in a plugin's
        # revision, from the plugin API: the only host module plugins import.
        types = "merchant_voice.orm" if plugin is None else "merchant_voice.plugin_api"
        config.attributes["types_module"] = types
        return config

    def branches(self) -> list[str]:
        """What ``upgrade`` applies: the host's branch and each loaded plugin's (if it has one)."""
        with self.db.engine.connect() as connection:
            script = ScriptDirectory.from_config(self.config(connection))
            labels = {label for rev in script.walk_revisions() for label in rev.branch_labels}
        return [HOST_BRANCH, *sorted(name for name in self.plugins.plugins if name in labels)]

    def upgrade(self, revision: str | None = None) -> None:
        """Upgrade to ``revision``; by default every branch in :meth:`branches` to its head."""
        targets = [revision] if revision else [f"{branch}@head" for branch in self.branches()]
        with self.db.engine.begin() as connection:
            config = self.config(connection, all_tables=True)
            for target in targets:
                command.upgrade(config, target)

    def downgrade(self, revision: str) -> None:
        with self.db.engine.begin() as connection:
            command.downgrade(self.config(connection, all_tables=True), revision)

    def current(self) -> list[str]:
        with self.db.engine.connect() as connection:
            context = MigrationContext.configure(connection)
            return sorted(context.get_current_heads())

    def heads(self) -> list[str]:
        """The head revision of each branch that ``upgrade`` applies."""
        with self.db.engine.connect() as connection:
            script = ScriptDirectory.from_config(self.config(connection))
            return sorted(
                rev.revision
                for branch in self.branches()
                for rev in script.get_revisions(f"{branch}@head")
                if rev is not None
            )

    def pending(self) -> list[str]:
        """Revisions of those branches not yet applied (dependencies count as applied)."""
        with self.db.engine.connect() as connection:
            script = ScriptDirectory.from_config(self.config(connection))
            current = MigrationContext.configure(connection).get_current_heads()
        applied: set[str] = set()
        stack = list(current)
        while stack:
            revision = script.get_revision(stack.pop())
            if revision is None or revision.revision in applied:
                continue
            applied.add(revision.revision)
            for parent in (revision.down_revision, revision.dependencies):
                stack.extend([parent] if isinstance(parent, str) else parent or ())
        wanted = {
            rev.revision
            for branch in self.branches()
            for rev in script.iterate_revisions(f"{branch}@head", "base")
        }
        return sorted(wanted - applied)

    def revision(self, message: str, plugin: str | None = None, autogenerate: bool = True) -> None:
        """Write a new revision: the host's, or ``plugin``'s (starting its branch if new)."""
        folder = None
        if plugin is not None:  # before the config, which lists the existing version folders
            folder = self.plugins.get(plugin).resources.root / "migrations" / "versions"
            folder.mkdir(parents=True, exist_ok=True)
        with self.db.engine.begin() as connection:
            config = self.config(connection, plugin)
            options: dict[str, Any] = {"autogenerate": autogenerate}
            if plugin is not None:
                script = ScriptDirectory.from_config(self.config(connection, all_tables=True))
                has_branch = any(
                    plugin in (rev.branch_labels or ()) for rev in script.walk_revisions()
                )
                if has_branch:
                    options.update(head=f"{plugin}@head")
                else:
                    host_heads = [
                        rev.revision
                        for rev in script.get_revisions(f"{HOST_BRANCH}@head")
                        if rev is not None
                    ]
                    options.update(
                        head="base",
                        branch_label=plugin,
                        version_path=str(folder),
                        depends_on=host_heads or None,
                    )
            else:
                options.update(head=f"{HOST_BRANCH}@head")
            command.revision(config, message=message, **options)

    def differences(self) -> list[Any]:
        """What autogenerate would change: empty when models and migrations agree."""
        with self.db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            return list(compare_metadata(context, Base.metadata))
