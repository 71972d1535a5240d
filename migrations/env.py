"""Alembic environment, driven by merchant_voice.migrate (not by alembic.ini).

The caller passes the open connection, the metadata and a table filter in
``config.attributes``; see :func:`merchant_voice.migrate.alembic_config`.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

from merchant_voice.orm import UTCDateTime

config = context.config
if context.is_offline_mode():
    raise RuntimeError(
        "offline (--sql) migrations are not supported; run `flask --app app db upgrade`"
    )

include_table = config.attributes.get("include_table")
types_module = config.attributes.get("types_module", "merchant_voice.orm")


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


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """``UTCDateTime`` as the revision's owner reaches it: from the host's module, or, in a
    plugin's revision, from the plugin API (the only host module plugins import)."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return f"{types_module}.{obj!r}"
    return False


context.configure(
    connection=config.attributes["connection"],
    target_metadata=config.attributes["metadata"],
    render_as_batch=True,
    compare_type=True,
    include_name=_include_name,
    include_object=_include_object,
    render_item=_render_item,
    template_args={"types_module": types_module},
)
with context.begin_transaction():
    context.run_migrations()
