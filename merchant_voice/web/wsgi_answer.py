"""A Flask view's answer, run in a thread of the event-loop front and handed to the loop.

The view runs whole in one hop to a thread (:func:`answer`): the loop gets the
status, the headers and the body's first block at once, and nothing in the thread
ever waits on the loop. A body longer than a block (a recording, a narration's
audio) comes in further hops, a block each (:meth:`Answer.next_block`), as the
client takes them: it is never held whole.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextvars import Context
from typing import IO, Any

from flask import Flask

BLOCK_BYTES = 1024 * 1024
Headers = list[tuple[bytes, bytes]]


class Answer:
    """A view's status and headers, and its body a block at a time."""

    def __init__(self, status: int, headers: Headers, result: Iterable[bytes]) -> None:
        self.status = status
        self.headers = headers
        self._result = result
        self._rest: Iterator[bytes] | None = iter(result)
        self._lock = threading.Lock()  # a block is read, or the body closed, one at a time
        self.block = b""
        self.whole = False

    def next_block(self) -> bytes:
        """Up to BLOCK_BYTES more of the body (in a thread); ``whole`` once it is all read."""
        with self._lock:
            pieces: list[bytes] = []
            size = 0
            while self._rest is not None and size < BLOCK_BYTES:
                piece = next(self._rest, None)
                if piece is None:
                    self._close()
                elif piece:
                    pieces.append(piece)
                    size += len(piece)
            self.whole = self._rest is None
            return b"".join(pieces)

    def close(self) -> None:
        """Close the view's body, read or not (a client that left)."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._rest is None:
            return
        self._rest = None
        close = getattr(self._result, "close", None)
        if close is not None:
            close()


def answer(app: Flask, environ: dict[str, Any], body: IO[bytes]) -> Answer:
    """Run ``app`` for ``environ`` in this thread: its answer, with the body's first block.

    From an empty context, as a thread of a threaded server starts (a pool's thread
    would otherwise keep what the request before it set). ``body`` is the request's
    body, closed here once the view has run.
    """
    try:
        return Context().run(_run, app, environ)
    finally:
        body.close()


def _run(app: Flask, environ: dict[str, Any]) -> Answer:
    started: list[Any] = []
    written: list[bytes] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        started[:] = [int(status[:3]), encoded]
        return written.append  # WSGI's write(): rare, and before the body

    result = app(environ, start_response)
    view_answer = Answer(0, [], _then(written, result))
    try:
        view_answer.block = view_answer.next_block()  # a view may start its answer only now
    except BaseException:
        view_answer.close()
        raise
    view_answer.status, view_answer.headers = started
    return view_answer


class _Joined:
    """What a view wrote with ``write()``, then its body; closes as the body does."""

    def __init__(self, written: list[bytes], result: Iterable[bytes]) -> None:
        self.written = written
        self.result = result

    def __iter__(self) -> Iterator[bytes]:
        yield from self.written
        yield from self.result

    def close(self) -> None:
        close = getattr(self.result, "close", None)
        if close is not None:
            close()


def _then(written: list[bytes], result: Iterable[bytes]) -> Iterable[bytes]:
    return _Joined(written, result) if written else result
