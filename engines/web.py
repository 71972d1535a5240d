"""``/healthz`` (the process answers), ``/readyz`` (the engines answer) and ``/metrics``."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Response, current_app, jsonify
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

bp = Blueprint("engines", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    statuses = current_app.extensions["engines"].status()
    ready = all(status.healthy for status in statuses)
    body = {"status": "ready" if ready else "not ready", "engines": [asdict(s) for s in statuses]}
    return jsonify(body), 200 if ready else 503


@bp.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
