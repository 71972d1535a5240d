"""The translation panel of the catalog's listing page: the source and each locale's
translation side by side, with their review badges, edited and approved in place."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from merchant_voice.plugin_api import (
    DashboardPanel,
    NotFound,
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
from plugins.translation import glossary, review, service
from plugins.translation.glossary import GlossaryTermIn
from plugins.translation.models import GlossaryEntry
from plugins.translation.settings import TranslationSettings

bp = Blueprint("translation_dashboard", __name__, url_prefix="/dashboard/translation")

TEMPLATE = "translation/dashboard_panel.html"


class TranslationForm(FlaskForm):
    """A person's edit of one locale's translation (its form fields prefixed by the locale)."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=500)])
    description_html = TextAreaField(_l("Description (HTML)"), validators=[Length(max=200_000)])
    bullet_points = TextAreaField(_l("Bullet points, one per line"))
    save = SubmitField(_l("Save edits"))
    approve = SubmitField(_l("Approve"))


def panel(
    session: TenantSession, settings: TranslationSettings, listing_id: int
) -> DashboardPanel | None:
    """The listing's translations, each with its edit form (the ``dashboard_panels`` hook)."""
    listing = session.get(Listing, listing_id)
    if listing is None:
        return None
    glossary = GlossaryEntry.rows(session)
    rows = service.rows_by_locale(session, listing_id)
    translations = [service.view(rows[locale], listing, glossary) for locale in sorted(rows)]
    forms = {}
    for translation in translations:
        fields = translation["fields"]
        forms[translation["locale"]] = TranslationForm(
            formdata=None,
            prefix=translation["locale"],
            data={
                "title": fields.get("title", ""),
                "description_html": fields.get("description_html", ""),
                "bullet_points": "\n".join(fields.get("bullet_points", [])),
            },
        )
    return DashboardPanel(
        _l("Translations"),
        TEMPLATE,
        {
            "listing": listing,
            "source_locale": service.source_locale(session, settings),
            "translations": translations,
            "forms": forms,
            "sent": {},  # a locale's form sent back with its errors
            "errors": {},
        },
        order=10,
    )


@bp.post("/listings/<int:listing_id>/<locale>")
@dashboard_view("translation")
def edit(listing_id: int, locale: str) -> ResponseReturnValue:
    """Save a person's edits of one locale (the form's *save*), or approve it (*approve*)."""
    session = tenant_session()
    listing = get_or_404(Listing, listing_id, "listing")
    row = service.rows_by_locale(session, listing_id).get(locale)
    if row is None:
        raise NotFound(f"listing {listing_id} has no translation into {locale}")
    form = TranslationForm(prefix=locale)
    problem: str | None = None
    if form.validate():
        approve = bool(form.approve.data)  # edits made before approving are kept too
        edits = _edits(form, row.fields)
        try:
            settings = current_settings(TranslationSettings)
            review.apply(session, listing, row, edits, approve=approve, settings=settings)
        except ValidationFailed as error:
            session.rollback()
            problem = error.detail
        else:
            session.commit()
            target = url_for("catalog_dashboard.listing", listing_id=listing_id)
            return redirect(f"{target}#translation-{locale}", 303)
    page = listing_page(listing, {TEMPLATE: {"sent": {locale: form}, "errors": {locale: problem}}})
    return page, 422 if problem else 400


def _edits(form: TranslationForm, fields: dict[str, Any]) -> dict[str, Any]:
    """The fields the person changed."""
    bullets = [
        line.strip() for line in (form.bullet_points.data or "").splitlines() if line.strip()
    ]
    given = {
        "title": (form.title.data or "").strip(),
        "description_html": form.description_html.data or "",
        "bullet_points": bullets,
    }
    return {
        name: value
        for name, value in given.items()
        if value != fields.get(name, [] if name == "bullet_points" else "")
        and not (name == "bullet_points" and not value and "bullet_points" not in fields)
    }


class GlossaryForm(FlaskForm):
    terms = TextAreaField(
        _l("Glossary"),
        description=_l(
            "One term a line: term | locale | translation. No translation: the term is kept as"
            " written. No locale: every locale (a language, such as de, covers its locales)."
        ),
        render_kw={"rows": 12},
    )


def settings_panel(session: TenantSession) -> DashboardPanel:
    """The settings page's glossary summary, with the way to its page."""
    count = len(glossary.terms(session))
    return DashboardPanel(
        _l("Glossary"),
        "translation/dashboard_settings.html",
        {"terms": count},
        order=20,
        roles=("owner",),
    )


@bp.route("/glossary", methods=["GET", "POST"])
@dashboard_view("translation", roles=("owner",))
def glossary_page() -> ResponseReturnValue:
    session = tenant_session()
    lines = [text_line(t.term, t.locale, t.translation or "") for t in glossary.terms(session)]
    form = GlossaryForm(data={"terms": "\n".join(lines)})
    if request.method == "POST" and form.validate():
        try:
            new = text_table(form.terms.data or "", 3, _term)
            glossary.replace(session, new)
        except ValidationFailed as error:
            session.rollback()
            form.terms.errors = [*form.terms.errors, error.detail]
        else:
            session.commit()
            return redirect(url_for("dashboard_account.settings", saved=1), 303)
    return render_template(
        "translation/dashboard_glossary.html", form=form
    ), 422 if form.errors else 200


def _term(cells: list[str]) -> GlossaryTermIn:
    term, locale, translation = cells
    return GlossaryTermIn(term=term, locale=locale, translation=translation or None)
