"""Background jobs: embedded pool, retries, recovery after a crash, Redis workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from flask import Flask
from sqlalchemy import select, update

from merchant_voice.errors import UnknownJobKind, ValidationFailed
from merchant_voice.orm import utcnow
from models.job import Job, JobStatus
from tests.conftest import ROOT, Shop, app_config, make_shop, new_database
from tests.plugins.notes.models import Note


def wait_for(check: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def job_row(app: Flask, job_id: str) -> Job:
    with app.extensions["db"].host_session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def wait_finished(app: Flask, job_id: str, timeout: float = 30.0) -> Job:
    return wait_for(
        lambda: (job := job_row(app, job_id)).status.finished and job, timeout, f"job {job_id}"
    )


def enqueue(app: Flask, shop: Shop, kind: str, payload: dict[str, Any] | None = None) -> str:
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        job = app.extensions["jobs"].enqueue(session, kind, payload)
        session.commit()
        return job.id


def texts(app: Flask, shop: Shop) -> list[str]:
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        return list(session.scalars(select(Note.text).order_by(Note.id)))


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite unless a test asks for more (indirect parametrization)."""
    yield from new_database(getattr(request, "param", "sqlite"), request, tmp_path)


@pytest.fixture
def running(app: Flask) -> Flask:
    app.extensions["jobs"].start_workers()
    return app


def test_job_runs_in_the_embedded_pool(running: Flask, shop_a: Shop) -> None:
    job_id = enqueue(running, shop_a, "notes.count")
    job = wait_finished(running, job_id)
    assert job.status is JobStatus.SUCCEEDED
    assert job.result == {"notes": 1}
    assert (job.progress, job.attempts, job.error) == (1.0, 1, None)
    assert job.merchant_id == shop_a.id
    body = running.test_client().get(f"/api/v1/jobs/{job_id}", headers=shop_a.headers).get_json()
    assert body["status"] == "succeeded" and body["result"] == {"notes": 1}


def test_failed_attempt_is_rolled_back_and_retried(running: Flask, shop_a: Shop) -> None:
    job = wait_finished(running, enqueue(running, shop_a, "notes.fail_once"))
    assert job.status is JobStatus.SUCCEEDED
    assert (job.attempts, job.result) == (2, {"attempt": 2})
    assert "attempt 2" in texts(running, shop_a)
    assert "attempt 1" not in texts(running, shop_a)


