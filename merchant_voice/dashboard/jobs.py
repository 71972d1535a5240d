"""The jobs page: the merchant's background jobs, their progress updated in place."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from merchant_voice.dashboard.pages import dashboard_view
from merchant_voice.web.api import tenant_session
from models import Job, JobStatus, Role

PAGE_SIZE = 50
MAX_WATCHED = 100  # ids one status request may ask for

bp = Blueprint("dashboard_jobs", __name__, url_prefix="/dashboard/jobs")

STATUS_NAMES = {
    JobStatus.QUEUED.value: _l("Queued"),
    JobStatus.RUNNING.value: _l("Running"),
    JobStatus.SUCCEEDED.value: _l("Done"),
    JobStatus.FAILED.value: _l("Failed"),
}


@bp.get("/")
@dashboard_view(roles=(Role.OWNER.value,))
def jobs() -> ResponseReturnValue:
    session = tenant_session()
    total = session.scalar(select(func.count(Job.id))) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    rows = session.scalars(
        select(Job)
        .order_by(Job.created_at.desc(), Job.id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return render_template(
        "dashboard/jobs.html", jobs=rows, page=page, pages=pages, status_names=STATUS_NAMES
    )


@bp.get("/status")
@dashboard_view(roles=(Role.OWNER.value,))
def status() -> ResponseReturnValue:
    """``?ids=a,b``: those of the merchant's jobs, as the page's script refreshes them."""
    wanted = [i for i in request.args.get("ids", "").split(",") if i.isalnum()][:MAX_WATCHED]
    found = tenant_session().scalars(select(Job).where(Job.id.in_(wanted))).all() if wanted else []
    return jsonify(
        {
            job.id: {
                "status": job.status.value,
                "status_name": str(STATUS_NAMES[job.status.value]),
                "progress": round(job.progress, 4),
                "message": job.error or job.progress_message,
                "finished": job.status.finished,
            }
            for job in found
        }
    )
