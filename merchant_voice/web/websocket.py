"""WebSocket endpoints in the Flask host.

A WebSocket view checks the request first (tokens, merchant) and may refuse it
with an ordinary error response; only then does it call :func:`accept` and
talk over the socket in its own thread, which the server lends it for the
connection's life. It returns :func:`finished` once the socket is closed.

Under ``serve`` (an ASGI event loop, :mod:`merchant_voice.web.asgi`) the socket is
the loop's, bridged to the view's thread; under a threaded WSGI server (Werkzeug's,
in development and tests) it is simple-websocket's (wsproto) on the raw socket.
Both answer ``receive(timeout)``, ``send`` and ``close``, and raise
``simple_websocket.ConnectionClosed`` once closed.

    @bp.route("/stream/<token>", websocket=True)
    def stream(token):
        check(token)                       # raises 403/404 as JSON problems
        ws = accept(max_message_size=16_384)
        ...
        return finished(ws)
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from flask import Response, request
from simple_websocket import Server

from merchant_voice.web.bridged_socket import BRIDGE_KEY, BridgedSocket


def accept(max_message_size: int, ping_interval: float | None = 20.0) -> Server | BridgedSocket:
    """Complete the upgrade: a socket whose over-size messages close it (code 1009)."""
    bridge = request.environ.get(BRIDGE_KEY)
    if isinstance(bridge, BridgedSocket):
        return bridge.accept(max_message_size)
    return Server.accept(
        request.environ, max_message_size=max_message_size, ping_interval=ping_interval
    )


class _Finished(Response):
    """What the view returns once the socket is closed: nothing more goes on the wire."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self._mode = mode

    def __call__(self, environ: Any, start_response: Any) -> Any:
        if self._mode == "gunicorn":
            raise StopIteration  # gunicorn's sign that the socket was taken over
        if self._mode == "werkzeug":
            return super().__call__(environ, start_response)
        return []


def finished(ws: Server | BridgedSocket) -> Response:
    with suppress(Exception):  # already closed by the peer
        ws.close()
    return _Finished(ws.mode)
