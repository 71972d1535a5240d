"""A restarting chat server: bulk requests (jobs) wait for it, call turns do not.

The server is the run's real vLLM server, reached through a TCP relay on another
port; closing the relay's listening socket is the server going away, as during
a restart, and opening it again is the server back.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from engines import Engines
from engines.chat import ChatRequest, Priority, VllmChat
from engines.errors import EngineUnavailable
from tests.engines_fixtures import TEST_CHAT_PORT

pytestmark = pytest.mark.usefixtures("engines")

DOWN_S = 6.0


class _Pipe(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        upstream = socket.create_connection(("127.0.0.1", TEST_CHAT_PORT))
        sockets = [self.request, upstream]

        def pump(source: socket.socket, target: socket.socket) -> None:
            try:
                while data := source.recv(65536):
                    target.sendall(data)
            except OSError:
                pass
            finally:
                for each in sockets:
                    each.close()

        back = threading.Thread(target=pump, args=(upstream, self.request), daemon=True)
        back.start()
        pump(self.request, upstream)
        back.join()


class Relay:
    """The vLLM server on another port, which can be taken away and brought back."""

    def __init__(self) -> None:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._server: socketserver.ThreadingTCPServer | None = None

    def up(self) -> None:
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), _Pipe)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def relay() -> Iterator[Relay]:
    relay = Relay()
    yield relay
    relay.down()


def _client(relay: Relay, engine_wait_s: float) -> VllmChat:
    return VllmChat(
        f"http://127.0.0.1:{relay.port}",
        "smollm2",
        timeout_s=60.0,
        max_retries=2,
        engine_wait_s=engine_wait_s,
    )


def _ask(priority: Priority) -> ChatRequest:
    return ChatRequest(
        messages=[{"role": "user", "content": "Say OK."}],
        max_tokens=4,
        temperature=0.0,
        priority=priority,
    )


def test_a_bulk_request_waits_for_the_restarted_server(relay: Relay, engines: Engines) -> None:
    client = _client(relay, engine_wait_s=60.0)
    threading.Timer(DOWN_S, relay.up).start()  # the server comes back after DOWN_S
    started = time.monotonic()
    result = client.complete(_ask(Priority.BULK))
    assert result.text and time.monotonic() - started >= DOWN_S
    client.close()


def test_a_call_turn_does_not_wait_and_a_bulk_request_waits_only_so_long(relay: Relay) -> None:
    client = _client(relay, engine_wait_s=3.0)
    started = time.monotonic()
    with pytest.raises(EngineUnavailable):
        client.complete(_ask(Priority.INTERACTIVE))
    assert time.monotonic() - started < 3.0  # the retries' backoff only: 0.5 s + 1 s
    started = time.monotonic()
    with pytest.raises(EngineUnavailable):
        client.complete(_ask(Priority.BULK))
    assert 3.0 <= time.monotonic() - started < 8.0
    client.close()
