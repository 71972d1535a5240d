"""The shared chat engine: one client for every plugin, to a vLLM server (OpenAI API).

* streaming tokens (``stream``), and whole answers (``complete``);
* JSON-schema structured output (vLLM guided decoding) with the answer parsed;
* a deadline for interactive requests (a call turn), on the engine's time: while the
  caller of ``stream`` holds a piece (speaks it, waits to), the deadline moves on with
  it; bulk requests (jobs) are paced,
  never failed for waiting: they fail only when the server is down or makes no
  progress (no token to any request for ``stall_timeout_s``); cancellation from
  another thread - closing the stream makes vLLM abort the generation;
* retries with backoff on transient failures, before the first token only; a bulk
  request then waits for the server to answer again (a restart), up to
  ``engine_wait_s``, and starts over; an interactive one fails at once;
* priorities: interactive requests are sent with a lower vLLM priority value
  (served first under ``--scheduling-policy priority``) and skip the host's
  admission (:mod:`engines.pacing`), which paces the bulk requests in flight;
* a model or LoRA adapter per merchant (``[chat] merchant_models``).
"""

from __future__ import annotations

import enum
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from engines.errors import EngineCancelled, EngineError, EngineTimeout, EngineUnavailable
from engines.live import LiveWork
from engines.metrics import CHAT_TOKENS_PER_S, CHAT_TTFT, ENGINE_ERRORS
from engines.pacing import BulkPacer

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
    # Told, in a sentence, what the request waits for before its model can answer (its
    # server starting or restarting), and "" once it goes on: a job shows it as progress.
    on_wait: Callable[[str], None] | None = field(default=None, compare=False, repr=False)

    def waiting(self, why: str) -> None:
        if self.on_wait is not None:
            self.on_wait(why)


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


