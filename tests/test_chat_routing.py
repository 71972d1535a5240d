"""A model per workload: each request reaches the served model its workload is routed to,
and a served model that is down leaves the other workloads working.

One real vLLM server (the session's) plays the call model; the text model is a
deployment at another URL - down (nothing listens there), then that same server.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from engines import Engines
from engines.chat import ChatRequest
from engines.errors import EngineUnavailable
from tests.conftest import make_shop, new_database
from tests.engines_fixtures import TEST_CHAT_PORT

LIVE = f"http://127.0.0.1:{TEST_CHAT_PORT}"
DOWN = "http://127.0.0.1:9"  # nothing listens: connection refused


def _routed_app(
    make_app: Callable[..., Flask], request: pytest.FixtureRequest, tmp_path: Path, text_url: str
) -> Flask:
    chat: dict[str, Any] = {
        "url": LIVE,
        "max_retries": 0,
        "models": {"text": {"url": text_url, "served_name": "smollm2"}},
        "workloads": {"translation": "text", "narration": "text"},
    }
    for url in new_database("sqlite", request, tmp_path):
        return make_app(url, chat=chat)
    raise AssertionError("no database")


def _ask(workload: str) -> ChatRequest:
    return ChatRequest([{"role": "user", "content": "Say hi."}], max_tokens=4, workload=workload)


def test_a_workload_whose_model_is_down_fails_alone(
    make_app: Callable[..., Flask],
    request: pytest.FixtureRequest,
    tmp_path: Path,
    engines: Engines,
) -> None:
    app = _routed_app(make_app, request, tmp_path, DOWN)
    routed: Engines = app.extensions["engines"]
    assert routed.chat.complete(_ask("calls")).text  # the call model answers
    assert routed.chat.complete(_ask("a-plugins-own")).text  # unrouted: the call model too
    with pytest.raises(EngineUnavailable):
        routed.chat.complete(_ask("translation"))
    assert routed.chat.health() == {"smollm2": True, "text": False}

    rows = {s.model.split(" ")[0]: s for s in routed.status() if s.name == "chat"}
    assert rows["smollm2"].healthy and "the rest" in rows["smollm2"].model
    assert not rows["text"].healthy and "narration, translation" in rows["text"].model
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert [e["healthy"] for e in ready.get_json()["engines"] if e["name"] == "chat"] == [
        True,
        False,
    ]

    # A translation job waits for its model, with a sentence for the merchant.
    shop = make_shop(app, "acme", default_locale="en_US", market_locales=["de_DE"])
    client = app.test_client()
    listing = client.post(
        "/api/v1/listings",
        json={"handle": "cap", "title": "Warm wool cap", "price": "19.00"},
        headers=shop.headers,
    ).get_json()["id"]
    queued = client.post(
        f"/api/v1/listings/{listing}/translations", json={}, headers=shop.headers
    ).get_json()
    app.extensions["jobs"].run(queued["job_id"])
    job = client.get(f"/api/v1/jobs/{queued['job_id']}", headers=shop.headers).get_json()
    assert job["status"] == "queued" and job["attempts"] == 1  # retried later
    assert job["error"].startswith("the chat engine is unavailable")


def test_translation_reaches_the_text_model_and_calls_the_call_model(
    make_app: Callable[..., Flask],
    request: pytest.FixtureRequest,
    tmp_path: Path,
    engines: Engines,
) -> None:
    app = _routed_app(make_app, request, tmp_path, LIVE)
    routed: Engines = app.extensions["engines"]
    assert routed.chat.client("translation") is routed.chat.clients["text"]
    assert routed.chat.client("calls") is routed.chat.clients["smollm2"]
    assert routed.chat.complete(_ask("translation")).text
    shop = make_shop(app, "acme", default_locale="en_US", market_locales=["de_DE"])
    client = app.test_client()
    listing = client.post(
        "/api/v1/listings",
        json={"handle": "cap", "title": "Warm wool cap", "price": "19.00"},
        headers=shop.headers,
    ).get_json()["id"]
    queued = client.post(
        f"/api/v1/listings/{listing}/translations", json={}, headers=shop.headers
    ).get_json()
    app.extensions["jobs"].run(queued["job_id"])
    job = client.get(f"/api/v1/jobs/{queued['job_id']}", headers=shop.headers).get_json()
    assert job["status"] == "succeeded", job
