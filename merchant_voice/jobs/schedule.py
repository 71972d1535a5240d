"""Periodic jobs: kinds registered with ``every=`` are queued by the host itself.

Each process with job workers checks about once a minute (from the maintenance
thread) which (kind, merchant) pairs are due. A pair is claimed with a
conditional update of its ``job_schedules`` row - or the insert of its first
row - so however many processes check, one job is queued per period. Only
merchants that have the kind's plugin enabled get it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from merchant_voice import plugin_state
from merchant_voice.db import utcnow
from models.job import JobSchedule
from models.merchant import Merchant

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from merchant_voice.jobs.service import JobService

log = logging.getLogger(__name__)

CHECK_EVERY_S = 60.0


class Schedules:
    def __init__(self, service: JobService) -> None:
        self.service = service
        self._checked_at = 0.0

    def check(self, now_s: float) -> list[str]:
        """Queue what is due, at most once per ``CHECK_EVERY_S``; returns the new job ids."""
        if now_s - self._checked_at < CHECK_EVERY_S:
            return []
        self._checked_at = now_s
        return self.run_due()

    def run_due(self) -> list[str]:
        registry, db = self.service.registry, self.service.db
        periodic = [registry.get(kind) for kind in registry.kinds() if registry.get(kind).every]
        if not periodic:
            return []
        with db.host_session() as session:
            merchants = [m.info() for m in session.scalars(select(Merchant))]
        queued = []
        for kind in periodic:
            assert kind.every is not None
            plugin = kind.name.split(".", 1)[0]
            for merchant in merchants:
                with db.tenant_session(merchant) as tenant:
                    enabled = plugin_state.is_enabled(self.service.plugins, tenant, plugin)
                    tenant.rollback()  # end this read before the claim writes (SQLite)
                    if not enabled or not self._claim(kind.name, merchant.id, kind.every):
                        continue
                    try:
                        job = self.service.enqueue(tenant, kind.name)
                        tenant.commit()
                    except Exception:  # give the period back: the next check tries again
                        log.exception("could not queue %s for %s", kind.name, merchant.slug)
                        self._release(kind.name, merchant.id)
                        continue
                    queued.append(job.id)
                    log.info("queued periodic job %s for %s", kind.name, merchant.slug)
        return queued

    def _release(self, kind: str, merchant_id: int) -> None:
        with self.service.db.host_transaction() as session:
            session.execute(
                update(JobSchedule)
                .where(JobSchedule.kind == kind, JobSchedule.merchant_id == merchant_id)
                .values(next_run_at=utcnow())
                .execution_options(synchronize_session=False)
            )

    def _claim(self, kind: str, merchant_id: int, every: timedelta) -> bool:
        now: datetime = utcnow()
        try:
            with self.service.db.host_transaction() as session:
                row = session.scalars(
                    select(JobSchedule).where(
                        JobSchedule.kind == kind, JobSchedule.merchant_id == merchant_id
                    )
                ).first()
                if row is None:
                    session.add(
                        JobSchedule(kind=kind, merchant_id=merchant_id, next_run_at=now + every)
                    )
                    session.flush()
                    return True
                if row.next_run_at > now:
                    return False
                claimed = session.execute(
                    update(JobSchedule)
                    .where(JobSchedule.id == row.id, JobSchedule.next_run_at == row.next_run_at)
                    .values(next_run_at=now + every)
                    .execution_options(synchronize_session=False)
                )
                return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]
        except (IntegrityError, OperationalError):  # another process claimed it first
            return False
