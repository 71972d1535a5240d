"""Pacing bulk work: how many of a served model's bulk requests run at once.

Interactive requests (a call turn) are never held here. Bulk requests (jobs) wait
for one of ``limit`` slots, as long as it takes: waiting here never counts against
a request. With ``[chat] bulk_concurrency = "auto"`` the limit follows what the
server delivers, in the manner of TCP Vegas, with the time between two tokens of
an answer as the signal:

* each finished bulk answer gives the time it took per token while it was written;
  the smallest recently seen is the *baseline*, the server's pace with little to do;
* while answers are written at most :data:`GROW_BELOW` times slower than the
  baseline and requests are waiting for a slot, batching more of them is nearly
  free on this server: the limit grows by one with each answer;
* when they are written :data:`SHRINK_ABOVE` times slower or worse, the server is
  past what batching gains (or is short of KV cache, or of CPU): the limit shrinks
  by a quarter, at most once per limit's worth of answers.

So a GPU server climbs to the ceiling, a 2-core CPU settles on a handful, and
neither lets a job's requests starve for tokens. While a call is live on this
machine (:class:`~engines.live.LiveWork`), bulk requests get only
:data:`LIVE_SHARE` of the limit (at least one): calls come first.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from engines.errors import EngineCancelled
from engines.live import LIVE_SHARE, LiveWork
from engines.metrics import CHAT_BULK_LIMIT, CHAT_IN_FLIGHT, CHAT_QUEUED

START = 4  # the adaptive limit's first value
GROW_BELOW = 2.5  # an answer's time per token over the baseline: below, batch more
SHRINK_ABOVE = 4.0  # ... and above, batch fewer
DECREASE = 0.75
DRIFT = 1.01  # the baseline creeps up by this per answer: it follows a lasting change
SMOOTHING = 0.3  # weight of the newest answer in the smoothed pace
MIN_TOKENS = 8  # shorter answers say little about the pace
POLL_S = 0.25  # a waiting request looks again this often (a call may have ended)


class BulkPacer:
    """Admits one served model's requests: interactive at once, bulk within the limit."""

    def __init__(
        self, model: str, ceiling: int, adaptive: bool = True, live: LiveWork | None = None
    ) -> None:
        self.model = model  # a metrics label
        self.ceiling = max(1, ceiling)
        self.adaptive = adaptive
        self.live = live
        self._limit = float(min(START, self.ceiling) if adaptive else self.ceiling)
        self._baseline = math.inf
        self._pace = 0.0  # smoothed ratio of time per token to the baseline
        self._waited = False  # a bulk request waited for a slot since the last answer
        self._calm = 0  # answers to wait before the limit may shrink again
        self._in_flight = 0
        self._changed = threading.Condition()
        CHAT_BULK_LIMIT.labels(model=model).set(self._limit)

    @property
    def limit(self) -> int:
        """Bulk requests admitted at once now (less while a call is live)."""
        limit = int(self._limit)
        if self.live is not None and self.live.active():
            limit = max(1, int(limit * LIVE_SHARE))
        return limit

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @contextmanager
    def admit(self, bulk: bool, cancel: threading.Event | None = None) -> Iterator[None]:
        """Hold a slot for the block: at once for interactive work; bulk work waits for a
        free one as long as it takes (or until ``cancel``)."""
        label = "bulk" if bulk else "interactive"
        if bulk:
            CHAT_QUEUED.labels(model=self.model, priority=label).inc()
            try:
                self._enter(cancel)
            finally:
                CHAT_QUEUED.labels(model=self.model, priority=label).dec()
        CHAT_IN_FLIGHT.labels(model=self.model, priority=label).inc()
        try:
            yield
        finally:
            CHAT_IN_FLIGHT.labels(model=self.model, priority=label).dec()
            if bulk:
                with self._changed:
                    self._in_flight -= 1
                    self._changed.notify()

    def _enter(self, cancel: threading.Event | None) -> None:
        with self._changed:
            while self._in_flight >= self.limit:
                self._waited = True
                if cancel is not None and cancel.is_set():
                    raise EngineCancelled("the chat request was cancelled")
                self._changed.wait(POLL_S)
            self._in_flight += 1

    def observe(self, tokens: int, writing_s: float) -> None:
        """A bulk answer of ``tokens`` was written in ``writing_s`` (first token to last)."""
        if not self.adaptive or tokens < MIN_TOKENS or writing_s <= 0:
            return
        per_token = writing_s / (tokens - 1)
        with self._changed:
            self._baseline = min(self._baseline * DRIFT, per_token)
            ratio = per_token / self._baseline
            smoothed = (1 - SMOOTHING) * self._pace + SMOOTHING * ratio
            self._pace = smoothed if self._pace else ratio
            self._calm = max(0, self._calm - 1)
            if self._pace >= SHRINK_ABOVE and self._calm == 0:
                self._limit = max(1.0, self._limit * DECREASE)
                self._calm = int(self._limit) + 1  # answers begun under the old limit
            elif self._pace < GROW_BELOW and self._waited:
                self._limit = min(float(self.ceiling), self._limit + 1)
                self._changed.notify()
            self._waited = False
            CHAT_BULK_LIMIT.labels(model=self.model).set(self._limit)

    def state(self) -> dict[str, float]:
        """For status and benchmarks: the limit, what is in flight, the smoothed pace."""
        return {
            "limit": self.limit,
            "in_flight": self._in_flight,
            "pace": round(self._pace, 2),
            "baseline_ms": round(self._baseline * 1000, 1) if self._baseline < math.inf else 0,
            "at": time.time(),
        }
