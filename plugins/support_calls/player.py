"""The agent's voice on the line: µ-law frames paced in real time, marks, and clear.

Twilio plays what it receives; sending a reply faster than real time would
only fill its buffer, which barge-in must then throw away. So the player sends
one 20 ms frame per 20 ms, ``LEAD_S`` ahead, and after each sentence a
``mark``: Twilio echoes it once that audio has been heard. :meth:`clear`
stops at once and sends ``clear`` so Twilio drops what it still holds.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from plugins.support_calls.telephony.media import (
    FRAME_BYTES,
    FRAME_MS,
    clear_message,
    mark_message,
    media_message,
)

log = logging.getLogger(__name__)

LEAD_S = 0.1
FRAME_S = FRAME_MS / 1000


@dataclass(frozen=True)
class _Audio:
    mulaw: bytes
    generation: int
    on_first_frame: Callable[[float], None] | None


@dataclass(frozen=True)
class _Mark:
    name: str
    generation: int


class Player:
    def __init__(
        self,
        send: Callable[[str], None],
        stream_sid: str,
        on_frame: Callable[[bytes], None] | None = None,
    ) -> None:
        self._send = send
        self._stream_sid = stream_sid
        self._on_frame = on_frame
        self._queue: queue.Queue[_Audio | _Mark | None] = queue.Queue()
        self._generation = 0
        self._pending_marks: set[str] = set()
        self._lock = threading.Lock()
        self._heard = threading.Condition(self._lock)
        self._busy = False
        self._closed = False
        self._due = 0.0
        self.frames_sent = 0  # a call that sent none was never heard
        self._thread = threading.Thread(target=self._run, name="call-player", daemon=True)
        self._thread.start()

    @property
    def generation(self) -> int:
        return self._generation

    def play(
        self,
        mulaw: bytes,
        generation: int,
        on_first_frame: Callable[[float], None] | None = None,
    ) -> None:
        """Queue audio of ``generation``: dropped if a :meth:`clear` came since."""
        self._queue.put(_Audio(mulaw, generation, on_first_frame))

    def mark(self, name: str, generation: int) -> None:
        with self._lock:
            if generation != self._generation or self._closed:
                return
            self._pending_marks.add(name)
        self._queue.put(_Mark(name, generation))

    def heard(self, name: str) -> None:
        """Twilio echoed a mark: the audio before it was played."""
        with self._lock:
            self._pending_marks.discard(name)
            self._heard.notify_all()

    def wait_heard(self, timeout: float) -> bool:
        """Until every mark sent so far came back (the caller heard it all), or the call ended."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not self._closed and (
                self._busy or not self._queue.empty() or self._pending_marks
            ):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._heard.wait(min(remaining, 0.05))
        return True

    def clear(self) -> None:
        """Stop speaking now (barge-in): drop the queue and Twilio's buffer."""
        with self._lock:
            self._generation += 1
            self._pending_marks.clear()
            self._heard.notify_all()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._send(clear_message(self._stream_sid))

    def close(self) -> None:
        """The call is over: stop, and wake whoever waits for the caller to hear the rest."""
        with self._lock:
            self._closed = True
            self._generation += 1
            self._pending_marks.clear()
            self._heard.notify_all()
        self._queue.put(None)
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            with self._lock:
                if item.generation != self._generation:
                    continue
                self._busy = True
            try:
                if isinstance(item, _Mark):
                    self._send(mark_message(self._stream_sid, item.name))
                else:
                    self._play(item)
            except Exception:  # the socket closed under us: the call is ending
                log.debug("player stopped", exc_info=True)
                return
            finally:
                with self._lock:
                    self._busy = False
                    self._heard.notify_all()

    def _play(self, item: _Audio) -> None:
        first = True
        for start in range(0, len(item.mulaw), FRAME_BYTES):
            if item.generation != self._generation:
                return
            now = time.monotonic()
            self._due = max(self._due, now)
            if self._due - now > LEAD_S:
                time.sleep(self._due - now - LEAD_S)
            if item.generation != self._generation:
                return
            frame = item.mulaw[start : start + FRAME_BYTES]
            self._send(media_message(self._stream_sid, frame))
            self.frames_sent += 1
            if first and item.on_first_frame is not None:
                item.on_first_frame(time.monotonic())
                first = False
            if self._on_frame is not None:
                self._on_frame(frame)
            self._due += FRAME_S
