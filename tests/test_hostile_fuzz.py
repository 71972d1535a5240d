"""Hostile input: generated input at the entry points that are not webhooks.

- a call's media stream: any message is an event or a StreamProtocolError;
- catalog CSV files: parsed into listings and row errors, or refused whole with a
  400/422 naming the problem; an upload's job ends succeeded or failed with a
  sentence, never an unhandled error;
- the JSON API: any body gets a 2xx or a 4xx, a refused one writes nothing, and
  no other merchant's data changes.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from merchant_voice.errors import ClientError, StreamProtocolError
from plugins.catalog.importers import parse
from plugins.catalog.models import Listing
from plugins.orders.models import Order
from plugins.support_calls.telephony import media
from tests.conftest import Shop
from tests.test_catalog import _upload
from tests.test_hostile_webhooks import JSON
from tests.test_orders import ORDER

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SHOPIFY_HEADER = ["Handle", "Title", "Body (HTML)", "Variant SKU", "Variant Price", "Option1 Name"]
LISTING = {"handle": "fuzz", "title": "Fuzz", "price": "9.90", "attributes": {"Size": ["M"]}}
CELL = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "=1+1", "-5", "1e400", "9" * 40, "NaN", "<p>", "\x00", "  "]),
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=200),
        st.binary(max_size=50),
        st.fixed_dictionaries(
            {"event": st.sampled_from(["connected", "start", "media", "mark", "dtmf", "stop"])},
            optional={
                "start": JSON,
                "media": JSON,
                "mark": JSON,
                "dtmf": JSON,
                "streamSid": JSON,
                "sequenceNumber": JSON,
            },
        ).map(json.dumps),
    )
)
@example('{"event": "media", "media": {"payload": "' + "A" * 20_000 + '"}}')
def test_any_stream_message_is_an_event_or_a_protocol_error(message: str | bytes) -> None:
    try:
        event = media.parse(message)
    except StreamProtocolError:
        return
    assert isinstance(
        event, media.Connected | media.Start | media.Media | media.Mark | media.Dtmf | media.Stop
    )


def _csv(rows: list[list[str]], header: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


@FUZZ
@given(
    rows=st.lists(st.lists(CELL, min_size=0, max_size=8), max_size=6),
    header=st.one_of(st.just(SHOPIFY_HEADER), st.lists(st.text(max_size=12), max_size=5)),
)
def test_any_catalog_file_is_parsed_or_refused_whole(
    rows: list[list[str]], header: list[str]
) -> None:
    try:
        parsed = parse(_csv(rows, header))
    except ClientError:
        return
    for listing in parsed.listings:
        assert listing.handle and listing.title
    assert all(error.reason for error in parsed.errors)


@FUZZ
@given(rows=st.lists(st.lists(CELL, min_size=2, max_size=6), min_size=1, max_size=4))
@example(rows=[["nul", "\x00"]])  # PostgreSQL cannot store it: the file is refused whole
def test_an_uploaded_catalog_job_ends_with_a_sentence(
    app: Flask, shop_a: Shop, rows: list[list[str]]
) -> None:
    response = _upload(app, shop_a, _csv(rows, SHOPIFY_HEADER))
    assert response.status_code in (202, 400, 422), response.get_json()
    if response.status_code != 202:
        return
    job_id = response.get_json()["job_id"]
    app.extensions["jobs"].run(job_id)
    job = app.test_client().get(f"/api/v1/jobs/{job_id}", headers=shop_a.headers).get_json()
    assert job["status"] == "succeeded" or "SELECT" not in (job["error"] or ""), job
    assert job["status"] == "succeeded", job


def _count(app: Flask, shop: Shop, model: type[Listing] | type[Order]) -> int:
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@FUZZ
@given(
    kind=st.sampled_from(["listings", "orders"]),
    field=st.sampled_from(sorted({*LISTING, *ORDER, "items", "stock_quantity", "currency"})),
    value=JSON,
)
def test_any_api_body_gets_a_2xx_or_a_4xx(
    app: Flask, shop_a: Shop, shop_b: Shop, kind: str, field: str, value: Any
) -> None:
    model: type[Listing] | type[Order] = Listing if kind == "listings" else Order
    base = LISTING if kind == "listings" else ORDER
    before = _count(app, shop_a, model)
    body = {**base, field: value, "handle": f"h-{before}", "number": f"n-{before}"}
    if kind == "listings":
        body.pop("number")
    else:
        body.pop("handle")
    response = app.test_client().post(f"/api/v1/{kind}", json=body, headers=shop_a.headers)
    assert response.status_code < 500, response.get_json()
    written = 1 if response.status_code == 201 else 0
    assert _count(app, shop_a, model) == before + written
    assert _count(app, shop_b, model) == 0
