"""Shopify and WooCommerce product webhooks: signatures, duplicates, idempotence."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from models import Credential
from tests.conftest import Shop
from tests.test_catalog import _listings

SECRET = "whsec-test-123"
SHOPIFY_PRODUCT = {
    "id": 632910392,
    "title": "Trail Pack 30L",
    "handle": "trail-pack",
    "body_html": "<p>A <b>30 L</b> pack.</p>",
    "vendor": "Alpine Co",
    "product_type": "Bags",
    "options": [{"name": "Color", "values": ["Red", "Blue"]}],
    "variants": [
        {"sku": "TP-RED", "title": "Red", "price": "89.00", "option1": "Red"},
        {"sku": "TP-BLUE", "title": "Blue", "price": "94.00", "option1": "Blue"},
    ],
    "images": [{"src": "https://img.example/tp.jpg"}],
}
WOO_PRODUCT = {
    "id": 799,
    "name": "Beanie",
    "slug": "beanie",
    "sku": "woo-beanie",
    "type": "simple",
    "description": "<p>Warm.</p>",
    "short_description": "<ul><li>Wool</li><li>One size</li></ul>",
    "regular_price": "20.00",
    "attributes": [{"name": "Color", "options": ["Red"]}],
    "images": [{"src": "https://img.example/beanie.jpg"}],
}


@pytest.fixture
def secrets(app: Flask, shop_a: Shop) -> None:
    client = app.test_client()
    for name in ("shopify.webhook_secret", "woocommerce.webhook_secret"):
        response = client.put(
            f"/api/v1/credentials/{name}", json={"value": SECRET}, headers=shop_a.headers
        )
        assert response.status_code == 200, response.get_json()


def _sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify(
    app: Flask,
    topic: str,
    payload: Any,
    delivery: str,
    secret: str = SECRET,
    merchant: str = "shop-a",
) -> TestResponse:
    body = json.dumps(payload).encode()
    return app.test_client().post(
        f"/hooks/shopify/{merchant}/products",
        data=body,
        content_type="application/json",
        headers={
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": _sign(body, secret),
            "X-Shopify-Webhook-Id": delivery,
        },
    )


def woo(app: Flask, topic: str, payload: Any, delivery: str, secret: str = SECRET) -> TestResponse:
    body = json.dumps(payload).encode()
    return app.test_client().post(
        "/hooks/woocommerce/shop-a/products",
        data=body,
        content_type="application/json",
        headers={
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Signature": _sign(body, secret),
            "X-WC-Webhook-Delivery-ID": delivery,
        },
    )


def test_shopify_create_update_delete(app: Flask, shop_a: Shop, secrets: None) -> None:
    response = shopify(app, "products/create", SHOPIFY_PRODUCT, "d-1")
    assert response.status_code == 200 and response.get_json()["status"] == "applied"
    pack = _listings(app, shop_a)["trail-pack"]
    assert pack.external_id == "shopify:632910392" and len(pack.variants) == 2
    assert pack.attributes == {"Color": ["Red", "Blue"]}
    assert shopify(app, "products/create", SHOPIFY_PRODUCT, "d-1").get_json()["status"] == (
        "duplicate"
    )
    updated = {**SHOPIFY_PRODUCT, "title": "Trail Pack 32L"}
    assert shopify(app, "products/update", updated, "d-2").status_code == 200
    assert shopify(app, "products/update", updated, "d-3").status_code == 200  # idempotent
    listings = _listings(app, shop_a)
    assert len(listings) == 1 and listings["trail-pack"].title == "Trail Pack 32L"
    renamed = {**updated, "handle": "trail-pack-32"}  # same product, new handle
    assert shopify(app, "products/update", renamed, "d-5").status_code == 200
    assert set(_listings(app, shop_a)) == {"trail-pack-32"}
    assert shopify(app, "products/delete", {"id": 632910392}, "d-4").status_code == 200
    assert _listings(app, shop_a) == {}


def test_woocommerce_create_delete_and_ping(app: Flask, shop_a: Shop, secrets: None) -> None:
    ping = app.test_client().post(
        "/hooks/woocommerce/shop-a/products",
        data=b"webhook_id=17",
        content_type="application/x-www-form-urlencoded",
    )
    assert ping.status_code == 200 and ping.get_json()["status"] == "pong"
    assert woo(app, "product.created", WOO_PRODUCT, "w-1").status_code == 200
    beanie = _listings(app, shop_a)["woo-beanie"]
    assert beanie.bullet_points == ["Wool", "One size"] and str(beanie.price) == "20.00"
    assert woo(app, "product.created", WOO_PRODUCT, "w-1").get_json()["status"] == "duplicate"
    assert woo(app, "product.deleted", {"id": 799}, "w-2").status_code == 200
    assert _listings(app, shop_a) == {}


def test_bad_deliveries_are_refused(app: Flask, shop_a: Shop, shop_b: Shop, secrets: None) -> None:
    bad_signature = shopify(app, "products/create", SHOPIFY_PRODUCT, "x-1", secret="wrong")
    assert bad_signature.status_code == 401
    assert bad_signature.mimetype == "application/problem+json"
    assert woo(app, "product.created", WOO_PRODUCT, "x-2", secret="wrong").status_code == 401
    no_secret = shopify(app, "products/create", SHOPIFY_PRODUCT, "x-3", merchant="shop-b")
    assert (
        no_secret.status_code == 401
        and "credentials set shop-b shopify.webhook_secret" in no_secret.get_json()["detail"]
    )
    assert (
        shopify(app, "products/create", SHOPIFY_PRODUCT, "x-4", merchant="nobody").status_code
        == 404
    )
    assert shopify(app, "orders/create", SHOPIFY_PRODUCT, "x-5").status_code == 400
    for number, broken in enumerate(
        [
            {"id": 5, "title": "No handle"},
            {**SHOPIFY_PRODUCT, "title": None},
            {**SHOPIFY_PRODUCT, "variants": ["x"]},
            {**SHOPIFY_PRODUCT, "variants": [{"price": "NaN", "option1": "Red"}]},
            {**SHOPIFY_PRODUCT, "handle": "h" * 300},
        ]
    ):
        assert shopify(app, "products/create", broken, f"x-6-{number}").status_code == 422, broken
    body = json.dumps(SHOPIFY_PRODUCT).encode()
    non_ascii = app.test_client().post(
        "/hooks/shopify/shop-a/products",
        data=body,
        content_type="application/json",
        headers={
            "X-Shopify-Topic": "products/create",
            "X-Shopify-Hmac-Sha256": "é",
            "X-Shopify-Webhook-Id": "x-7",
        },
    )
    assert non_ascii.status_code == 401
    assert _listings(app, shop_a) == {}  # nothing half-written
    # A refused delivery is not recorded: once fixed, the same id is applied.
    assert shopify(app, "products/create", SHOPIFY_PRODUCT, "x-1").get_json()["status"] == "applied"


def test_webhook_secrets_are_stored_encrypted_and_never_shown(
    app: Flask, shop_a: Shop, secrets: None
) -> None:
    listed = app.test_client().get("/api/v1/credentials", headers=shop_a.headers)
    names = [row["name"] for row in listed.get_json()["credentials"]]
    assert names == ["shopify.webhook_secret", "woocommerce.webhook_secret"]
    result = app.test_cli_runner().invoke(args=["credentials", "list", "shop-a", "--json"])
    assert result.exit_code == 0 and SECRET not in result.output + listed.get_data(as_text=True)
    with app.extensions["db"].host_session() as session:
        stored = session.scalars(select(Credential.ciphertext)).all()
    assert stored and all(SECRET.encode() not in blob for blob in stored)
