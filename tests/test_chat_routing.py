"""A model per workload: each request reaches the served model its workload is routed to,
and a served model that is down leaves the other workloads working.

One real vLLM server (the session's) plays the call model; the text model is a
deployment at another URL - down (nothing listens there), then that same server.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from engines import Engines
from engines.chat import ChatRequest
from engines.errors import EngineCancelled, EngineUnavailable
from tests.conftest import make_shop, new_database
from tests.engines_fixtures import MODELS_CACHE, TEST_CHAT_PORT

LIVE = f"http://127.0.0.1:{TEST_CHAT_PORT}"
DOWN = "http://127.0.0.1:9"  # nothing listens: connection refused


def _routed_app(
    make_app: Callable[..., Flask], request: pytest.FixtureRequest, tmp_path: Path, text_url: str
) -> Flask:
    chat: dict[str, Any] = {
        "url": LIVE,
        "max_retries": 0,
        "engine_wait_s": 1.0,  # a job waits this long for a server that is down (not 300 s)
        "models": {"text": {"url": text_url, "served_name": "smollm2"}},
        "workloads": {"translation": "text", "narration": "text"},
    }
    for url in new_database("sqlite", request, tmp_path):
        return make_app(url, chat=chat)
    raise AssertionError("no database")


def _translate_a_cap(
    app: Flask, shown: list[str] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A merchant's listing translated into German by a job: the job, and what was stored;
    ``shown`` collects the progress messages the job showed while it ran."""
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
    jobs = app.extensions["jobs"]
    runner = threading.Thread(target=jobs.run, args=(queued["job_id"],))
    runner.start()
    while runner.is_alive():
        for _fraction, message in jobs.running().values():
            if shown is not None and message and message not in shown:
                shown.append(message)
        runner.join(0.05)
    job = client.get(f"/api/v1/jobs/{queued['job_id']}", headers=shop.headers).get_json()
    url = f"/api/v1/listings/{listing}/translations/de_DE"
    stored = client.get(url, headers=shop.headers).get_json()
    return job, stored


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
    job, _ = _translate_a_cap(app)
    assert job["status"] == "queued" and job["attempts"] == 1  # retried later
    assert job["error"].startswith("the chat engine is unavailable")


def test_a_job_behind_a_saturated_server_finishes_in_its_first_attempt(
    make_app: Callable[..., Flask],
    request: pytest.FixtureRequest,
    tmp_path: Path,
    engines: Engines,
) -> None:
    """The server is made slow by load (48 long answers at once, from another client): the
    job's requests wait for admission and share the server far longer than an interactive
    request's deadline (2 s here), and still finish; the job succeeds at its first attempt."""
    from engines.chat import Priority, VllmChat

    chat = {"url": LIVE, "timeout_s": 2.0, "stall_timeout_s": 60.0, "bulk_concurrency": 2}
    for url in new_database("sqlite", request, tmp_path):
        app = make_app(url, chat={**chat, "models": {}, "workloads": {}})
    load = VllmChat(LIVE, "smollm2", bulk_concurrency=64, adaptive=False)
    story = ChatRequest(
        [{"role": "user", "content": "Write a long story about a lighthouse keeper."}],
        max_tokens=600,
        temperature=0.8,
        priority=Priority.BULK,
    )
    stop = threading.Event()
    answered: list[int] = []

    def saturate() -> None:
        with contextlib.suppress(EngineCancelled):
            while not stop.is_set():
                answered.append(load.complete(story, cancel=stop).tokens)

    crowd = [threading.Thread(target=saturate, daemon=True) for _ in range(48)]
    for thread in crowd:
        thread.start()
    try:
        time.sleep(5)  # the crowd is in the server's batch
        started = time.monotonic()
        job, stored = _translate_a_cap(app)
        took = time.monotonic() - started
    finally:
        stop.set()
        for thread in crowd:
            thread.join(60)
        load.close()
    assert job["status"] == "succeeded" and job["attempts"] == 1, job
    assert stored["fields"]["title"], stored
    assert took > 2.0, "the server was not busy enough for the test to mean anything"


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
    job, _ = _translate_a_cap(app)
    assert job["status"] == "succeeded", job


def test_each_embedded_model_gets_its_own_server_port_cache_and_log(tmp_path: Path) -> None:
    from engines.provision import in_use
    from tests.engines_fixtures import engine_settings

    chat = {
        "models": {
            "text": {"bundled": "qwen2.5-coder-0.5b-instruct", "port": 8091, "kv_cache_gib": 3},
            "remote": {"url": "http://vllm.internal:8000", "served_name": "Qwen/Qwen2.5-7B"},
        },
        "workloads": {"translation": "text", "narration": "remote"},
    }
    settings = engine_settings(tmp_path, chat=chat)
    built = Engines(settings.engines)
    assert sorted(built.supervisors) == ["smollm2", "text"]  # the deployment runs itself
    text = built.supervisors["text"]
    command = text.command()
    assert command[command.index("--port") + 1] == "8091"
    assert command[command.index("--served-model-name") + 1] == "text"
    assert command[command.index("--model") + 1].endswith("qwen2.5-coder-0.5b-instruct")
    assert text.spec.kv_cache_gib == 3 and text.log_path.name == "vllm-text.log"
    assert built.chat.client("narration").model_for(None) == "Qwen/Qwen2.5-7B"
    assert in_use(settings.engines) == ["smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct"]


