"""Per-merchant isolation of every merchant-owned row.

A model that belongs to a merchant inherits :class:`MerchantOwned`, which gives
it a ``merchant_id`` column. Handlers, hooks and jobs only ever get a
:class:`TenantSession`, which enforces, for one merchant:

* every ORM ``SELECT`` - ``Session.get``, joins, aliases, subqueries,
  relationship loads - and every ORM ``UPDATE``/``DELETE`` is filtered on
  ``merchant_id``;
* new rows are stamped with the merchant; rows naming another merchant,
  changes of ``merchant_id``, references (foreign keys) to another merchant's
  rows, and updates or deletes of rows the merchant does not own are refused
  at flush;
* statements may only touch merchant-owned tables, through the ORM: raw SQL,
  Core statements and host tables raise :class:`TenancyViolation` (see
  :mod:`merchant_voice.statement_guard`); the legacy ``bulk_*`` methods and
  ``connection()`` are refused.

Another merchant's rows are therefore simply invisible: looking one up by id
finds nothing, which the API reports as 404.

Threat model: this guards the session API that plugins are given. Plugins are
Python code installed by the operator and run in the host's process; code that
deliberately reaches past the session (the engine behind ``get_bind()``, the
``Session`` base class, private attributes) is outside what Python can fence.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ForeignKey, event, inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import (
    Mapped,
    Mapper,
    ORMExecuteState,
    Session,
    UOWTransaction,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.sql.dml import Insert, Update

from merchant_voice.errors import TenancyViolation
from merchant_voice.orm import Base
from merchant_voice.statement_guard import check_statement

log = logging.getLogger(__name__)


class MerchantOwned:
    """Mixin for every merchant-owned model: adds the indexed ``merchant_id``.

    ``__host_only__ = True`` (credentials: users, API keys) keeps a model out of
    every :class:`TenantSession`; ``__tenant_readonly__ = True`` (jobs, plugin
    settings) lets plugins read it but leaves writes to the host's services.
    """

    __host_only__: bool = False
    __tenant_readonly__: bool = False

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
    storage_mb: int | None = None  # its own storage quota; None: [host] merchant_storage_mb


@dataclass(frozen=True)
class _Scope:
    readable: frozenset[str]
    writable: frozenset[str]
    foreign_keys: dict[type, list[tuple[str, type]]]


_scope_cache: tuple[int, _Scope] | None = None


def _scope() -> _Scope:
    """Tables plugins may read and write, recomputed when a plugin adds models."""
    global _scope_cache
    mappers = list(Base.registry.mappers)
    if _scope_cache is None or _scope_cache[0] != len(mappers):
        owned = [
            m for m in mappers if issubclass(m.class_, MerchantOwned) and not m.class_.__host_only__
        ]
        by_table = {m.local_table: m.class_ for m in owned}
        foreign_keys: dict[type, list[tuple[str, type]]] = {}
        for mapper in owned:
            for column in mapper.local_table.columns:
                for key in column.foreign_keys:
                    target = by_table.get(key.column.table)
                    if target is not None:
                        attribute = mapper.get_property_by_column(column).key
                        foreign_keys.setdefault(mapper.class_, []).append((attribute, target))
        _scope_cache = (
            len(mappers),
            _Scope(
                readable=frozenset(m.local_table.name for m in owned),  # type: ignore[attr-defined]
                writable=frozenset(
                    m.local_table.name  # type: ignore[attr-defined]
                    for m in owned
                    if not m.class_.__tenant_readonly__
                ),
                foreign_keys=foreign_keys,
            ),
        )
    return _scope_cache[1]


_merchants: weakref.WeakKeyDictionary[Session, MerchantInfo] = weakref.WeakKeyDictionary()
_host_writers: weakref.WeakSet[Session] = weakref.WeakSet()


WRITES_FIRST = "merchant_voice.writes_first"  # an execution option: BEGIN IMMEDIATE on SQLite


class TenantSession(Session):
    """A session that can only see and write one merchant's rows."""

    def __init__(self, bind: Engine | Connection, merchant: MerchantInfo) -> None:
        join = {"join_transaction_mode": "create_savepoint"} if isinstance(bind, Connection) else {}
        super().__init__(expire_on_commit=False, **join)  # type: ignore[arg-type]
        self._tenant_bind = bind
        _merchants[self] = merchant

    @property
    def merchant(self) -> MerchantInfo:
        """The merchant this session is bound to (fixed for its lifetime)."""
        return _merchants[self]

    @property
    def merchant_id(self) -> int:
        return self.merchant.id

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        return self._tenant_bind

    def writes_first(self) -> None:
        """Begin the next transaction as a writer: on SQLite it takes the write lock at
        once (waiting its turn), so what it reads cannot go stale before it writes -
        which SQLite fails at once with "database is locked". Call it before the
        transaction's first statement, when that transaction will write after reading
        and others write meanwhile (a job's batches, beside its heartbeats)."""
        if self.in_transaction():
            raise RuntimeError("writes_first() must come before the transaction's first statement")
        Session.connection(self, execution_options={WRITES_FIRST: True})

    def connection(self, *args: Any, **kwargs: Any) -> Any:
        raise TenancyViolation("a merchant-scoped session does not hand out its connection")

    def bulk_save_objects(self, *args: Any, **kwargs: Any) -> None:
        raise TenancyViolation("bulk_save_objects is not available; use add_all()")

    def bulk_insert_mappings(self, *args: Any, **kwargs: Any) -> None:
        raise TenancyViolation("bulk_insert_mappings is not available; use execute(insert(...))")

    def bulk_update_mappings(self, *args: Any, **kwargs: Any) -> None:
        raise TenancyViolation("bulk_update_mappings is not available; use execute(update(...))")


