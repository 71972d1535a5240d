"""Twilio's voice and status webhooks, signed with the twilio package's own RequestValidator."""

from __future__ import annotations

import hashlib
from typing import Any
from xml.etree import ElementTree

import pytest
from flask import Flask
from sqlalchemy import select
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from plugins.support_calls.models import Call
from tests.conftest import Shop

AUTH_TOKEN = "12345678901234567890123456789012"
PUBLIC = "https://voice.example.com"


@pytest.fixture
def phone_app(make_app: Any, database_url: str) -> Flask:
    app: Flask = make_app(database_url, host={"public_url": PUBLIC})
    return app


@pytest.fixture
def shop(phone_app: Flask) -> Shop:
    from tests.conftest import make_shop

    shop = make_shop(phone_app, "shop-a")
    phone_app.extensions["credentials"].set(shop.id, "support_calls.twilio_auth_token", AUTH_TOKEN)
    return shop


def post(
    app: Flask, path: str, params: dict[str, str], token: str = AUTH_TOKEN, sign: bool = True
) -> TestResponse:
    headers = {}
    if sign:
        headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(
            PUBLIC + path, params
        )
    return app.test_client().post(path, data=params, headers=headers)


CALL = {
    "CallSid": "CA0123456789abcdef0123456789abcdef",
    "AccountSid": "AC0123456789abcdef0123456789abcdef",
    "From": "+4915112345678",
    "To": "+4930123456",
    "CallStatus": "ringing",
    "Direction": "inbound",
}


def calls(app: Flask, shop: Shop) -> list[Call]:
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        return list(session.scalars(select(Call)))


def test_voice_webhook_answers_a_stream_with_a_one_time_token(phone_app: Flask, shop: Shop) -> None:
    response = post(phone_app, "/hooks/twilio/shop-a/voice", CALL)
    assert response.status_code == 200 and response.mimetype == "text/xml"
    connect = ElementTree.fromstring(response.data).find("./Connect")
    stream = ElementTree.fromstring(response.data).find("./Connect/Stream")
    assert connect is not None and stream is not None
    assert connect.get("action") == "https://voice.example.com/hooks/twilio/shop-a/next"
    url = stream.get("url", "")
    assert url.startswith("wss://voice.example.com/hooks/twilio/shop-a/stream/")
    token = url.rsplit("/", 1)[1]
    (call,) = calls(phone_app, shop)
    assert (call.caller, call.callee, call.status) == (
        "+4915112345678",
        "+4930123456",
        "in-progress",
    )
    assert call.stream_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(call.__dict__.values())  # only its hash is kept


def test_unsigned_badly_signed_or_foreign_requests_get_403(phone_app: Flask, shop: Shop) -> None:
    path = "/hooks/twilio/shop-a/voice"
    assert post(phone_app, path, CALL, sign=False).status_code == 403
    assert post(phone_app, path, CALL, token="x" * 32).status_code == 403
    assert post(phone_app, path, CALL).status_code == 200  # the same, correctly signed
    forged = phone_app.test_client().post(
        path,
        data={**CALL, "From": "+10000000000"},
        headers={
            "X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(
                PUBLIC + path, CALL
            )
        },
    )
    assert forged.status_code == 403 and forged.mimetype == "application/problem+json"
    assert post(phone_app, "/hooks/twilio/nobody/voice", CALL).status_code == 404


def test_a_merchant_without_an_auth_token_refuses_calls(phone_app: Flask) -> None:
    from tests.conftest import make_shop

    make_shop(phone_app, "shop-b")
    response = post(phone_app, "/hooks/twilio/shop-b/voice", CALL)
    assert response.status_code == 403
    assert "support_calls.twilio_auth_token" in response.get_json()["detail"]


def test_status_callbacks_update_the_call_and_a_replayed_voice_webhook_is_refused(
    phone_app: Flask, shop: Shop
) -> None:
    assert post(phone_app, "/hooks/twilio/shop-a/voice", CALL).status_code == 200
    done = {**CALL, "CallStatus": "completed", "CallDuration": "42"}
    assert post(phone_app, "/hooks/twilio/shop-a/status", done).status_code == 204
    (call,) = calls(phone_app, shop)
    assert (call.status, call.duration_s, call.stream_token_hash) == ("completed", 42, None)
    assert call.ended_at is not None
    replay = post(phone_app, "/hooks/twilio/shop-a/voice", CALL)
    assert replay.status_code == 409
    late = post(phone_app, "/hooks/twilio/shop-a/status", {**CALL, "CallStatus": "ringing"})
    assert late.status_code == 204 and calls(phone_app, shop)[0].status == "completed"


@pytest.mark.parametrize("status", ["busy", "failed", "no-answer", "canceled"])
def test_unanswered_calls_are_recorded_as_abandoned(
    phone_app: Flask, shop: Shop, status: str
) -> None:
    params = {**CALL, "CallStatus": status}
    assert post(phone_app, "/hooks/twilio/shop-a/status", params).status_code == 204
    (call,) = calls(phone_app, shop)
    assert (call.status, call.outcome) == (status, "abandoned")


def test_bad_status_callbacks_get_clear_errors(phone_app: Flask, shop: Shop) -> None:
    unknown = post(phone_app, "/hooks/twilio/shop-a/status", {**CALL, "CallStatus": "exploded"})
    assert unknown.status_code == 422 and unknown.get_json()["errors"][0]["field"] == "CallStatus"
    no_sid = {key: value for key, value in CALL.items() if key != "CallSid"}
    missing = post(phone_app, "/hooks/twilio/shop-a/status", no_sid)
    assert missing.status_code == 422 and missing.get_json()["errors"][0]["field"] == "CallSid"


def test_calls_api_lists_and_shows_only_the_merchants_calls(phone_app: Flask, shop: Shop) -> None:
    from tests.conftest import make_shop

    other = make_shop(phone_app, "shop-b")
    assert post(phone_app, "/hooks/twilio/shop-a/voice", CALL).status_code == 200
    client = phone_app.test_client()
    page = client.get("/api/v1/calls", headers=shop.headers).get_json()
    assert page["total"] == 1
    (call,) = page["calls"]
    assert (call["call_sid"], call["caller"], call["status"]) == (
        CALL["CallSid"],
        "+4915112345678",
        "in-progress",
    )
    assert "stream_token_hash" not in call
    one = client.get(f"/api/v1/calls/{call['id']}", headers=shop.headers)
    assert one.status_code == 200 and one.get_json()["id"] == call["id"]
    assert client.get(f"/api/v1/calls/{call['id']}", headers=other.headers).status_code == 404
    assert client.get("/api/v1/calls", headers=other.headers).get_json()["calls"] == []
    assert client.get("/api/v1/calls?limit=0", headers=shop.headers).status_code == 422
    assert client.get(f"/api/v1/calls/{2**70}", headers=shop.headers).status_code == 404
