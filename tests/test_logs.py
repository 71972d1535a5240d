"""Structured logs carry the request, job and call they belong to."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from merchant_voice.logs import ContextFilter, JsonFormatter, TextFormatter, log_context
from tests.conftest import ROOT, Shop


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


def test_a_command_prints_its_own_output_and_plugin_loading_stays_quiet(
    make_app: Callable[..., Flask],
    database_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Loading is logged at debug level, refusals as errors; a command's output stands alone."""
    with caplog.at_level(logging.DEBUG, logger="merchant_voice.plugin_manager"):
        make_app(database_url)
    messages = [(r.levelno, r.getMessage()) for r in caplog.records]
    loaded = {level for level, text in messages if text.startswith("plugin ") and "loaded" in text}
    refused = {level for level, text in messages if " refused: " in text}
    assert loaded == {logging.DEBUG}
    assert refused == {logging.ERROR}  # the test plugins broken and future
    environment = {**os.environ, "MV_HOST_INSTANCE_PATH": str(tmp_path / "cli")}
    environment.pop("MV_CONFIG", None)
    listed = subprocess.run(
        [sys.executable, "-m", "flask", "--app", str(ROOT / "app.py"), "plugins", "list"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert "catalog" in listed.stdout and "loaded" in listed.stdout
    assert listed.stderr == ""  # no log lines around the command's own output
