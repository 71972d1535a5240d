"""Interactive work live on this machine (a caller on the line), as every process sees it.

Calls come first: while one is live, bulk work on the same machine yields (fewer
bulk chat requests admitted, bulk servers at the lowest CPU priority, bulk speech
synthesis paused). Calls run in the web workers, bulk work in job workers and
commands, and the embedded servers are supervised by ``serve``'s master: so the
mark is a file per live call in a folder they share (``<logs>/live``), kept fresh
by a thread of the process holding it, and removed when the call ends. A file not
refreshed for ``stale_after_s`` no longer counts: a process that died mid-call
does not hold bulk work back.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

log = logging.getLogger(__name__)

LIVE_SHARE = 0.25  # the share of its requests bulk chat work keeps while a call is live
SPEECH_SHARE = 0.1  # ... and bulk speech synthesis of its pace: it competes for the same cores
REFRESH_S = 2.0  # how often a holding process touches its marks
STALE_AFTER_S = 10.0  # a mark older than this is a dead process's: it no longer counts
CACHE_S = 0.25  # how long a look at the folder is reused


class LiveWork:
    """Marks of interactive work in ``folder``: held by some processes, seen by all."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._held: set[Path] = set()
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._keeper: threading.Thread | None = None
        self._seen: tuple[float, int] = (-CACHE_S, 0)  # (monotonic time, count)

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Mark interactive work live for as long as the block runs."""
        self.folder.mkdir(parents=True, exist_ok=True)
        mark = self.folder / f"{os.getpid()}-{next(self._numbers)}"
        mark.touch()
        with self._lock:
            self._held.add(mark)
            self._seen = (-CACHE_S, 0)
            if self._keeper is None or not self._keeper.is_alive():  # none yet, or forked
                self._keeper = threading.Thread(target=self._keep, name="live-work", daemon=True)
                self._keeper.start()
        try:
            yield
        finally:
            with self._lock:
                self._held.discard(mark)
                self._seen = (-CACHE_S, 0)
            with suppress(FileNotFoundError):
                mark.unlink()

    def _keep(self) -> None:
        while True:
            time.sleep(REFRESH_S)
            with self._lock:
                held = list(self._held)
            for mark in held:
                with suppress(FileNotFoundError):
                    os.utime(mark)

    def count(self) -> int:
        """Live pieces of interactive work on this machine, in every process."""
        with self._lock:
            if self._held:
                return max(len(self._held), self._seen[1])
            at, count = self._seen
        now = time.monotonic()
        if now - at < CACHE_S:
            return count
        count = self._scan()
        with self._lock:
            self._seen = (now, count)
        return count

    def active(self) -> bool:
        """Whether any interactive work is live on this machine."""
        return self.count() > 0

    def yield_after(self, worked_s: float, share: float = SPEECH_SHARE) -> None:
        """After ``worked_s`` of bulk work: while interactive work is live, pause long enough
        that bulk work keeps ``share`` of its pace (less if the calls end)."""
        until = time.monotonic() + worked_s * (1 - share) / share
        while time.monotonic() < until and self.active():
            time.sleep(min(CACHE_S, max(until - time.monotonic(), 0)))

    def _scan(self) -> int:
        now = time.time()
        live = 0
        try:
            marks = list(os.scandir(self.folder))
        except FileNotFoundError:
            return 0
        for mark in marks:
            try:
                age = now - mark.stat().st_mtime
            except FileNotFoundError:
                continue
            if age <= STALE_AFTER_S:
                live += 1
            elif age > 6 * STALE_AFTER_S:
                with suppress(FileNotFoundError):
                    os.unlink(mark.path)  # a dead process's: tidied by whoever looks
        return live
