"""The shared chat engine: one client for every plugin, to a vLLM server (OpenAI API).

* streaming tokens (``stream``), and whole answers (``complete``);
* JSON-schema structured output (vLLM guided decoding) with the answer parsed;
* a deadline per request, and cancellation from another thread - closing the
  stream makes vLLM abort the generation;
* retries with backoff on transient failures, before the first token only; a bulk
  request then waits for the server to answer again (a restart), up to
  ``engine_wait_s``, and starts over; an interactive one fails at once;
* priorities: interactive requests are sent with a lower vLLM priority value
  (served first under ``--scheduling-policy priority``) and skip the host's
  admission queue, which caps the bulk requests in flight;
* a model or LoRA adapter per merchant (``[chat] merchant_models``).
"""

from __future__ import annotations

import enum
import json
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from engines.errors import EngineCancelled, EngineError, EngineTimeout, EngineUnavailable
from engines.metrics import CHAT_IN_FLIGHT, CHAT_QUEUED, CHAT_TOKENS_PER_S, CHAT_TTFT, ENGINE_ERRORS

log = logging.getLogger(__name__)

TRANSIENT_STATUS = {429, 502, 503, 504}


class Priority(enum.IntEnum):
    """vLLM priority values: lower is served first."""

    INTERACTIVE = 0
    BULK = 10


@dataclass(frozen=True)
class ChatRequest:
    messages: list[dict[str, str]]
    max_tokens: int = 256
    temperature: float = 0.2
    json_schema: dict[str, Any] | None = None
    priority: Priority = Priority.BULK
    merchant: str | None = None
    stop: list[str] = field(default_factory=list)
    timeout_s: float | None = None
    # The last message is the assistant's answer so far: the model goes on from it.
    continue_final_message: bool = False
    # Which served model answers: [chat] workloads maps it (calls, translation, narration...).
    workload: str = "default"


@dataclass(frozen=True)
class ChatResult:
    text: str
    tokens: int
    time_to_first_token_s: float
    total_s: float

    def json(self) -> Any:
        """The answer parsed as JSON (for requests with a ``json_schema``)."""
        try:
            return json.loads(self.text)
        except json.JSONDecodeError as exc:
            raise EngineError(f"the model's answer is not valid JSON: {exc}") from None


class ChatEngine(Protocol):
    """The shared chat model, for every plugin and merchant."""

    bulk_concurrency: int
    """Bulk requests this engine admits at once: how many a job may usefully keep in flight."""

    def stream(self, request: ChatRequest, cancel: threading.Event | None = None) -> Iterator[str]:
        """The answer's text, piece by piece, as the model writes it."""

    def complete(self, request: ChatRequest, cancel: threading.Event | None = None) -> ChatResult:
        """The whole answer, with its timings."""

    def model_for(self, merchant: str | None, workload: str = "default") -> str:
        """The served model (or LoRA adapter) that answers ``merchant``'s ``workload``."""

    def healthy(self) -> bool:
        """Whether the model server answers now."""

    def close(self) -> None:
        """Release the engine's connections."""


class Admission:
    """Caps bulk requests in flight; interactive ones never wait here."""

    def __init__(self, bulk_slots: int, model: str = "") -> None:
        self._bulk = threading.BoundedSemaphore(bulk_slots)
        self.model = model  # the served model whose requests it admits (a metrics label)

    @contextmanager
    def admit(self, priority: Priority, deadline: float) -> Iterator[None]:
        label = priority.name.lower()
        if priority is Priority.INTERACTIVE:
            CHAT_IN_FLIGHT.labels(model=self.model, priority=label).inc()
            try:
                yield
            finally:
                CHAT_IN_FLIGHT.labels(model=self.model, priority=label).dec()
            return
        CHAT_QUEUED.labels(model=self.model, priority=label).inc()
        try:
            admitted = self._bulk.acquire(timeout=max(deadline - time.monotonic(), 0))
        finally:
            CHAT_QUEUED.labels(model=self.model, priority=label).dec()
        if not admitted:
            raise EngineTimeout("the chat engine is saturated with bulk work; try again later")
        CHAT_IN_FLIGHT.labels(model=self.model, priority=label).inc()
        try:
            yield
        finally:
            CHAT_IN_FLIGHT.labels(model=self.model, priority=label).dec()
            self._bulk.release()