def test_job_fails_for_good_after_its_attempts(
    running: Flask, shop_a: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    job = wait_finished(running, enqueue(running, shop_a, "notes.always_fail"))
    assert job.status is JobStatus.FAILED
    assert (job.attempts, job.max_attempts) == (2, 2)
    # The merchant reads a sentence; the exception itself is in the log.
    assert job.error == (
        "The job stopped on an unexpected error (ValueError). "
        f"Details are in the host's log under job {job.id}."
    )
    assert any("attempt 2 failed" in str(r.exc_info) for r in caplog.records if r.exc_info)
    # The job_finished hook runs once the final state is stored.
    wait_for(lambda: texts(running, shop_a)[-1] == "job notes.always_fail failed", 10, "hook")


def test_bad_input_fails_at_once_without_retries(app: Flask, shop_a: Shop) -> None:
    job_id = enqueue(app, shop_a, "notes.bad_input")
    app.extensions["jobs"].run(job_id)
    row = job_row(app, job_id)
    assert (row.status, row.attempts) == (JobStatus.FAILED, 1)
    assert row.error == "the uploaded file is not a notes file"


def test_progress_while_holding_the_write_lock(running: Flask, shop_a: Shop) -> None:
    job = wait_finished(running, enqueue(running, shop_a, "notes.write_then_progress"), 60)
    assert job.status is JobStatus.SUCCEEDED and job.attempts == 1, job.error


def test_progress_is_stored_by_the_heartbeat(running: Flask, shop_a: Shop) -> None:
    job_id = enqueue(running, shop_a, "notes.slow", {"seconds": 2})
    seen = wait_for(lambda: job_row(running, job_id).progress_message == "sleeping", 10, "progress")
    assert seen and job_row(running, job_id).progress == pytest.approx(0.1)
    assert wait_finished(running, job_id).status is JobStatus.SUCCEEDED


def test_a_job_shows_what_it_waits_for_and_when_it_should_finish(
    running: Flask, shop_a: Shop
) -> None:
    client = running.test_client()
    job_id = enqueue(running, shop_a, "notes.slow", {"seconds": 6, "waits": 3})
    told = wait_for(
        lambda: job_row(running, job_id).progress_message == "waiting for the tea to brew",
        10,
        "the waiting message",
    )
    assert told and job_row(running, job_id).progress == pytest.approx(0.1)  # kept
    assert wait_for(lambda: job_row(running, job_id).progress_message == "sleeping", 10, "back")
    shown = client.get(f"/api/v1/jobs/{job_id}", headers=shop_a.headers).get_json()
    started = datetime.fromisoformat(shown["started_at"])
    finish = datetime.fromisoformat(shown["expected_finish_at"])
    assert finish - started >= 9 * (datetime.now(UTC) - started) * 0.9  # 10% done so far
    assert wait_finished(running, job_id).status is JobStatus.SUCCEEDED
    done = client.get(f"/api/v1/jobs/{job_id}", headers=shop_a.headers).get_json()
    assert done["expected_finish_at"] is None


def _stale(app: Flask, job_id: str) -> None:
    with app.extensions["db"].host_transaction() as session:
        session.execute(
            update(Job).where(Job.id == job_id).values(heartbeat_at=utcnow() - timedelta(hours=1))
        )


def test_a_worker_given_up_on_cannot_overwrite_the_next_attempt(app: Flask, shop_a: Shop) -> None:
    jobs = app.extensions["jobs"]
    job_id = enqueue(app, shop_a, "notes.count")
    first = jobs._claim(job_id)
    assert first is not None and first.attempts == 1
    _stale(app, job_id)
    assert jobs.recover() == [job_id]  # attempt 1 is given up and retried
    second = jobs._claim(job_id)
    assert second is not None and second.attempts == 2
    jobs._attempt_failed(first, "late failure of attempt 1")  # the old worker wakes up
    assert not jobs.finish(job_id, JobStatus.SUCCEEDED, Job.attempts == 1, result={})
    row = job_row(app, job_id)
    assert (row.status, row.attempts, row.error) == (JobStatus.RUNNING, 2, None)


def test_a_silent_last_attempt_fails_the_job(app: Flask, shop_a: Shop) -> None:
    jobs = app.extensions["jobs"]
    job_id = enqueue(app, shop_a, "notes.always_fail")  # max_attempts=2
    jobs._claim(job_id)
    _stale(app, job_id)
    jobs.recover()
    jobs._claim(job_id)
    _stale(app, job_id)
    assert jobs.recover() == [job_id]
    row = job_row(app, job_id)
    assert row.status is JobStatus.FAILED and "no attempts left" in (row.error or "")


def _undelivered_job(app: Flask, shop: Shop, due_in: timedelta) -> str:
    """A queued job row whose delivery never reached the queue."""
    with app.extensions["db"].host_transaction() as session:
        job = Job(
            kind="notes.count", merchant_id=shop.id, max_attempts=3, run_after=utcnow() + due_in
        )
        session.add(job)
    return job.id


def test_a_retry_is_not_run_before_it_is_due(app: Flask, shop_a: Shop) -> None:
    job_id = _undelivered_job(app, shop_a, timedelta(hours=1))
    app.extensions["jobs"].run(job_id)  # an early, duplicate delivery
    row = job_row(app, job_id)
    assert (row.status, row.attempts) == (JobStatus.QUEUED, 0)


def test_a_rolled_back_request_leaves_no_job(app: Flask, shop_a: Shop) -> None:
    jobs = app.extensions["jobs"]
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        jobs.enqueue(session, "notes.count")
        session.rollback()
    with app.extensions["db"].host_session() as session:
        assert session.scalars(select(Job)).all() == []
    assert jobs.queue.pending() == 0


def test_bad_jobs_are_refused(app: Flask, shop_a: Shop) -> None:
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        with pytest.raises(UnknownJobKind, match=r"no job kind 'notes\.nope'"):
            app.extensions["jobs"].enqueue(session, "notes.nope")
        with pytest.raises(ValidationFailed, match="payload"):
            app.extensions["jobs"].enqueue(session, "notes.count", {"when": object()})


def test_lost_delivery_is_recovered(app: Flask, shop_a: Shop) -> None:
    job_id = _undelivered_job(app, shop_a, -timedelta(minutes=5))
    app.extensions["jobs"].start_workers()
    assert wait_finished(app, job_id).status is JobStatus.SUCCEEDED


def _worker(config: dict[str, Any], tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    path = tmp_path / f"{name}.toml"
    path.write_text(tomli_w.dumps(config))
    log = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "worker", "--threads", "2"],
        cwd=ROOT,
        env={**os.environ, "MV_CONFIG": str(path)},
        stdout=log,
        stderr=log,
    )


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def test_jobs_survive_a_crashed_worker(
    make_app: Callable[..., Flask],
    database_url: str,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    sections = {"jobs": {"stale_after_s": 2.0, "heartbeat_s": 0.5}}
    app = make_app(database_url, **sections)  # this process only enqueues
    shop = make_shop(app, "crash-shop")
    config = app_config(tmp_path, database_url, **sections)
    workers.append(_worker(config, tmp_path, "first"))
    job_id = enqueue(app, shop, "notes.slow", {"seconds": 3})
    running = wait_for(lambda: job_row(app, job_id).status is JobStatus.RUNNING, 60, "first run")
    assert running
    workers[0].kill()  # SIGKILL: no chance to clean up, as in a power cut
    workers[0].wait()
    assert job_row(app, job_id).status is JobStatus.RUNNING  # stranded, for now
    workers.append(_worker(config, tmp_path, "second"))
    job = wait_finished(app, job_id, timeout=60)
    assert job.status is JobStatus.SUCCEEDED
    assert job.attempts == 2 and job.result == {"slept": 3, "attempt": 2}


@pytest.mark.redis
@pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)
def test_redis_workers_on_other_processes_run_the_jobs(
    make_app: Callable[..., Flask],
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    queue = f"mv-test-{uuid.uuid4().hex[:8]}"
    sections = {"jobs": {"backend": "redis", "redis_url": redis_url, "queue_name": queue}}
    app = make_app(database_url, **sections)
    shop = make_shop(app, "redis-shop")
    job_ids = [enqueue(app, shop, "notes.count") for _ in range(3)]
    assert app.extensions["jobs"].queue.pending() == 3  # nobody in this process runs them
    workers.append(_worker(app_config(tmp_path, database_url, **sections), tmp_path, "remote"))
    for job_id in job_ids:
        job = wait_finished(app, job_id, timeout=60)
        assert job.status is JobStatus.SUCCEEDED and job.result["notes"] >= 1  # type: ignore[index]
    assert app.extensions["jobs"].queue.pending() == 0
    app.extensions["jobs"].queue.huey.storage.flush_all()
