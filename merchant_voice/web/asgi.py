"""The host as an ASGI application, for ``serve``'s event-loop server (gunicorn's asgi worker).

The Flask host stays a WSGI application; this puts an event loop in front of it,
so that a slow or idle client costs a coroutine, never a thread:

* **HTTP**: the server reads the request line and headers in the loop; then the
  body is read here, in the loop too, in full (up to ``[host] max_body_bytes``;
  a client that sends nothing for ``BODY_IDLE_S`` gets 408), and only then does a
  thread of a2wsgi's pool run the Flask view, whose answer is queued to the loop
  whole. A slow client holds no thread, reading or writing.
* **WebSocket** (a call's media stream): the Flask view runs in a thread of its
  own for the connection's life, as under a threaded server; it checks the
  request and calls :func:`merchant_voice.web.websocket.accept`, which finds a
  :class:`BridgedSocket` in the environ: the socket's messages cross between
  that thread and the loop. A view that refuses the request before accepting it
  gets the handshake refused (403).
* **Lifespan**: acknowledged; the host starts its engines and job workers
  itself (``merchant_voice.server``).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import queue
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import Context
from typing import Any, cast

from a2wsgi import WSGIMiddleware
from a2wsgi.wsgi import build_environ
from flask import Flask
from simple_websocket import ConnectionClosed

from merchant_voice.errors import MerchantVoiceError, PayloadTooLarge, RequestTimeout

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

BODY_IDLE_S = 30.0  # longest a request body may pause between two pieces
BRIDGE_KEY = "merchant_voice.websocket"
CLOSE_TOO_BIG = 1009
SEND_TIMEOUT_S = 30.0


class HostASGI:
    """``app`` (the Flask host) under an ASGI server; ``threads`` run HTTP views."""

    def __init__(self, app: Flask, threads: int, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # An unbounded send queue: a view's thread hands its whole answer to the loop and is
        # free, however slowly the client reads; with a bounded one, a client that stalls
        # and then goes away would leave the thread blocked on the full queue for good.
        self.wsgi = WSGIMiddleware(app, workers=threads, send_queue_size=0)  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # From an empty context, as a thread of a threaded server starts: the loop's own
            # has `serve`'s app context (the CLI's), which a2wsgi would copy into every
            # request, and all of them would share one `g`.
            await asyncio.create_task(self._http(scope, receive, send), context=Context())
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "lifespan":
            await _lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self.wsgi(scope, receive, send)  # type: ignore[arg-type]  # Flask says 413
            return
        body = bytearray()
        more = True
        while more:
            try:
                message = await asyncio.wait_for(receive(), BODY_IDLE_S)
            except TimeoutError:
                detail = f"the request body stopped arriving for {BODY_IDLE_S:.0f} s"
                await _problem(send, RequestTimeout(detail), scope)
                return
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
            if len(body) > self.max_body_bytes:
                limit = self.max_body_bytes
                detail = f"the request body is over the limit of {limit} bytes"
                await _problem(send, PayloadTooLarge(detail, limit=limit), scope)
                return
        replay = [{"type": "http.request", "body": bytes(body), "more_body": False}]

        async def buffered() -> Message:
            return replay.pop() if replay else await receive()

        await self.wsgi(scope, buffered, send)  # type: ignore[arg-type]

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        first = await receive()
        if first["type"] != "websocket.connect":
            return
        loop = asyncio.get_running_loop()
        bridge = BridgedSocket(loop, receive, send)
        built = build_environ(cast(Any, {**scope, "method": "GET"}), cast(Any, io.BytesIO(b"")))
        environ: dict[str, Any] = {**built, BRIDGE_KEY: bridge}
        done: asyncio.Future[None] = loop.create_future()

        def view() -> None:
            try:
                response = self.app(environ, bridge.start_response)
                for _ in response:
                    pass
                close = getattr(response, "close", None)
                if close is not None:
                    close()
            except Exception:
                log.exception("WebSocket view failed on %s", scope.get("path"))
            finally:
                bridge.close()
                loop.call_soon_threadsafe(done.set_result, None)

        threading.Thread(target=view, name=f"ws {scope.get('path', '')}", daemon=True).start()
        await done
        if not bridge.accepted:
            await send({"type": "websocket.close", "code": 1008})  # refused: 403


class BridgedSocket:
    """A WebSocket under the ASGI server, used from the view's thread with the calls of
    simple-websocket's ``Server`` that views make: ``receive``, ``send``, ``close``."""

    mode = "asgi"

    def __init__(self, loop: asyncio.AbstractEventLoop, receive: Receive, send: Send) -> None:
        self._loop = loop
        self._receive = receive
        self._send = send
        self._inbox: queue.Queue[str | bytes | None] = queue.Queue()
        self.max_message_size: int | None = None
        self.accepted = False
        self.connected = False

    # -- called from the view's thread -------------------------------------------------

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Any:
        if not self.accepted:
            log.info("WebSocket refused: %s", status)
        return lambda _data: None

    def accept(self, max_message_size: int) -> BridgedSocket:
        self.max_message_size = max_message_size
        self._call(self._send({"type": "websocket.accept"}))
        self.accepted = self.connected = True
        asyncio.run_coroutine_threadsafe(self._pump(), self._loop)
        return self

    def receive(self, timeout: float | None = None) -> str | bytes | None:
        """The next message; None when ``timeout`` passes first; ConnectionClosed once closed."""
        if not self.connected and self._inbox.empty():
            raise ConnectionClosed()
        try:
            message = self._inbox.get(timeout=timeout)
        except queue.Empty:
            return None
        if message is None:
            self.connected = False
            raise ConnectionClosed()
        return message

    def send(self, data: str | bytes) -> None:
        if not self.connected:
            raise ConnectionClosed()
        key = "text" if isinstance(data, str) else "bytes"
        try:
            self._call(self._send({"type": "websocket.send", key: data}))
        except Exception:
            self.connected = False
            raise ConnectionClosed() from None

    def close(self, reason: int | None = None, message: str | None = None) -> None:
        if self.connected:
            self.connected = False
            close = {"type": "websocket.close", "code": reason or 1000, "reason": message or ""}
            try:
                self._call(self._send(close))
            except Exception:
                log.debug("WebSocket already closed", exc_info=True)

    def _call(self, coroutine: Awaitable[None]) -> None:
        future = asyncio.run_coroutine_threadsafe(_awaited(coroutine), self._loop)
        future.result(SEND_TIMEOUT_S)

    # -- in the loop -------------------------------------------------------------------

    async def _pump(self) -> None:
        """The client's messages into the view's inbox, until it closes."""
        try:
            while True:
                message = await self._receive()
                if message["type"] == "websocket.disconnect":
                    return
                data = message.get("text")
                data = data if data is not None else message.get("bytes") or b""
                if self.max_message_size and len(data) > self.max_message_size:
                    self.connected = False
                    await self._send({"type": "websocket.close", "code": CLOSE_TOO_BIG})
                    return
                self._inbox.put(data)
        finally:
            self._inbox.put(None)


async def _awaited(awaitable: Awaitable[None]) -> None:
    await awaitable


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _problem(send: Send, error: MerchantVoiceError, scope: Scope) -> None:
    """``error`` as :mod:`merchant_voice.web.problems` writes it, for a request refused
    before it reached Flask."""
    body = json.dumps(error.to_problem(instance=scope.get("path"))).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
