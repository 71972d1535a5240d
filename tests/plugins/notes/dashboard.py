"""The notes plugin's dashboard page: the merchant's notes, for owners."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from merchant_voice.plugin_api import dashboard_view, tenant_session
from tests.plugins.notes.models import Note

bp = Blueprint("notes_dashboard", __name__, url_prefix="/dashboard/notes")


@bp.get("/")
@dashboard_view("notes", roles=("owner",))
def notes() -> str:
    texts = tenant_session().scalars(select(Note.text).order_by(Note.id)).all()
    return render_template("notes/dashboard.html", texts=texts)
