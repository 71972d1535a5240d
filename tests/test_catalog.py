"""Catalog import: the real WooCommerce sample, both Shopify layouts, bad rows, isolation."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from merchant_voice.errors import BadRequest
from models.job import Job
from plugins.catalog.importers import parse, store
from plugins.catalog.models import Listing
from tests.conftest import Shop

WOO_SAMPLE = (
    Path(__file__).resolve().parent.parent.parent
    / "shared/data/catalogs/woocommerce_sample_products.csv"
)

DATA = Path(__file__).resolve().parent / "data"
SHOPIFY_LEGACY = (DATA / "shopify_products_legacy.csv").read_text()  # Handle, Body (HTML)...
SHOPIFY_CURRENT = (DATA / "shopify_products_current.csv").read_text()  # URL handle, Description...


def _import(app: Flask, shop: Shop, data: bytes, format: str | None = None) -> dict[str, object]:
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        return store(session, parse(data, format)).as_dict()


def _listings(app: Flask, shop: Shop) -> dict[str, Listing]:
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        listings = session.scalars(select(Listing)).all()
        for listing in listings:
            listing.variants  # noqa: B018  (load before the session closes)
        return {listing.handle: listing for listing in listings}


def test_the_woocommerce_sample_imports_completely(app: Flask, shop_a: Shop) -> None:
    report = _import(app, shop_a, WOO_SAMPLE.read_bytes())
    assert report["format"] == "woocommerce" and report["rows"] == 25
    assert report["errors"] == []
    listings = _listings(app, shop_a)
    assert report["created"] == len(listings) == 18  # 25 rows, 7 of them variations
    tee = listings["woo-vneck-tee"]
    assert tee.title == "Awesome V-Neck T-Shirt"
    assert tee.attributes == {
        "Color": ["Blue", "Green", "Red"],
        "Size": ["Large", "Medium", "Small"],
    }
    assert sorted(v.options["Color"] for v in tee.variants) == ["Blue", "Green", "Red"]
    assert {v.sku for v in tee.variants} == {
        "woo-vneck-tee-red",
        "woo-vneck-tee-green",
        "woo-vneck-tee-blue",
    }
    hoodie = listings["woo-hoodie"]
    assert len(hoodie.variants) == 4
    beanie = listings["woo-beanie"]
    assert beanie.price == Decimal("20.00") and beanie.currency == "USD"
    assert beanie.image_urls and beanie.image_urls[0].startswith("https://")
    assert "<p>" in beanie.description_html or beanie.description_html
    assert listings["woo-album"].extra["type"] == "simple, downloadable, virtual"


@pytest.mark.parametrize("layout", [SHOPIFY_LEGACY, SHOPIFY_CURRENT], ids=["legacy", "current"])
def test_shopify_layouts(app: Flask, shop_a: Shop, layout: str) -> None:
    report = _import(app, shop_a, layout.encode())
    assert (report["format"], report["created"], report["errors"]) == ("shopify", 2, [])
    listings = _listings(app, shop_a)
    pack = listings["trail-pack"]
    assert pack.title == "Trail Pack 30L"
    assert pack.description_html == "<p>A <b>30 L</b> pack for day hikes.</p>"
    assert [(v.sku, v.options, v.price) for v in pack.variants] == [
        ("TP-RED-M", {"Color": "Red", "Size": "M"}, Decimal("89.00")),
        ("TP-BLUE-M", {"Color": "Blue", "Size": "M"}, Decimal("89.00")),
        ("TP-BLUE-L", {"Color": "Blue", "Size": "L"}, Decimal("94.50")),
    ]
    assert pack.attributes == {"Color": ["Red", "Blue"], "Size": ["M", "L"]}
    assert pack.price == Decimal("89.00")
    assert pack.image_urls == ["https://img.example/tp-red.jpg", "https://img.example/tp-blue.jpg"]
    bottle = listings["water-bottle"]
    assert (bottle.sku, bottle.price, bottle.variants) == ("WB-1", Decimal("19.90"), [])


def test_bad_rows_are_reported_and_good_rows_kept(app: Flask, shop_a: Shop) -> None:
    data = (
        "Handle,Title,Body (HTML),Option1 Name,Option1 Value,Variant SKU,Variant Price\n"
        "good,Good Thing,<p>ok</p>,Size,S,G-S,10.00\n"
        'good,,,Size,M,G-M,"12,50"\n'
        "no-title,,,,,NT,5.00\n"
        "no-title,,,Size,L,NT-L,6.00\n"
        ",Orphan,,,,,1.00\n"
        "cheap,Cheap Thing,,,,C-1,-3\n"
        "shifted,Shifted,<p>a, b</p>,,,S-1,1.00\n"
    )
    report = _import(app, shop_a, data.encode())
    errors = {(e["row"], e["column"]): e["reason"] for e in report["errors"]}  # type: ignore[union-attr]
    assert set(errors) == {
        (3, "Variant Price"),
        (4, "Title"),
        (5, "Handle"),
        (6, "Handle"),
        (7, "Variant Price"),
        (8, "(whole row)"),
    }
    assert errors[(3, "Variant Price")] == "'12,50' is not a price (digits, a dot for decimals)"
    assert "row 4" in errors[(5, "Handle")]
    listings = _listings(app, shop_a)
    assert set(listings) == {"good"}
    assert [v.sku for v in listings["good"].variants] == ["G-S"]


def test_real_world_rows(app: Flask, shop_a: Shop) -> None:
    data = (
        "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price\n"
        "tee,Tee,Size,S,T-S,5.00\n"
        "tee,,,M,T-M,6.00\n"  # Shopify names options on the first row only
        "short,Short Row\n"  # fewer cells than the header: empty, not zero
        "nan,Not a Number,,,N-1,NaN\n"
        "huge,Huge,,,H-1,1e30\n"
        "tee,Tee again,,,T-X,7.00\n"
        f"{'x' * 300},Long Handle,,,L-1,1.00\n"
    )
    report = _import(app, shop_a, data.encode())
    errors = {(e["row"], e["column"]) for e in report["errors"]}  # type: ignore[union-attr]
    assert errors == {(5, "Variant Price"), (6, "Variant Price"), (8, "handle")}, report
    listings = _listings(app, shop_a)
    assert listings["tee"].attributes == {"Size": ["S", "M"]}  # row 7 is one more variant of tee
    assert [v.options for v in listings["tee"].variants][:2] == [{"Size": "S"}, {"Size": "M"}]
    assert listings["short"].price is None and listings["short"].sku is None
    woo = "ID,Type,SKU,Name,Regular price\n1,simple,dup,First,1.00\n2,simple,dup,Second,2.00\n"
    report = _import(app, shop_a, woo.encode())
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(3, "handle")]  # type: ignore[union-attr]


def test_files_that_cannot_be_read_are_refused_whole(app: Flask, shop_a: Shop) -> None:
    with pytest.raises(BadRequest, match="not UTF-8"):
        parse("Handle,Title\nbrie,Brie de Meaux affiné\n".encode("latin-1"))
    with pytest.raises(BadRequest, match="cannot tell the file's format"):
        parse(b"Name,Price\nThing,1.00\n")
    with pytest.raises(BadRequest, match="empty"):
        parse(b"")
    with pytest.raises(BadRequest, match="not that of a woocommerce"):
        parse(SHOPIFY_LEGACY.encode(), "woocommerce")


def test_cli_import_reports_and_reimports_in_place(app: Flask, shop_a: Shop) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["catalog", "import", "shop-a", str(WOO_SAMPLE), "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["created"] == 18
    again = runner.invoke(
        args=["catalog", "import", "shop-a", str(WOO_SAMPLE), "--format", "woocommerce"]
    )
    assert again.exit_code == 0
    assert "0 listings created, 18 updated, 0 rows with errors" in again.output
    missing = runner.invoke(args=["catalog", "import", "nobody", str(WOO_SAMPLE)])
    assert missing.exit_code == 1 and "no merchant with slug 'nobody'" in missing.output


def test_each_merchant_sees_only_its_catalog(app: Flask, shop_a: Shop, shop_b: Shop) -> None:
    _import(app, shop_a, WOO_SAMPLE.read_bytes())
    _import(app, shop_b, SHOPIFY_CURRENT.encode())
    assert set(_listings(app, shop_b)) == {"trail-pack", "water-bottle"}
    assert "trail-pack" not in _listings(app, shop_a)
    body = app.test_client().get("/api/v1/merchant", headers=shop_b.headers).get_json()
    assert body["plugins"]["catalog"]["details"] == {"listings": 2}


LISTING = {
    "handle": "trail-pack",
    "title": "Trail Pack 30L",
    "description_html": "<p>A <b>30 L</b> pack.</p>",
    "bullet_points": ["30 litres", "Rain cover"],
    "attributes": {"Color": ["Red", "Blue"]},
    "price": "89.00",
    "image_urls": ["https://img.example/tp.jpg"],
    "variants": [{"sku": "TP-RED", "title": "Red", "options": {"Color": "Red"}, "price": "89.00"}],
}


def test_listings_api_crud(app: Flask, shop_a: Shop, shop_b: Shop) -> None:
    client = app.test_client()
    created = client.post("/api/v1/listings", headers=shop_a.headers, json=LISTING)
    assert created.status_code == 201, created.get_json()
    listing = created.get_json()
    assert listing["currency"] == "USD" and listing["source"] == "api"
    assert listing["variants"][0]["options"] == {"Color": "Red"}
    url = f"/api/v1/listings/{listing['id']}"
    assert client.get(url, headers=shop_a.headers).get_json()["title"] == "Trail Pack 30L"
    changed = client.put(
        url, headers=shop_a.headers, json={**LISTING, "title": "Trail Pack 32L", "variants": []}
    )
    assert changed.get_json()["title"] == "Trail Pack 32L" and changed.get_json()["variants"] == []
    page = client.get("/api/v1/listings?limit=10", headers=shop_a.headers).get_json()
    assert page["total"] == 1 and page["listings"][0]["handle"] == "trail-pack"
    duplicate = client.post("/api/v1/listings", headers=shop_a.headers, json=LISTING)
    assert duplicate.status_code == 409
    for method in ("get", "put", "delete"):  # another merchant's id: not found
        other = getattr(client, method)(url, headers=shop_b.headers, json=LISTING)
        assert other.status_code == 404, method
    assert client.post("/api/v1/listings", headers=shop_b.headers, json=LISTING).status_code == 201
    assert client.delete(url, headers=shop_a.headers).status_code == 204
    assert client.get(url, headers=shop_a.headers).status_code == 404


def test_listing_pages_count_and_carry_only_the_merchants_own(
    app: Flask, shop_a: Shop, shop_b: Shop
) -> None:
    client = app.test_client()
    for n in range(3):
        variants = [{"title": f"V{n}", "options": {"Size": f"S{n}"}, "sku": f"A-{n}"}]
        listing = {"handle": f"a-{n}", "title": f"A {n}", "variants": variants}
        assert (
            client.post("/api/v1/listings", headers=shop_a.headers, json=listing).status_code == 201
        )
    other = {"handle": "b-0", "title": "B", "variants": [{"title": "X", "sku": "B-0"}]}
    assert client.post("/api/v1/listings", headers=shop_b.headers, json=other).status_code == 201

    def page(shop: Shop, query: str) -> dict[str, Any]:
        return client.get(f"/api/v1/listings?{query}", headers=shop.headers).get_json()

    second = page(shop_a, "limit=2&offset=2")
    assert (second["total"], [x["handle"] for x in second["listings"]]) == (3, ["a-2"])
    assert [v["sku"] for v in second["listings"][0]["variants"]] == ["A-2"]
    assert (page(shop_a, "offset=10")["total"], page(shop_a, "offset=10")["listings"]) == (3, [])
    theirs = page(shop_b, "")
    assert theirs["total"] == 1 and [v["sku"] for v in theirs["listings"][0]["variants"]] == ["B-0"]


def test_listings_api_rejects_bad_input(app: Flask, shop_a: Shop) -> None:
    client = app.test_client()
    bad = {
        **LISTING,
        "title": "",
        "price": "-1",
        "currency": "EURO",
        "image_urls": ["ftp:x"],
        "colour": "red",
    }
    response = client.post("/api/v1/listings", headers=shop_a.headers, json=bad)
    assert response.status_code == 422
    fields = {error["field"] for error in response.get_json()["errors"]}
    assert {"title", "price", "currency", "image_urls.0", "colour"} <= fields
    listing = client.get("/api/v1/listings?limit=0", headers=shop_a.headers)
    assert listing.status_code == 422 and listing.get_json()["errors"][0]["field"] == "limit"


def _upload(app: Flask, shop: Shop, content: bytes, **form: str) -> Any:
    return app.test_client().post(
        "/api/v1/catalog/imports",
        headers=shop.headers,
        data={"file": (io.BytesIO(content), "products.csv"), **form},
        content_type="multipart/form-data",
    )


def test_import_api_runs_as_a_job(app: Flask, shop_a: Shop, shop_b: Shop) -> None:
    response = _upload(app, shop_a, WOO_SAMPLE.read_bytes())
    assert response.status_code == 202, response.get_json()
    queued = response.get_json()
    assert (queued["format"], queued["rows"]) == ("woocommerce", 25)
    app.extensions["jobs"].run(queued["job_id"])  # what a worker does with the delivery
    job = app.test_client().get(f"/api/v1/jobs/{queued['job_id']}", headers=shop_a.headers)
    body = job.get_json()
    assert body["status"] == "succeeded" and body["result"]["created"] == 18, body
    assert len(_listings(app, shop_a)) == 18 and _listings(app, shop_b) == {}
    other = app.test_client().get(f"/api/v1/jobs/{queued['job_id']}", headers=shop_b.headers)
    assert other.status_code == 404


def test_import_api_refuses_bad_uploads(app: Flask, shop_a: Shop) -> None:
    client = app.test_client()
    missing = client.post(
        "/api/v1/catalog/imports",
        headers=shop_a.headers,
        data={},
        content_type="multipart/form-data",
    )
    assert missing.status_code == 422 and missing.get_json()["errors"][0]["field"] == "file"
    assert _upload(app, shop_a, "Handle,Title\nx,café\n".encode("latin-1")).status_code == 400
    assert _upload(app, shop_a, b"Handle,Title\n", format="magento").status_code == 422
    too_big = _upload(app, shop_a, b"Handle,Title\n" + b"a,b\n" * 20_000)
    assert too_big.status_code == 413
    with app.extensions["db"].host_session() as session:
        assert session.scalars(select(Job)).all() == []
