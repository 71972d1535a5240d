"""Alembic environment, driven by merchant_voice.migrate (not by alembic.ini).

The caller passes the open connection, the metadata and a table filter in
``config.attributes``; see :func:`merchant_voice.migrate.alembic_config`.
"""

from __future__ import annotations

from typing import Any

from alembic import context

config = context.config
if context.is_offline_mode():
    raise RuntimeError(
        "offline (--sql) migrations are not supported; run `flask --app app db upgrade`"
    )

include_table = config.attributes.get("include_table")


def _include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    if type_ == "table" and include_table is not None and name is not None:
        return bool(include_table(name))
    return True


def _include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    table = obj if type_ == "table" else getattr(obj, "table", None)
    if include_table is not None and table is not None:
        return bool(include_table(table.name))
    return True


context.configure(
    connection=config.attributes["connection"],
    target_metadata=config.attributes["metadata"],
    render_as_batch=True,
    compare_type=True,
    include_name=_include_name,
    include_object=_include_object,
)
with context.begin_transaction():
    context.run_migrations()
