"""The dashboard's pages: signing in and out, and the overview.

Every write (POST) needs the form's CSRF token (Flask-WTF): without it, 400.
"""

from __future__ import annotations

import logging
import time
from typing import cast
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from engines import EngineStatus
from merchant_voice import extensions
from merchant_voice.dashboard import auth
from merchant_voice.dashboard.pages import (
    dashboard_view,
    page_panels,
    unprotected_write,
    with_policy,
)
from merchant_voice.dashboard_page import OVERVIEW
from merchant_voice.web.api import tenant_session
from models import Job, JobStatus, Role

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
)

log = logging.getLogger(__name__)


class LoginForm(FlaskForm):
    email = StringField(_l("E-mail"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1000)])


class LogoutForm(FlaskForm):
    pass


ROLE_NAMES = {Role.OWNER: _l("owner"), Role.AGENT: _l("agent")}


@bp.app_context_processor
def _page() -> dict[str, object]:
    """What every dashboard template may use, the plugins' included."""
    return {
        "lang": str(get_locale()).replace("_", "-"),
        "role_names": ROLE_NAMES,
        "user": current_user,
        "logout": LogoutForm,
    }


@bp.before_request
def _writes_need_the_token() -> ResponseReturnValue | None:
    return unprotected_write()


@bp.errorhandler(429)
def _too_many(_error: Exception) -> ResponseReturnValue:
    message = _("Too many sign-in attempts. Wait a minute and try again.")
    return render_template("dashboard/login.html", form=LoginForm(), error=message), 429


@bp.route("/login", methods=["GET", "POST"])
@with_policy
def login() -> ResponseReturnValue:
    form = LoginForm()
    if form.validate_on_submit():
        user = auth.authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            session.clear()  # nothing of the signed-out visit carries over
            session.permanent = True
            session[auth.SIGNED_IN_AT] = int(time.time())
            login_user(user)
            return redirect(_next_page())
        return render_template(
            "dashboard/login.html", form=form, error=_("Wrong e-mail or password.")
        ), 401
    status = 400 if form.errors else 200
    return render_template("dashboard/login.html", form=form, error=None), status


@bp.post("/logout")
@with_policy
def logout() -> ResponseReturnValue:
    logout_user()
    session.clear()
    return redirect(url_for(".login"))


@bp.get("/")
@dashboard_view()
def overview() -> ResponseReturnValue:
    """The merchant's day at a glance: its plugins' panels (calls...), running jobs, and
    the engines' health."""
    unfinished = (JobStatus.QUEUED, JobStatus.RUNNING)
    running = tenant_session().scalar(select(func.count(Job.id)).where(Job.status.in_(unfinished)))
    owner = current_user.role == Role.OWNER  # the host's engines are the owners' concern
    return render_template(
        "dashboard/overview.html",
        panels=page_panels(OVERVIEW),
        running_jobs=running or 0,
        engines=engine_health() if owner else None,
    )


ENGINES_TTL_S = 10.0  # the engines' health is probed at most this often per process


def engine_health() -> list[EngineStatus]:
    """The engines' health (``engines status``), probed again after ``ENGINES_TTL_S``: a
    busy overview does not probe the chat servers on every view."""
    seen = current_app.extensions.setdefault("dashboard.engines", {})
    if time.monotonic() - seen.get("at", float("-inf")) > ENGINES_TTL_S:
        seen.update(at=time.monotonic(), statuses=extensions.engines().status())
    return cast(list[EngineStatus], seen["statuses"])


def _next_page() -> str:
    """Where the sign-in was asked from: a dashboard page of this host, never elsewhere."""
    wanted = request.args.get("next", "")
    parts = urlsplit(wanted)
    if parts.scheme or parts.netloc or not parts.path.startswith("/dashboard/"):
        return url_for(".overview")
    return wanted
