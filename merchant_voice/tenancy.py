"""Per-merchant isolation of every merchant-owned row.

A model that belongs to a merchant inherits :class:`MerchantOwned`, which gives
it a ``merchant_id`` column. Handlers, hooks and jobs only ever get a
:class:`TenantSession`, which enforces, for one merchant:

* every ORM ``SELECT`` - including ``Session.get``, relationship and column
  loads, joins and aliases - and every ORM bulk ``UPDATE``/``DELETE`` is
  filtered on ``merchant_id``;
* new rows are stamped with the merchant; a row that names another merchant,
  or a loaded row whose ``merchant_id`` is changed, is refused at flush;
* a statement may only touch merchant-owned tables: raw SQL, Core tables and
  host tables (``merchants``...) raise :class:`TenancyViolation`;
* ``connection()`` is not available, so SQL cannot be sent around the checks.

Another merchant's rows are therefore simply invisible: looking one up by id
finds nothing, which the API reports as 404.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ForeignKey, event, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    UOWTransaction,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.sql.dml import Insert, Update
from sqlalchemy.sql.elements import ClauseElement, ColumnClause, TextClause
from sqlalchemy.sql.selectable import TableClause
from sqlalchemy.sql.visitors import iterate

from merchant_voice.errors import TenancyViolation

log = logging.getLogger(__name__)


class MerchantOwned:
    """Mixin for every merchant-owned model: adds the indexed ``merchant_id``.

    A model that sets ``__host_only__ = True`` (credentials: users, API keys)
    is merchant-owned but never reachable through a :class:`TenantSession`.
    """

    __host_only__: bool = False

    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), index=True
    )


@dataclass(frozen=True)
class MerchantInfo:
    """A read-only view of the current merchant, safe to hand to plugins."""

    id: int
    slug: str
    name: str
    default_locale: str
    market_locales: tuple[str, ...] = field(default=())
    currency: str = "USD"
    timezone: str = "UTC"


_owned_cache: tuple[int, frozenset[str]] = (-1, frozenset())


def owned_tables() -> frozenset[str]:
    """Names of the tables of every mapped :class:`MerchantOwned` model a plugin may use."""
    global _owned_cache
    from merchant_voice.db import Base

    mappers = Base.registry.mappers
    if _owned_cache[0] != len(mappers):  # recomputed only when a plugin adds models
        _owned_cache = (
            len(mappers),
            frozenset(
                mapper.local_table.name  # type: ignore[attr-defined]
                for mapper in mappers
                if issubclass(mapper.class_, MerchantOwned) and not mapper.class_.__host_only__
            ),
        )
    return _owned_cache[1]


class TenantSession(Session):
    """A session that can only see and write one merchant's rows."""

    def __init__(self, engine: Engine, merchant: MerchantInfo) -> None:
        super().__init__(expire_on_commit=False)
        self._tenant_engine = engine
        self.merchant = merchant
        self.info["merchant_id"] = merchant.id

    @property
    def merchant_id(self) -> int:
        return self.merchant.id

    def get_bind(self, *args: Any, **kwargs: Any) -> Engine:
        return self._tenant_engine

    def connection(self, *args: Any, **kwargs: Any) -> Any:
        raise TenancyViolation("a merchant-scoped session does not hand out its connection")


def _is_orm(statement: ClauseElement) -> bool:
    return bool(getattr(statement, "_propagate_attrs", {}).get("compile_state_plugin") == "orm")


def _check_statement(statement: Any, allowed: frozenset[str]) -> None:
    """Refuse raw SQL, Core statements and any table that is not merchant-owned."""
    if not isinstance(statement, ClauseElement) or not _is_orm(statement):
        raise TenancyViolation(
            "raw SQL and Core statements are not available in a merchant-scoped session;"
            " use the ORM models"
        )
    for element in iterate(statement):
        if isinstance(element, TextClause) or (
            isinstance(element, ColumnClause) and element.is_literal and element.name != "*"
        ):
            raise TenancyViolation(
                "raw SQL fragments are not available in a merchant-scoped session"
            )
        if isinstance(element, TableClause) and element.name not in allowed:
            raise TenancyViolation(f"table {element.name!r} is not merchant-owned data")
    if getattr(statement, "_post_values_clause", None) is not None:
        raise TenancyViolation("upserts are not available in a merchant-scoped session")


@event.listens_for(TenantSession, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> None:
    merchant_id = state.session.info["merchant_id"]
    statement = state.statement
    _check_statement(statement, owned_tables())
    if isinstance(statement, Insert):
        state.parameters = _stamp_insert(statement, state.parameters, merchant_id)
        return
    if isinstance(statement, Update) and isinstance(state.parameters, list):
        _check_bulk_update(state.session, statement, state.parameters)
    state.statement = statement.options(
        with_loader_criteria(
            MerchantOwned,
            lambda cls: cls.merchant_id == merchant_id,
            include_aliases=True,
        )
    )


def _stamp_insert(statement: Insert, parameters: Any, merchant_id: int) -> Any:
    """ORM bulk INSERT: rows must come as parameters; each is stamped with the merchant."""
    if statement._values or statement._multi_values:
        raise TenancyViolation(
            "INSERT ... VALUES is not available in a merchant-scoped session;"
            " use session.add() or session.execute(insert(Model), rows)"
        )
    rows = parameters if isinstance(parameters, list) else [parameters or {}]
    stamped = []
    for row in rows:
        if row.get("merchant_id", merchant_id) != merchant_id:
            raise TenancyViolation("a row for another merchant cannot be inserted")
        stamped.append({**row, "merchant_id": merchant_id})
    return stamped if isinstance(parameters, list) else stamped[0]


def _check_bulk_update(session: Session, statement: Update, rows: list[dict[str, Any]]) -> None:
    """ORM bulk UPDATE by primary key skips loader criteria: check every key is ours first."""
    entity = statement.entity_description["entity"]
    mapper = inspect(entity)
    if len(mapper.primary_key) != 1:
        raise TenancyViolation("bulk UPDATE needs a single-column primary key")
    key = mapper.get_property_by_column(mapper.primary_key[0]).key
    if any("merchant_id" in row for row in rows):
        raise TenancyViolation("a row cannot be moved to another merchant")
    wanted = {row[key] for row in rows if key in row}
    column = getattr(entity, key)
    found = set(session.scalars(select(column).where(column.in_(wanted))))
    if found != wanted:
        raise TenancyViolation("bulk UPDATE names rows that are not this merchant's")


@event.listens_for(TenantSession, "before_flush")
def _stamp_and_guard(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    merchant_id = session.info["merchant_id"]
    for obj in session.new:
        if not isinstance(obj, MerchantOwned) or obj.__host_only__:
            raise TenancyViolation(f"{type(obj).__name__} is not merchant-owned data")
        if obj.merchant_id is None:
            obj.merchant_id = merchant_id
        elif obj.merchant_id != merchant_id:
            raise TenancyViolation("a row for another merchant cannot be added")
    for obj in list(session.dirty) + list(session.deleted):
        if not isinstance(obj, MerchantOwned) or obj.__host_only__:
            raise TenancyViolation(f"{type(obj).__name__} is not merchant-owned data")
        history = inspect(obj).attrs.merchant_id.history
        if history.has_changes() or obj.merchant_id != merchant_id:
            raise TenancyViolation("a row cannot be moved to, or belong to, another merchant")
