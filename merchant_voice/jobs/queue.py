"""Delivery of jobs to workers: one small interface, Huey behind it.

The SQL ``jobs`` table is the source of truth; a queue only carries job ids to
whichever worker takes them. :class:`JobQueue` is all the host uses, so any
queue that can deliver an id (after an optional delay) can replace Huey.

Two Huey backends, chosen by ``[jobs] backend``:

* ``embedded`` - a SQLite file in the instance folder; worker threads run
  inside the host (``serve``), or in ``worker`` processes on the same machine;
* ``redis`` - a Redis list; ``flask --app app worker`` processes on any
  machine that reaches Redis and the database run the jobs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from huey import RedisHuey, SqliteHuey
from huey.consumer import Consumer

from merchant_voice.config import Settings

log = logging.getLogger(__name__)

TASK_NAME = "merchant_voice.run_job"


class JobQueue(Protocol):
    """Carries a job id to a worker, which calls the job service's ``run``."""

    def submit(self, job_id: str, delay_s: float = 0.0) -> None:
        """Deliver ``job_id`` to a worker, not before ``delay_s`` seconds."""

    def pending(self) -> int:
        """Deliveries waiting for a worker (not counting delayed ones)."""


class _ThreadConsumer(Consumer):  # type: ignore[misc]
    """A Huey consumer whose workers are threads of a host that owns its signals."""

    def _set_signal_handlers(self) -> None:
        pass


class HueyQueue:
    """:class:`JobQueue` on Huey, with SQLite (embedded) or Redis (distributed) storage."""

    def __init__(self, settings: Settings, run: Callable[[str], None]) -> None:
        jobs = settings.jobs
        if jobs.backend == "embedded":
            path = settings.instance_file(jobs.embedded_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.huey: Any = SqliteHuey(
                name=jobs.queue_name, filename=str(path), results=False, utc=True, timeout=30
            )
        else:
            self.huey = RedisHuey(name=jobs.queue_name, url=jobs.redis_url, results=False, utc=True)
        self.backend = jobs.backend
        self._task = self.huey.task(name=TASK_NAME)(run)
        self._consumer: _ThreadConsumer | None = None

    def submit(self, job_id: str, delay_s: float = 0.0) -> None:
        if delay_s > 0:
            self._task.schedule(args=(job_id,), delay=delay_s)
        else:
            self._task(job_id)

    def pending(self) -> int:
        """Job deliveries waiting in the queue (not counting scheduled retries)."""
        return int(self.huey.pending_count())

    # -- workers -------------------------------------------------------------------

    def start_workers(self, workers: int) -> None:
        """Start ``workers`` threads in this process (returns at once)."""
        if self._consumer is not None or workers < 1:
            return
        self._consumer = _ThreadConsumer(
            self.huey,
            workers=workers,
            worker_type="thread",
            periodic=False,
            initial_delay=0.05,
            max_delay=1.0,
        )
        self._consumer.start()
        log.info("%d job worker thread(s) started (%s queue)", workers, self.backend)

    def stop_workers(self, timeout_s: float = 30.0) -> None:
        """Stop the worker threads, letting running jobs finish for up to ``timeout_s``."""
        if self._consumer is None:
            return
        self._consumer.shutdown_timeout = timeout_s
        self._consumer.stop(graceful=True)
        self._consumer = None

    def run_workers(self, workers: int, stop: threading.Event) -> None:
        """Run ``workers`` threads until ``stop`` is set (the ``worker`` command)."""
        self.start_workers(workers)
        try:
            stop.wait()
        finally:
            self.stop_workers()
