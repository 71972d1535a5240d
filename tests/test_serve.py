"""The production server (``flask serve``: gunicorn, gthread) serves a call and stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from merchant_voice.config import Settings
from plugins.support_calls.telephony.caller import TwilioCaller, call_sid, place_call
from tests.engines_fixtures import MODELS_CACHE

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "0123456789abcdef0123456789abcdef"
CRASHES = ("SIGSEGV", "SIGABRT", "terminate called", "exited with code", "Traceback")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _flask(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    command = [sys.executable, "-m", "flask", "--app", "app", *args]
    subprocess.run(command, cwd=ROOT, env=env, input=stdin, text=True, check=True, timeout=120)


def _wait_until_served(url: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server stopped while starting"
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError("the server did not start")


@pytest.mark.usefixtures("prepared")
def test_a_served_host_stops_cleanly_after_a_call(tmp_path: Path, prepared: Settings) -> None:
    env = {
        **os.environ,
        "MV_HOST_INSTANCE_PATH": str(tmp_path),
        "MV_MODELS_CACHE_DIR": str(MODELS_CACHE),
        "MV_CHAT_URL": "http://127.0.0.1:9",  # the greeting needs no chat engine
        "MV_SERVER_WORKERS": "1",
    }
    _flask(env, "db", "upgrade")
    _flask(env, "merchants", "create", "acme", "--name", "Acme")
    _flask(
        env, "credentials", "set", "--stdin", "acme", "support_calls.twilio_auth_token", stdin=TOKEN
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "serve", "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        _wait_until_served(url, server)
        answer = place_call(url, "acme", TOKEN, call_sid(1), "+15550100", "+15550000")
        caller = TwilioCaller(answer.stream_url, call_sid(1))
        caller.wait_reply(0, timeout=60)  # the greeting: speech models loaded and used
        assert caller.heard.frames
        caller.hang_up()
        time.sleep(1.0)
    finally:
        server.send_signal(signal.SIGTERM)
        status = server.wait(timeout=60)
    output = log.read_text()
    assert status == 0, output
    assert "Worker exiting" in output and "Shutting down: Master" in output
    assert not [crash for crash in CRASHES if crash in output], output
