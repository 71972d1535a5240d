"""The owners' plugins page: each loaded plugin enabled or disabled for the merchant (its
requirements respected), and its settings in a form generated from its schema."""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField

from merchant_voice import extensions
from merchant_voice.dashboard.forms import attach, settings_form, settings_values
from merchant_voice.dashboard.pages import dashboard_view
from merchant_voice.errors import Conflict, ValidationFailed
from merchant_voice.web.api import tenant_session
from models import Role

log = logging.getLogger(__name__)

bp = Blueprint("dashboard_plugins", __name__, url_prefix="/dashboard/plugins")


class SwitchForm(FlaskForm):
    enabled = HiddenField()


def _page(
    status: int = 200,
    failed: tuple[str, FlaskForm, list[str]] | None = None,
    problem: tuple[str, str] | None = None,
) -> ResponseReturnValue:
    """The page: every plugin with its switch and settings form; ``failed``, a plugin's
    form as sent with its errors (the few settings of a panel stay those few, sent again
    with their ``fields``); ``problem``, a plugin's switch refused, and why."""
    manager = extensions.plugin_manager()
    states = manager.states(tenant_session())
    entries = []
    for name, state in states.items():
        plugin = state.plugin
        chosen: list[str] = []
        if failed is not None and failed[0] == name:
            form, problems, chosen = failed[1], failed[2], request.form.getlist("fields")
        else:
            form, problems = settings_form(plugin.settings, state.settings, prefix=name), []
        entries.append(
            {
                "plugin": plugin,
                "state": state,
                "form": form,
                "problems": problems,
                "fields": chosen,
                "switch": SwitchForm(
                    formdata=None, data={"enabled": "0" if state.enabled else "1"}
                ),
                "switch_problem": problem[1] if problem and problem[0] == name else None,
            }
        )
    return render_template("dashboard/plugins.html", entries=entries), status


@bp.get("/")
@dashboard_view(roles=(Role.OWNER.value,))
def plugins() -> ResponseReturnValue:
    return _page()


@bp.post("/<name>/enabled")
@dashboard_view(roles=(Role.OWNER.value,))
def switch(name: str) -> ResponseReturnValue:
    manager = extensions.plugin_manager()
    manager.get(name)  # NotFound for a plugin not loaded: 404
    form = SwitchForm()
    enabled = form.enabled.data == "1"
    session = tenant_session()
    try:
        also_off = manager.set_enabled(session, name, enabled)
    except Conflict as refused:
        session.rollback()
        return _page(409, problem=(name, refused.detail))
    session.commit()
    log.info(
        "plugin %s %s for %s by %s (also off: %s)",
        name,
        "enabled" if enabled else "disabled",
        current_user.merchant.slug,
        current_user.email,
        also_off,
    )
    return redirect(url_for(".plugins") + f"#plugin-{name}", 303)


@bp.post("/<name>/settings")
@dashboard_view(roles=(Role.OWNER.value,))
def configure(name: str) -> ResponseReturnValue:
    """Save the plugin's settings form: all its settings, or those named in ``fields`` (a
    plugin's panel that shows a few of them, sent back to the settings page)."""
    manager = extensions.plugin_manager()
    plugin = manager.get(name).declaration
    session = tenant_session()
    current = manager.states(session)[name].settings
    chosen = request.form.getlist("fields") or None
    form = settings_form(plugin.settings, current, chosen, formdata=request.form, prefix=name)
    if not form.validate():
        return _page(422, failed=(name, form, [_("Some settings are not valid; see below.")]))
    try:
        manager.configure(session, name, settings_values(form, plugin.settings))
    except ValidationFailed as error:
        session.rollback()
        return _page(422, failed=(name, form, attach(form, error)))
    session.commit()
    if chosen:
        return redirect(url_for("dashboard_account.settings", saved=1), 303)
    return redirect(url_for(".plugins", saved=name) + f"#plugin-{name}", 303)
