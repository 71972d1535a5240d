"""Interactive work live on this machine (a caller on the line), as every process sees it.

Calls come first: while one is live, bulk work on the same machine yields (fewer
bulk chat requests admitted, bulk servers at the lowest CPU priority, bulk speech
synthesis slowed); and while one of its *turns* is worked on (from the caller's end
of speech until the reply's words and speech are all made), bulk servers and bulk
synthesis stop outright (:mod:`engines.cpu_yield`).

Calls run in the web workers, bulk work in job workers and commands, and the
embedded servers are supervised by ``serve``'s master: so each mark is a file in a
folder they share (``<logs>/live/calls`` per live call, ``<logs>/live/turns`` per
turn at work), removed when the work ends. A call's mark is kept fresh by a thread
of the process holding it and no longer counts once not refreshed for
:data:`STALE_AFTER_S` (a process that died mid-call does not hold bulk work back);
a turn's mark is never refreshed, so no turn holds bulk work for longer than
:data:`TURN_AT_MOST_S`.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path

log = logging.getLogger(__name__)

LIVE_SHARE = 0.25  # the share of its requests bulk chat work keeps while a call is live
SPEECH_SHARE = 0.1  # ... and bulk speech synthesis of its pace: it competes for the same cores
REFRESH_S = 2.0  # how often a holding process touches its call marks
STALE_AFTER_S = 10.0  # a call mark older than this is a dead process's: it no longer counts
TURN_AT_MOST_S = 10.0  # the longest a turn's mark counts: a turn holds bulk work no longer
CACHE_S = 0.25  # how long a look at the calls' folder is reused
TURN_CACHE_S = 0.01  # ... and at the turns' folder: a turn starts bulk work's pause
TURN_POLL_S = 0.02  # how often paused bulk synthesis looks whether the turns are done


class Marks:
    """Files in ``folder``, one per piece of work: held by some processes, seen by all."""

    def __init__(
        self, folder: Path, stale_after_s: float, cache_s: float, refresh: bool = True
    ) -> None:
        self.folder = folder
        self.stale_after_s = stale_after_s
        self.cache_s = cache_s
        self.refresh = refresh  # touched every REFRESH_S while held (else they age out)
        self._held: set[Path] = set()
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._keeper: threading.Thread | None = None
        self._seen: tuple[float, int] = (-cache_s, 0)  # (monotonic time, count)

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Hold a mark for as long as the block runs (best effort: a mark that cannot be
        written leaves bulk work unslowed, never the call's work undone)."""
        mark = self.folder / f"{os.getpid()}-{threading.get_ident()}-{next(self._numbers)}"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            mark.touch()
        except OSError:
            log.exception("could not mark work live in %s", self.folder)
            yield
            return
        with self._lock:
            self._held.add(mark)
            self._seen = (-self.cache_s, 0)
            if self.refresh and (self._keeper is None or not self._keeper.is_alive()):
                self._keeper = threading.Thread(target=self._keep, name="live-work", daemon=True)
                self._keeper.start()  # none yet, or this process was forked
        try:
            yield
        finally:
            with self._lock:
                self._held.discard(mark)
                self._seen = (-self.cache_s, 0)
            try:
                mark.unlink(missing_ok=True)
            except OSError:
                log.exception("could not remove the mark %s (it ages out)", mark)

    def _keep(self) -> None:
        while True:
            time.sleep(REFRESH_S)
            with self._lock:
                held = list(self._held)
            for mark in held:
                with suppress(FileNotFoundError):
                    os.utime(mark)

    def count(self) -> int:
        """Marks that count, in every process."""
        with self._lock:
            if self._held and self.refresh:  # a held mark counts, however long: it is kept
                return max(len(self._held), self._seen[1])
            at, count = self._seen
        now = time.monotonic()
        if now - at < self.cache_s:
            return count
        count = self._scan()
        with self._lock:
            self._seen = (now, count)
        return count

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
            if age <= self.stale_after_s:
                live += 1
            elif age > 6 * self.stale_after_s:
                with suppress(FileNotFoundError):
                    os.unlink(mark.path)  # a dead process's: tidied by whoever looks
        return live


class LiveWork:
    """Live calls, and their turns at work, on this machine: every process sees them."""

    def __init__(self, folder: Path) -> None:
        self.calls = Marks(folder / "calls", STALE_AFTER_S, CACHE_S)
        self.turns = Marks(folder / "turns", TURN_AT_MOST_S, TURN_CACHE_S, refresh=False)

    def hold(self) -> AbstractContextManager[None]:
        """Mark a call live for as long as the block runs."""
        return self.calls.hold()

    def turn(self) -> AbstractContextManager[None]:
        """Mark one of a live call's turns at work for as long as the block runs (at most
        :data:`TURN_AT_MOST_S` counts)."""
        return self.turns.hold()

    def count(self) -> int:
        """Live calls on this machine, in every process."""
        return self.calls.count()

    def active(self) -> bool:
        """Whether any call is live on this machine."""
        return self.count() > 0

    def in_turn(self) -> bool:
        """Whether any call's turn is at work on this machine."""
        return self.turns.count() > 0

    def yield_after(self, worked_s: float, share: float = SPEECH_SHARE) -> None:
        """After ``worked_s`` of bulk work: while a call is live, pause long enough that
        bulk work keeps ``share`` of its pace (less if the calls end), and on past any
        turn at work (at most :data:`TURN_AT_MOST_S`)."""
        until = time.monotonic() + worked_s * (1 - share) / share
        while time.monotonic() < until and self.active():
            time.sleep(min(CACHE_S, max(until - time.monotonic(), 0)))
        until = time.monotonic() + TURN_AT_MOST_S
        while time.monotonic() < until and self.in_turn():
            time.sleep(TURN_POLL_S)
