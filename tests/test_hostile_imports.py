"""Hostile input: catalog imports of any size under the body limit complete, and a
failed job tells the merchant what happened, never the SQL behind it."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError

from merchant_voice.jobs.service import shown_error
from plugins.catalog.importers import parse, store
from plugins.catalog.importers.base import Parsed, ParsedListing
from plugins.catalog.models import Listing
from tests.conftest import Shop
from tests.test_catalog import _import, _listings, _upload

ROWS = 2_500


def test_an_import_larger_than_sqlites_variable_limit_completes(app: Flask, shop_a: Shop) -> None:
    engine = app.extensions["db"].engine
    if engine.dialect.name == "sqlite":  # SQLite before 3.32 allowed 999 variables a statement

        @event.listens_for(engine, "connect")
        def old_limit(connection: sqlite3.Connection, _record: Any) -> None:
            connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)

        engine.dispose()
    content = "Handle,Title\n" + "".join(f"item-{n},Item {n}\n" for n in range(ROWS))
    for created, updated in ((ROWS, 0), (0, ROWS)):  # then again: updated in place
        response = _upload(app, shop_a, content.encode())
        assert response.status_code == 202, response.get_json()
        job_id = response.get_json()["job_id"]
        app.extensions["jobs"].run(job_id)
        job = app.test_client().get(f"/api/v1/jobs/{job_id}", headers=shop_a.headers).get_json()
        assert job["status"] == "succeeded", job
        assert (job["result"]["created"], job["result"]["updated"]) == (created, updated)
        assert job["progress"] == 1.0
    assert len(_listings(app, shop_a)) == ROWS


def test_a_database_error_is_shown_as_a_sentence(app: Flask) -> None:
    with app.extensions["db"].engine.connect() as connection:
        try:
            connection.execute(
                text("SELECT secret_column FROM no_such_table WHERE id = :id"), {"id": 7}
            )
        except DBAPIError as exc:
            error = exc
    shown = shown_error(error, "job-42")
    assert (
        shown
        == "The job stopped on a database error. Details are in the host's log under job job-42."
    )
    assert "SELECT" not in shown and "no_such_table" not in shown


def _handles(app: Flask, shop: Shop) -> dict[str, str | None]:
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        rows = session.execute(select(Listing.handle, Listing.external_id))
        return {handle: external for handle, external in rows}


def test_renames_in_one_file_move_handles_and_never_merge_products(
    app: Flask, shop_a: Shop
) -> None:
    def woo(n: int, handle: str) -> ParsedListing:
        return ParsedListing(handle=handle, title=f"Product {n}", row=n, external_id=f"woo:{n}")

    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        store(session, Parsed("woocommerce", 2, [woo(1, "x"), woo(2, "y")]))
        # 2 moves y -> z, then 1 moves x -> y, and a new product 3 takes x: no clash, no merge
        report = store(session, Parsed("woocommerce", 3, [woo(2, "z"), woo(1, "y"), woo(3, "x")]))
    assert (report.created, report.updated, report.clashes) == (1, 2, [])
    assert _handles(app, shop_a) == {"x": "woo:3", "y": "woo:1", "z": "woo:2"}


def test_another_platform_product_on_a_handle_never_takes_over_its_listing(
    app: Flask, shop_a: Shop
) -> None:
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        first = ParsedListing(handle="cap", title="Cap", row=1, external_id="woo:1")
        store(session, Parsed("woocommerce", 1, [first]))
        other = ParsedListing(handle="cap", title="Other cap", row=1, external_id="woo:9")
        report = store(session, Parsed("woocommerce", 1, [other]))
        listing_id = session.scalar(select(Listing.id).where(Listing.external_id == "woo:1"))
    assert (report.created, report.updated) == (1, 0)
    assert _handles(app, shop_a) == {"cap": "woo:9", f"cap-{listing_id}": "woo:1"}
    assert report.clashes and "woo:9" in report.clashes[0]


SCATTERED_SHOPIFY = """Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price
pack,Pack,Color,Red,P-R,10.00
cap,Cap,,,C-1,5.00
pack,,Color,Blue,P-B,12.00
"""

WOO_HEADER = "ID,Type,SKU,Name,Parent,Regular price,Attribute 1 name,Attribute 1 value(s)\n"
VARIATION_FIRST_WOO = WOO_HEADER + (
    "11,variation,TEE-R,Tee red,TEE,20,Color,Red\n"  # by its SKU, before it
    "14,variation,TEE-G,Tee green,id:10,22,Color,Green\n"  # by its id, before it
    '10,variable,TEE,Tee,,,Color,"Red, Blue"\n'
    "12,variation,TEE-B,Tee blue,id:10,21,Color,Blue\n"
    "13,variation,X-1,Lost,NOPE,3,Color,Red\n"
)


def test_a_products_rows_need_not_be_together(app: Flask, shop_a: Shop) -> None:
    """Files are read as they go, yet a product's rows may be scattered over the file
    (a spreadsheet sorted by another column), and a variation may come before its parent."""
    shopify = _import(app, shop_a, SCATTERED_SHOPIFY.encode())
    woo = _import(app, shop_a, VARIATION_FIRST_WOO.encode())
    assert (shopify["created"], shopify["errors"]) == (2, [])
    assert woo["created"] == 1
    assert woo["errors"] == [
        {"row": 6, "column": "Parent", "reason": "no product 'NOPE' in this file"}
    ]
    listings = _listings(app, shop_a)
    assert [v.sku for v in listings["pack"].variants] == ["P-R", "P-B"]
    assert listings["pack"].price == Decimal("10.00")
    assert [v.sku for v in listings["TEE"].variants] == ["TEE-R", "TEE-G", "TEE-B"]


def _catalog(products: int) -> bytes:
    return (
        "Handle,Title,Variant Price\n"
        + "".join(f"item-{n},Item {n},{n}.00\n" for n in range(products))
    ).encode()


def test_a_file_is_stored_as_it_is_read(app: Flask, shop_a: Shop) -> None:
    """The first listings are stored before the file's later rows are read: a file of any
    size under the body limit is never held as listings at once."""
    parsed = parse(_catalog(2_000))
    read_when_stored: list[int] = []
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        report = store(
            session, parsed, progress=lambda _: read_when_stored.append(parsed.rows_read)
        )
    assert report.created == parsed.rows == 2_000
    assert read_when_stored[0] <= 501 < 2_000 == read_when_stored[-1]


def test_files_read_as_they_go_keep_the_one_pass_meaning(app: Flask, shop_a: Shop) -> None:
    """A repeated column's missing cell is empty, as a spreadsheet shows it; of two products
    with one handle the first in the file wins, with its variations in file order."""
    repeated = _import(app, shop_a, b"Handle,Title,Handle\nh1,T\n")
    assert repeated["errors"] == [{"row": 2, "column": "Handle", "reason": "the handle is missing"}]
    woo = _import(
        app,
        shop_a,
        (
            WOO_HEADER + "5,variable,,First,,,Color,\n"  # handle woo-5
            "7,simple,woo-5,Second,,4,,\n"  # the same handle: refused
            "8,variation,V-8,Red,id:5,1,Color,Red\n"
            "9,variation,V-9,Blue,id:5,2,Color,Blue\n"
        ).encode(),
    )
    assert woo["created"] == 1
    assert woo["errors"] == [{"row": 3, "column": "handle", "reason": "'woo-5' repeats row 2"}]
    assert [v.sku for v in _listings(app, shop_a)["woo-5"].variants] == ["V-8", "V-9"]
