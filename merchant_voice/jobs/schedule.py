"""Periodic jobs: kinds registered with ``every=`` are queued by the host itself.

Each process with job workers checks about once a minute (from the maintenance
thread) which (kind, merchant) pairs are due. A pair is claimed with a
conditional update of its ``job_schedules`` row - or the insert of its first
row - so however many processes check, one job is queued per period. Only
merchants that have the kind's plugin enabled get it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from merchant_voice.db import Database
from merchant_voice.job_kinds import JobKinds
from merchant_voice.orm import utcnow
from merchant_voice.plugin_manager import PluginManager
from merchant_voice.tenancy import TenantSession
from models.job import Job, JobSchedule
from models.merchant import Merchant

log = logging.getLogger(__name__)

CHECK_EVERY_S = 60.0


Enqueue = Callable[[TenantSession, str], Job]


class Schedules:
    def __init__(
        self, registry: JobKinds, db: Database, plugins: PluginManager, enqueue: Enqueue
    ) -> None:
        self.registry = registry
        self.db = db
        self.plugins = plugins
        self.enqueue = enqueue
        self._checked_at = 0.0

    def check(self, now_s: float) -> list[str]:
        """Queue what is due, at most once per ``CHECK_EVERY_S``; returns the new job ids."""
        if now_s - self._checked_at < CHECK_EVERY_S:
            return []
        self._checked_at = now_s
        return self.run_due()

    def run_due(self) -> list[str]:
        registry, db = self.registry, self.db
        periodic = [registry.get(kind) for kind in registry.kinds() if registry.get(kind).every]
        if not periodic:
            return []
        with db.host_session() as session:
            merchants = [m.info() for m in session.scalars(select(Merchant))]
        queued = []
        for kind in periodic:
            assert kind.every is not None
            plugin = kind.plugin
            for merchant in merchants:
                with db.tenant_session(merchant) as tenant:
                    enabled = self.plugins.is_enabled(tenant, plugin)
                    tenant.rollback()  # end this read before the claim writes (SQLite)
                    if not enabled or not self._claim(kind.name, merchant.id, kind.every):
                        continue
                    try:
                        job = self.enqueue(tenant, kind.name)
                        tenant.commit()
                    except Exception:  # give the period back: the next check tries again
                        log.exception("could not queue %s for %s", kind.name, merchant.slug)
                        self._release(kind.name, merchant.id)
                        continue
                    queued.append(job.id)
                    log.info("queued periodic job %s for %s", kind.name, merchant.slug)
        return queued

    def _release(self, kind: str, merchant_id: int) -> None:
        with self.db.host_transaction() as session:
            session.execute(
                update(JobSchedule)
                .where(JobSchedule.kind == kind, JobSchedule.merchant_id == merchant_id)
                .values(next_run_at=utcnow())
                .execution_options(synchronize_session=False)
            )

    def _claim(self, kind: str, merchant_id: int, every: timedelta) -> bool:
        now: datetime = utcnow()
        try:
            with self.db.host_transaction() as session:
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
