"""Hostile input: correctly signed webhooks never get a 500.

A platform retries a delivery that failed with a 5xx and, in Shopify's case,
disables a webhook that keeps failing; a 5xx must mean the host is down, never
that the payload was odd. Each case the hardening probe found is replayed, then
generated payloads (Hypothesis) check the rule in general: a signed delivery
gets a 2xx or a 4xx, a refused one writes nothing, and no other merchant's data
changes.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from plugins.catalog.models import Listing
from plugins.orders.models import Order
from tests.conftest import Shop
from tests.test_catalog_webhooks import SHOPIFY_PRODUCT, _sign, secrets
from tests.test_catalog_webhooks import shopify as shopify_product
from tests.test_orders_webhooks import SHOPIFY_ORDER, WOO_ORDER, woo
from tests.test_orders_webhooks import shopify as shopify_order
from tests.test_support_calls_webhooks import CALL, phone_app, post, shop

__all__ = ["phone_app", "secrets", "shop"]  # fixtures

DELIVERIES = itertools.count()
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(["", "2026-11-02", "2026-11-02T10:00:00", "1e400", "-1", "9" * 30]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)


def shopify_raw(app: Flask, path: str, topic: str, body: bytes) -> TestResponse:
    """A correctly signed Shopify delivery of ``body`` as it is."""
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": delivery(),
        "X-Shopify-Hmac-Sha256": _sign(body),
    }
    return app.test_client().post(f"/hooks/shopify/shop-a/{path}", data=body, headers=headers)


def delivery() -> str:
    return f"fuzz-{next(DELIVERIES)}"


def count(app: Flask, shop: Shop, model: type[Order] | type[Listing]) -> int:
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_an_order_with_a_naive_timestamp_is_read_as_utc(
    app: Flask, shop_a: Shop, secrets: None
) -> None:
    for n, updated_at in enumerate(["2026-11-02T10:00:00", "2026-11-02", "2026-11-01T09:00:00"]):
        order = {**SHOPIFY_ORDER, "updated_at": updated_at, "created_at": updated_at}
        response = shopify_order(app, "orders/updated", order, f"naive-{n}")
        assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "stale"  # 09:00 UTC on the 1st is older
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        stored = session.scalars(select(Order)).one()
        assert stored.source_updated_at is not None
        assert stored.source_updated_at.isoformat() == "2026-11-02T10:00:00+00:00"


def test_a_rename_onto_a_taken_handle_goes_to_the_platforms_product(
    app: Flask, shop_a: Shop, secrets: None
) -> None:
    assert shopify_product(app, "products/create", SHOPIFY_PRODUCT, "r-1").status_code == 200
    made_here = app.test_client().post(
        "/api/v1/listings",
        json={"handle": "day-pack", "title": "Day Pack", "description_html": "<p>Small</p>"},
        headers=shop_a.headers,
    )
    assert made_here.status_code == 201
    renamed = {**SHOPIFY_PRODUCT, "handle": "day-pack"}
    response = shopify_product(app, "products/update", renamed, "r-2")
    assert response.status_code == 200, response.get_json()
    here_id = made_here.get_json()["id"]
    assert response.get_json()["clashes"] == [
        f"handle 'day-pack' now names the shopify:632910392 product;"
        f" listing {here_id}, which had it, is now 'day-pack-{here_id}'"
    ]
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        handles = {h: e for h, e in session.execute(select(Listing.handle, Listing.external_id))}
    assert handles == {"day-pack": "shopify:632910392", f"day-pack-{here_id}": None}


def test_deeply_nested_json_is_a_400(app: Flask, shop_a: Shop, secrets: None) -> None:
    nested = b"[" * 60_000  # under the test host's body limit, far over json's nesting limit
    for response in (
        shopify_raw(app, "orders", "orders/create", nested),
        shopify_raw(app, "products", "products/create", nested),
    ):
        assert response.status_code == 400, response.get_json()
        assert "not JSON" in response.get_json()["detail"]


def test_an_impossible_call_duration_is_a_422(phone_app: Flask, shop: Shop) -> None:
    params = {**CALL, "CallStatus": "completed", "CallDuration": "9" * 30}
    response = post(phone_app, "/hooks/twilio/shop-a/status", params)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"][0]["field"] == "CallDuration"
    fine = post(phone_app, "/hooks/twilio/shop-a/status", {**params, "CallDuration": "61"})
    assert fine.status_code == 204


@FUZZ
@given(field=st.sampled_from(sorted(SHOPIFY_ORDER)), value=JSON)
def test_fuzzed_order_webhooks_never_fail_the_host(
    app: Flask, shop_a: Shop, shop_b: Shop, secrets: None, field: str, value: Any
) -> None:
    before = count(app, shop_a, Order)
    shopify_response = shopify_order(
        app, "orders/create", {**SHOPIFY_ORDER, field: value}, delivery()
    )
    woo_field = field if field in WOO_ORDER else "status"
    woo_response = woo(app, "order.created", {**WOO_ORDER, woo_field: value}, delivery())
    for response in (shopify_response, woo_response):
        assert response.status_code < 500, response.get_json()
    written = sum(r.status_code == 200 for r in (shopify_response, woo_response))
    assert before <= count(app, shop_a, Order) <= before + written
    assert count(app, shop_b, Order) == 0


@FUZZ
@given(field=st.sampled_from(sorted(SHOPIFY_PRODUCT)), value=JSON)
def test_fuzzed_product_webhooks_never_fail_the_host(
    app: Flask, shop_a: Shop, shop_b: Shop, secrets: None, field: str, value: Any
) -> None:
    before = count(app, shop_a, Listing)
    product = {**SHOPIFY_PRODUCT, field: value}
    response = shopify_product(app, "products/update", product, delivery())
    assert response.status_code < 500, response.get_json()
    assert before <= count(app, shop_a, Listing) <= before + (response.status_code == 200)
    assert count(app, shop_b, Listing) == 0


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200).map(str.encode),
        JSON.map(lambda value: json.dumps(value).encode()),
    )
)
def test_fuzzed_bodies_never_fail_the_host(
    app: Flask, shop_a: Shop, secrets: None, body: bytes
) -> None:
    response = shopify_raw(app, "orders", "orders/create", body)
    assert response.status_code < 500, response.get_json()
