"""A WebSocket under the event-loop server, used from its view's thread.

A call's media stream view runs in a thread of its own (:mod:`merchant_voice.web.asgi`)
and talks to the socket with the calls of simple-websocket's ``Server``; this class
carries them across to the loop and back. A client never holds memory or the view
for good: its messages wait in a bounded inbox (beyond it the client waits, TCP's own
back-pressure), a send it never takes is given up, and nothing is sent after a close.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from simple_websocket import ConnectionClosed

log = logging.getLogger(__name__)

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

BRIDGE_KEY = "merchant_voice.websocket"  # where a view finds its socket in the environ
INBOX_MESSAGES = 500  # a call's media stream: 10 s of Twilio's 20 ms frames
CLOSE_TOO_BIG = 1009
SEND_TIMEOUT_S = 30.0


class BridgedSocket:
    """A WebSocket under the ASGI server, used from the view's thread with the calls of
    simple-websocket's ``Server`` that views make: ``receive``, ``send``, ``close``."""

    mode = "asgi"

    def __init__(self, loop: asyncio.AbstractEventLoop, receive: Receive, send: Send) -> None:
        self._loop = loop
        self._receive = receive
        self._send = send
        # Bounded: a client sending faster than the view reads waits (TCP's own back-pressure)
        self._inbox: queue.Queue[str | bytes | None] = queue.Queue(INBOX_MESSAGES + 1)
        self._room = asyncio.Event()  # set (in the loop) whenever the view takes a message
        self._close_sent = False  # in the loop: nothing is sent after the close
        self._pumping: concurrent.futures.Future[None] | None = None
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
        self._call({"type": "websocket.accept"})
        self.accepted = self.connected = True
        self._pumping = asyncio.run_coroutine_threadsafe(self._pump(), self._loop)
        return self

    def ended(self) -> None:
        """The view is done with the socket: stop reading the client (the pump may be
        waiting for room in an inbox no one will read any more)."""
        if self._pumping is not None:
            with contextlib.suppress(RuntimeError):  # a closed loop: nothing runs there now
                self._pumping.cancel()

    def receive(self, timeout: float | None = None) -> str | bytes | None:
        """The next message; None when ``timeout`` passes first; ConnectionClosed once closed."""
        if not self.connected and self._inbox.empty():
            raise ConnectionClosed()
        try:
            message = self._inbox.get(timeout=timeout)
        except queue.Empty:
            return None
        with contextlib.suppress(RuntimeError):  # a closed loop: the pump is gone too
            self._loop.call_soon_threadsafe(self._room.set)
        if message is None:
            self.connected = False
            raise ConnectionClosed()
        return message

    def send(self, data: str | bytes) -> None:
        if not self.connected:
            raise ConnectionClosed()
        key = "text" if isinstance(data, str) else "bytes"
        try:
            self._call({"type": "websocket.send", key: data})
        except Exception:
            self.connected = False
            raise ConnectionClosed() from None

    def close(self, reason: int | None = None, message: str | None = None) -> None:
        if self.connected:
            self.connected = False
            close = {"type": "websocket.close", "code": reason or 1000, "reason": message or ""}
            try:
                self._call(close)
            except Exception:
                log.debug("WebSocket already closed", exc_info=True)

    def _call(self, message: Message) -> None:
        future = asyncio.run_coroutine_threadsafe(self._deliver(message), self._loop)
        try:
            future.result(SEND_TIMEOUT_S)
        except TimeoutError:
            future.cancel()  # the client reads nothing: its send is given up, not left waiting
            raise

    # -- in the loop -------------------------------------------------------------------

    async def _deliver(self, message: Message) -> None:
        """Send ``message`` unless the stream is closed already (by the view, or by the
        pump over an oversize message): sends run one at a time, here, in order."""
        if self._close_sent:
            raise ConnectionClosed()
        if message["type"] == "websocket.close":
            self._close_sent = True
        await self._send(message)

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
                    await self._deliver({"type": "websocket.close", "code": CLOSE_TOO_BIG})
                    return
                while self._inbox.qsize() >= INBOX_MESSAGES:  # until the view takes one
                    self._room.clear()
                    if self._inbox.qsize() >= INBOX_MESSAGES:
                        await self._room.wait()
                self._inbox.put_nowait(data)
        except ConnectionClosed:
            pass  # the view closed the stream first
        finally:
            self._inbox.put_nowait(None)
