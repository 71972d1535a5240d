"""A bulk server's share of the CPU while calls are live on this machine.

A *bulk server* is an embedded chat server that serves no interactive workload (the
on-demand text model of translation and narration). Its supervisor runs a
:class:`CpuYield` beside it, which follows :class:`~engines.live.LiveWork`:

* while a call is live, every thread of the server's process group runs at nice
  :data:`LOWEST_PRIORITY` (``setpriority(PRIO_PGRP)``), and at its own nice after;
* on a CPU host, while one of the calls' turns is at work (the caller's end of speech
  until the reply is made), the process group is stopped outright (``SIGSTOP``) and
  continued (``SIGCONT``) when no turn is. At nice 19 its threads still take time
  slices, caches and memory bandwidth: a turn's first sentence was spoken 3 times
  slower beside it than on an idle machine (docs/performance.md).

Bulk work is slowed, never starved: pauses add up to at most :data:`MAX_PAUSE_S`
(one long turn, or turns that follow each other closely) before the server runs at
least :data:`REST_S` without one, so its requests keep
making progress well inside ``[chat] stall_timeout_s``. The supervisor continues the
group before it stops or restarts the server (a stopped process does not act on
SIGTERM).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

from engines.live import LiveWork
from engines.metrics import BULK_PAUSED_SECONDS

log = logging.getLogger(__name__)

LOWEST_PRIORITY = 19  # nice: what a bulk server yields to while a call is live
MAX_PAUSE_S = 8.0  # the longest a bulk server stays stopped for the calls' turns ...
REST_S = 1.0  # ... before it runs at least this long
TURN_POLL_S = 0.02  # how often turns are looked for while a call is live
CALL_POLL_S = 0.5  # ... and calls while none is


class CpuYield:
    """Yields one bulk server's CPU to the live calls on this machine."""

    def __init__(self, name: str, live: LiveWork, own_nice: int, pause: bool) -> None:
        self.name = name  # the served model's, for logs and metrics
        self.live = live
        self.own_nice = own_nice
        self.pause = pause  # stop the server during turns (CPU hosts): else only renice
        self.renice = True  # False once this process may not raise a priority again
        self._lock = threading.Lock()
        self._group: int | None = None  # the server's process group (its leader's pid)
        self._nice = own_nice
        self._paused_at: float | None = None  # monotonic time of the running pause
        self.pauses = 0  # pauses so far
        self._stopped_s = 0.0  # time stopped since the server last ran REST_S in one go
        self._running_since = 0.0  # monotonic time of the last resume
        self._rest_until = 0.0

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def paused_since(self, pauses: int) -> bool:
        """Whether the server is stopped now, or was since :attr:`pauses` read ``pauses``
        (a health check it could not answer says nothing of its health)."""
        return self.paused or self.pauses != pauses

    def attach(self, group: int, nice: int) -> None:
        """A server was started: its process group, at ``nice``."""
        with self._lock:
            self._group, self._nice, self._paused_at = group, nice, None
            self._stopped_s = 0.0

    def detach(self) -> None:
        """The server is to be stopped or restarted: let it run (SIGCONT) and forget it."""
        with self._lock:
            self._resume()
            self._group = None

    def run(self, stopping: threading.Event) -> None:
        """Follow the calls until ``stopping`` is set (the supervisor's thread)."""
        try:
            while not stopping.is_set():
                calls = False
                try:
                    calls = self.live.active()
                    with self._lock:
                        self._follow(calls)
                except OSError:  # the marks' folder, or the server's processes: said, not fatal
                    log.exception("could not yield vLLM server %s to the calls", self.name)
                stopping.wait(TURN_POLL_S if calls else CALL_POLL_S)
        finally:
            with self._lock:
                self._resume()

    def _follow(self, calls: bool) -> None:
        if self._group is None:
            return
        if self.renice:
            self._set_nice(LOWEST_PRIORITY if calls else self.own_nice)
        if not self.pause:
            return
        now = time.monotonic()
        if self._paused_at is not None:
            if not (calls and self.live.in_turn()):
                self._resume()
            elif self._stopped_s + now - self._paused_at >= MAX_PAUSE_S:
                self._resume()
                self._rest_until = now + REST_S
            return
        if self._stopped_s and now - self._running_since >= REST_S:
            self._stopped_s = 0.0  # it ran long enough in one go: a fresh allowance
        if (
            calls
            and now >= self._rest_until
            and self.live.in_turn()
            and self._signal(signal.SIGSTOP)
        ):
            self._paused_at = now
            self.pauses += 1

    def _resume(self) -> None:
        if self._paused_at is None:
            return
        now = time.monotonic()
        BULK_PAUSED_SECONDS.labels(model=self.name).inc(now - self._paused_at)
        self._stopped_s += now - self._paused_at
        self._paused_at, self._running_since = None, now
        self._signal(signal.SIGCONT)

    def _signal(self, number: signal.Signals) -> bool:
        if self._group is None:
            return False
        try:
            os.killpg(self._group, number)
        except ProcessLookupError:
            return False
        return True

    def _set_nice(self, wanted: int) -> None:
        if wanted == self._nice or self._group is None:
            return
        try:
            os.setpriority(os.PRIO_PGRP, self._group, wanted)  # every thread of its processes
        except PermissionError:
            log.warning(
                "vLLM server %s stays at nice %d after the calls: this process may not raise"
                " a priority (run as root, or raise RLIMIT_NICE)",
                self.name,
                self._nice,
            )
            self.renice = False
            return
        except ProcessLookupError:
            return
        log.info("vLLM server %s now at nice %d", self.name, wanted)
        self._nice = wanted
