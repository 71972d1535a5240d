"""``/healthz`` (the process answers), ``/readyz`` (the engines answer) and ``/metrics``."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from merchant_voice.extensions import engines

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


@bp.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