@contextmanager
def host_writes(session: TenantSession) -> Iterator[TenantSession]:
    """Host services only: let ``session`` write read-only tables (jobs, plugin settings)."""
    _host_writers.add(session)
    try:
        yield session
    finally:
        _host_writers.discard(session)


def _writable(session: Session, scope: _Scope) -> frozenset[str]:
    return scope.readable if session in _host_writers else scope.writable


@event.listens_for(TenantSession, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> None:
    session = state.session
    merchant_id = _merchants[session].id
    statement = state.statement
    scope = _scope()
    check_statement(statement, scope.readable, _writable(session, scope))
    if isinstance(statement, Insert):
        state.parameters = _stamp_insert(state.parameters, merchant_id)
        return
    if isinstance(statement, Update) and isinstance(state.parameters, list):
        _check_bulk_update(session, statement, state.parameters)
    state.statement = statement.options(
        with_loader_criteria(
            MerchantOwned,
            lambda cls: cls.merchant_id == merchant_id,
            include_aliases=True,
        )
    )


def _stamp_insert(parameters: Any, merchant_id: int) -> Any:
    """ORM bulk INSERT: rows come as parameters; each is stamped with the merchant."""
    rows = parameters if isinstance(parameters, list) else [parameters or {}]
    if not rows:
        raise TenancyViolation("an INSERT needs at least one row")
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
    if any("merchant_id" in row for row in rows):
        raise TenancyViolation("a row cannot be moved to another merchant")
    key = mapper.get_property_by_column(mapper.primary_key[0]).key
    _assert_owned(session, entity, {row[key] for row in rows if key in row})


def _assert_owned(session: Session, cls: type, keys: set[Any]) -> None:
    """Every primary key in ``keys`` is a row of the session's merchant."""
    if not keys:
        return
    mapper: Mapper[Any] = inspect(cls)
    column = getattr(cls, mapper.get_property_by_column(mapper.primary_key[0]).key)
    found = set(session.scalars(select(column).where(column.in_(keys))))
    if found != keys:
        raise TenancyViolation(
            f"{cls.__name__} rows {sorted(keys - found)!r} are not this merchant's"
        )


@event.listens_for(TenantSession, "before_flush")
def _guard_flush(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    merchant_id = _merchants[session].id
    scope = _scope()
    writable = _writable(session, scope)
    changed = [*session.new, *session.dirty, *session.deleted]
    for obj in changed:
        table = getattr(inspect(obj).mapper.local_table, "name", None)
        if not isinstance(obj, MerchantOwned) or table not in writable:
            raise TenancyViolation(f"{type(obj).__name__} rows cannot be written by plugins")
    for obj in session.new:
        if obj.merchant_id is None:
            obj.merchant_id = merchant_id
        elif obj.merchant_id != merchant_id:
            raise TenancyViolation("a row for another merchant cannot be added")
    existing: dict[type, set[Any]] = {}
    for obj in [*session.dirty, *session.deleted]:
        state = inspect(obj)
        if state.attrs.merchant_id.history.has_changes() or obj.merchant_id != merchant_id:
            raise TenancyViolation("a row cannot be moved to, or belong to, another merchant")
        existing.setdefault(type(obj), set()).add(state.identity[0])
    references: dict[type, set[Any]] = {}
    for obj in [*session.new, *session.dirty]:
        for attribute, target in scope.foreign_keys.get(type(obj), []):
            value = getattr(obj, attribute)
            if value is not None:
                references.setdefault(target, set()).add(value)
        for relationship in inspect(obj).mapper.relationships:
            related = (
                getattr(obj, relationship.key)
                if relationship.direction.name == "MANYTOONE"
                else None
            )
            identity = inspect(related).identity if related is not None else None
            if identity is not None:
                references.setdefault(type(related), set()).add(identity[0])
    for cls, keys in [*existing.items(), *references.items()]:
        _assert_owned(session, cls, keys)  # rows attached from outside, or links across merchants
