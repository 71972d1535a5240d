"""SQLite under WAL: a transaction that read before another committed cannot write after.
``TenantSession.writes_first`` begins a writer's transaction holding the write lock, so it
never goes stale (the job service's hooks and the translation job's batches write so)."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from tests.conftest import Shop
from tests.plugins.notes.models import Note


def _interleaved(app: Flask, shop: Shop, first_writes_first: bool) -> list[BaseException]:
    """Session one reads; session two commits a note meanwhile; then session one writes."""
    db = app.extensions["db"]
    read, other_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def one() -> None:
        try:
            with db.tenant_session(shop.merchant) as session:
                if first_writes_first:
                    session.writes_first()
                session.scalar(select(func.count(Note.id)))
                read.set()
                other_done.wait(timeout=0.5)  # with the lock held, the other waits for us
                session.add(Note(text="one"))
                session.commit()
        except BaseException as exc:
            errors.append(exc)
        finally:
            read.set()

    def two() -> None:
        read.wait(timeout=10)
        try:
            with db.tenant_session(shop.merchant) as session:
                session.add(Note(text="two"))
                session.commit()
        except BaseException as exc:
            errors.append(exc)
        finally:
            other_done.set()

    threads = [threading.Thread(target=one), threading.Thread(target=two)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


def test_a_writer_that_began_by_reading_fails_once_another_committed(
    app: Flask, shop_a: Shop
) -> None:
    if app.extensions["db"].engine.dialect.name != "sqlite":
        pytest.skip("SQLite's behaviour")
    errors = _interleaved(app, shop_a, first_writes_first=False)
    assert len(errors) == 1 and isinstance(errors[0], OperationalError)
    assert "database is locked" in str(errors[0])


def test_writes_first_holds_the_lock_so_both_writers_succeed(app: Flask, shop_a: Shop) -> None:
    assert _interleaved(app, shop_a, first_writes_first=True) == []
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        texts = list(session.scalars(select(Note.text).order_by(Note.id)))
    assert sorted(texts[-2:]) == ["one", "two"]
