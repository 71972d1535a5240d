"""When an order should arrive and how to track it: the API, the webhooks, what a caller hears."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime
from typing import Any

from flask import Flask

from merchant_voice.call_tools import CallState, ToolResult
from merchant_voice.spoken import spoken_code
from plugins.orders.call_tools import asks_tracking
from plugins.support_calls.tools import choose, gather
from tests.conftest import Shop, make_shop
from tests.test_orders import ORDER
from tests.test_orders_webhooks import SHOPIFY_ORDER, WOO_ORDER, orders, secrets, shopify, woo

__all__ = ["secrets"]  # fixture: the shop platforms' webhook secrets of shop A


def test_the_api_takes_an_expected_delivery_date_as_eta_or_estimated_delivery(
    app: Flask, shop_a: Shop
) -> None:
    client = app.test_client()
    created = client.post(
        "/api/v1/orders", json={**ORDER, "eta": "2026-11-25"}, headers=shop_a.headers
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["estimated_delivery"] == "2026-11-25"
    moment = {**ORDER, "estimated_delivery": "2026-11-25T22:00:00-05:00"}  # its date, as written
    put = client.put("/api/v1/orders/1001", json=moment, headers=shop_a.headers)
    assert put.status_code == 200 and put.get_json()["estimated_delivery"] == "2026-11-25"
    cleared = client.put("/api/v1/orders/1001", json=ORDER, headers=shop_a.headers)
    assert cleared.get_json()["estimated_delivery"] is None

    for field, value in [
        ("eta", "next tuesday"),
        ("eta", "2026-02-30"),
        ("estimated_delivery", "2026-11-25T25:00:00Z"),
        ("eta", 20261125),
    ]:
        response = client.post(
            "/api/v1/orders", json={**ORDER, "number": "1002", field: value}, headers=shop_a.headers
        )
        assert response.status_code == 422, (field, value)
        assert response.mimetype == "application/problem+json"
        assert [e["field"] for e in response.get_json()["errors"]] == [field], value
    assert client.get("/api/v1/orders", headers=shop_a.headers).get_json()["total"] == 1


def test_shopify_fulfillments_give_tracking_and_the_expected_delivery(
    app: Flask, shop_a: Shop, secrets: None
) -> None:
    fulfillment = {
        "created_at": "2026-11-19T09:00:00-05:00",
        "status": "success",
        "tracking_company": "UPS",
        "tracking_number": "1Z999AA10123456784",  # the older, single fields
        "tracking_url": "https://ups.example/1Z999AA10123456784",
        "estimated_delivery_at": "2026-11-24T23:00:00-05:00",
    }
    cancelled = {**fulfillment, "status": "cancelled", "tracking_company": "FedEx"}
    payload = {**SHOPIFY_ORDER, "fulfillments": [fulfillment, cancelled]}  # it shipped nothing
    assert shopify(app, "orders/create", payload, "f-1").status_code == 200
    order = orders(app, shop_a)["1001"]
    assert (order.carrier, order.tracking_numbers) == ("UPS", ["1Z999AA10123456784"])
    assert order.tracking_urls == ["https://ups.example/1Z999AA10123456784"]
    assert order.estimated_delivery == date(2026, 11, 24)
    assert order.shipped_at == datetime(2026, 11, 19, 14, 0, tzinfo=UTC)

    assert shopify(app, "orders/updated", SHOPIFY_ORDER, "f-2").status_code == 200  # none now
    order = orders(app, shop_a)["1001"]
    assert (order.estimated_delivery, order.tracking_numbers) == (None, ["1Z999"])


def _stamp(day: date) -> str:
    return str(calendar.timegm(day.timetuple()))


def test_woocommerce_tracking_meta_gives_carrier_dates_and_numbers(
    app: Flask, shop_a: Shop, secrets: None
) -> None:
    tracking = [
        {
            "tracking_provider": "royal-mail",
            "custom_tracking_provider": "",
            "tracking_number": "AB123456789GB",
            "custom_tracking_link": "",
            "date_shipped": _stamp(date(2026, 11, 21)),
            "tracking_id": "a1",
        },
        {
            "tracking_provider": "",
            "custom_tracking_provider": "Bike Courier",
            "tracking_number": "BC-77",
            "custom_tracking_link": "https://courier.example/BC-77",
            "date_shipped": str(int(_stamp(date(2026, 11, 22))) - 3600),  # midnight at UTC+1
        },
    ]
    meta = [
        {"id": 1, "key": "_wc_shipment_tracking_items", "value": tracking},
        {"id": 2, "key": "shipment_status", "value": [{"status": "in_transit"}, {}]},
        {"id": 3, "key": "_orddd_lite_timestamp", "value": _stamp(date(2026, 11, 27))},
    ]
    payload = {**WOO_ORDER, "status": "completed", "meta_data": meta}
    assert woo(app, "order.updated", payload, "t-1").status_code == 200
    order = orders(app, shop_a)["727"]
    assert order.carrier == "Bike Courier"  # the latest item's
    assert order.tracking_numbers == ["AB123456789GB", "BC-77"]
    assert order.tracking_urls == ["https://courier.example/BC-77"]
    assert order.shipped_at == datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # the day, at noon UTC
    assert order.estimated_delivery == date(2026, 11, 27)  # the day the customer chose

    meta[1]["value"] = {"0": {"est_delivery_date": "2026-11-25"}}  # TrackShip's estimate wins
    meta[0]["value"] = tracking[:1]
    assert woo(app, "order.updated", payload, "t-2").status_code == 200
    order = orders(app, shop_a)["727"]
    assert (order.carrier, order.estimated_delivery) == ("Royal Mail", date(2026, 11, 25))

    assert woo(app, "order.updated", WOO_ORDER, "t-3").status_code == 200  # no extensions
    order = orders(app, shop_a)["727"]
    assert (order.carrier, order.tracking_numbers, order.estimated_delivery) == ("", [], None)


def _seed(app: Flask, shop: Shop, **fields: Any) -> None:
    order = {
        **ORDER,
        "number": "1042",
        "phone": "+1 555 0100",
        "postcode": "90210",
        "carrier": "UPS",
        "tracking_numbers": ["1Z999AA10123456784"],
        "shipped_at": "2026-11-20T09:00:00Z",
        "eta": "2026-11-25",
        **fields,
    }
    response = app.test_client().post("/api/v1/orders", json=order, headers=shop.headers)
    assert response.status_code == 201, response.get_json()


def _ask(app: Flask, shop: Shop, words: str, state: CallState) -> ToolResult:
    with app.app_context(), app.extensions["db"].tenant_session(shop.merchant) as session:
        tool = choose(gather(session), words, state)
        assert tool is not None and tool.name == "order_status", words
        return tool.run(session, state, tool.extract(words, state) or {}, words)


STATUS = "Order 1 0 4 2 was shipped on November 20, 2026 with UPS."
ARRIVAL = "It should arrive on November 25, 2026."
TRACKING = "The tracking number is 1 Z 9, 9 9 A, A 1 0, 1 2 3, 4 5 6, 7 8 4."


def test_a_verified_caller_hears_the_dates_and_on_asking_the_tracking_number(
    app: Flask, shop_a: Shop
) -> None:
    _seed(app, shop_a)
    ordering_phone = CallState(caller="+1 555 0100", locale="en_US")
    when = _ask(app, shop_a, "When will my order arrive?", ordering_phone)
    assert when.say == f"{STATUS} {ARRIVAL}"
    assert when.data["estimated_delivery"] == "2026-11-25" and "tracking_numbers" not in when.data
    # A follow-up, with no order number: about the order just verified.
    tracked = _ask(app, shop_a, "What's the tracking number?", ordering_phone)
    assert tracked.say == f"{STATUS} {ARRIVAL} {TRACKING}"

    stranger = CallState(caller="+1 555 0199", locale="en_US")
    asked = _ask(app, shop_a, "What's the tracking number of order 1042?", stranger)
    assert "postcode" in (asked.say or "") and "1 Z 9" not in (asked.say or "")
    wrong = _ask(app, shop_a, "It is 10001", stranger)
    assert "1 Z 9" not in (wrong.say or "") and "November" not in (wrong.say or "")
    right = _ask(app, shop_a, "90210", stranger)  # remembered: they asked for the tracking number
    assert right.say == f"{STATUS} {ARRIVAL} {TRACKING}"
    assert right.data["verified_by"] == "postcode"

    german = CallState(caller="+1 555 0100", locale="de_DE")
    assert "20. November 2026" in (_ask(app, shop_a, "Wo ist mein Paket?", german).say or "")


def test_what_is_said_follows_the_status_the_tracking_and_the_merchants_calendar(
    app: Flask,
) -> None:
    shop = make_shop(app, "ny-shop", default_locale="en_US", timezone="America/New_York")
    _seed(app, shop, shipped_at="2026-11-20T03:00:00Z", tracking_numbers=["A1", "B2"])
    state = CallState(caller="+1 555 0100", locale="en_US")
    said = _ask(app, shop, "Where is my parcel? And the tracking number?", state).say
    assert said == (
        "Order 1 0 4 2 was shipped on November 19, 2026 with UPS. "  # evening before, in New York
        f"{ARRIVAL} It has 2 tracking numbers. The first is A 1."
    )
    put = {**ORDER, "number": "1042", "phone": "+1 555 0100", "status": "delivered"}
    put["tracking_numbers"] = []
    assert (
        app.test_client().put("/api/v1/orders/1042", json=put, headers=shop.headers).status_code
        == 200
    )
    said = _ask(app, shop, "Can I have the tracking number?", state).say
    assert said == "Order 1 0 4 2 was delivered. There is no tracking number for it."


def test_tracking_numbers_are_read_in_groups_and_asking_is_recognised() -> None:
    assert spoken_code("00340434161094022115", group=3) == (
        "0 0 3, 4 0 4, 3 4 1, 6 1 0, 9 4 0 2, 2 1 1 5"
    )
    assert spoken_code("AB 12", group=3) == "A B 1 2" and spoken_code("12345", 3) == "1 2, 3 4 5"
    assert spoken_code("#1042") == "1 0 4 2"  # codes said whole, as before
    for words in [
        "What's the tracking number?",
        "Wie lautet die Sendungsnummer?",
        "Quel est le numéro de suivi ?",
        "¿Cuál es el número de seguimiento?",
    ]:
        assert asks_tracking(words), words
    assert not asks_tracking("Where is my order?")
