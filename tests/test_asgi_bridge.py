"""The event-loop front (merchant_voice.web.asgi) under hostile clients: bodies read in
the loop and replayed to Flask whole, and the bridge between a media stream's view
thread and the loop, which never lets a client hold memory or a view for good.

The ASGI peer here is the protocol's own messages, sent as a server would."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request, send_file
from simple_websocket import ConnectionClosed

from merchant_voice.web import asgi, bridged_socket
from merchant_voice.web.asgi import HostASGI
from merchant_voice.web.bridged_socket import INBOX_MESSAGES, BridgedSocket
from merchant_voice.web.wsgi_answer import BLOCK_BYTES
from tests.conftest import make_shop

Message = dict[str, Any]
SCOPE = {
    "type": "http",
    "query_string": b"",
    "server": ("127.0.0.1", 80),
    "client": ("127.0.0.1", 5000),
    "scheme": "http",
    "root_path": "",
    "http_version": "1.1",
}


async def _never() -> Message:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


def _served(host: HostASGI, scope: Message, pieces: list[Message]) -> list[Message]:
    """What ``host`` sends for a request whose body comes as ``pieces``."""
    sent: list[Message] = []
    queue = list(reversed(pieces))

    async def receive() -> Message:
        return queue.pop() if queue else await _never()

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(host(scope, receive, send))
    return sent


def test_a_chunked_body_over_the_limit_is_refused_before_flask(app: Flask) -> None:
    """A body without a length that grows past the limit is a 413 problem, as Flask's own."""
    host = HostASGI(app, threads=1, max_body_bytes=10)
    pieces = [{"type": "http.request", "body": b"x" * 8, "more_body": True}] * 3
    scope = {"type": "http", "method": "POST", "path": "/api/v1/orders", "headers": []}
    sent = _served(host, scope, pieces)
    assert sent[0]["status"] == 413
    problem = json.loads(sent[1]["body"])
    assert problem["type"].endswith("payload-too-large") and problem["limit"] == 10
    assert problem["instance"] == "/api/v1/orders"


