"""Orders through /api/v1/orders: create, idempotent PUT, reads, bad input, isolation."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from merchant_voice.customers import phone_key
from plugins.orders.models import Order, postcode_key
from tests.conftest import Shop

ORDER: dict[str, Any] = {
    "number": "#1001",
    "status": "shipped",
    "customer_name": "Erika Mustermann",
    "email": "erika@example.com",
    "phone": "+49 151 2345-678",
    "postcode": "10115",
    "total": "59.80",
    "items": [
        {"sku": "AC-HD-01", "title": "Organic cotton hoodie", "quantity": 2, "price": "29.90"}
    ],
    "carrier": "DHL",
    "tracking_numbers": ["00340434161094022115"],
    "placed_at": "2026-11-20T09:30:00Z",
    "shipped_at": "2026-11-21T14:00:00+01:00",
}


def test_an_order_is_created_read_and_replaced_idempotently(
    app: Flask, shop_a: Shop, shop_b: Shop
) -> None:
    client = app.test_client()
    created = client.post("/api/v1/orders", json=ORDER, headers=shop_a.headers)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["number"], body["currency"], body["total"]) == ("1001", "USD", "59.80")
    again = client.post("/api/v1/orders", json=ORDER, headers=shop_a.headers)
    assert again.status_code == 409 and "PUT /api/v1/orders/1001" in again.get_json()["detail"]

    delivered = {**ORDER, "status": "delivered"}
    for _ in range(2):  # the same PUT twice changes nothing more
        put = client.put("/api/v1/orders/1001", json=delivered, headers=shop_a.headers)
        assert put.status_code == 200 and put.get_json()["status"] == "delivered"
    assert client.get("/api/v1/orders/%231001", headers=shop_a.headers).status_code == 200
    assert client.get("/api/v1/orders", headers=shop_a.headers).get_json()["total"] == 1

    new = client.put(
        "/api/v1/orders/A-7/2026", json={**ORDER, "number": "A-7/2026"}, headers=shop_a.headers
    )
    assert new.status_code == 201 and new.get_json()["number"] == "A-7/2026"

    # Another merchant sees none of it, and may use the same number for its own order.
    assert client.get("/api/v1/orders/1001", headers=shop_b.headers).status_code == 404
    assert client.get("/api/v1/orders", headers=shop_b.headers).get_json()["orders"] == []
    own = client.post("/api/v1/orders", json={**ORDER, "currency": "eur"}, headers=shop_b.headers)
    assert own.status_code == 201 and own.get_json()["currency"] == "EUR"


def test_verification_keys_are_normalised(app: Flask, shop_a: Shop) -> None:
    client = app.test_client()
    uk = {**ORDER, "number": "UK-1", "postcode": "sw1a 1aa", "phone": "0151 2345678"}
    assert client.post("/api/v1/orders", json=uk, headers=shop_a.headers).status_code == 201
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        order = session.scalars(select(Order).where(Order.number == "UK-1")).one()
        assert order.postcode_key == "SW1A1AA" == postcode_key("SW1A 1AA")
        assert order.phone_key == phone_key("+49 151 2345678") == "512345678"
    assert phone_key("+49 151 2345-678") == phone_key("0151 2345678")
    assert phone_key("12") == ""


def test_bad_orders_are_refused_naming_the_field(app: Flask, shop_a: Shop) -> None:
    client = app.test_client()
    cases = [
        ({**ORDER, "number": ""}, "number"),
        ({**ORDER, "number": "10 01"}, "number"),
        ({**ORDER, "status": "teleported"}, "status"),
        ({**ORDER, "email": "not-an-address"}, "email"),
        ({**ORDER, "phone": "call me"}, "phone"),
        ({**ORDER, "total": "-1"}, "total"),
        ({**ORDER, "currency": "EURO"}, "currency"),
        ({**ORDER, "items": [{"title": "", "quantity": 0}]}, "items.0.title"),
        ({**ORDER, "tracking_urls": ["ftp://x"]}, "tracking_urls.0"),
        ({**ORDER, "placed_at": "2026-11-20T09:30:00"}, "placed_at"),
        ({**ORDER, "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/orders", json=body, headers=shop_a.headers)
        assert response.status_code == 422, (field, response.get_json())
        fields = [error["field"] for error in response.get_json()["errors"]]
        assert field in fields, (field, fields)
    mismatch = client.put("/api/v1/orders/1002", json=ORDER, headers=shop_a.headers)
    assert mismatch.status_code == 422 and mismatch.get_json()["errors"][0]["field"] == "number"
    assert client.get("/api/v1/orders", headers=shop_a.headers).get_json()["total"] == 0
    limit = client.get("/api/v1/orders?limit=0", headers=shop_a.headers)
    assert limit.status_code == 422
