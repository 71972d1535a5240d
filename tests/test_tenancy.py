"""Every attempt to cross from one merchant to another fails (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, insert, literal_column, select, table, text, update
from sqlalchemy.orm import aliased, joinedload, make_transient_to_detached, selectinload

from merchant_voice.errors import TenancyViolation
from merchant_voice.tenancy import TenantSession
from models import ApiKey, Job, Merchant, MerchantPlugin
from tests.conftest import Shop
from tests.plugins.notes.models import Note, Tag


def _notes(app: Flask, shop: Shop, *texts: str) -> list[int]:
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        notes = [Note(text=value, tags=[Tag(name=f"{value}-tag")]) for value in texts]
        session.add_all(notes)
        session.commit()
        return [note.id for note in notes]


@pytest.fixture
def scoped(app: Flask, shop_a: Shop) -> TenantSession:
    session: TenantSession = app.extensions["db"].tenant_session(shop_a.merchant)
    return session


@pytest.fixture
def ids(app: Flask, shop_a: Shop, shop_b: Shop) -> dict[str, list[int]]:
    return {"a": _notes(app, shop_a, "a1", "a2"), "b": _notes(app, shop_b, "b1")}


def _all_texts(app: Flask) -> list[tuple[int, str]]:
    with app.extensions["db"].host_session() as session:
        return [(n.merchant_id, n.text) for n in session.scalars(select(Note).order_by(Note.id))]


def test_queries_see_only_own_rows(scoped: TenantSession, ids: dict[str, list[int]]) -> None:
    texts = scoped.scalars(select(Note.text).order_by(Note.text)).all()
    # "Welcome" notes come from the notes plugin's merchant_created hook.
    assert [t for t in texts if not t.startswith("Welcome")] == ["a1", "a2"]
    assert scoped.scalar(select(func.count()).select_from(Note)) == 3
    assert scoped.get(Note, ids["b"][0]) is None
    assert scoped.scalars(select(Note).where(Note.id == ids["b"][0])).first() is None
    alias = aliased(Note)
    assert "b1" not in scoped.scalars(select(alias.text)).all()
    joined = scoped.execute(select(Note.text, Tag.name).join(Tag)).all()
    assert {row.text for row in joined} == {"a1", "a2"}
    inner = select(Tag.note_id).scalar_subquery()
    assert "b1" not in scoped.scalars(select(Note.text).where(Note.id.in_(inner))).all()


def test_relationship_loads_are_filtered(app: Flask, shop_a: Shop, shop_b: Shop) -> None:
    b_note = _notes(app, shop_b, "b-secret")[0]
    with app.extensions["db"].host_transaction() as session:
        # A corrupt row: merchant A's tag pointing at merchant B's note.
        session.add(Tag(name="crossed", note_id=b_note, merchant_id=shop_a.id))
        session.add(Tag(name="b-on-b", note_id=b_note, merchant_id=shop_b.id))
    with app.extensions["db"].tenant_session(shop_a.merchant) as scoped:
        crossed = scoped.scalars(select(Tag).where(Tag.name == "crossed")).one()
        assert crossed.note is None  # lazy many-to-one load is filtered
    with app.extensions["db"].tenant_session(shop_b.merchant) as scoped_b:
        note = scoped_b.get(Note, b_note)
        assert note is not None
        assert [tag.name for tag in note.tags] == ["b-secret-tag", "b-on-b"]  # no "crossed"


def test_bulk_update_and_delete_touch_only_own_rows(
    app: Flask, scoped: TenantSession, ids: dict[str, list[int]]
) -> None:
    assert scoped.execute(update(Note).values(text="changed")).rowcount == 3  # type: ignore[attr-defined]
    assert scoped.execute(update(Note).where(Note.id == ids["b"][0]).values(text="x")).rowcount == 0  # type: ignore[attr-defined]
    assert scoped.execute(delete(Tag).where(Tag.note_id == ids["b"][0])).rowcount == 0  # type: ignore[attr-defined]
    with pytest.raises(TenancyViolation):
        scoped.execute(update(Note), [{"id": ids["b"][0], "text": "hacked"}])
    scoped.execute(update(Note), [{"id": ids["a"][0], "text": "bulk by key"}])
    scoped.commit()
    assert (2, "b1") in _all_texts(app)
    assert (1, "bulk by key") in _all_texts(app)


def test_new_rows_are_stamped_and_other_merchants_refused(
    app: Flask, scoped: TenantSession, shop_a: Shop, shop_b: Shop
) -> None:
    note = Note(text="stamped")
    scoped.add(note)
    scoped.flush()
    assert note.merchant_id == shop_a.id
    scoped.add(Note(text="for b", merchant_id=shop_b.id))
    with pytest.raises(TenancyViolation):
        scoped.flush()
    scoped.rollback()
    scoped.execute(insert(Note), [{"text": "bulk"}])
    with pytest.raises(TenancyViolation):
        scoped.execute(insert(Note), [{"text": "bulk for b", "merchant_id": shop_b.id}])
    with pytest.raises(TenancyViolation):
        scoped.execute(insert(Note).values(text="inline", merchant_id=shop_b.id))
    scoped.commit()
    texts = _all_texts(app)
    assert (shop_a.id, "bulk") in texts
    assert all(value not in {"for b", "bulk for b", "inline"} for _, value in texts)


def test_moving_a_row_to_another_merchant_is_refused(
    scoped: TenantSession, ids: dict[str, list[int]], shop_b: Shop
) -> None:
    note = scoped.get(Note, ids["a"][0])
    assert note is not None
    note.merchant_id = shop_b.id
    with pytest.raises(TenancyViolation):
        scoped.flush()


REFUSED: dict[str, Callable[[TenantSession], Any]] = {
    "text": lambda s: s.execute(text("SELECT * FROM notes_notes")),
    "core-table": lambda s: s.execute(select(Note.__table__)),
    "table-clause": lambda s: s.execute(select(table("merchants", literal_column("name")))),
    "host-model": lambda s: s.scalars(select(Merchant)),
    "host-get": lambda s: s.get(Merchant, 1),
    "api-keys": lambda s: s.scalars(select(ApiKey)),
    "from-statement": lambda s: s.scalars(
        select(Note).from_statement(text("SELECT * FROM notes_notes"))
    ),
    "literal-column": lambda s: s.execute(select(Note.id, literal_column("merchants.name"))),
    "text-where": lambda s: s.scalars(select(Note.text).where(text("1 = 1"))),
    "connection": lambda s: s.connection(),
    "op-injection": lambda s: s.scalars(
        select(Note.text).where(
            Note.id.op("IN (SELECT 0) UNION SELECT slug FROM merchants WHERE 1 =")(1)
        )
    ),
    "op-in-update": lambda s: s.execute(
        update(Note).where(Note.id.op(") OR (1 =")(1)).values(text="x")
    ),
    "suffix": lambda s: s.scalars(
        select(Note.text).suffix_with("UNION SELECT slug FROM merchants")
    ),
    "hint": lambda s: s.scalars(select(Note.text).with_statement_hint("UNION SELECT 1")),
    "function-name": lambda s: s.scalars(select(getattr(func, "count(*) FROM merchants --")())),
    "insert-prefix": lambda s: s.execute(insert(Note).prefix_with("OR REPLACE"), [{"text": "x"}]),
    "insert-select": lambda s: s.execute(insert(Note).from_select(["text"], select(Note.text))),
    "insert-subquery": lambda s: s.execute(
        insert(Note).returning(select(Note.text).scalar_subquery()), [{"text": "x"}]
    ),
    "insert-no-rows": lambda s: s.execute(insert(Note), []),
    "move-rows": lambda s: s.execute(update(Note).values(merchant_id=2)),
    "bulk-update-mappings": lambda s: s.bulk_update_mappings(Note, [{"id": 1, "text": "x"}]),
    "bulk-insert-mappings": lambda s: s.bulk_insert_mappings(Note, [{"text": "x"}]),
    "bulk-save-objects": lambda s: s.bulk_save_objects([Note(text="x")]),
    "jobs-read-only": lambda s: s.execute(update(Job).values(status="queued")),
    "plugin-settings-read-only": lambda s: s.execute(delete(MerchantPlugin)),
}


@pytest.mark.parametrize("attempt", REFUSED.values(), ids=REFUSED.keys())
def test_raw_sql_and_host_tables_are_refused(
    scoped: TenantSession, ids: dict[str, list[int]], attempt: Callable[[TenantSession], Any]
) -> None:
    with pytest.raises(TenancyViolation):
        attempt(scoped)


def test_objects_from_outside_cannot_touch_other_merchants_rows(
    app: Flask, scoped: TenantSession, ids: dict[str, list[int]], shop_a: Shop
) -> None:
    b_id = ids["b"][0]
    forged = Note(id=b_id, text="forged", merchant_id=shop_a.id)
    make_transient_to_detached(forged)
    scoped.add(forged)
    forged.text = "overwritten"
    with pytest.raises(TenancyViolation):
        scoped.flush()
    scoped.rollback()
    forged = Note(id=b_id, text="forged", merchant_id=shop_a.id)
    make_transient_to_detached(forged)
    scoped.delete(scoped.merge(forged, load=False))
    with pytest.raises(TenancyViolation):
        scoped.flush()
    scoped.rollback()
    scoped.add(Tag(name="link", note_id=b_id))  # a foreign key into merchant B's rows
    with pytest.raises(TenancyViolation):
        scoped.flush()
    scoped.rollback()
    assert (2, "b1") in _all_texts(app)


def test_eager_loads_work_and_stay_inside_the_merchant(
    scoped: TenantSession, ids: dict[str, list[int]]
) -> None:
    for option in (joinedload(Note.tags), selectinload(Note.tags)):
        notes = scoped.scalars(select(Note).options(option).order_by(Note.id)).unique().all()
        assert [n.text for n in notes if n.tags] == ["a1", "a2"]
    assert scoped.merchant.slug == "shop-a"
    with pytest.raises(AttributeError):
        scoped.merchant = None  # type: ignore[misc]


def test_jobs_and_plugin_settings_are_read_only_for_plugins(
    app: Flask, scoped: TenantSession
) -> None:

    app.extensions["plugins"].set_enabled(scoped, "notes", False)
    scoped.commit()
    row = scoped.scalars(select(MerchantPlugin)).one()
    assert (row.plugin, row.enabled) == ("notes", False)
    row.enabled = True
    with pytest.raises(TenancyViolation):
        scoped.flush()


def test_api_hides_other_merchants_rows(
    client: FlaskClient, app: Flask, shop_a: Shop, shop_b: Shop, ids: dict[str, list[int]]
) -> None:
    b_id = ids["b"][0]
    for method in ("get", "put", "delete"):
        response = getattr(client, method)(
            f"/api/v1/notes/{b_id}", headers=shop_a.headers, json={"text": "hacked"}
        )
        assert response.status_code == 404, method
        assert response.mimetype == "application/problem+json"
    listed = client.get("/api/v1/notes", headers=shop_a.headers).get_json()
    assert "b1" not in [note["text"] for note in listed["notes"]]
    assert (shop_b.id, "b1") in _all_texts(app)
    own = client.get(f"/api/v1/notes/{b_id}", headers=shop_b.headers)
    assert own.status_code == 200 and own.get_json()["text"] == "b1"


def test_api_job_of_another_merchant_is_404(
    client: FlaskClient, shop_a: Shop, shop_b: Shop
) -> None:
    created = client.post("/api/v1/notes/count-job", headers=shop_b.headers)
    assert created.status_code == 202
    job_id = created.get_json()["job_id"]
    assert client.get(f"/api/v1/jobs/{job_id}", headers=shop_a.headers).status_code == 404
    assert client.get(f"/api/v1/jobs/{job_id}", headers=shop_b.headers).status_code == 200
