"""The real served host (``flask serve``) on a free loopback port, with one merchant,
its API key and its Twilio auth token, for the served-host tests and bench/load.py."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.engines_fixtures import MODELS_CACHE

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "0123456789abcdef0123456789abcdef"  # acme's Twilio auth token


@dataclass
class Served:
    url: str
    headers: dict[str, str]
    log: Path  # in the instance folder
    env: dict[str, str]  # its settings, for commands run beside it
    returncode: int | None = None  # once it has stopped

    def flask(self, *args: str, stdin: str | None = None) -> str:
        """``flask --app app ARGS`` on the served host's instance."""
        return _flask(self.env, *args, stdin=stdin)

    def popen(self, *args: str) -> subprocess.Popen[bytes]:
        """``flask --app app ARGS`` started beside the host (a job worker), running on."""
        command = [sys.executable, "-m", "flask", "--app", "app", *args]
        return subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _flask(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    command = [sys.executable, "-m", "flask", "--app", "app", *args]
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        input=stdin,
        text=True,
        check=True,
        timeout=120,
        capture_output=True,
    )
    return done.stdout


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


@contextmanager
def served_host(tmp: Path, **environ: str) -> Iterator[Served]:
    """``flask serve`` with its instance in ``tmp`` (SQLite, embedded jobs) and merchant
    ``acme``; ``environ``: more MV_* settings. Stopped with SIGTERM at the end."""
    env = {
        **os.environ,
        "MV_HOST_INSTANCE_PATH": str(tmp),
        "MV_MODELS_CACHE_DIR": str(MODELS_CACHE),
        "MV_CHAT_URL": "http://127.0.0.1:9",  # nothing here needs the chat engine
        "MV_SERVER_WORKERS": "1",
        **environ,
    }
    _flask(env, "db", "upgrade")
    _flask(env, "merchants", "create", "acme", "--name", "Acme")
    _flask(
        env, "credentials", "set", "--stdin", "acme", "support_calls.twilio_auth_token", stdin=TOKEN
    )
    key = json.loads(_flask(env, "apikeys", "create", "acme", "--json"))["key"]
    port = _free_port()
    served = Served(
        f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {key}"}, tmp / "serve.log", env
    )
    with served.log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "serve", "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        _wait_until_served(served.url, server)
        yield served
    finally:
        server.send_signal(signal.SIGTERM)
        served.returncode = server.wait(timeout=60)
