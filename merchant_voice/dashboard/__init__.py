"""The merchants' web dashboard, under ``/dashboard``: server-rendered pages, signed in.

- sessions: Flask-Login, the cookie Secure (``[dashboard] secure_cookies``), HttpOnly
  and SameSite=Lax, lasting ``session_hours``; a password reset ends them;
- forms: Flask-WTF, a CSRF token on every one, every write refused without it;
- sign-in attempts: Flask-Limiter, ``login_limit`` per client address and e-mail;
- its own Content-Security-Policy: scripts and styles from the host alone, none inline;
- pages of plugins, in its navigation (``pages.py``: the ``dashboard_pages`` hook);
- its language: Flask-Babel, the user's choice, else the browser's (``i18n.py``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from flask import Flask, request
from flask.typing import RouteCallable
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from merchant_voice.config import Settings
from merchant_voice.dashboard import account, auth, i18n, jobs, pages, plugins_page
from merchant_voice.dashboard.views import bp


def _attempt_key() -> str:
    """Sign-in attempts count per client address and e-mail: behind a proxy, where every
    request comes from its address, each account is still guarded on its own."""
    email = request.form.get("email", "").strip().lower()[:320]
    return f"{get_remote_address()}|{email}"


def init_app(app: Flask, settings: Settings) -> None:
    options = settings.dashboard
    app.config.update(
        SESSION_COOKIE_NAME="mv_session",
        SESSION_COOKIE_SECURE=options.secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=options.session_hours),
        WTF_CSRF_CHECK_DEFAULT=False,  # the dashboard checks its own writes (pages.py)
        WTF_CSRF_TIME_LIMIT=None,  # a token lasts as long as the session
        # The token and SameSite=Lax guard writes; browsers send no Referer to check
        # (Referrer-Policy: no-referrer), so HTTPS must not demand one.
        WTF_CSRF_SSL_STRICT=False,
    )
    app.extensions["csrf"] = CSRFProtect(app)
    login = LoginManager(app)
    login.login_view = "dashboard.login"
    login.session_protection = "strong"
    login.user_loader(auth.load_user)
    login.login_message = None  # nothing flashed into the cookie (no page shows it)
    i18n.init_app(app, app.extensions["plugins"])
    app.register_blueprint(bp)
    app.register_blueprint(jobs.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(plugins_page.bp)
    limiter = Limiter(
        _attempt_key,
        app=app,
        storage_uri=options.limits_storage,
        key_prefix="mv-dashboard",
        default_limits=[],
    )
    attempts = limiter.limit(options.login_limit, methods=["POST"])  # this app's own counts
    app.view_functions["dashboard.login"] = cast(
        "RouteCallable", attempts(app.view_functions["dashboard.login"])
    )
    app.after_request(pages.problems_as_pages)
    app.jinja_env.globals.update(
        navigation=pages.navigation,
        page_url=pages.page_url,
        can_open=pages.can_open,
        draw_panel=pages.draw_panel,
    )
