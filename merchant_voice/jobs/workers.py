"""Worker threads in this process, plus the heartbeat/recovery loop that keeps jobs alive."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from merchant_voice.jobs.queue import HueyQueue, JobQueue

log = logging.getLogger(__name__)


class Workers:
    """Starts and stops a process's job workers and its maintenance thread.

    Every ``heartbeat_s`` the maintenance thread stores the heartbeat and
    progress of the attempts this process runs, recovers jobs whose worker -
    here or on another machine - went silent, and queues periodic jobs that
    are due.
    """

    def __init__(self, queue: JobQueue, every_s: float, maintain: Callable[[], None]) -> None:
        self.queue = queue
        self.every_s = every_s
        self.maintain = maintain  # heartbeats, recovery, periodic jobs
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, count: int) -> None:
        queue = self.queue
        if count < 1 or not isinstance(queue, HueyQueue):
            return
        queue.start_workers(count)
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._maintain, name="jobs-maintenance", daemon=True
            )
            self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        queue = self.queue
        if isinstance(queue, HueyQueue):
            queue.stop_workers(timeout_s)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _maintain(self) -> None:
        interval = self.every_s
        while not self._stop.wait(interval):
            try:
                self.maintain()
            except Exception:
                log.exception("job maintenance failed; trying again in %ss", interval)
