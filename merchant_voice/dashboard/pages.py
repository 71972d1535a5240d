"""The dashboard's pages, the host's and the plugins': how a view becomes one.

A plugin adds a page with a Flask blueprint of its own (``/dashboard/<plugin>/...``), a
view decorated with :func:`dashboard_view`, a template that extends
``dashboard/page.html``, and a :class:`DashboardPage` from its ``dashboard_pages`` hook,
which puts the page in the navigation of the merchants that enabled the plugin.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from flask import current_app, g, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.routing import BuildError

from merchant_voice import extensions
from merchant_voice.dashboard_page import EVERYONE, DashboardPage
from merchant_voice.errors import ClientError
from merchant_voice.web import security
from merchant_voice.web.api import WRITE_METHODS, tenant_session
from models import Role

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., ResponseReturnValue])

POLICY = {  # the host's, opened to scripts and styles from the host alone: none inline
    **security.POLICY,
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "media-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
}


def with_policy(view: F) -> F:
    """The dashboard's Content-Security-Policy on ``view``'s answers (Flask-Talisman)."""
    view.talisman_view_options = {"content_security_policy": POLICY}  # type: ignore[attr-defined]
    return view


def dashboard_view(plugin: str | None = None, roles: Iterable[str] = EVERYONE) -> Callable[[F], F]:
    """Make ``view`` a dashboard page: a signed-in user (else to sign-in) of a role in
    ``roles`` (else 403), ``plugin`` enabled for their merchant (else 404), the form's CSRF
    token on a write (else 400). The user's merchant is the request's:
    ``tenant_session()``, ``current_merchant()`` and ``current_settings()`` work as in the
    API. A ``ClientError`` the view raises (``get_or_404``...) is a page saying why."""
    allowed = frozenset(roles)

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def page(**arguments: Any) -> ResponseReturnValue:
            if not current_user.is_authenticated:
                if request.accept_mimetypes.best == "application/json":  # a page's script
                    return {"error": "signed out"}, 401
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined,no-any-return]
            if (refusal := unprotected_write()) is not None:
                return refusal
            if current_user.role.value not in allowed:
                return refused(403, _("Your role does not open this page."))
            g.merchant = current_user.merchant
            if plugin is not None:
                manager = extensions.plugin_manager()
                session = tenant_session()
                enabled = manager.is_enabled(session, plugin)
                if request.method in WRITE_METHODS:  # a writer takes SQLite's lock at the
                    session.rollback()  # view's first statement, not for this read
                if not enabled:
                    return refused(404, _("This page is not part of your dashboard."))
            try:
                return view(**arguments)
            except ClientError as error:
                return refused(error.status, error.detail)

        return cast(F, with_policy(page))

    return decorator


def refused(status: int, message: str) -> ResponseReturnValue:
    return render_template("dashboard/error.html", message=message), status


def unprotected_write() -> ResponseReturnValue | None:
    """The page refusing a write (POST, PUT, PATCH, DELETE) that lacks this session's CSRF
    token (Flask-WTF), 400; None for a read or a protected write."""
    if request.method not in WRITE_METHODS:
        return None
    try:
        current_app.extensions["csrf"].protect()
    except CSRFError as error:
        log.info("dashboard write refused: %s", error.description)
        message = _("The form had expired or was not sent from this dashboard. Please try again.")
        return refused(400, message)
    return None


def navigation() -> list[tuple[str, str, bool]]:
    """(title, URL, current) of each page the signed-in user sees: the overview, then the
    pages of their merchant's plugins, in order."""
    if not current_user.is_authenticated:
        return []
    g.merchant = current_user.merchant
    pages = [
        DashboardPage("dashboard.overview", _l("Overview"), order=0),
        DashboardPage("dashboard_jobs.jobs", _l("Jobs"), roles=(Role.OWNER.value,), order=90),
    ]
    for contribution in extensions.plugin_manager().contributions(
        "dashboard_pages", tenant_session()
    ):
        pages += [p for p in contribution.value if isinstance(p, DashboardPage)]
    role = current_user.role.value
    shown = sorted((p for p in pages if role in p.roles), key=lambda p: (p.order, str(p.title)))
    entries = []
    for page in shown:
        try:
            url = url_for(page.endpoint)
        except BuildError:  # a plugin's mistake costs its entry, not the dashboard
            log.error("dashboard page %r names no view; left out", page.endpoint)
            continue
        entries.append((str(page.title), url, request.endpoint == page.endpoint))
    return entries
