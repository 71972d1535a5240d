"""Order webhooks (Shopify, WooCommerce), callers' redaction and retention of calls."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from plugins.orders.models import Order
from plugins.support_calls.models import Call
from tests.conftest import Shop, make_shop
from tests.test_catalog_webhooks import SECRET, _sign, secrets
from tests.test_jobs import job_row

__all__ = ["secrets"]  # fixture: the shop platforms' webhook secrets of shop A

SHOPIFY_ORDER: dict[str, Any] = {
    "id": 820982911946154508,
    "name": "#1001",
    "order_number": 1001,
    "email": "jon@example.com",
    "phone": None,
    "created_at": "2026-11-18T10:00:00-05:00",
    "currency": "USD",
    "total_price": "199.00",
    "financial_status": "paid",
    "fulfillment_status": "fulfilled",
    "cancelled_at": None,
    "customer": {"first_name": "Jon", "last_name": "Doe", "phone": "+1 (555) 010-0100"},
    "shipping_address": {"name": "Jon Doe", "zip": "90210", "phone": None},
    "line_items": [{"title": "Trail Pack", "quantity": 1, "price": "199.00", "sku": "TP-1"}],
    "fulfillments": [
        {
            "created_at": "2026-11-19T09:00:00-05:00",
            "tracking_company": "UPS",
            "tracking_numbers": ["1Z999"],
            "tracking_urls": ["https://ups.example/1Z999"],
        }
    ],
}
WOO_ORDER: dict[str, Any] = {
    "id": 727,
    "number": "727",
    "status": "processing",
    "currency": "EUR",
    "total": "29.35",
    "date_created_gmt": "2026-11-20T08:00:00",
    "date_completed_gmt": None,
    "billing": {
        "first_name": "Ana",
        "last_name": "Ruiz",
        "email": "ana@example.com",
        "phone": "+34 600 111 222",
        "postcode": "28001",
    },
    "shipping": {"first_name": "Ana", "last_name": "Ruiz", "postcode": "28001"},
    "line_items": [{"name": "Beanie", "quantity": 2, "sku": "woo-beanie", "price": 12.0}],
}


def shopify(app: Flask, topic: str, body: Any, delivery: str, secret: str = SECRET) -> TestResponse:
    data = json.dumps(body).encode()
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": delivery,
        "X-Shopify-Hmac-Sha256": _sign(data, secret),
    }
    return app.test_client().post("/hooks/shopify/shop-a/orders", data=data, headers=headers)


def woo(app: Flask, topic: str, body: Any, delivery: str) -> TestResponse:
    data = json.dumps(body).encode()
    headers = {
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Delivery-ID": delivery,
        "X-WC-Webhook-Signature": _sign(data),
    }
    return app.test_client().post("/hooks/woocommerce/shop-a/orders", data=data, headers=headers)


def orders(app: Flask, shop: Shop) -> dict[str, Order]:
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        return {order.number: order for order in session.scalars(select(Order))}


def test_shopify_orders_are_verified_deduplicated_and_updated_in_place(
    app: Flask, shop_a: Shop, secrets: None
) -> None:
    created = shopify(app, "orders/create", SHOPIFY_ORDER, "d-1")
    assert created.status_code == 200 and created.get_json()["status"] == "applied"
    order = orders(app, shop_a)["1001"]
    assert (order.status, order.carrier, order.postcode_key, order.phone_key) == (
        "shipped",
        "UPS",
        "90210",
        "550100100",
    )
    assert order.shipped_at == datetime(2026, 11, 19, 14, 0, tzinfo=UTC)
    assert order.external_id == f"shopify:{SHOPIFY_ORDER['id']}" and order.total == 199

    repeat = shopify(app, "orders/create", {**SHOPIFY_ORDER, "total_price": "1.00"}, "d-1")
    assert repeat.get_json()["status"] == "duplicate" and orders(app, shop_a)["1001"].total == 199
    cancelled = {
        **SHOPIFY_ORDER,
        "cancelled_at": "2026-11-21T10:00:00Z",
        "updated_at": "2026-11-21T10:00:00Z",
    }
    assert shopify(app, "orders/updated", cancelled, "d-2").status_code == 200
    assert [o.status for o in orders(app, shop_a).values()] == ["cancelled"]
    late = {**SHOPIFY_ORDER, "updated_at": "2026-11-19T10:00:00Z"}  # an older update, late
    assert shopify(app, "orders/updated", late, "d-2b").get_json()["status"] == "stale"
    assert [o.status for o in orders(app, shop_a).values()] == ["cancelled"]

    assert shopify(app, "orders/create", SHOPIFY_ORDER, "d-3", secret="wrong").status_code == 401
    assert shopify(app, "orders/delete", SHOPIFY_ORDER, "d-4").status_code == 400
    bad = shopify(app, "orders/create", {**SHOPIFY_ORDER, "currency": "EURO"}, "d-5")
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "order.currency"
    assert [o.status for o in orders(app, shop_a).values()] == ["cancelled"]  # nothing half-written


def test_woocommerce_orders_and_the_ping(app: Flask, shop_a: Shop, secrets: None) -> None:
    assert woo(app, "order.created", WOO_ORDER, "w-1").status_code == 200
    order = orders(app, shop_a)["727"]
    assert (order.status, order.currency, order.customer_name, order.postcode) == (
        "processing",
        "EUR",
        "Ana Ruiz",
        "28001",
    )
    beanies = {"sku": "woo-beanie", "title": "Beanie", "quantity": 2, "price": "12.00"}
    assert order.items == [beanies]
    completed = {**WOO_ORDER, "status": "completed", "date_completed_gmt": "2026-11-21T12:00:00"}
    assert woo(app, "order.updated", completed, "w-2").status_code == 200
    assert orders(app, shop_a)["727"].status == "completed"
    odd = woo(app, "order.updated", {**WOO_ORDER, "status": "awaiting-pickup"}, "w-3")
    assert odd.status_code == 200 and orders(app, shop_a)["727"].status == "processing"
    thirds = {**WOO_ORDER, "line_items": [{"name": "Socks", "quantity": 3, "price": 3.3333333}]}
    assert woo(app, "order.updated", thirds, "w-4").status_code == 200
    assert orders(app, shop_a)["727"].items[0]["price"] == "3.33"
    ping = app.test_client().post("/hooks/woocommerce/shop-a/orders", data=b"webhook_id=12")
    assert ping.status_code == 200 and ping.get_json() == {"status": "pong"}


def _calls(app: Flask, shop: Shop, *callers: tuple[str, datetime]) -> None:
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        for n, (caller, started) in enumerate(callers):
            digits = "".join(ch for ch in caller if ch.isdigit())
            session.add(
                Call(call_sid=f"CA{n}", caller=caller, caller_key=digits[-9:], started_at=started)
            )
        session.commit()


def _callers(app: Flask, shop: Shop) -> list[str]:
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        return sorted(session.scalars(select(Call.caller)))


def test_redaction_deletes_one_callers_calls_only(app: Flask, shop_a: Shop, secrets: None) -> None:
    now = datetime.now(UTC)
    _calls(app, shop_a, ("+1 555 010 0100", now), ("+15550100100", now), ("+15550999", now))
    shop_b = make_shop(app, "shop-b")
    _calls(app, shop_b, ("+1 555 010 0100", now))
    client = app.test_client()
    response = client.post(
        "/api/v1/calls/redactions", json={"phone": "(555) 010-0100"}, headers=shop_a.headers
    )
    assert response.status_code == 200 and response.get_json() == {"deleted_calls": 2}
    assert _callers(app, shop_a) == ["+15550999"] and _callers(app, shop_b) == ["+1 555 010 0100"]
    bad = client.post("/api/v1/calls/redactions", json={"phone": "12"}, headers=shop_a.headers)
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "phone"


def test_retention_job_is_scheduled_daily_and_purges_old_calls(app: Flask, shop_a: Shop) -> None:
    now = datetime.now(UTC)
    _calls(app, shop_a, ("+15550001", now - timedelta(days=40)), ("+15550002", now))
    manager, db = app.extensions["plugins"], app.extensions["db"]
    with db.tenant_session(shop_a.merchant) as session:
        manager.configure(session, "support_calls", {"retention_days": 30})
        session.commit()
    jobs = app.extensions["jobs"]

    def retention_due() -> list[str]:  # (narration's hourly refresh is due too)
        due = jobs.schedules.run_due()
        return [job for job in due if job_row(app, job).kind == "support_calls.retention"]

    queued = retention_due()
    assert len(queued) == 1 and retention_due() == []  # once per day, not per check
    jobs.run(queued[0])
    assert _callers(app, shop_a) == ["+15550002"]
    with db.tenant_session(shop_a.merchant) as session:
        manager.set_enabled(session, "support_calls", False)
        session.commit()
    shop_b = make_shop(app, "shop-b")
    with db.tenant_session(shop_b.merchant) as session:
        manager.set_enabled(session, "support_calls", False)
        session.commit()
    assert retention_due() == []  # not for merchants without the plugin


def test_recordings_kept_where_earlier_versions_put_them_move_and_are_redacted(
    make_app: Callable[..., Flask], database_url: str, tmp_path: Path
) -> None:
    legacy = tmp_path / "instance" / "recordings" / "1"
    legacy.mkdir(parents=True)
    (legacy / "1.wav").write_bytes(b"RIFF")  # <instance>/recordings/<merchant>/<call>.wav
    app = make_app(database_url)  # the support-calls plugin's startup adopts them
    moved = tmp_path / "instance" / "plugins" / "support_calls" / "recordings" / "1" / "1.wav"
    assert moved.read_bytes() == b"RIFF" and not (tmp_path / "instance" / "recordings").exists()
    shop = make_shop(app, "shop-a")
    assert shop.id == 1
    _calls(app, shop, ("+1 555 010 0100", datetime.now(UTC)))
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        session.scalars(select(Call)).one().recording_path = "1/1.wav"
        session.commit()
    response = app.test_client().post(
        "/api/v1/calls/redactions", json={"phone": "+1 555 010 0100"}, headers=shop.headers
    )
    assert response.get_json() == {"deleted_calls": 1}
    assert not moved.exists()  # found where it now lives, and deleted with its call