class VllmChat:
    """:class:`ChatEngine` over HTTP to a vLLM OpenAI-compatible server."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        stall_timeout_s: float = 120.0,
        connect_timeout_s: float = 5.0,
        max_retries: int = 2,
        engine_wait_s: float = 300.0,
        bulk_concurrency: int = 32,
        adaptive: bool = True,
        live: LiveWork | None = None,
        priority_scheduling: bool = True,
        merchant_models: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout_s = timeout_s
        self.stall_timeout_s = stall_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.max_retries = max_retries
        self.engine_wait_s = engine_wait_s
        self.priority_scheduling = priority_scheduling
        self.merchant_models = dict(merchant_models or {})
        self.bulk_concurrency = bulk_concurrency
        self.pacer = BulkPacer(model, bulk_concurrency, adaptive, live)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
        )
        self.progress = ServerProgress(self._http)

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
        for piece in self._paced(request, cancel, restartable=False):
            assert piece is not _RESTART
            yield piece  # type: ignore[misc]

    def complete(self, request: ChatRequest, cancel: threading.Event | None = None) -> ChatResult:
        """The whole answer, with its timings. A bulk answer the server stopped writing,
        busy with other work (a preempted request), is asked for again from the start."""
        started = time.monotonic()
        first: float | None = None
        parts: list[str] = []
        for piece in self._paced(request, cancel, restartable=True):
            if piece is _RESTART:
                parts.clear()
                continue
            if first is None:
                first = time.monotonic() - started
            parts.append(piece)  # type: ignore[arg-type]
        return ChatResult("".join(parts), len(parts), first or 0.0, time.monotonic() - started)

    def _paced(
        self, request: ChatRequest, cancel: threading.Event | None, restartable: bool
    ) -> Iterator[str | object]:
        """The answer's pieces, once admitted. Interactive requests have a deadline (their
        ``timeout_s``, else ``[chat] timeout_s``) that counts from here; a bulk request has
        none unless it names one: it fails only when its server is down or makes no
        progress for ``stall_timeout_s``."""
        bulk = request.priority is Priority.BULK
        label = request.priority.name.lower()
        with self.pacer.admit(bulk, cancel):
            timeout_s = request.timeout_s or (None if bulk else self.timeout_s)
            deadline = None if timeout_s is None else time.monotonic() + timeout_s
            started = time.monotonic()
            first_at: float | None = None
            pieces = 0
            for piece in self._stream_with_retries(request, deadline, cancel, restartable):
                if piece is _RESTART:
                    first_at, pieces = None, 0
                    yield piece
                    continue
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
                    if bulk:
                        self.pacer.observe(pieces, elapsed)

    def _stream_with_retries(
        self,
        request: ChatRequest,
        deadline: float | None,
        cancel: threading.Event | None,
        restartable: bool,
    ) -> Iterator[str | object]:
        """The answer's pieces, before ``deadline`` if there is one. Transient failures
        are retried (before the first piece); a bulk request then waits for the server to
        answer again (a restart), and starts over with its whole time again."""
        body = self._body(request)
        timeout_s = None if deadline is None else deadline - time.monotonic()
        bulk = request.priority is Priority.BULK
        may_wait = bulk and self.engine_wait_s > 0
        attempt = 0
        while True:
            started = False
            try:
                for piece in self._stream_once(body, deadline, cancel, bulk):
                    started = True
                    yield piece
                return
            except _Busy as exc:  # the server worked for others all along: not a failure
                if started and not restartable:
                    ENGINE_ERRORS.labels(engine="chat").inc()
                    raise EngineTimeout(f"the chat engine stopped this answer: {exc}") from None
                log.info("chat request to %s %s; asking again", self.model, exc)
                if started:
                    yield _RESTART
                continue
            except _Transient as exc:
                if not started and attempt < self.max_retries and _before(deadline):
                    backoff = 0.5 * 2**attempt
                    if deadline is not None:
                        backoff = min(backoff, max(deadline - time.monotonic(), 0))
                    log.warning(
                        "chat request failed (%s); retry %d in %.1fs", exc, attempt + 1, backoff
                    )
                    if (cancel or threading.Event()).wait(backoff):
                        raise EngineCancelled("the chat request was cancelled") from None
                    attempt += 1
                    continue
                if not started and may_wait and self._wait_answering(request, cancel):
                    may_wait = False  # once: a server that fails again right away is down
                    attempt = 0
                    if timeout_s is not None:
                        deadline = time.monotonic() + timeout_s
                    continue
                ENGINE_ERRORS.labels(engine="chat").inc()
                raise EngineUnavailable(f"the chat engine is unavailable: {exc}") from None

    def _wait_answering(self, request: ChatRequest, cancel: threading.Event | None) -> bool:
        """Wait up to ``engine_wait_s`` for the server to answer its health check again."""
        log.warning(
            "chat engine %s unavailable: a bulk request waits up to %.0fs for it",
            self.model,
            self.engine_wait_s,
        )
        request.waiting(f"waiting for the model {self.model} to answer again")
        try:
            until = time.monotonic() + self.engine_wait_s
            while time.monotonic() < until:
                if self.healthy():
                    return True
                if (cancel or threading.Event()).wait(2.0):
                    raise EngineCancelled("the chat request was cancelled")
            return False
        finally:
            request.waiting("")

    def _stream_once(
        self,
        body: dict[str, Any],
        deadline: float | None,
        cancel: threading.Event | None,
        bulk: bool,
    ) -> Iterator[str]:
        if deadline is None:
            read_s = self.stall_timeout_s  # the longest silence before progress is checked
        else:
            read_s = deadline - time.monotonic()
            if read_s <= 0:
                raise EngineTimeout("the chat engine did not answer in time")
        quiet_since = time.monotonic()
        progress_mark = self.progress.mark() if bulk else None
        try:
            with self._http.stream(
                "POST",
                "/v1/chat/completions",
                json=body,
                timeout=httpx.Timeout(read_s, connect=min(read_s, self.connect_timeout_s)),
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
                    if not _before(deadline):
                        raise EngineTimeout("the chat engine did not finish in time")
                    piece = _content(line)
                    if piece is _DONE:
                        return
                    if piece:
                        quiet_since = self.progress.piece()
                        progress_mark = None
                        held_from = time.monotonic()
                        yield str(piece)
                        if deadline is not None:  # the reader's time is not the engine's
                            deadline += time.monotonic() - held_from
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from None
        except httpx.TimeoutException:
            if deadline is None and self.progress.since(quiet_since, progress_mark):
                raise _Busy(
                    f"waited {self.stall_timeout_s:.0f} s without a token while the server"
                    " worked on other requests"
                ) from None
            ENGINE_ERRORS.labels(engine="chat").inc()
            if deadline is None:
                raise EngineTimeout(
                    f"the chat engine made no progress for {self.stall_timeout_s:.0f} s"
                ) from None
            raise EngineTimeout("the chat engine did not answer in time") from None

    def close(self) -> None:
        self._http.close()


class ServerProgress:
    """Whether a server has been writing tokens: for any request of this process (seen
    here), or of any other (its ``/metrics`` token counters, read at most every few
    seconds)."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http
        self._last_piece = 0.0  # monotonic time this process last received a token
        self._read: tuple[float, float | None] = (-math.inf, None)  # (when, counters' sum)
        self._lock = threading.Lock()

    def piece(self) -> float:
        """A token arrived (for any request): returns the time."""
        now = time.monotonic()
        self._last_piece = now
        return now

    def mark(self) -> float | None:
        """The server's token count now (as recently read), to compare with later."""
        with self._lock:
            at, value = self._read
            if time.monotonic() - at < PROGRESS_READ_S:
                return value
        return self._counters()

    def since(self, quiet_since: float, mark: float | None) -> bool:
        """Whether the server wrote tokens since ``quiet_since`` (or since ``mark``)."""
        if self._last_piece > quiet_since:
            return True
        now = self._counters()
        return mark is not None and now is not None and now > mark

    def _counters(self) -> float | None:
        try:
            text = self._http.get("/metrics", timeout=5.0).text
        except httpx.HTTPError:
            value = None
        else:
            value = _counted(text)
        with self._lock:
            self._read = (time.monotonic(), value)
        return value


PROGRESS_COUNTERS = ("vllm:iteration_tokens_total_sum", "vllm:generation_tokens_total")
PROGRESS_READ_S = 5.0


def _counted(metrics: str) -> float | None:
    """The sum of the token counters in a Prometheus text page (None: it has none)."""
    values = []
    for line in metrics.splitlines():
        if line.startswith(PROGRESS_COUNTERS):
            try:
                values.append(float(line.rsplit(" ", 1)[1]))
            except (IndexError, ValueError):
                continue
    return sum(values) if values else None


def _before(deadline: float | None) -> bool:
    return deadline is None or time.monotonic() < deadline


class _Busy(Exception):
    """A bulk request the server wrote nothing to for ``stall_timeout_s``, while it wrote
    tokens for others: it waited in the server's queue (or was preempted)."""


_RESTART = object()  # complete(): the answer so far is dropped, it is being asked again


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
