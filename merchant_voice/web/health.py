"""``/healthz`` (the process answers), ``/readyz`` (the engines answer) and ``/metrics``.

``/metrics`` is for the operator's Prometheus: with ``[host] metrics_token`` set it asks
for ``Authorization: Bearer <token>``; unset, it answers only requests made on this
machine directly (from a loopback address, not forwarded by a proxy). It leaves out
prometheus_client's ``python_info`` (the interpreter's exact version).
"""

from __future__ import annotations

import hmac
from contextlib import suppress
from dataclasses import asdict

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    PLATFORM_COLLECTOR,
    REGISTRY,
    generate_latest,
)

from merchant_voice.errors import Forbidden, Unauthorized
from merchant_voice.extensions import engines, settings

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    statuses = engines().status()
    ready = all(status.healthy for status in statuses)
    body = {"status": "ready" if ready else "not ready", "engines": [asdict(s) for s in statuses]}
    return jsonify(body), 200 if ready else 503


LOOPBACK = frozenset({"127.0.0.1", "::1"})
FORWARDED = ("Forwarded", "X-Forwarded-For", "X-Real-IP")

with suppress(KeyError):  # once per process; the web answers never name the interpreter
    REGISTRY.unregister(PLATFORM_COLLECTOR)


@bp.get("/metrics")
def metrics() -> Response:
    token = settings().host.metrics_token
    if token is not None:
        expected = f"Bearer {token.get_secret_value()}"
        if not hmac.compare_digest(request.headers.get("Authorization", ""), expected):
            raise Unauthorized("/metrics needs the metrics token: Authorization: Bearer <token>")
    elif request.remote_addr not in LOOPBACK or any(h in request.headers for h in FORWARDED):
        raise Forbidden(
            "/metrics answers this machine only; set [host] metrics_token to scrape it remotely"
        )
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