@pytest.mark.parametrize(
    ("chat", "message"),
    [
        ({"workloads": {"translation": "nope"}}, "workloads.translation: no served model 'nope'"),
        ({"models": {"a": {"bundled": "x", "port": 8021}}}, "two embedded servers share a port"),
        ({"models": {"a": {"port": 8095}}}, "models.a: name its url, bundled or model_path"),
        ({"models": {"a": {"url": "http://x", "on_demand": True}}}, "on_demand only apply"),
        ({"models": {"a": {"url": "http://x", "port": 8030}}}, "models.a: port only apply"),
        ({"models": {"smollm2": {"url": "http://x"}}}, "that is \\[chat\\] model's name"),
        ({"models": {"a": {"bundled": "llama-7b"}}}, "'llama-7b' is not a bundled chat model"),
        (
            {
                "models": {
                    "a": {"bundled": "smollm2-135m-instruct", "on_demand": True, "port": 8031}
                },
                "workloads": {"calls": "a"},
            },
            "workloads.calls: a starts on demand",
        ),
    ],
)
def test_bad_routing_settings_are_refused_naming_the_field(
    tmp_path: Path, chat: dict[str, Any], message: str
) -> None:
    from merchant_voice.errors import ConfigError
    from tests.engines_fixtures import engine_settings

    with pytest.raises(ConfigError, match=message):
        engine_settings(tmp_path, chat=chat)


class ForkedWorker:
    """Another process of the host, forked from this one as gunicorn forks its web workers
    from the master that supervises the servers: on ``ask``, it sends one request for the
    translation workload and hands back the answer (or the error)."""

    def __init__(self, engines: Engines, timeout_s: float) -> None:
        self._go_read, self._go_write = os.pipe()
        self._answer_read, answer_write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the worker
            os.close(self._go_write)
            os.close(self._answer_read)
            outcome = "not asked"
            try:
                if os.read(self._go_read, 1) == b"!":
                    cancel = threading.Event()
                    threading.Timer(timeout_s, cancel.set).start()
                    outcome = "answered: " + engines.chat.complete(_ask("translation"), cancel).text
            except BaseException as exc:
                outcome = f"{type(exc).__name__}: {exc}"
            finally:
                os.write(answer_write, outcome.encode()[:4000])
                os._exit(0)
        os.close(self._go_read)
        os.close(answer_write)

    def ask(self) -> str:
        os.write(self._go_write, b"!")
        chunks = []
        while chunk := os.read(self._answer_read, 4096):
            chunks.append(chunk)
        os.waitpid(self.pid, 0)
        return b"".join(chunks).decode()

    def close(self) -> None:
        os.close(self._go_write)  # a worker never asked leaves at once
        os.close(self._answer_read)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def test_the_default_text_model_starts_on_demand_translates_and_stops_when_idle(
    make_app: Callable[..., Flask],
    request: pytest.FixtureRequest,
    tmp_path: Path,
    engines: Engines,
) -> None:
    """The defaults send translation to this machine's default text model, run only while
    it has work; once it stopped idle, a request from another process of the host starts
    it again."""
    from engines.procmem import listening_pid
    from engines.provision import prepare
    from engines.settings import ChatSettings, text_model
    from tests.engines_fixtures import engine_settings

    text_name, text_table = text_model()
    defaults = ChatSettings()
    assert defaults.route("translation") == defaults.route("narration") == text_name
    bundled = str(text_table["bundled"])
    cache = engine_settings(tmp_path, models={"cache_dir": str(MODELS_CACHE)})
    prepare(cache.engines, [bundled])  # a fresh checkout builds it once (2 minutes)
    assert defaults.route("calls") == "smollm2"
    text = {**text_table, "port": 8022, "idle_stop_s": 5}  # the default, quick to idle
    chat = {"url": LIVE, "models": {text_name: text}, "workloads": defaults.workloads}
    for url in new_database("sqlite", request, tmp_path):
        app = make_app(url, chat=chat, models={"cache_dir": str(MODELS_CACHE)})
    routed: Engines = app.extensions["engines"]
    routed.watch_on_demand()  # this process supervises the server, as serve's master does
    worker = ForkedWorker(routed, timeout_s=600)
    try:
        assert listening_pid(8022) is None  # nothing runs before there is work
        assert routed.chat.health()[text_name]  # idle, not broken: /readyz stays ready
        shown: list[str] = []
        job, stored = _translate_a_cap(app, shown)  # waits for the cold start
        assert job["status"] == "succeeded", job
        assert f"starting the text model {text_name}" in shown, shown  # not a stuck job
        assert stored["model"] == text_name and stored["flags"] == [], stored
        assert stored["fields"]["title"] != "Warm wool cap"
        [row] = [s for s in routed.status(memory=True) if s.model.startswith(text_name)]
        assert "on demand" in row.detail and row.memory_bytes and row.memory_bytes > 2**30
        deadline = time.monotonic() + 60
        while listening_pid(8022) is not None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert listening_pid(8022) is None  # stopped once idle
        answer = worker.ask()  # the worker's request starts it again (it did not, before)
        assert answer.startswith("answered: ") and len(answer) > len("answered: "), answer
        assert listening_pid(8022) is not None
    finally:
        worker.close()
        routed.stop()


def test_an_on_demand_model_not_prepared_fails_at_once_saying_how(tmp_path: Path) -> None:
    from engines.errors import ModelNotPrepared
    from tests.engines_fixtures import engine_settings

    text = {"bundled": "qwen2.5-coder-0.5b-instruct", "port": 8093, "on_demand": True}
    chat = {"url": LIVE, "models": {"text": text}, "workloads": {"translation": "text"}}
    settings = engine_settings(tmp_path, chat=chat, models={"cache_dir": str(tmp_path)})
    started = time.monotonic()
    with pytest.raises(ModelNotPrepared, match=r"models prepare qwen2\.5-coder-0\.5b-instruct"):
        Engines(settings.engines).chat.complete(_ask("translation"))
    assert time.monotonic() - started < 5  # not a wait for a server that never comes
