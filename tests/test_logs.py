"""Structured logs carry the request, job and call they belong to."""

from __future__ import annotations

import json
import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient

from merchant_voice.logs import ContextFilter, JsonFormatter, TextFormatter, log_context
from tests.conftest import Shop


def _record(message: str) -> logging.LogRecord:
    record = logging.LogRecord("merchant_voice.test", logging.INFO, __file__, 1, message, (), None)
    ContextFilter().filter(record)
    return record


def test_formats_carry_the_context_ids() -> None:
    with log_context(call_id="CA42", job_id="job7"):
        record = _record("turn answered")
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "turn answered"
    assert (entry["call_id"], entry["job_id"]) == ("CA42", "job7")
    assert "request_id" not in entry
    assert TextFormatter().format(record).endswith("[job_id=job7 call_id=CA42]")
    assert _record("outside").call_id is None  # type: ignore[attr-defined]


def test_each_request_gets_an_id(
    app: Flask, client: FlaskClient, shop_a: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    response = client.get("/api/v1/nothing", headers={"X-Request-ID": "req-abc"})
    assert response.headers["X-Request-ID"] == "req-abc"
    generated = client.get("/api/v1/merchant", headers=shop_a.headers).headers["X-Request-ID"]
    assert len(generated) == 32
    with caplog.at_level(logging.INFO, logger="merchant_voice"):
        with app.extensions["db"].tenant_session(shop_a.merchant) as session:
            job = app.extensions["jobs"].enqueue(session, "notes.count")
            session.commit()
        app.extensions["jobs"].run(job.id)
    tagged = [r for r in caplog.records if getattr(r, "job_id", None) == job.id]
    assert any("succeeded" in r.getMessage() for r in tagged)
