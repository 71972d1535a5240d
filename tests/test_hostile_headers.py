"""Hostile input: security headers on every answer, /metrics kept to the operator,
path ids in ASCII digits only, the host's files closed to other users."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import Shop

REMOTE = {"REMOTE_ADDR": "203.0.113.5"}


def test_every_answer_carries_the_security_headers(app: Flask, shop_a: Shop) -> None:
    client = app.test_client()
    answers = {
        "api": client.get("/api/v1/merchant", headers=shop_a.headers),
        "api error": client.get("/api/v1/listings/999999", headers=shop_a.headers),
        "unauthenticated": client.get("/api/v1/merchant"),
        "webhook": client.post("/hooks/shopify/shop-a/orders", data=b"{}"),
        "health": client.get("/healthz"),
        "no such page": client.get("/nothing-here"),
    }
    assert answers["api"].status_code == 200
    for name, answer in answers.items():
        headers = answer.headers
        assert headers["X-Content-Type-Options"] == "nosniff", name
        assert headers["X-Frame-Options"] == "DENY", name
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], name
        assert "default-src 'none'" in headers["Content-Security-Policy"], name
        assert headers["Referrer-Policy"] == "no-referrer", name
    for name in ("api", "api error", "unauthenticated"):
        assert answers[name].headers["Cache-Control"] == "no-store", name


def test_metrics_answer_this_machine_only_without_a_token(app: Flask) -> None:
    client = app.test_client()
    local = client.get("/metrics")
    assert local.status_code == 200
    assert "python_info" not in local.get_data(as_text=True)
    assert client.get("/metrics", environ_base=REMOTE).status_code == 403
    proxied = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.5"})
    assert proxied.status_code == 403
    assert "metrics_token" in proxied.get_json()["detail"]


def test_metrics_with_a_token_ask_for_it(make_app: Callable[..., Flask], database_url: str) -> None:
    app = make_app(database_url, host={"metrics_token": "scrape-me"})
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.get("/metrics", headers=wrong, environ_base=REMOTE).status_code == 401
    right = {"Authorization": "Bearer scrape-me"}
    assert client.get("/metrics", headers=right, environ_base=REMOTE).status_code == 200


@pytest.mark.parametrize("path_id", ["\uff11", "\u0661", "1\u0662"])
def test_path_ids_are_ascii_digits(app: Flask, shop_a: Shop, path_id: str) -> None:
    client = app.test_client()
    created = client.post(
        "/api/v1/listings",
        json={"handle": "one", "title": "One", "description_html": "<p>One</p>"},
        headers=shop_a.headers,
    )
    assert created.get_json()["id"] == 1
    assert client.get("/api/v1/listings/1", headers=shop_a.headers).status_code == 200
    answer = client.get(f"/api/v1/listings/{path_id}", headers=shop_a.headers)
    assert answer.status_code == 404


def test_the_hosts_files_are_its_users_alone(app: Flask, shop_a: Shop) -> None:
    instance = Path(app.instance_path)
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    files = [path for path in instance.rglob("*") if path.is_file()]
    assert {"secret_key", "credentials_key"} <= {path.name for path in files}
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in files} == {
        path.name: 0o600 for path in files
    }
