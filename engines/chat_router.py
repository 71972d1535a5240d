"""A model per workload: the chat engine plugins see, over one client per served model.

Each request names its workload (``ChatRequest.workload``: ``calls``,
``translation``, ``narration``, or one a plugin chooses); ``[chat] workloads``
maps workloads to served models, and any other workload goes to ``[chat]
model``. Each served model has its own client, so priorities, bulk admission
and deadlines work per server: a catalog's translation queues on the text
model's server and never delays a call turn on the call model's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping

from engines.chat import ChatEngine, ChatRequest, ChatResult


class ChatRouter:
    """:class:`~engines.chat.ChatEngine` over several served models."""

    def __init__(
        self, clients: Mapping[str, ChatEngine], route: Callable[[str], str], bulk_concurrency: int
    ) -> None:
        self.clients = dict(clients)
        self.route = route
        self.bulk_concurrency = bulk_concurrency

    def client(self, workload: str) -> ChatEngine:
        """The served model's client that answers ``workload``."""
        return self.clients[self.route(workload)]

    def stream(self, request: ChatRequest, cancel: threading.Event | None = None) -> Iterator[str]:
        return self.client(request.workload).stream(request, cancel)

    def complete(self, request: ChatRequest, cancel: threading.Event | None = None) -> ChatResult:
        return self.client(request.workload).complete(request, cancel)

    def model_for(self, merchant: str | None, workload: str = "default") -> str:
        return self.client(workload).model_for(merchant, workload)

    def healthy(self) -> bool:
        """Whether every served model answers now."""
        return all(client.healthy() for client in self.clients.values())

    def health(self) -> dict[str, bool]:
        """Each served model, and whether it answers now."""
        return {name: client.healthy() for name, client in self.clients.items()}

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
