"""Stock per variant: CSV imports, product webhooks, the listings API, and what a caller hears."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from merchant_voice.call_tools import CallState, ToolResult
from merchant_voice.plugin_resources import PluginResources
from plugins import catalog
from plugins.catalog.availability import per_option, spoken_label
from plugins.catalog.models import Listing, Variant
from plugins.support_calls.tools import choose, gather
from tests.conftest import Shop
from tests.test_catalog import SHOPIFY_CURRENT, SHOPIFY_LEGACY, WOO_SAMPLE, _import, _listings
from tests.test_catalog_webhooks import SHOPIFY_PRODUCT, secrets, shopify, woo

__all__ = ["secrets"]  # fixture: the shop platforms' webhook secrets of shop A


def _stock(listing: Listing) -> list[tuple[str | None, int | None, bool | None]]:
    return [(v.sku, v.stock_quantity, v.in_stock) for v in listing.variants]


@pytest.mark.parametrize("layout", [SHOPIFY_LEGACY, SHOPIFY_CURRENT], ids=["legacy", "current"])
def test_shopify_csv_carries_each_variants_stock(app: Flask, shop_a: Shop, layout: str) -> None:
    assert _import(app, shop_a, layout.encode())["errors"] == []
    listings = _listings(app, shop_a)
    pack = listings["trail-pack"]
    # 12, 0 and an oversold -2 (none left), each in stock or not by it; the listing's is theirs.
    assert _stock(pack) == [
        ("TP-RED-M", 12, True),
        ("TP-BLUE-M", 0, False),
        ("TP-BLUE-L", 0, False),
    ]
    assert (pack.stock_quantity, pack.in_stock) == (12, True)
    bottle = listings["water-bottle"]  # its inventory tracker is blank: not tracked
    assert (bottle.stock_quantity, bottle.in_stock) == (None, None)

    bad = layout.replace("shopify,0,", "shopify,lots,")
    report = _import(app, shop_a, bad.encode())
    column = "Variant Inventory Qty" if layout is SHOPIFY_LEGACY else "Inventory quantity"
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(3, column)]  # type: ignore[index,union-attr]
    assert [v.sku for v in _listings(app, shop_a)["trail-pack"].variants] == [
        "TP-RED-M",
        "TP-BLUE-L",
    ]


def test_woocommerce_csv_variation_rows_carry_their_stock(app: Flask, shop_a: Shop) -> None:
    # The sample's variation rows say "In stock?" 1 and leave Stock empty.
    assert _import(app, shop_a, WOO_SAMPLE.read_bytes())["errors"] == []
    tee = _listings(app, shop_a)["woo-vneck-tee"]
    assert {(v.external_id, v.stock_quantity, v.in_stock) for v in tee.variants} == {
        ("woocommerce:76", None, True),
        ("woocommerce:77", None, True),
        ("woocommerce:78", None, True),
    }
    assert (tee.stock_quantity, tee.in_stock) == (None, True)

    shirt = (
        "ID,Type,SKU,Name,Parent,In stock?,Stock,Regular price,Attribute 1 name,"
        "Attribute 1 value(s)\n"
        '10,variable,shirt,Linen Shirt,,1,,,Size,"Medium, Large, Small"\n'
        "11,variation,shirt-m,Linen Shirt - Medium,shirt,1,12,39.00,Size,Medium\n"
        "12,variation,shirt-l,Linen Shirt - Large,shirt,0,0,39.00,Size,Large\n"
        "13,variation,shirt-s,Linen Shirt - Small,shirt,1,a few,39.00,Size,Small\n"
    )
    report = _import(app, shop_a, shirt.encode())
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(5, "Stock")]  # type: ignore[index,union-attr]
    linen = _listings(app, shop_a)["shirt"]
    assert _stock(linen) == [("shirt-m", 12, True), ("shirt-l", 0, False)]
    assert (linen.stock_quantity, linen.in_stock) == (12, True)


def test_shopify_webhook_stock_per_variant(app: Flask, shop_a: Shop, secrets: None) -> None:
    product = {
        **SHOPIFY_PRODUCT,
        "variants": [
            # API 2024-07 and later: no inventory_management, the quantity counts
            {"id": 1, "sku": "TP-RED", "price": "89.00", "option1": "Red", "inventory_quantity": 5},
            {
                "id": 2,
                "sku": "TP-BLUE",
                "price": "94.00",
                "option1": "Blue",
                "inventory_quantity": -1,
            },
        ],
    }
    assert shopify(app, "products/create", product, "s-1").status_code == 200
    pack = _listings(app, shop_a)["trail-pack"]
    assert _stock(pack) == [("TP-RED", 5, True), ("TP-BLUE", 0, False)]
    assert [v.external_id for v in pack.variants] == ["shopify:1", "shopify:2"]
    assert (pack.stock_quantity, pack.in_stock) == (5, True)

    untracked = [{**v, "inventory_management": None} for v in product["variants"]]
    assert (
        shopify(app, "products/update", {**product, "variants": untracked}, "s-2").status_code
        == 200
    )
    pack = _listings(app, shop_a)["trail-pack"]
    assert _stock(pack) == [("TP-RED", None, None), ("TP-BLUE", None, None)]
    assert (pack.stock_quantity, pack.in_stock) == (None, None)


VARIABLE = {"id": 10, "name": "Linen Shirt", "sku": "shirt", "type": "variable", "variations": [11]}
VARIATION = {
    "id": 11,
    "parent_id": 10,
    "type": "variation",
    "name": "Linen Shirt - Medium",
    "sku": "shirt-m",
    "regular_price": "39.00",
    "manage_stock": True,
    "stock_quantity": 12,
    "stock_status": "instock",
    "attributes": [{"id": 1, "name": "Size", "option": "Medium"}],
}


def test_woocommerce_variations_update_their_listings_variant(
    app: Flask, shop_a: Shop, secrets: None
) -> None:
    orphan = woo(app, "product.updated", {**VARIATION, "parent_id": 99}, "v-0")
    assert orphan.status_code == 200 and orphan.get_json()["status"] == "skipped"
    assert woo(app, "product.created", VARIABLE, "v-1").status_code == 200
    assert woo(app, "product.created", VARIATION, "v-2").get_json()["status"] == "applied"
    large = {**VARIATION, "id": 12, "sku": "shirt-l", "name": "Linen Shirt - Large"}
    large |= {"stock_quantity": 0, "stock_status": "outofstock"}
    large["attributes"] = [{"id": 1, "name": "Size", "option": "Large"}]
    assert woo(app, "product.created", large, "v-3").status_code == 200
    shirt = _listings(app, shop_a)["shirt"]
    assert [(v.options, v.stock_quantity, v.in_stock) for v in shirt.variants] == [
        ({"Size": "Medium"}, 12, True),
        ({"Size": "Large"}, 0, False),
    ]
    assert (shirt.stock_quantity, shirt.in_stock) == (12, True)
    assert len(_listings(app, shop_a)) == 1  # a variation is no listing of its own

    sold_out = {**VARIATION, "stock_quantity": 0, "stock_status": "outofstock"}
    assert woo(app, "product.updated", sold_out, "v-4").status_code == 200
    assert woo(app, "product.updated", VARIABLE, "v-5").status_code == 200  # variants kept
    shirt = _listings(app, shop_a)["shirt"]
    assert [(v.sku, v.stock_quantity) for v in shirt.variants] == [("shirt-m", 0), ("shirt-l", 0)]
    assert (shirt.stock_quantity, shirt.in_stock) == (0, False)

    by_parent = {**VARIATION, "id": 13, "sku": "shirt-s", "manage_stock": "parent"}
    assert woo(app, "product.updated", by_parent, "v-6").status_code == 200
    assert woo(app, "product.deleted", {"id": 12}, "v-7").status_code == 200
    shirt = _listings(app, shop_a)["shirt"]
    assert [(v.sku, v.stock_quantity) for v in shirt.variants] == [
        ("shirt-m", 0),
        ("shirt-s", None),
    ]
    bad = woo(app, "product.updated", {**VARIATION, "stock_quantity": "plenty"}, "v-8")
    assert bad.status_code == 422
    assert bad.get_json()["errors"] == [
        {"field": "variations.stock_quantity", "message": "'plenty' is not a whole number"}
    ]


SHIRT: dict[str, Any] = {
    "handle": "linen-shirt",
    "title": "Linen Shirt",
    "price": "39.00",
    "currency": "USD",
    "variants": [
        {"sku": "LS-M", "options": {"Size": "Medium"}, "stock_quantity": 12},
        {"sku": "LS-L", "options": {"Size": "Large"}, "stock_quantity": 0},
    ],
}


def test_listings_api_takes_variant_stock(app: Flask, shop_a: Shop) -> None:
    client = app.test_client()
    created = client.post("/api/v1/listings", json=SHIRT, headers=shop_a.headers)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert [(v["stock_quantity"], v["in_stock"]) for v in body["variants"]] == [
        (12, True),  # from the quantity
        (0, False),
    ]
    assert (body["stock_quantity"], body["in_stock"]) == (12, True)  # the variants' total
    agreeing = {**SHIRT, "stock_quantity": 12, "in_stock": True}
    url = f"/api/v1/listings/{body['id']}"
    assert client.put(url, json=agreeing, headers=shop_a.headers).status_code == 200
    unknown = {**SHIRT, "variants": [{"sku": "LS-M", "stock_quantity": None}]}
    plain = client.put(url, json={**unknown, "stock_quantity": 7}, headers=shop_a.headers)
    assert plain.get_json()["stock_quantity"] == 7  # no variant's stock known: the listing's own
    assert plain.get_json()["in_stock"] is True  # ...and its flag from it
    sold_out = {**unknown, "stock_quantity": 0, "in_stock": True}
    refused = client.put(url, json=sold_out, headers=shop_a.headers)
    assert [e["field"] for e in refused.get_json()["errors"]] == ["in_stock"]

    for bad, field in [
        ({"stock_quantity": -1}, "variants.0.stock_quantity"),
        ({"stock_quantity": "12"}, "variants.0.stock_quantity"),
        ({"stock_quantity": 1.5}, "variants.0.stock_quantity"),
        ({"in_stock": "maybe"}, "variants.0.in_stock"),
        ({"in_stock": False}, "variants.0.in_stock"),  # its stock_quantity is 12
        ({"stock": 3}, "variants.0.stock"),
    ]:
        variant = {**SHIRT["variants"][0], **bad}
        response = client.post(
            "/api/v1/listings", json={**SHIRT, "variants": [variant]}, headers=shop_a.headers
        )
        assert response.status_code == 422, (bad, response.get_json())
        assert response.mimetype == "application/problem+json"
        assert field in [e["field"] for e in response.get_json()["errors"]], bad
    for listing_field, value in [("stock_quantity", 20), ("in_stock", False)]:
        response = client.put(url, json={**SHIRT, listing_field: value}, headers=shop_a.headers)
        assert response.status_code == 422
        assert [e["field"] for e in response.get_json()["errors"]] == [listing_field]


def _ask(app: Flask, shop: Shop, words: str, state: CallState) -> ToolResult:
    with app.app_context(), app.extensions["db"].tenant_session(shop.merchant) as session:
        tool = choose(gather(session), words, state)
        assert tool is not None and tool.name == "product_info", words
        return tool.run(session, state, tool.extract(words, state) or {}, words)


def test_the_product_tool_answers_per_option(app: Flask, shop_a: Shop) -> None:
    client = app.test_client()
    listings = [
        SHIRT,
        {"handle": "trail-pack", "title": "Trail Pack", "price": "89.00", "stock_quantity": 12},
        {
            "handle": "rain-jacket",
            "title": "Rain Jacket",
            "price": "120.00",
            "variants": [
                {"options": {"Size": size}, "stock_quantity": count, "price": price}
                for size, count, price in [
                    ("XS", 1, "120.00"), ("S", 0, "120.00"), ("M", 4, "120.00"),
                    ("L", 2, "120.00"), ("XL", 0, "120.00"), ("XXL", 3, "130.00"),
                ]
            ],
        },
    ]  # fmt: skip
    for listing in listings:
        assert (
            client.post("/api/v1/listings", json=listing, headers=shop_a.headers).status_code == 201
        )
    state = CallState(caller="+15550100", locale="en_US")

    said = _ask(app, shop_a, "How much is the linen shirt?", state).say
    assert said == "The Linen Shirt costs 39 US dollars. Medium: 12 in stock; Large: out of stock."
    # Speech recognition may write a product's name as one word.
    joined = _ask(app, shop_a, "Is the LinenShirt in stock?", state).say
    assert joined.startswith("The Linen Shirt costs 39 US dollars.")
    medium = _ask(app, shop_a, "Do you have the linen shirt in medium?", state)
    assert medium.say == "The Linen Shirt costs 39 US dollars. Medium: 12 in stock."
    assert medium.data["variants"] == [{"option": "Medium", "in_stock": True, "stock_quantity": 12}]
    # A follow-up about the same product, named by its option only.
    large = _ask(app, shop_a, "And do you have it in large?", state).say
    assert large == "The Linen Shirt costs 39 US dollars. Large: out of stock."
    # Another product, not in the catalog: not the last one's answer.
    assert _ask(app, shop_a, "Do you sell umbrellas?", state).data == {"found": False}

    # Without variants: the listing's own stock, as before.
    pack = _ask(app, shop_a, "Do you have the trail pack in stock?", state).say
    assert pack == "The Trail Pack costs 89 US dollars. We have 12 in stock."

    jacket = _ask(app, shop_a, "How much is the rain jacket?", state).say
    assert jacket == (
        "The Rain Jacket costs 120 US dollars. Extra small: 1 in stock; Small: out of stock;"
        " Medium: 4 in stock; Large: 2 in stock. And 2 more options: which one would you like?"
    )
    extra_large = _ask(app, shop_a, "Do you have the rain jacket in extra large?", state).say
    assert extra_large.endswith(" Extra large: out of stock.")  # XL, not L
    double = _ask(app, shop_a, "Is the rain jacket available in xxl?", state).say
    assert double == "The Rain Jacket costs 130 US dollars. Double extra large: 3 in stock."


def test_sizes_are_said_as_shoppers_say_them_in_the_calls_language() -> None:
    shirt = [
        Variant(options={"Size": "M"}, stock_quantity=12),
        Variant(options={"Size": "XL", "Color": "Blue"}, stock_quantity=0),
        Variant(options={"Color": "Sand"}, in_stock=True),
    ]
    english = PluginResources("catalog", Path(catalog.__file__).parent).translations("en_US")
    german = PluginResources("catalog", Path(catalog.__file__).parent).translations("de_DE")
    assert per_option(english.gettext, shirt) == (
        "Medium: 12 in stock; Extra large Blue: out of stock; Sand: in stock."
    )
    assert [spoken_label(german.gettext, variant) for variant in shirt] == [
        "Mittel",
        "Extra groß Blue",
        "Sand",
    ]
