"""Embedded servers that run only while their workload has work (``on_demand = true``).

Whichever process sends a request to such a server (a web worker, a job
worker, a command) first marks the demand: it touches the model's demand file
(``<logs>/<name>.demand``). The process that supervises the server (``serve``'s
master, or a command's own) watches that file: it starts the server when the
file is newer than the last stop, and stops it once the file has not been
touched for ``idle_stop_s``. The sender waits for the server to answer, up to
``[chat] startup_timeout_s``: only bulk work (translation, narration) should be
routed to such a model, since its first request waits for a cold start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from engines.chat import ChatEngine
from engines.errors import EngineCancelled, EngineUnavailable
from engines.vllm_server import VllmSupervisor

log = logging.getLogger(__name__)

START_RETRY_S = 30.0  # a server that could not start is tried again this much later


class Demand:
    """The demand file of one on-demand server: touched by senders, read by its owner."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()

    @contextmanager
    def held(self, every_s: float = 1.0) -> Iterator[None]:
        """Keep marking the demand while a request is in flight: a request that takes
        longer than the idle period must not see its server stopped under it."""
        done = threading.Event()

        def beat() -> None:
            while not done.wait(every_s):
                self.mark()

        self.mark()
        thread = threading.Thread(target=beat, name="chat-demand", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            self.mark()

    def last(self) -> float | None:
        """When demand was last marked (wall-clock seconds), or None."""
        try:
            return self.path.stat().st_mtime
        except FileNotFoundError:
            return None


class DemandWatcher:
    """Starts an on-demand server when demand is marked, stops it after ``idle_stop_s``."""

    def __init__(self, supervisor: VllmSupervisor, demand: Demand, idle_stop_s: float) -> None:
        self.supervisor = supervisor
        self.demand = demand
        self.idle_stop_s = idle_stop_s
        self.running = False
        self._since = time.time()  # demand older than this was served (or predates us)
        self._retry_at = 0.0  # after a start that failed: not tried again before this
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Watch the demand (returns at once). False when another process supervises the
        server: it watches it too, and starts it."""
        if self._thread is None:
            if not self.supervisor.claim():
                return False
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="chat-on-demand", daemon=True)
            self._thread.start()
        return True

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.check(time.time())

    def check(self, now: float) -> None:
        last = self.demand.last()
        if not self.running and last is not None and last >= self._since:
            if now < self._retry_at:
                return
            log.info("starting the on-demand chat server %s", self.supervisor.spec.name)
            self.running = self.supervisor.start()
            if not self.running:  # the reason is logged; requests wait, then fail, saying so
                self._retry_at = now + START_RETRY_S
        elif self.running and (last is None or now - last > self.idle_stop_s):
            last = self.demand.last()  # read again: a request may have just come
            if last is not None and time.time() - last <= self.idle_stop_s:
                return
            log.info(
                "stopping the on-demand chat server %s: idle for %.0f s",
                self.supervisor.spec.name,
                self.idle_stop_s,
            )
            self._since = time.time()
            self.supervisor.stop(keep_claim=True)  # this process still owns it, and starts it
            self.running = False

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None
        self.supervisor.stop()  # also gives up the claim on it
        self.running = False


def wait_until_answering(
    client: ChatEngine,
    demand: Demand,
    name: str,
    timeout_s: float,
    cancel: threading.Event | None = None,
    waiting: Callable[[str], None] | None = None,
) -> None:
    """Mark the demand, and wait (touching it) until the server answers; ``waiting`` is
    told so ("starting the text model NAME"), then "" once it answers."""
    demand.mark()
    if client.healthy():
        return
    deadline = time.monotonic() + timeout_s
    log.info("waiting for the on-demand chat server %s to start", name)
    tell = waiting or (lambda _why: None)
    tell(f"starting the text model {name}")
    try:
        while time.monotonic() < deadline:
            if (cancel or threading.Event()).wait(1.0):
                raise EngineCancelled("the chat request was cancelled")
            demand.mark()
            if client.healthy():
                return
    finally:
        tell("")
    raise EngineUnavailable(f"the on-demand chat server {name} did not start in {timeout_s:.0f} s")
