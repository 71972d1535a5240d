"""The host as an ASGI application, for ``serve``'s event-loop server (gunicorn's asgi worker).

The Flask host stays a WSGI application; this puts an event loop in front of it,
so that a slow or idle client costs a coroutine, never a thread:

* **HTTP**: the server reads the request line and headers in the loop; then the
  body is read here, in the loop too, in full (up to ``[host] max_body_bytes``,
  in a temporary file beyond ``BODY_MEMORY_BYTES``; a client that sends nothing
  for ``BODY_IDLE_S`` gets 408), and only then does a thread of ``[server]
  threads`` run the Flask view, whole (:mod:`merchant_voice.web.wsgi_answer`): its
  answer comes back to the loop in one hop, a long body a block per hop as the
  client takes it. A slow client holds no thread, reading or writing.
* **WebSocket** (a call's media stream): the Flask view runs in a thread of its
  own for the connection's life, as under a threaded server; it checks the
  request and calls :func:`merchant_voice.web.websocket.accept`, which finds a
  :class:`~merchant_voice.web.bridged_socket.BridgedSocket` in the environ: the
  socket's messages cross between that thread and the loop. A view that refuses
  the request before accepting it gets the handshake refused (403).
* **Lifespan**: acknowledged; the host starts its engines and job workers
  itself (``merchant_voice.server``).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import tempfile
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, cast

from a2wsgi.wsgi import build_environ
from flask import Flask

from merchant_voice.errors import MerchantVoiceError, PayloadTooLarge, RequestTimeout
from merchant_voice.web.bridged_socket import BRIDGE_KEY, BridgedSocket
from merchant_voice.web.wsgi_answer import Answer, answer

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

BODY_IDLE_S = 30.0  # longest a request body may pause between two pieces
BODY_MEMORY_BYTES = 256 * 1024  # a request body beyond this waits in a temporary file


class HostASGI:
    """``app`` (the Flask host) under an ASGI server; ``threads`` run HTTP views."""

    def __init__(self, app: Flask, threads: int, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.views = ThreadPoolExecutor(threads, thread_name_prefix="request")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "lifespan":
            await _lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await _problem(send, self._too_large(), scope)
            return
        # Beyond BODY_MEMORY_BYTES a body waits on disk: many large uploads arriving slowly
        # at once cost disk, not memory. The view's thread closes it once the view has run.
        body = tempfile.SpooledTemporaryFile(max_size=BODY_MEMORY_BYTES)  # noqa: SIM115
        try:
            read = await self._read_body(scope, receive, send, body)
        except BaseException:
            body.close()
            raise
        if not read:
            body.close()
            return
        size = body.tell()
        body.seek(0)
        environ: Any = build_environ(cast(Any, _with_length(scope, size)), cast(Any, body))
        loop = asyncio.get_running_loop()
        running = loop.run_in_executor(self.views, answer, self.app, environ, body)
        try:
            view = await asyncio.shield(running)  # cancelled (the client left): the view runs on
        except asyncio.CancelledError:
            running.add_done_callback(_close_unsent)  # and its answer is closed once it is there
            raise
        except Exception:
            log.exception("%s %s failed outside the host's error handling", *_request(scope))
            await _problem(send, MerchantVoiceError("the request failed"), scope)
            return
        await self._send_answer(view, scope, send)

    async def _send_answer(self, view: Answer, scope: Scope, send: Send) -> None:
        """Send ``view``'s answer, a block at a time as the client takes them."""
        loop = asyncio.get_running_loop()
        start = {"type": "http.response.start", "status": view.status, "headers": view.headers}
        try:
            await send(start)
            block = view.block
            while not view.whole:
                await send({"type": "http.response.body", "body": block, "more_body": True})
                block = await loop.run_in_executor(self.views, view.next_block)
            await send({"type": "http.response.body", "body": block})
        except asyncio.CancelledError:  # the client left: the body is closed in a thread, as
            loop.run_in_executor(self.views, view.close)  # a block may be read there now
            raise
        except Exception:
            log.exception("%s %s: the answer failed mid-way", *_request(scope))
            view.close()
            raise
        finally:
            if view.whole:
                view.close()

    def _too_large(self) -> PayloadTooLarge:
        limit = self.max_body_bytes
        return PayloadTooLarge(f"the request body is over the limit of {limit} bytes", limit=limit)

    async def _read_body(self, scope: Scope, receive: Receive, send: Send, body: IO[bytes]) -> bool:
        """Read the request's body into ``body``; False when it was refused (and answered)
        or the client left."""
        size, more = 0, True
        while more:
            try:
                message = await asyncio.wait_for(receive(), BODY_IDLE_S)
            except TimeoutError:
                detail = f"the request body stopped arriving for {BODY_IDLE_S:.0f} s"
                await _problem(send, RequestTimeout(detail), scope)
                return False
            if message["type"] == "http.disconnect":
                return False
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await _problem(send, self._too_large(), scope)
                return False
            body.write(chunk)
            more = bool(message.get("more_body", False))
        return True

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
                bridge.ended()
                with contextlib.suppress(RuntimeError):  # a closed loop: the server is gone
                    loop.call_soon_threadsafe(_settle, done)

        threading.Thread(target=view, name=f"ws {scope.get('path', '')}", daemon=True).start()
        await done
        if not bridge.accepted:
            await send({"type": "websocket.close", "code": 1008})  # refused: 403


def _close_unsent(running: asyncio.Future[Answer]) -> None:
    if not running.cancelled() and running.exception() is None:
        running.result().close()


def _request(scope: Scope) -> tuple[str, str]:
    return scope.get("method", "?"), scope.get("path", "?")


def _settle(done: asyncio.Future[None]) -> None:
    if not done.done():  # not when the connection's task was cancelled meanwhile
        done.set_result(None)


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


def _with_length(scope: Scope, size: int) -> Scope:
    """``scope`` with the body's length: a chunked body (sent without one) is read whole
    by now, and a WSGI view reads no body it is not told the length of."""
    headers = [
        (name, value)
        for name, value in scope.get("headers", [])
        if name not in (b"content-length", b"transfer-encoding")
    ]
    return {**scope, "headers": [*headers, (b"content-length", str(size).encode())]}


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
