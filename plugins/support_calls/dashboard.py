"""The support-calls dashboard: the calls, filtered and paged in SQL; one call's turns,
tool calls, stage timeline and recording; the overview's call figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request, send_file
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # newer than its stubs
from wtforms.validators import Length, Optional, Regexp, ValidationError

from merchant_voice.plugin_api import (
    DashboardPage,
    DashboardPanel,
    NotFound,
    TenantSession,
    dashboard_view,
    get_or_404,
    locale_name,
    pager,
    settings_form,
    tenant_session,
)
from plugins.support_calls.figures import day_start, figures
from plugins.support_calls.models import Call, Outcome, Turn
from plugins.support_calls.records import recording_file
from plugins.support_calls.settings import SupportCallsSettings

PAGE_SIZE = 50
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)

bp = Blueprint("support_calls_dashboard", __name__, url_prefix="/dashboard/calls")

PAGE = DashboardPage("support_calls_dashboard.calls", _l("Calls"), order=10)

OUTCOME_NAMES = {
    Outcome.RESOLVED.value: _l("Resolved"),
    Outcome.HANDED_OFF.value: _l("Handed off"),
    Outcome.ABANDONED.value: _l("Abandoned"),
    Outcome.SILENT.value: _l("Silent"),
}

STAGES = (  # a turn's stages, in order: each ends where the next begins
    ("endpoint", _l("Endpoint")),
    ("recognition", _l("Recognition")),
    ("first-token", _l("First token")),
    ("first-audio", _l("First audio")),
)


def _plausible(_form: FlaskForm, field: DateField) -> None:
    """A day whose midnight, in any time zone, and the next one exist."""
    if field.data is not None and not FIRST_DAY <= field.data <= LAST_DAY:
        raise ValidationError(_l("Choose a day between 1970 and 9998."))


class CallFilters(FlaskForm):
    """The list's filters, read from the query string (no CSRF: a GET)."""

    class Meta:
        csrf = False

    since = DateField(_l("From"), validators=[Optional(), _plausible])
    until = DateField(_l("To"), validators=[Optional(), _plausible])
    outcome = SelectField(
        _l("Outcome"),
        choices=[
            SelectChoice("", _l("Any")),
            *(SelectChoice(v, t) for v, t in OUTCOME_NAMES.items()),
        ],
        default="",
    )
    language = SelectField(_l("Language"), choices=[SelectChoice("", _l("Any"))], default="")
    number = StringField(
        _l("Caller's number"),
        validators=[
            Optional(),
            Length(max=32),
            Regexp(r"^\+?[0-9 ()-]+$", message=_l("Digits only, as in +1 415 555 0100.")),
        ],
    )


@bp.get("/")
@dashboard_view("support_calls")
def calls() -> ResponseReturnValue:
    session = tenant_session()
    form = CallFilters(request.args)
    spoken = session.scalars(select(Call.language).distinct())
    form.language.choices = [SelectChoice("", _l("Any"))] + [
        SelectChoice(code, locale_name(code)) for code in sorted(c for c in spoken if c)
    ]
    valid = form.validate()
    conditions = _conditions(session, form) if valid else []
    paging = pager(session.scalar(select(func.count(Call.id)).where(*conditions)) or 0, PAGE_SIZE)
    rows = session.scalars(
        select(Call)
        .where(*conditions)
        .order_by(Call.started_at.desc(), Call.id.desc())
        .limit(paging.size)
        .offset(paging.offset)
    ).all()
    page = render_template(
        "support_calls/dashboard_calls.html",
        calls=rows,
        form=form,
        pager=paging,
        outcome_names=OUTCOME_NAMES,
        filtered=bool(conditions),
    )
    return page, 200 if valid else 400


def _conditions(session: TenantSession, form: CallFilters) -> list[Any]:
    zone = ZoneInfo(session.merchant.timezone)
    conditions: list[Any] = []
    if form.since.data:
        conditions.append(Call.started_at >= day_start(form.since.data, zone))
    if form.until.data:
        conditions.append(Call.started_at < day_start(form.until.data + timedelta(days=1), zone))
    if form.outcome.data:
        conditions.append(Call.outcome == form.outcome.data)
    if form.language.data:
        conditions.append(Call.language == form.language.data)
    digits = "".join(c for c in form.number.data or "" if c.isdigit())
    if digits:
        conditions.append(Call.caller.contains(digits, autoescape=True))
    return conditions


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    start_ms: int
    end_ms: int


def stages(turn: Turn) -> list[Stage]:
    """The turn's stages on one time line from the end of the caller's speech: until its
    end was detected, recognising it, until the model's first token, until the first
    audio was sent (voice to voice). A stage not measured is left out."""
    found: list[Stage] = []
    at = 0
    for (name, title), took in zip(
        STAGES[:3], (turn.endpoint_ms, turn.asr_ms, turn.llm_first_token_ms), strict=True
    ):
        if took is not None and took >= 0:
            found.append(Stage(name, str(title), at, at + took))
            at += took
    if turn.first_audio_ms is not None and turn.first_audio_ms >= at:
        name, title = STAGES[3]
        found.append(Stage(name, str(title), at, turn.first_audio_ms))
    return found


@bp.get("/<int:call_id>")
@dashboard_view("support_calls")
def call(call_id: int) -> ResponseReturnValue:
    row = get_or_404(Call, call_id, "call")
    timeline = [(turn, stages(turn)) for turn in row.turns if turn.source != "greeting"]
    longest = max((s.end_ms for _, found in timeline for s in found), default=0)
    return render_template(
        "support_calls/dashboard_call.html",
        call=row,
        timeline=[(turn, found) for turn, found in timeline if found],
        longest=max(longest, 1),
        stages=STAGES,
        outcome_names=OUTCOME_NAMES,
        has_recording=(path := recording_file(row)) is not None and path.is_file(),
    )


@bp.get("/<int:call_id>/recording.wav")
@dashboard_view("support_calls")
def recording(call_id: int) -> ResponseReturnValue:
    row = get_or_404(Call, call_id, "call")
    path = recording_file(row)
    if path is None or not path.is_file():
        raise NotFound(f"call {call_id} has no recording")
    return send_file(path, mimetype="audio/wav", conditional=True)


def overview_panel(session: TenantSession) -> DashboardPanel:
    """The overview's call figures and their charts, in the merchant's time zone."""
    return DashboardPanel(
        _l("Calls"),
        "support_calls/dashboard_overview.html",
        {"figures": figures(session)},
        order=10,
    )


SETTINGS_SHOWN = ("handoff_number", "retention_days")  # on the settings page; all: plugins page


def settings_panel(settings: SupportCallsSettings) -> DashboardPanel:
    """The settings page's hand-off number and retention, saved as the plugin's settings."""
    form = settings_form(SupportCallsSettings, settings, SETTINGS_SHOWN, prefix="support_calls")
    return DashboardPanel(
        _l("Calls"),
        "support_calls/dashboard_settings.html",
        {"form": form, "fields": SETTINGS_SHOWN},
        order=10,
        roles=("owner",),
    )