def test_a_large_chunked_body_waits_on_disk_and_reaches_flask_whole(
    make_app: Callable[..., Flask], database_url: str
) -> None:
    """A body past BODY_MEMORY_BYTES, sent in pieces without a length (chunked): Flask
    reads all of it (told its length, which it would not read a body without)."""
    app = make_app(database_url, host={"max_body_bytes": 4 * 1024 * 1024})
    shop = make_shop(app, "shop-a")
    rows = "".join(f"item-{n},Item number {n}\n" for n in range(30_000))
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\nHandle,Title\n{rows}\r\n--{boundary}--\r\n"
    ).encode()
    assert len(body) > 2 * asgi.BODY_MEMORY_BYTES
    step = 10_000  # as a slow client sends it
    pieces = [
        {"type": "http.request", "body": body[at : at + step], "more_body": at + step < len(body)}
        for at in range(0, len(body), step)
    ]
    headers = [
        (b"authorization", shop.headers["Authorization"].encode()),
        (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
    ]
    scope = {**SCOPE, "method": "POST", "path": "/api/v1/catalog/imports", "headers": headers}
    sent = _served(HostASGI(app, threads=1, max_body_bytes=4 * 1024 * 1024), scope, pieces)
    assert sent[0]["status"] == 202, sent[1]["body"]
    answer = json.loads(b"".join(message.get("body", b"") for message in sent[1:]))
    assert answer["rows"] == 30_000


def _socket_run(
    receive: Any, send: Any, view: Any, *, max_message_size: int = 1024
) -> tuple[BridgedSocket, Any]:
    """Accept a bridged socket in a running loop and run ``view(bridge)`` in a thread, as a
    media stream's view runs; what the view returned."""
    result: list[Any] = []

    async def main() -> None:
        bridge = BridgedSocket(asyncio.get_running_loop(), receive, send)
        result.append(bridge)
        await asyncio.to_thread(bridge.accept, max_message_size)
        result.append(await asyncio.to_thread(view, bridge))
        bridge.ended()  # as the view's thread does when the view returns
        await asyncio.sleep(0.05)  # what the loop still had to do
        result.append({task for task in asyncio.all_tasks() if task is not asyncio.current_task()})

    asyncio.run(main())
    assert result[2] == set(), "the bridge left tasks running after its view ended"
    return result[0], result[1]


def test_a_client_sending_faster_than_the_view_reads_waits(monkeypatch: Any) -> None:
    received = 0

    async def receive() -> Message:
        nonlocal received
        received += 1
        await asyncio.sleep(0)
        return {"type": "websocket.receive", "text": "media"}

    async def send(message: Message) -> None:
        pass

    def view(bridge: BridgedSocket) -> tuple[int, int]:
        threading.Event().wait(0.3)  # the view is busy: the client keeps sending
        before = received
        for _ in range(10):
            bridge.receive(1)
        threading.Event().wait(0.3)
        return before, received

    _, (before, after) = _socket_run(receive, send, view)
    assert before <= INBOX_MESSAGES + 1  # the pump stopped reading when the inbox was full
    assert INBOX_MESSAGES + 10 <= after <= INBOX_MESSAGES + 11  # and read on as room came


def test_a_view_that_ends_without_reading_stops_the_pump() -> None:
    """A client kept sending while the view was busy, then the view ended: the pump that
    waits for room in the full inbox stops too (no task, no inbox left behind)."""

    async def receive() -> Message:
        await asyncio.sleep(0)
        return {"type": "websocket.receive", "text": "media"}

    async def send(message: Message) -> None:
        pass

    def view(bridge: BridgedSocket) -> None:
        threading.Event().wait(0.3)  # long enough for the inbox to fill
        bridge.close()

    _socket_run(receive, send, view)  # asserts that no task is left


def test_a_send_the_client_never_takes_is_given_up(monkeypatch: Any) -> None:
    monkeypatch.setattr(bridged_socket, "SEND_TIMEOUT_S", 0.2)
    given_up = threading.Event()

    async def send(message: Message) -> None:
        if message["type"] == "websocket.send":
            try:
                await asyncio.Event().wait()  # a client that reads nothing
            except asyncio.CancelledError:
                given_up.set()
                raise

    def view(bridge: BridgedSocket) -> bool:
        with pytest.raises(ConnectionClosed):
            bridge.send("audio")
        return given_up.wait(1)

    _, cancelled = _socket_run(_never, send, view)
    assert cancelled


def test_nothing_is_sent_after_the_stream_is_closed() -> None:
    closed_by_view = threading.Event()
    sent: list[Message] = []

    async def receive() -> Message:  # an oversize message, once the view has closed
        await asyncio.to_thread(closed_by_view.wait, 5)
        return {"type": "websocket.receive", "bytes": b"x" * 4096}

    async def send(message: Message) -> None:
        sent.append(message)

    def view(bridge: BridgedSocket) -> None:
        bridge.close(1000)
        closed_by_view.set()
        threading.Event().wait(0.2)

    _socket_run(receive, send, view)
    assert [message["type"] for message in sent] == ["websocket.accept", "websocket.close"]
    assert sent[1]["code"] == 1000


def test_a_view_outliving_its_cancelled_connection_is_not_an_error(app: Flask) -> None:
    """The server cancels a connection's task (it closes); the view thread ends later."""
    ended = threading.Event()

    @app.route("/slow-stream")
    def slow_stream() -> str:
        threading.Event().wait(0.3)
        ended.set()
        return ""

    errors: list[dict[str, Any]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, error: errors.append(error))
        queue = [{"type": "websocket.connect"}]

        async def receive() -> Message:
            return queue.pop() if queue else await _never()

        async def send(message: Message) -> None:
            pass

        scope = {**SCOPE, "type": "websocket", "path": "/slow-stream", "headers": []}
        host = HostASGI(app, threads=1, max_body_bytes=10)
        task = asyncio.create_task(host(scope, receive, send))
        await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.to_thread(ended.wait, 5)
        await asyncio.sleep(0.2)

    asyncio.run(main())
    assert ended.is_set() and errors == []


def _asgi_request(
    app: Flask, scope: Message, body: bytes, cancel_after: float | None = None
) -> list[Message]:
    """What HostASGI sends for one request; ``cancel_after``: the server cancels it then
    (the client left), and what the view did is waited for."""
    sent: list[Message] = []
    pieces = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        return pieces.pop() if pieces else await _never()

    async def send(message: Message) -> None:
        sent.append(message)

    async def main() -> None:
        task = asyncio.create_task(
            HostASGI(app, threads=2, max_body_bytes=1 << 24)(scope, receive, send)
        )
        if cancel_after is None:
            await task
            return
        await asyncio.sleep(cancel_after)
        task.cancel()
        await asyncio.sleep(1.0)

    asyncio.run(main())
    return sent


def test_a_view_still_reads_its_body_after_the_client_left(app: Flask) -> None:
    seen: list[int] = []

    @app.post("/slow-reader")
    def slow_reader() -> str:
        threading.Event().wait(0.4)
        seen.append(len(request.get_data()))
        return ""

    scope = {**SCOPE, "method": "POST", "path": "/slow-reader", "headers": []}
    _asgi_request(app, scope, b"x" * 1000, cancel_after=0.1)
    assert seen == [1000]


def test_a_long_answer_is_sent_a_block_at_a_time(app: Flask, tmp_path: Path) -> None:
    """A recording (send_file) is never held whole: it goes out in blocks of at most
    BLOCK_BYTES, and the file is closed at the end."""
    audio = tmp_path / "long.wav"
    audio.write_bytes(os.urandom(3 * BLOCK_BYTES + 12345))
    opened: list[Any] = []

    @app.get("/long-answer")
    def long_answer() -> Any:
        handle = audio.open("rb")
        opened.append(handle)
        return send_file(handle, mimetype="audio/wav")

    sent = _asgi_request(
        app, {**SCOPE, "method": "GET", "path": "/long-answer", "headers": []}, b""
    )
    assert sent[0]["status"] == 200
    bodies = sent[1:]
    assert len(bodies) >= 4 and all(len(m["body"]) <= BLOCK_BYTES for m in bodies)
    assert [m.get("more_body", False) for m in bodies] == [True] * (len(bodies) - 1) + [False]
    assert b"".join(m["body"] for m in bodies) == audio.read_bytes()
    assert opened[0].closed
