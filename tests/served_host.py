"""The real served host (``flask serve``) on a free loopback port, with one merchant and
its API key, for hostile-traffic tests and bench/load.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.engines_fixtures import MODELS_CACHE
from tests.test_serve import ROOT, TOKEN, _flask, _free_port, _wait_until_served


@dataclass(frozen=True)
class Served:
    url: str
    headers: dict[str, str]
    log: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


@contextmanager
def served_host(tmp: Path, **environ: str) -> Iterator[Served]:
    """``flask serve`` with its instance in ``tmp`` (SQLite, embedded jobs) and merchant
    ``acme`` (its Twilio auth token: ``tests.test_serve.TOKEN``); ``environ``: more MV_*
    settings."""
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
    created = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "apikeys", "create", "acme", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = json.loads(created.stdout)["key"]
    port = _free_port()
    log = tmp / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "serve", "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_served(url, server)
        yield Served(url, {"Authorization": f"Bearer {key}"}, log)
    finally:
        server.terminate()
        server.wait(timeout=60)
