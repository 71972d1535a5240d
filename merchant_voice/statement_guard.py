"""Which SQL statements a merchant-scoped session may run (see :mod:`.tenancy`).

A statement passes when it is an ORM statement over merchant-owned tables and
carries nothing that the ORM cannot scope: no raw SQL (``text()``, literal
columns, hand-written operators or function names, prefixes, suffixes and
hints), no upserts, no ``INSERT ... SELECT``, no subqueries inside an INSERT
or inside loader options, and no change of ``merchant_id``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm.interfaces import ORMOption
from sqlalchemy.orm.strategy_options import _LoadElement
from sqlalchemy.sql.dml import Delete, Insert, Update
from sqlalchemy.sql.elements import (
    BinaryExpression,
    ClauseElement,
    ColumnClause,
    TextClause,
    UnaryExpression,
)
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.operators import custom_op
from sqlalchemy.sql.selectable import Select, TableClause
from sqlalchemy.sql.visitors import iterate

from merchant_voice.errors import TenancyViolation

SAFE_OPERATOR = re.compile(r"^[-+*/%<>=!~@#&|^?]{1,3}$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RAW_SQL_ATTRIBUTES = ("_prefixes", "_suffixes", "_hints", "_statement_hints")


def is_orm(statement: Any) -> bool:
    propagate = getattr(statement, "_propagate_attrs", None) or {}
    return bool(propagate.get("compile_state_plugin") == "orm")


def check_statement(statement: Any, readable: frozenset[str], writable: frozenset[str]) -> None:
    """Raise :class:`TenancyViolation` unless ``statement`` is safe to scope."""
    if not isinstance(statement, ClauseElement) or not is_orm(statement):
        raise TenancyViolation(
            "raw SQL and Core statements are not available in a merchant-scoped session;"
            " use the ORM models"
        )
    check_elements(statement, readable)
    for option in getattr(statement, "_with_options", ()):
        _check_loader_paths(option, readable)
        for element in _option_elements(option, depth=4):
            if any(isinstance(inner, Select) for inner in iterate(element)):
                raise TenancyViolation("subqueries in loader options are not available")
            check_elements(element, readable)
    if isinstance(statement, Insert | Update | Delete):
        table = statement.table
        if isinstance(table, TableClause) and table.name not in writable:
            raise TenancyViolation(f"table {table.name!r} is read-only for plugins")
    if isinstance(statement, Insert):
        _check_insert(statement)
    if isinstance(statement, Update):
        _check_update(statement)


def check_elements(root: ClauseElement, readable: frozenset[str]) -> None:
    for element in iterate(root):
        if isinstance(element, TextClause) or (
            isinstance(element, ColumnClause) and element.is_literal and element.name != "*"
        ):
            raise TenancyViolation(
                "raw SQL fragments are not available in a merchant-scoped session"
            )
        if isinstance(element, TableClause) and element.name not in readable:
            raise TenancyViolation(f"table {element.name!r} is not merchant-owned data")
        if isinstance(element, BinaryExpression | UnaryExpression):
            operator = getattr(element, "operator", None) or getattr(element, "modifier", None)
            if isinstance(operator, custom_op) and not SAFE_OPERATOR.match(operator.opstring):
                raise TenancyViolation(f"operator {operator.opstring!r} is not available")
        if isinstance(element, FunctionElement):
            names = [getattr(element, "name", "f"), *getattr(element, "packagenames", ())]
            if not all(IDENTIFIER.match(str(name)) for name in names):
                raise TenancyViolation(f"function name {names!r} is not available")
        if any(getattr(element, attribute, None) for attribute in RAW_SQL_ATTRIBUTES):
            raise TenancyViolation("prefixes, suffixes and hints are not available")


def _check_loader_paths(option: Any, readable: frozenset[str]) -> None:
    """Eager loads (``joinedload`` ...) may only reach merchant-owned tables."""
    for element in getattr(option, "context", ()) or ():
        for step in getattr(getattr(element, "path", None), "path", ()):
            table = getattr(step, "local_table", None)
            name = getattr(table, "name", None)
            if name is not None and name not in readable:
                raise TenancyViolation(f"table {name!r} is not merchant-owned data")


def _check_insert(statement: Insert) -> None:
    if statement._values or statement._multi_values:
        raise TenancyViolation(
            "INSERT ... VALUES is not available in a merchant-scoped session;"
            " use session.add() or session.execute(insert(Model), rows)"
        )
    if statement.select is not None:
        raise TenancyViolation("INSERT ... SELECT is not available in a merchant-scoped session")
    if getattr(statement, "_post_values_clause", None) is not None:
        raise TenancyViolation("upserts are not available in a merchant-scoped session")
    if any(isinstance(element, Select) for element in iterate(statement)):
        raise TenancyViolation("subqueries in an INSERT are not available")


def _check_update(statement: Update) -> None:
    values = dict(statement._values or {})
    values.update(dict(getattr(statement, "_ordered_values", None) or ()))
    if any(getattr(key, "key", key) == "merchant_id" for key in values):
        raise TenancyViolation("rows cannot be moved to another merchant")


def _option_elements(value: Any, depth: int) -> Iterator[ClauseElement]:
    """SQL expressions carried by a loader option (``with_expression``, ``and_()``...)."""
    if isinstance(value, ClauseElement):
        yield value
        return
    if depth == 0:
        return
    if isinstance(value, dict):
        children: list[Any] = list(value.values())
    elif isinstance(value, list | tuple):
        children = list(value)
    elif isinstance(value, ORMOption | _LoadElement):
        children = [getattr(value, name, None) for name in _slots(type(value))]
        children += list(getattr(value, "__dict__", {}).values())
    else:
        return
    for child in children:
        yield from _option_elements(child, depth - 1)


def _slots(cls: type) -> list[str]:
    return [
        name
        for klass in cls.__mro__
        for name in getattr(klass, "__slots__", ())
        if isinstance(name, str) and name not in ("path", "__weakref__")
    ]
