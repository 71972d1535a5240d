"""The jobs page: the merchant's background jobs, their progress updated in place."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_timedelta
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from merchant_voice.dashboard.pages import dashboard_view, pager
from merchant_voice.orm import utcnow
from merchant_voice.web.api import tenant_session
from models import Job, JobStatus, Role

PAGE_SIZE = 50
MAX_WATCHED = 100  # ids one status request may ask for
AGENTS_WATCH = ("catalog.import",)  # the jobs an agent starts (and watches) from its pages

bp = Blueprint("dashboard_jobs", __name__, url_prefix="/dashboard/jobs")

STATUS_NAMES = {
    JobStatus.QUEUED.value: _l("Queued"),
    JobStatus.RUNNING.value: _l("Running"),
    JobStatus.SUCCEEDED.value: _l("Done"),
    JobStatus.FAILED.value: _l("Failed"),
}


def time_left(job: Job) -> str:
    """A running job's expected time to finish, in the merchant's language ("" if unknown)."""
    finish = job.expected_finish_at
    if finish is None:
        return ""
    return str(format_timedelta(max(finish - utcnow(), timedelta(seconds=1)), threshold=1.5))


@bp.get("/")
@dashboard_view(roles=(Role.OWNER.value,))
def jobs() -> ResponseReturnValue:
    session = tenant_session()
    paging = pager(session.scalar(select(func.count(Job.id))) or 0, PAGE_SIZE)
    rows = session.scalars(
        select(Job).order_by(Job.created_at.desc(), Job.id).limit(paging.size).offset(paging.offset)
    ).all()
    return render_template(
        "dashboard/jobs.html",
        jobs=rows,
        pager=paging,
        status_names=STATUS_NAMES,
        time_left=time_left,
    )


@bp.get("/status")
@dashboard_view()
def status() -> ResponseReturnValue:
    """``?ids=a,b``: those of the merchant's jobs, as the pages' script refreshes them: any
    job for an owner (the jobs page), an import for an agent (an import's page)."""
    wanted = [i for i in request.args.get("ids", "").split(",") if i.isalnum()][:MAX_WATCHED]
    shown = [Job.id.in_(wanted)]
    if current_user.role != Role.OWNER:  # an agent watches catalog imports, not every job
        shown.append(Job.kind.in_(AGENTS_WATCH))
    found = tenant_session().scalars(select(Job).where(*shown)).all() if wanted else []
    return jsonify(
        {
            job.id: {
                "status": job.status.value,
                "status_name": str(STATUS_NAMES[job.status.value]),
                "progress": round(job.progress, 4),
                "message": job.error or job.progress_message,
                "time_left": time_left(job),
                "finished": job.status.finished,
            }
            for job in found
        }
    )
