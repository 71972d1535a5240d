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
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from flask import Response, current_app, g, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import Markup

from merchant_voice import extensions
from merchant_voice.dashboard_page import EVERYONE, PLACES, DashboardPage, DashboardPanel
from merchant_voice.errors import ClientError
from merchant_voice.web import security
from merchant_voice.web.api import WRITE_METHODS, tenant_session

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

        page.dashboard_roles = allowed  # type: ignore[attr-defined]  # for navigation()
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


def roles_of(endpoint: str) -> frozenset[str]:
    """The roles ``dashboard_view`` opens ``endpoint``'s view to (none: not such a view)."""
    view = current_app.view_functions.get(endpoint)
    return cast(frozenset[str], getattr(view, "dashboard_roles", frozenset()))


def can_open(endpoint: str) -> bool:
    """Whether the signed-in user's role opens ``endpoint``'s page (for templates)."""
    return current_user.is_authenticated and current_user.role.value in roles_of(endpoint)


def navigation() -> list[tuple[str, str, bool]]:
    """(title, URL, current) of each page the signed-in user's role opens: the overview,
    then the pages of their merchant's plugins, in order."""
    if not current_user.is_authenticated:
        return []
    g.merchant = current_user.merchant
    pages = [
        DashboardPage("dashboard.overview", _l("Overview"), order=0),
        DashboardPage("dashboard_jobs.jobs", _l("Jobs"), order=80),
        *ACCOUNT_PAGES,
    ]
    for contribution in extensions.plugin_manager().contributions(
        "dashboard_pages", tenant_session()
    ):
        pages += [p for p in contribution.value if isinstance(p, DashboardPage)]
    entries = []
    for page in sorted(pages, key=lambda p: (p.order, str(p.title))):
        if page.endpoint not in current_app.view_functions:  # a plugin's mistake costs its
            log.error("dashboard page %r names no view; left out", page.endpoint)  # entry
            continue
        if can_open(page.endpoint):
            entries.append(
                (str(page.title), url_for(page.endpoint), request.endpoint == page.endpoint)
            )
    return entries


ACCOUNT_PAGES = (  # the host's owner pages (account.py, plugins_page.py)
    DashboardPage("dashboard_account.settings", _l("Settings"), order=90),
    DashboardPage("dashboard_plugins.plugins", _l("Plugins"), order=91),
    DashboardPage("dashboard_account.api_keys", _l("API keys"), order=92),
    DashboardPage("dashboard_account.credentials", _l("Credentials"), order=93),
)


def page_panels(place: str, subject: int | None = None) -> list[DashboardPanel]:
    """The panels the merchant's plugins add to ``place`` (``overview``, ``listing``,
    ``settings``) about ``subject``, for the signed-in user's role, in order (the
    ``dashboard_panels`` hook)."""
    if place not in PLACES:
        raise ValueError(f"no dashboard place {place!r}; one of {sorted(PLACES)}")
    found: list[DashboardPanel] = []
    for contribution in extensions.plugin_manager().contributions(
        "dashboard_panels", tenant_session(), place=place, subject=subject
    ):
        found += [p for p in contribution.value if isinstance(p, DashboardPanel)]
    role = current_user.role.value
    return sorted((p for p in found if role in p.roles), key=lambda p: p.order)


@dataclass(frozen=True)
class Pager:
    """One page of a list paged in SQL: ``query.limit(pager.size).offset(pager.offset)``."""

    page: int
    pages: int
    total: int
    size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def pager(total: int, size: int = 50) -> Pager:
    """The page of ``total`` rows the request asks for (``?page=``), kept within range."""
    pages = max(1, -(-total // size))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    return Pager(page, pages, total, size)


def page_url(page: int) -> str:
    """This page's URL, its query kept, at page ``page`` of its list (for templates).
    Arguments ``url_for`` would read as its own (``_external``...) are not passed on."""
    query = {k: v for k, v in request.args.to_dict(flat=False).items() if not k.startswith("_")}
    arguments = {**query, **(request.view_args or {}), "page": page}
    return url_for(cast(str, request.endpoint), **arguments)


def draw_panel(panel: DashboardPanel) -> Markup:
    """A panel's section drawn by its plugin's template; a template that fails costs its
    panel (logged), not the page (for ``panel_sections``)."""
    try:
        return Markup(render_template(panel.template, values=panel.values))
    except Exception:
        log.exception(
            "dashboard panel %r (%s) failed to draw; left out", panel.title, panel.template
        )
        return Markup("")


PROBLEM = "application/problem+json"


def problems_as_pages(response: Response) -> Response:
    """An error answered in the host's problem+json (a URL no view takes, a body too
    large, an unexpected failure) becomes, on a dashboard page, a page saying so; a page's
    script asking for JSON still gets the problem."""
    wanted = request.accept_mimetypes.best == "application/json"
    if not request.path.startswith("/dashboard/") or response.mimetype != PROBLEM or wanted:
        return response
    status = response.status_code
    if status == 404:
        message = _("This page does not exist, or it is not yours.")
    elif status == 413:
        message = _("What was sent is too large.")
    elif status >= 500:
        message = _("Something went wrong on our side. It has been logged; please try again.")
    else:
        detail = (response.get_json(silent=True) or {}).get("detail", "")
        message = _("This request could not be handled: %(why)s", why=detail)
    response.set_data(render_template("dashboard/error.html", message=message))
    response.mimetype = "text/html"
    return response
