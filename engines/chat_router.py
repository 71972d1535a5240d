"""A model per workload: the chat engine plugins see, over one client per served model.

Each request names its workload (``ChatRequest.workload``: ``calls``,
``translation``, ``narration``, or one a plugin chooses); ``[chat] workloads``
maps workloads to served models, and any other workload goes to ``[chat]
model``. Each served model has its own client, so priorities, bulk admission
and deadlines work per server: a catalog's translation queues on the text
model's server and never delays a call turn on the call model's. A request to
an on-demand model (:mod:`engines.on_demand`) first waits for its server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping

from engines.chat import ChatEngine, ChatRequest, ChatResult
from engines.errors import EngineUnavailable, ModelNotPrepared
from engines.on_demand import Demand, wait_until_answering


class ChatRouter:
    """:class:`~engines.chat.ChatEngine` over several served models."""

    def __init__(
        self,
        clients: Mapping[str, ChatEngine],
        route: Callable[[str], str],
        bulk_concurrency: int,
        on_demand: Mapping[str, Demand] | None = None,
        idle_stop_s: Mapping[str, float] | None = None,
        startup_timeout_s: float = 900.0,
        unready: Mapping[str, Callable[[], str | None]] | None = None,
    ) -> None:
        self.clients = dict(clients)
        self.route = route
        self.bulk_concurrency = bulk_concurrency
        self.on_demand = dict(on_demand or {})
        self.idle_stop_s = dict(idle_stop_s or {})
        self.startup_timeout_s = startup_timeout_s
        self.unready = dict(unready or {})  # why an on-demand server cannot start, if it can't

    def client(self, workload: str) -> ChatEngine:
        """The served model's client that answers ``workload``."""
        return self.clients[self.route(workload)]

    def _ready(self, request: ChatRequest, cancel: threading.Event | None) -> ChatEngine:
        name = self.route(request.workload)
        client = self.clients[name]
        demand = self.on_demand.get(name)
        if demand is not None:
            problem = self.unready[name]() if name in self.unready else None
            if problem is not None:
                raise ModelNotPrepared(problem)
            wait_until_answering(
                client, demand, name, self.startup_timeout_s, cancel, request.on_wait
            )
        return client

    def stream(self, request: ChatRequest, cancel: threading.Event | None = None) -> Iterator[str]:
        if self.route(request.workload) not in self.on_demand:
            return self.client(request.workload).stream(request, cancel)
        return self._stream_on_demand(request, cancel)

    def _stream_on_demand(
        self, request: ChatRequest, cancel: threading.Event | None
    ) -> Iterator[str]:
        """An on-demand server may have stopped, idle, just as this request came: then it
        is waited for once more (before the answer's first piece only)."""
        started = False
        with self.on_demand[self.route(request.workload)].held():
            try:
                for piece in self._ready(request, cancel).stream(request, cancel):
                    started = True
                    yield piece
            except EngineUnavailable:
                if started:
                    raise
                yield from self._ready(request, cancel).stream(request, cancel)

    def complete(self, request: ChatRequest, cancel: threading.Event | None = None) -> ChatResult:
        name = self.route(request.workload)
        if name not in self.on_demand:
            return self.clients[name].complete(request, cancel)
        with self.on_demand[name].held():  # its server is not stopped while this runs
            try:
                return self._ready(request, cancel).complete(request, cancel)
            except EngineUnavailable:  # it stopped, idle, just as this came: wait again
                return self._ready(request, cancel).complete(request, cancel)

    def model_for(self, merchant: str | None, workload: str = "default") -> str:
        return self.client(workload).model_for(merchant, workload)

    def healthy(self) -> bool:
        """Whether every served model answers now (on-demand ones start with their work)."""
        return all(self.health().values())

    def health(self) -> dict[str, bool]:
        """Each served model, and whether it answers now. An on-demand one counts as healthy
        whatever its state: its work waits for it, and it must not take the host out of
        service (``/readyz``) while it starts or idles; its state is in the status detail."""
        return {
            name: name in self.on_demand or client.healthy()
            for name, client in self.clients.items()
        }

    def idle(self, name: str) -> bool:
        """Whether ``name`` is on demand and has had no request within its idle period."""
        demand = self.on_demand.get(name)
        if demand is None:
            return False
        last = demand.last()
        return last is None or time.time() - last > self.idle_stop_s.get(name, 0.0)

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