class VllmChat:
    """:class:`ChatEngine` over HTTP to a vLLM OpenAI-compatible server."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        connect_timeout_s: float = 5.0,
        max_retries: int = 2,
        engine_wait_s: float = 300.0,
        bulk_concurrency: int = 32,
        priority_scheduling: bool = True,
        merchant_models: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.engine_wait_s = engine_wait_s
        self.priority_scheduling = priority_scheduling
        self.merchant_models = dict(merchant_models or {})
        self.bulk_concurrency = bulk_concurrency
        self.admission = Admission(bulk_concurrency, model)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
        )

    def model_for(self, merchant: str | None, workload: str = "default") -> str:
        return self.merchant_models.get(merchant or "", self.model)

    def healthy(self) -> bool:
        try:
            return self._http.get("/health", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model_for(request.merchant),
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.stop:
            body["stop"] = request.stop
        if request.continue_final_message:
            body["continue_final_message"] = True
            body["add_generation_prompt"] = False
        if self.priority_scheduling:
            body["priority"] = int(request.priority)
        if request.json_schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": request.json_schema, "strict": True},
            }
        return body

    def stream(self, request: ChatRequest, cancel: threading.Event | None = None) -> Iterator[str]:
        deadline = time.monotonic() + (request.timeout_s or self.timeout_s)
        label = request.priority.name.lower()
        with self.admission.admit(request.priority, deadline):
            started = time.monotonic()
            first_at: float | None = None
            pieces = 0
            for piece in self._stream_with_retries(request, deadline, cancel):
                if first_at is None:
                    first_at = time.monotonic()
                    CHAT_TTFT.labels(model=self.model, priority=label).observe(first_at - started)
                pieces += 1
                yield piece
            if first_at is not None and pieces > 1:
                elapsed = time.monotonic() - first_at
                if elapsed > 0:
                    CHAT_TOKENS_PER_S.labels(model=self.model, priority=label).observe(
                        pieces / elapsed
                    )

    def _stream_with_retries(
        self, request: ChatRequest, deadline: float, cancel: threading.Event | None
    ) -> Iterator[str]:
        """The answer's pieces, before ``deadline`` (which counts the wait for admission);
        after waiting for a restarted server, the request has its whole time again."""
        body = self._body(request)
        timeout_s = request.timeout_s or self.timeout_s
        may_wait = request.priority is Priority.BULK and self.engine_wait_s > 0
        attempt = 0
        while True:
            started = False
            try:
                for piece in self._stream_once(body, deadline, cancel):
                    started = True
                    yield piece
                return
            except _Transient as exc:
                if not started and attempt < self.max_retries and time.monotonic() < deadline:
                    backoff = min(0.5 * 2**attempt, max(deadline - time.monotonic(), 0))
                    log.warning(
                        "chat request failed (%s); retry %d in %.1fs", exc, attempt + 1, backoff
                    )
                    if cancel is not None and cancel.wait(backoff):
                        raise EngineCancelled("the chat request was cancelled") from None
                    time.sleep(0 if cancel is not None else backoff)
                    attempt += 1
                    continue
                if not started and may_wait and self._wait_answering(cancel):
                    may_wait = False  # once: a server that fails again right away is down
                    deadline, attempt = time.monotonic() + timeout_s, 0
                    continue
                ENGINE_ERRORS.labels(engine="chat").inc()
                raise EngineUnavailable(f"the chat engine is unavailable: {exc}") from None

    def _wait_answering(self, cancel: threading.Event | None) -> bool:
        """Wait up to ``engine_wait_s`` for the server to answer its health check again."""
        log.warning(
            "chat engine %s unavailable: a bulk request waits up to %.0fs for it",
            self.model,
            self.engine_wait_s,
        )
        until = time.monotonic() + self.engine_wait_s
        while time.monotonic() < until:
            if self.healthy():
                return True
            if cancel is not None and cancel.wait(2.0):
                raise EngineCancelled("the chat request was cancelled")
            if cancel is None:
                time.sleep(2.0)
        return False

    def _stream_once(
        self, body: dict[str, Any], deadline: float, cancel: threading.Event | None
    ) -> Iterator[str]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise EngineTimeout("the chat engine did not answer in time")
        try:
            with self._http.stream(
                "POST",
                "/v1/chat/completions",
                json=body,
                timeout=httpx.Timeout(remaining, connect=min(remaining, 5.0)),
            ) as response:
                if response.status_code in TRANSIENT_STATUS:
                    raise _Transient(f"HTTP {response.status_code}")
                if response.status_code >= 400:
                    response.read()
                    ENGINE_ERRORS.labels(engine="chat").inc()
                    raise EngineError(
                        f"the chat engine refused the request: HTTP {response.status_code}:"
                        f" {response.text[:500]}"
                    )
                for line in response.iter_lines():
                    if cancel is not None and cancel.is_set():
                        raise EngineCancelled("the chat request was cancelled")
                    if time.monotonic() > deadline:
                        raise EngineTimeout("the chat engine did not finish in time")
                    piece = _content(line)
                    if piece is _DONE:
                        return
                    if piece:
                        yield str(piece)
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from None
        except httpx.TimeoutException:
            ENGINE_ERRORS.labels(engine="chat").inc()
            raise EngineTimeout("the chat engine did not answer in time") from None

    def complete(self, request: ChatRequest, cancel: threading.Event | None = None) -> ChatResult:
        """The whole answer, with its timings."""
        started = time.monotonic()
        first: float | None = None
        parts = []
        for piece in self.stream(request, cancel):
            if first is None:
                first = time.monotonic() - started
            parts.append(piece)
        return ChatResult("".join(parts), len(parts), first or 0.0, time.monotonic() - started)

    def close(self) -> None:
        self._http.close()


class _Transient(Exception):
    """A failure worth retrying (connection refused or lost, 429/502/503/504)."""


_DONE = object()


def _content(line: str) -> object:
    if not line.startswith("data:"):
        return None
    data = line[5:].strip()
    if data == "[DONE]":
        return _DONE
    try:
        event = json.loads(data)
    except json.JSONDecodeError:
        return None
    if not isinstance(event, dict):
        return None
    if event.get("error"):  # vLLM reports a failure inside the stream
        ENGINE_ERRORS.labels(engine="chat").inc()
        raise EngineError(f"the chat engine failed mid-answer: {event['error']}")
    choices = event.get("choices") or []
    if not choices:
        return None
    return (choices[0].get("delta") or {}).get("content")
