"""Enqueue, claim, run, retry and recover jobs (``app.extensions["jobs"]``).

Life of a job::

    queued --claim--> running --handler returns--> succeeded
       ^                 |
       |   (attempts     +--handler raises--> queued again after a backoff delay,
       |    left)        |                     or failed once attempts are used up
       +---- recover <---+--worker goes silent (no heartbeat for stale_after_s)

* ``enqueue`` writes the row in the caller's transaction and delivers the id
  after the commit, so a rolled-back request leaves no job behind.
* ``run`` claims the row with a conditional UPDATE, so a duplicate delivery is
  harmless; the handler's writes commit with its success, or roll back.
* ``recover`` (run every ``heartbeat_s`` by every worker process) retries jobs
  whose worker died - e.g. a host restart - and re-delivers jobs whose delivery
  was lost. Nothing is silently dropped: each ends succeeded or failed.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select, update

from merchant_voice.config import Settings
from merchant_voice.db import Database, on_commit, utcnow
from merchant_voice.errors import ValidationFailed
from merchant_voice.jobs.queue import HueyQueue, JobQueue
from merchant_voice.jobs.registry import JobRegistry
from merchant_voice.plugin_manager import PluginManager
from merchant_voice.tenancy import MerchantInfo, TenantSession, host_writes
from models.job import Job, JobStatus
from models.merchant import Merchant

log = logging.getLogger(__name__)


@dataclass
class _RunContext:
    job_id: str
    kind: str
    payload: dict[str, Any]
    attempt: int
    session: TenantSession
    service: JobService = field(repr=False)

    def progress(self, fraction: float, message: str = "") -> None:
        self.service.record_progress(self.job_id, fraction, message)


class JobService:
    """The jobs of every merchant: one interface for plugins, the API and workers."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        plugins: PluginManager,
        queue: JobQueue | None = None,
    ) -> None:
        self.settings = settings.jobs
        self.db = db
        self.plugins = plugins
        self.registry = JobRegistry()
        self.queue: JobQueue = queue or HueyQueue(settings, self.run)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._maintenance_stop = threading.Event()
        self._maintenance: threading.Thread | None = None
        self._app: Flask | None = None

    def init_app(self, app: Flask) -> None:
        """Jobs run in an app context of ``app``, as request handlers do."""
        self._app = app
        app.extensions["jobs"] = self

    # -- for plugins and the API --------------------------------------------------

    def enqueue(
        self, session: TenantSession, kind: str, payload: dict[str, Any] | None = None
    ) -> Job:
        """Add a job for the session's merchant; it is delivered when the session commits."""
        job_kind = self.registry.get(kind)
        payload = payload or {}
        try:
            json.dumps(payload)
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(
                f"job payload is not JSON: {exc}", [{"field": "payload", "message": str(exc)}]
            ) from None
        job = Job(
            kind=kind,
            payload=payload,
            status=JobStatus.QUEUED,
            max_attempts=job_kind.max_attempts or self.settings.max_attempts,
        )
        with host_writes(session):
            session.add(job)
            session.flush()
        job_id = job.id
        on_commit(session, lambda: self.queue.submit(job_id))
        return job

    def record_progress(self, job_id: str, fraction: float, message: str = "") -> None:
        """Store progress (clamped to 0..1) at once; it doubles as a heartbeat."""
        with self.db.host_transaction() as session:
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == JobStatus.RUNNING)
                .values(
                    progress=min(max(fraction, 0.0), 1.0),
                    progress_message=message[:200],
                    heartbeat_at=utcnow(),
                )
            )

    # -- for workers ----------------------------------------------------------------

    def run(self, job_id: str) -> None:
        """Claim and run one job; called by the queue in a worker."""
        job = self._claim(job_id)
        if job is None:
            return
        with self._lock:
            self._running.add(job_id)
        try:
            with self._app_context():
                self._execute(job)
        finally:
            with self._lock:
                self._running.discard(job_id)

    def _app_context(self) -> AbstractContextManager[Any]:
        return self._app.app_context() if self._app is not None else nullcontext()

    def _claim(self, job_id: str) -> Job | None:
        now = utcnow()
        with self.db.host_transaction() as session:
            claimed = session.execute(
                update(Job)
                .where(
                    Job.id == job_id,
                    Job.status == JobStatus.QUEUED,
                    Job.attempts < Job.max_attempts,
                )
                .values(
                    status=JobStatus.RUNNING,
                    attempts=Job.attempts + 1,
                    worker=self.worker_id,
                    started_at=now,
                    heartbeat_at=now,
                    progress=0.0,
                )
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                log.debug("job %s was not claimable (taken, finished or unknown)", job_id)
                return None
            return session.get(Job, job_id)

    def _execute(self, job: Job) -> None:
        merchant = self._merchant(job.merchant_id)
        log.info(
            "job %s (%s) attempt %d/%d started", job.id, job.kind, job.attempts, job.max_attempts
        )
        with self.db.tenant_session(merchant) as session:
            context = _RunContext(job.id, job.kind, job.payload, job.attempts, session, self)
            try:
                result = self.registry.get(job.kind).handler(context) or {}
                json.dumps(result)
                session.commit()
            except Exception as exc:
                session.rollback()
                log.warning(
                    "job %s (%s) attempt %d failed", job.id, job.kind, job.attempts, exc_info=True
                )
                self._attempt_failed(job, f"{type(exc).__name__}: {exc}")
                return
        self._finish(job.id, JobStatus.SUCCEEDED, result=result)
        log.info("job %s (%s) succeeded", job.id, job.kind)

    def _merchant(self, merchant_id: int) -> MerchantInfo:
        with self.db.host_session() as session:
            merchant = session.get(Merchant, merchant_id)
            if merchant is None:
                raise LookupError(f"merchant {merchant_id} no longer exists")
            return merchant.info()

    def _attempt_failed(self, job: Job, error: str) -> None:
        if job.attempts >= job.max_attempts:
            self._finish(job.id, JobStatus.FAILED, error=error)
            return
        delay = self.settings.retry_delay_s * 2 ** (job.attempts - 1)
        with self.db.host_transaction() as session:
            session.execute(
                update(Job)
                .where(Job.id == job.id, Job.status == JobStatus.RUNNING)
                .values(
                    status=JobStatus.QUEUED,
                    error=error,
                    worker=None,
                    run_after=utcnow() + timedelta(seconds=delay),
                )
            )
        self.queue.submit(job.id, delay)

    def _finish(
        self,
        job_id: str,
        status: JobStatus,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "worker": None}
        if status is JobStatus.SUCCEEDED:
            values.update(result=result, progress=1.0, error=None)
        else:
            values.update(error=error)
        # Write first: on SQLite a transaction that reads before it writes can fail at once
        # when another connection committed meanwhile; one that starts by writing waits its turn.
        with self.db.host_transaction() as session:
            merchant_id = session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
                .values(**values)
                .returning(Job.merchant_id)
                .execution_options(synchronize_session=False)
            ).scalar()
        if merchant_id is None:
            return
        with self.db.tenant_session(self._merchant(merchant_id)) as tenant:
            finished = tenant.get(Job, job_id)
            self.plugins.call("job_finished", session=tenant, job=finished)
            tenant.commit()

    # -- recovery ---------------------------------------------------------------------

    def recover(self) -> list[str]:
        """Retry jobs whose worker went silent; re-deliver lost deliveries. Returns their ids."""
        cutoff = utcnow() - timedelta(seconds=self.settings.stale_after_s)
        recovered: list[str] = []
        with self.db.host_session() as session:
            silent = session.scalars(
                select(Job).where(Job.status == JobStatus.RUNNING, Job.heartbeat_at < cutoff)
            ).all()
            lost = session.scalars(
                select(Job.id).where(Job.status == JobStatus.QUEUED, Job.run_after < cutoff)
            ).all()
        for job in silent:
            if self._requeue(job.id, Job.status == JobStatus.RUNNING, Job.heartbeat_at < cutoff):
                log.warning("job %s: worker %s went silent; retrying", job.id, job.worker)
                recovered.append(job.id)
                if job.attempts >= job.max_attempts:
                    with self._app_context():
                        self._finish(
                            job.id,
                            JobStatus.FAILED,
                            error=(
                                f"the worker stopped during attempt {job.attempts} (last seen "
                                f"{job.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC); no attempts left"
                            ),
                        )
                else:
                    self.queue.submit(job.id)
        for job_id in lost:
            if self._requeue(job_id, Job.status == JobStatus.QUEUED, Job.run_after < cutoff):
                log.warning("job %s: delivery lost; delivering again", job_id)
                recovered.append(job_id)
                self.queue.submit(job_id)
        return recovered

    def _requeue(self, job_id: str, *conditions: Any) -> bool:
        with self.db.host_transaction() as session:
            result = session.execute(
                update(Job)
                .where(Job.id == job_id, *conditions)
                .values(status=JobStatus.QUEUED, worker=None, run_after=utcnow())
                .execution_options(synchronize_session=False)
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def heartbeat(self) -> None:
        """Prove that this process's running jobs are alive."""
        with self._lock:
            running = list(self._running)
        if running:
            with self.db.host_transaction() as session:
                session.execute(
                    update(Job)
                    .where(Job.id.in_(running), Job.status == JobStatus.RUNNING)
                    .values(heartbeat_at=utcnow())
                    .execution_options(synchronize_session=False)
                )

    # -- worker lifecycle ------------------------------------------------------------

    def start_workers(self, workers: int | None = None) -> None:
        """Start worker threads and the heartbeat/recovery loop in this process."""
        count = self.settings.workers if workers is None else workers
        if count < 1 or not isinstance(self.queue, HueyQueue):
            return
        self.queue.start_workers(count)
        if self._maintenance is None:
            self._maintenance_stop.clear()
            self._maintenance = threading.Thread(
                target=self._maintain, name="jobs-maintenance", daemon=True
            )
            self._maintenance.start()

    def stop_workers(self, timeout_s: float = 30.0) -> None:
        if isinstance(self.queue, HueyQueue):
            self.queue.stop_workers(timeout_s)
        self._maintenance_stop.set()
        if self._maintenance is not None:
            self._maintenance.join(timeout=5)
            self._maintenance = None

    def _maintain(self) -> None:
        while not self._maintenance_stop.wait(self.settings.heartbeat_s):
            try:
                self.heartbeat()
                self.recover()
            except Exception:
                log.exception(
                    "job maintenance failed; trying again in %ss", self.settings.heartbeat_s
                )
