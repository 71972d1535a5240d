"""WebSocket endpoints in the Flask host, on simple-websocket (wsproto).

A WebSocket view checks the request first (tokens, merchant) and may refuse it
with an ordinary error response; only then does it call :func:`accept` and
talk over the socket in its own thread, which the server lends it for the
connection's life (gunicorn's threaded workers, Werkzeug's threaded server).
It returns :func:`finished` once the socket is closed.

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


def accept(max_message_size: int, ping_interval: float | None = 20.0) -> Server:
    """Complete the upgrade: a socket whose over-size messages close it (code 1009)."""
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


def finished(ws: Server) -> Response:
    with suppress(Exception):  # already closed by the peer
        ws.close()
    return _Finished(ws.mode)
