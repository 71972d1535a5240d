"""Enqueue, claim, run and retry jobs (``app.extensions["jobs"]``).

Life of a job::

    queued --claim--> running --handler returns--> succeeded
       ^                 |
       |   (attempts     +--handler raises--> queued again after a backoff delay,
       |    left)        |                     or failed once attempts are used up
       +---- recover <---+--worker goes silent (no heartbeat for stale_after_s)

* ``enqueue`` writes the row in the caller's transaction and delivers the id
  after the commit, so a rolled-back request leaves no job behind.
* ``run`` claims the row with a conditional UPDATE (queued, due, attempts
  left), so a duplicate or early delivery does nothing. Every later write
  names the attempt it belongs to, so a worker that was given up on cannot
  overwrite the attempt that replaced it.
* The handler's writes commit with its success, or roll back with its failure.
* :mod:`.workers` runs the heartbeats and :meth:`JobService.recover`.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from engines.errors import EngineError, InvalidAudio
from merchant_voice.config import Settings
from merchant_voice.db import Database, is_busy, on_commit
from merchant_voice.errors import ClientError, MerchantVoiceError, ValidationFailed
from merchant_voice.job_kinds import JobKinds
from merchant_voice.jobs.queue import HueyQueue, JobQueue
from merchant_voice.jobs.schedule import Schedules
from merchant_voice.jobs.workers import Workers
from merchant_voice.logs import log_context
from merchant_voice.orm import utcnow
from merchant_voice.plugin_declaration import PluginSettings
from merchant_voice.plugin_manager import PluginManager
from merchant_voice.tenancy import MerchantInfo, TenantSession, host_writes
from models.job import Job, JobStatus
from models.merchant import Merchant

log = logging.getLogger(__name__)

Attempt = tuple[str, int]
"""(job id, attempt number): what a worker owns while it runs a job."""


@dataclass
class _RunContext:
    job_id: str
    kind: str
    payload: dict[str, Any]
    attempt: int
    session: TenantSession
    settings: PluginSettings
    service: JobService = field(repr=False)
    _shown: tuple[float, str] = (0.0, "")  # the last progress the handler recorded

    def progress(self, fraction: float, message: str = "") -> None:
        self._shown = (fraction, message)
        self.service.record_progress((self.job_id, self.attempt), fraction, message)

    def waiting(self, why: str) -> None:
        fraction, message = self._shown
        self.service.record_progress((self.job_id, self.attempt), fraction, why or message)


def shown_error(exc: BaseException, job_id: str) -> str:
    """What the merchant is shown of a failed attempt: a sentence, never SQL or a traceback
    (those are in the host's log, under the job's id)."""
    if isinstance(exc, MerchantVoiceError | EngineError):
        return exc.detail
    if is_busy(exc):
        return "The database was busy: another write held it."
    if isinstance(exc, DBAPIError):
        return (
            "The job stopped on a database error. "
            f"Details are in the host's log under job {job_id}."
        )
    return (
        f"The job stopped on an unexpected error ({type(exc).__name__}). "
        f"Details are in the host's log under job {job_id}."
    )


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
        self.registry = JobKinds()
        self.queue: JobQueue = queue or HueyQueue(settings, self.run)
        self.schedules = Schedules(self.registry, db, plugins, self.enqueue)
        self.workers = Workers(self.queue, self.settings.heartbeat_s, self.maintain)
        self._running: dict[Attempt, tuple[float, str]] = {}  # attempt -> progress
        self._lock = threading.Lock()
        self._app: Flask | None = None

    def init_app(self, app: Flask) -> None:
        """Jobs run in an app context of ``app``, as request handlers do."""
        self._app = app
        app.extensions["jobs"] = self

    @property
    def worker_id(self) -> str:
        """This process and thread (computed when asked: web workers fork)."""
        return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"

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

    def record_progress(self, attempt: Attempt, fraction: float, message: str = "") -> None:
        """Note progress (0..1); the next heartbeat, within ``heartbeat_s``, stores it.

        Kept in memory rather than written at once, so that a handler holding a
        write transaction (SQLite allows one writer) never waits on itself.
        """
        with self._lock:
            if attempt in self._running:
                self._running[attempt] = (min(max(fraction, 0.0), 1.0), message[:200])

    def running(self) -> dict[Attempt, tuple[float, str]]:
        with self._lock:
            return dict(self._running)

    # -- for workers ----------------------------------------------------------------

    def run(self, job_id: str) -> None:
        """Claim and run one job; called by the queue in a worker."""
        job = self._claim(job_id)
        if job is None:
            return
        attempt = (job.id, job.attempts)
        with self._lock:
            self._running[attempt] = (0.0, "")
        try:
            with self._app_context(), log_context(job_id=job.id):
                self._execute(job)
        finally:
            with self._lock:
                self._running.pop(attempt, None)

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
                    Job.run_after <= now,
                    Job.attempts < Job.max_attempts,
                )
                .values(
                    status=JobStatus.RUNNING,
                    attempts=Job.attempts + 1,
                    worker=self.worker_id,
                    started_at=now,
                    heartbeat_at=now,
                    progress=0.0,
                    progress_message="",
                )
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                log.debug("job %s is not claimable (taken, finished, not due or unknown)", job_id)
                return None
            return session.get(Job, job_id)

    def _execute(self, job: Job) -> None:
        log.info("job %s (%s) attempt %d/%d", job.id, job.kind, job.attempts, job.max_attempts)
        try:
            merchant = self._merchant(job.merchant_id)
            kind = self.registry.get(job.kind)
        except Exception as exc:
            log.warning("job %s (%s) cannot run", job.id, job.kind, exc_info=True)
            self._attempt_failed(job, shown_error(exc, job.id))
            return
        with self.db.tenant_session(merchant) as session:
            try:
                settings = self.plugins.settings_for(session, kind.plugin)
                # End that read: on SQLite a handler whose first statement writes then waits
                # its turn, where a write after the read would fail at once ("database is
                # locked") if another job had written in between.
                session.commit()
                context = _RunContext(
                    job.id, job.kind, job.payload, job.attempts, session, settings, self
                )
                result = kind.handler(context) or {}
                json.dumps(result)
                session.commit()
            except (ClientError, InvalidAudio) as exc:  # bad input: no attempt can succeed
                session.rollback()
                log.warning("job %s (%s) refused its input: %s", job.id, job.kind, exc.detail)
                self.finish(
                    job.id, JobStatus.FAILED, Job.attempts == job.attempts, error=exc.detail
                )
                return
            except Exception as exc:
                session.rollback()
                log.warning(
                    "job %s (%s) attempt %d failed", job.id, job.kind, job.attempts, exc_info=True
                )
                self._attempt_failed(job, shown_error(exc, job.id))
                return
        self.finish(job.id, JobStatus.SUCCEEDED, Job.attempts == job.attempts, result=result)
        log.info("job %s (%s) succeeded", job.id, job.kind)

    def _merchant(self, merchant_id: int) -> MerchantInfo:
        with self.db.host_session() as session:
            merchant = session.get(Merchant, merchant_id)
            if merchant is None:
                raise LookupError(f"merchant {merchant_id} no longer exists")
            return merchant.info()

    def _attempt_failed(self, job: Job, error: str) -> None:
        mine = Job.attempts == job.attempts
        if job.attempts >= job.max_attempts:
            self.finish(job.id, JobStatus.FAILED, mine, error=error)
            return
        delay = self.settings.retry_delay_s * 2 ** (job.attempts - 1)
        with self.db.host_transaction() as session:
            retried = session.execute(
                update(Job)
                .where(Job.id == job.id, Job.status == JobStatus.RUNNING, mine)
                .values(
                    status=JobStatus.QUEUED,
                    error=error,
                    worker=None,
                    run_after=utcnow() + timedelta(seconds=delay),
                )
                .execution_options(synchronize_session=False)
            )
        if retried.rowcount == 1:  # type: ignore[attr-defined]
            self.queue.submit(job.id, delay)

    def finish(
        self,
        job_id: str,
        status: JobStatus,
        *conditions: Any,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        """Move a running job to its final ``status`` if ``conditions`` hold; tell the plugins."""
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
                .where(Job.id == job_id, Job.status == JobStatus.RUNNING, *conditions)
                .values(**values)
                .returning(Job.merchant_id)
                .execution_options(synchronize_session=False)
            ).scalar()
        if merchant_id is None:
            return False
        with self._app_context(), self.db.tenant_session(self._merchant(merchant_id)) as tenant:
            tenant.writes_first()  # the hooks write after this read: it must not go stale
            finished = tenant.get(Job, job_id)
            self.plugins.call("job_finished", session=tenant, job=finished)
            tenant.commit()
        return True

    # -- recovery ---------------------------------------------------------------------

    def heartbeat(self) -> None:
        """Prove that this process's attempts are alive, storing their progress."""
        running = self.running()
        if not running:
            return
        now = utcnow()
        with self.db.host_transaction() as session:
            for (job_id, attempt), (fraction, message) in running.items():
                session.execute(
                    update(Job)
                    .where(
                        Job.id == job_id, Job.attempts == attempt, Job.status == JobStatus.RUNNING
                    )
                    .values(heartbeat_at=now, progress=fraction, progress_message=message)
                    .execution_options(synchronize_session=False)
                )

    def recover(self) -> list[str]:
        """Retry (or fail) jobs whose worker went silent; re-deliver lost deliveries."""
        cutoff = utcnow() - timedelta(seconds=self.settings.stale_after_s)
        silent = (Job.status == JobStatus.RUNNING, Job.heartbeat_at < cutoff)
        with self.db.host_session() as session:
            stale = session.execute(select(Job.id, Job.attempts, Job.worker).where(*silent)).all()
            lost = session.scalars(
                select(Job.id).where(Job.status == JobStatus.QUEUED, Job.run_after < cutoff)
            ).all()
        recovered: list[str] = []
        for job_id, attempts, worker in stale:
            same_attempt = (*silent, Job.attempts == attempts)
            reason = f"worker {worker} stopped answering during attempt {attempts}"
            if self.finish(
                job_id,
                JobStatus.FAILED,
                *same_attempt,
                Job.attempts >= Job.max_attempts,
                error=f"{reason}; no attempts left",
            ):
                log.warning("job %s failed: %s", job_id, reason)
            elif self._requeue(job_id, *same_attempt):
                log.warning("job %s: %s; retrying", job_id, reason)
                self.queue.submit(job_id)
            else:
                continue
            recovered.append(job_id)
        if lost and self.queue.pending() == 0:  # nothing waiting: those deliveries are gone
            for job_id in lost:
                if self._requeue(job_id, Job.status == JobStatus.QUEUED, Job.run_after < cutoff):
                    log.warning("job %s: delivery lost; delivering again", job_id)
                    self.queue.submit(job_id)
                    recovered.append(job_id)
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

    # -- worker lifecycle (see .workers) ----------------------------------------------

    def maintain(self) -> None:
        """What a worker process does every ``heartbeat_s``: heartbeats, recovery, and the
        periodic jobs that are due."""
        self.heartbeat()
        self.recover()
        self.schedules.check(time.monotonic())

    def start_workers(self, workers: int | None = None) -> None:
        self.workers.start(self.settings.workers if workers is None else workers)

    def stop_workers(self, timeout_s: float = 30.0) -> None:
        self.workers.stop(timeout_s)
