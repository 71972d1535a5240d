"""The narration panel of the catalog's listing page: each locale's script, its audio
player with captions, edited, approved or written again in place."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from merchant_voice.plugin_api import (
    DashboardPanel,
    NotFound,
    QuotaExceeded,
    TenantSession,
    ValidationFailed,
    current_settings,
    dashboard_view,
    get_or_404,
    tenant_session,
    text_line,
    text_table,
)
from plugins.catalog.public import Listing, listing_page
from plugins.narration import editing, lexicon, service
from plugins.narration.facts import facts
from plugins.narration.models import Narration
from plugins.narration.settings import NarrationSettings

bp = Blueprint("narration_dashboard", __name__, url_prefix="/dashboard/narration")

TEMPLATE = "narration/dashboard_panel.html"


class ScriptForm(FlaskForm):
    """A person's script for one locale (its fields prefixed by the locale)."""

    script = TextAreaField(_l("Script"), validators=[DataRequired(), Length(max=20_000)])
    save = SubmitField(_l("Save script"))
    approve = SubmitField(_l("Approve"))
    regenerate = SubmitField(_l("Write again"))


class NarrateForm(FlaskForm):
    narrate = SubmitField(_l("Write the narrations"))


def panel(
    session: TenantSession, settings: NarrationSettings, listing_id: int
) -> DashboardPanel | None:
    """The listing's narrations, each with its player and form (``dashboard_panels``)."""
    listing = session.get(Listing, listing_id)
    if listing is None:
        return None
    rows = session.scalars(
        select(Narration).where(Narration.listing_id == listing_id).order_by(Narration.locale)
    ).all()
    narrations = []
    for row in rows:
        told = facts(session, listing, row.locale)
        narrations.append(
            {
                "row": row,
                "outdated": row.source_hash != told.fingerprint(settings.word_range()),
                "has_audio": bool(row.audio_hash) and row.audio_error == "",
                "form": ScriptForm(formdata=None, prefix=row.locale, data={"script": row.script}),
            }
        )
    missing = [loc for loc in service.locales(session, None) if loc not in {r.locale for r in rows}]
    return DashboardPanel(
        _l("Narration"),
        TEMPLATE,
        {
            "listing": listing,
            "narrations": narrations,
            "missing": missing,
            "narrate": NarrateForm(formdata=None),
            "error": None,
            "sent": {},  # a locale's form sent back with its errors
        },
        order=20,
    )


def _narration(listing_id: int, locale: str) -> tuple[Listing, Narration]:
    listing = get_or_404(Listing, listing_id, "listing")
    row = tenant_session().scalar(
        select(Narration).where(Narration.listing_id == listing_id, Narration.locale == locale)
    )
    if row is None:
        raise NotFound(f"listing {listing_id} has no narration in {locale}")
    return listing, row


def _back(listing_id: int, anchor: str) -> ResponseReturnValue:
    target = url_for("catalog_dashboard.listing", listing_id=listing_id)
    return redirect(f"{target}#{anchor}", 303)


def _again(
    listing: Listing, error: str, status: int, sent: dict[str, ScriptForm] | None = None
) -> ResponseReturnValue:
    """The listing page again, this panel saying ``error``, a locale's form as it was sent."""
    more = {"error": error, "sent": sent or {}}
    return listing_page(listing, {TEMPLATE: more}), status


@bp.post("/listings/<int:listing_id>/<locale>")
@dashboard_view("narration")
def edit(listing_id: int, locale: str) -> ResponseReturnValue:
    """Save the script, approve it, or have it written again (the form's buttons)."""
    session = tenant_session()
    listing, row = _narration(listing_id, locale)
    form = ScriptForm(prefix=locale)
    try:
        if form.regenerate.data:
            editing.queue(session, [listing_id], [locale], overwrite_edits=True)
        elif form.validate():
            settings = current_settings(NarrationSettings)
            script = form.script.data if form.script.data != row.script else None
            approved = True if form.approve.data else None
            if script is not None or approved:
                editing.edit(session, listing, row, settings, script=script, approved=approved)
        else:
            message = str(_l("The script is missing or too long."))
            return _again(listing, message, 400, sent={locale: form})
    except QuotaExceeded as error:
        session.rollback()
        return _again(listing, error.detail, 403)
    session.commit()
    return _back(listing_id, f"narration-{locale}")


@bp.post("/listings/<int:listing_id>")
@dashboard_view("narration")
def narrate(listing_id: int) -> ResponseReturnValue:
    """Write the listing's narrations in the merchant's locales that have none."""
    session = tenant_session()
    listing = get_or_404(Listing, listing_id, "listing")
    if NarrateForm().validate():
        try:
            editing.queue(session, [listing_id], None)
        except QuotaExceeded as error:
            session.rollback()
            return _again(listing, error.detail, 403)
        session.commit()
    return _back(listing_id, "narrations")


@bp.get("/listings/<int:listing_id>/<locale>/<name>")
@dashboard_view("narration")
def media(listing_id: int, locale: str, name: str) -> ResponseReturnValue:
    """The narration's audio (``audio.ogg``, ``audio.mp3``) or captions, for the player."""
    _, row = _narration(listing_id, locale)
    path, content_type = editing.stored_medium(row, name)
    if path is None:
        raise NotFound(f"listing {listing_id} has no audio in {locale}")
    return send_file(path, mimetype=content_type, conditional=True)


class LexiconForm(FlaskForm):
    entries = TextAreaField(
        _l("Pronunciation lexicon"),
        description=_l(
            "One term a line: term | locale | how to say it. Say it as a respelling"
            " (Nike | en | Nye-key) or as phonemes (IPA, as eSpeak writes them) in double"
            " brackets (Nike | en | [[ nˈaɪki ]]). No locale: every locale."  # noqa: RUF001
        ),
        render_kw={"rows": 12},
    )


def settings_panel(session: TenantSession) -> DashboardPanel:
    """The settings page's lexicon summary, with the way to its page."""
    count = len(lexicon.entries(session))
    return DashboardPanel(
        _l("Pronunciation lexicon"),
        "narration/dashboard_settings.html",
        {"entries": count},
        order=30,
        roles=("owner",),
    )


@bp.route("/lexicon", methods=["GET", "POST"])
@dashboard_view("narration", roles=("owner",))
def lexicon_page() -> ResponseReturnValue:
    session = tenant_session()
    lines = [
        text_line(e.term, e.locale, f"[[ {e.phonemes} ]]" if e.phonemes else e.respelling or "")
        for e in lexicon.entries(session)
    ]
    form = LexiconForm(data={"entries": "\n".join(lines)})
    if request.method == "POST" and form.validate():
        try:
            new = text_table(form.entries.data or "", 3, _entry)
        except ValidationFailed as error:
            form.entries.errors = [*form.entries.errors, error.detail]
        else:
            editing.save_lexicon(session, new)
            session.commit()
            return redirect(url_for("dashboard_account.settings", saved=1), 303)
    page = render_template("narration/dashboard_lexicon.html", form=form)
    return page, 422 if form.errors else 200


def _entry(cells: list[str]) -> lexicon.Entry:
    """A lexicon line's entry: phonemes when said in ``[[ ]]``, else a respelling."""
    term, locale, said = cells
    phonemes = said[2:-2].strip() if said.startswith("[[") and said.endswith("]]") else None
    respelling = None if phonemes is not None else said or None
    return lexicon.Entry(term=term, locale=locale, respelling=respelling, phonemes=phonemes)
