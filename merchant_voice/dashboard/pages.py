"""The dashboard's pages, the host's and the plugins': how a view becomes one.

A plugin adds a page with a Flask blueprint of its own (``/dashboard/<plugin>/...``), a
view decorated with :func:`dashboard_view`, a template that extends
``dashboard/page.html``, and a :class:`DashboardPage` from its ``dashboard_pages`` hook,
which puts the page in the navigation of the merchants that enabled the plugin.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from flask import current_app, g, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from merchant_voice import extensions
from merchant_voice.dashboard_page import EVERYONE, DashboardPage
from merchant_voice.errors import ClientError
from merchant_voice.web.api import tenant_session
from models import Role

F = TypeVar("F", bound=Callable[..., ResponseReturnValue])

POLICY = {  # scripts and styles from the host alone: none inline
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "media-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
}
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


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
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined,no-any-return]
            if request.method in WRITES:
                current_app.extensions["csrf"].protect()
            if current_user.role.value not in allowed:
                return refused(403, _("Your role does not open this page."))
            g.merchant = current_user.merchant
            if plugin is not None:
                manager = extensions.plugin_manager()
                if not manager.is_enabled(tenant_session(), plugin):
                    return refused(404, _("This page is not part of your dashboard."))
            try:
                return view(**arguments)
            except ClientError as error:
                return refused(error.status, error.detail)

        return cast(F, with_policy(page))

    return decorator


def refused(status: int, message: str) -> ResponseReturnValue:
    return render_template("dashboard/error.html", message=message), status


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
    return [(str(p.title), url_for(p.endpoint), request.endpoint == p.endpoint) for p in shown]
