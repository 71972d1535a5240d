"""SQLAlchemy engine, declarative base and sessions (``app.extensions["db"]``).

Two kinds of session exist, and only one of them is ever handed to a plugin:

* :meth:`Database.host_session` - unscoped; for the host's own bookkeeping
  (authentication, the CLI, the job runner). Never given to plugins.
* :meth:`Database.tenant_session` - a :class:`~merchant_voice.tenancy.TenantSession`
  bound to one merchant. Request handlers, hooks and jobs get this one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from merchant_voice.tenancy import WRITES_FIRST, MerchantInfo, TenantSession

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)

T = TypeVar("T")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, emit BEGIN, so that SAVEPOINT and DDL work in transactions.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def make_engine(url: str, echo: bool = False) -> Engine:
    """An engine with the settings every backend needs (SQLite: FKs on, WAL, waits on locks)."""
    engine = create_engine(url, echo=echo, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin)
    return engine


def _begin(connection: Connection) -> None:
    writes = connection.get_execution_options().get(WRITES_FIRST, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


class Database:
    """The host's database: one engine, session factories for host and tenant use."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.engine = make_engine(url, echo)
        self._host_sessions = sessionmaker(bind=self.engine, expire_on_commit=False)

    def init_app(self, app: Flask) -> None:
        app.extensions["db"] = self

    def host_session(self) -> Session:
        """A new unscoped session. Host code only: never pass it to a plugin."""
        return self._host_sessions()

    def tenant_session(
        self, merchant: MerchantInfo, connection: Connection | None = None, writer: bool = False
    ) -> TenantSession:
        """A new session that can only see and write ``merchant``'s rows.

        With ``connection``, it joins that connection's transaction (through a savepoint).
        ``writer``: every transaction it begins takes SQLite's write lock at once, waiting
        its turn (``busy_timeout``) behind other writers, instead of reading first and
        failing at its first write once another writer has committed (WAL gives a reader
        no way to become a writer then). For requests that write: short transactions.
        """
        if connection is not None:
            return TenantSession(connection, merchant)
        bind = self.engine.execution_options(**{WRITES_FIRST: True}) if writer else self.engine
        return TenantSession(bind, merchant)

    @contextmanager
    def host_transaction(self) -> Iterator[Session]:
        """A host session in a transaction: committed on success, rolled back on error."""
        with self.host_session() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def is_busy(exc: BaseException) -> bool:
    """SQLite's "database is locked": another connection is writing; retry in a moment."""
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def retry_when_busy(write: Callable[[], T], attempts: int = 5) -> T:
    """Run ``write`` (a whole transaction) again when SQLite says "database is locked".

    Under WAL, a transaction that read before another connection committed cannot
    write any more, and SQLite fails it at once rather than waiting. Small write
    transactions that run concurrently (a call's turns) are simply run again.
    """
    for attempt in range(attempts):
        try:
            return write()
        except OperationalError as exc:
            if not is_busy(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.02 * 2**attempt)
    raise AssertionError("unreachable")


_AFTER_COMMIT = "merchant_voice.after_commit"


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once ``session``'s current transaction commits; drop it on rollback."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(_AFTER_COMMIT, []):
        try:
            callback()
        except Exception:
            log.exception("after-commit callback %r failed", callback)


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_commit(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_AFTER_COMMIT, None)
