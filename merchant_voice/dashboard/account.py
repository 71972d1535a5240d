"""The owners' pages of the merchant's account: its settings (locales, voices, currency,
time zone, and the plugins' settings panels), its API keys and its credentials."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # newer than its stubs
from wtforms.validators import DataRequired, Length

from engines.errors import EngineError
from merchant_voice import accounts, extensions
from merchant_voice.credentials import MAX_VALUE, declared
from merchant_voice.dashboard.forms import attach
from merchant_voice.dashboard.pages import dashboard_view, page_panels
from merchant_voice.dashboard_page import SETTINGS
from merchant_voice.errors import ClientError, ValidationFailed
from merchant_voice.web.api import current_merchant
from models import ApiKey, Merchant, Role

log = logging.getLogger(__name__)

OWNERS = (Role.OWNER.value,)

bp = Blueprint("dashboard_account", __name__, url_prefix="/dashboard/account")


class MerchantForm(FlaskForm):
    name = StringField(_l("Shop name"), validators=[DataRequired(), Length(max=200)])
    default_locale = StringField(
        _l("Default locale"),
        description=_l("The language your listings are written in, e.g. en_US."),
    )
    market_locales = StringField(
        _l("Market locales"),
        description=_l("Where you sell, separated by commas, e.g. de_DE, fr_FR, ja_JP."),
    )
    currency = StringField(_l("Currency"), description=_l("ISO 4217 code, e.g. EUR."))
    timezone = StringField(
        _l("Time zone"), description=_l("e.g. Europe/Berlin; dates are shown in it.")
    )


class ApiKeyForm(FlaskForm):
    label = StringField(
        _l("Label"),
        validators=[Length(max=100)],
        description=_l("What uses the key, e.g. the shop's plugin."),
    )


class RevokeForm(FlaskForm):
    pass


class CredentialForm(FlaskForm):
    name = SelectField(_l("Credential"))
    value = PasswordField(
        _l("Value"),
        validators=[DataRequired(), Length(max=MAX_VALUE)],
        description=_l("Stored encrypted; it is never shown again."),
    )


def voices(locales: list[str]) -> list[tuple[str, str | None, str | None]]:
    """(locale, its voice, why it has none) for each of the merchant's locales: no voice
    speaks its language, or the voices are not prepared."""
    found: list[tuple[str, str | None, str | None]] = []
    for locale in locales:
        try:
            found.append((locale, extensions.engines().tts.voice_name(locale), None))
        except EngineError as missing:
            found.append((locale, None, str(missing)))
    return found


@bp.route("/settings", methods=["GET", "POST"])
@dashboard_view(roles=OWNERS)
def settings() -> ResponseReturnValue:
    merchant = current_merchant()
    form = MerchantForm(
        data={
            "name": merchant.name,
            "default_locale": merchant.default_locale,
            "market_locales": ", ".join(merchant.market_locales),
            "currency": merchant.currency,
            "timezone": merchant.timezone,
        }
    )
    problems: list[str] = []
    if request.method == "POST" and form.validate():
        markets = [v.strip() for v in (form.market_locales.data or "").split(",") if v.strip()]
        try:
            with extensions.database().host_transaction() as host:
                row = host.get(Merchant, merchant.id)
                assert row is not None
                accounts.update_merchant(
                    host,
                    row,
                    name=form.name.data,
                    default_locale=form.default_locale.data,
                    market_locales=markets,
                    currency=form.currency.data,
                    timezone=form.timezone.data,
                )
        except ValidationFailed as error:
            problems = attach(form, error)
        else:
            log.info("merchant %s settings changed by %s", merchant.slug, current_user.email)
            return redirect(url_for(".settings", saved=1), 303)
    status = 422 if form.errors or problems else 200
    return render_template(
        "dashboard/settings.html",
        form=form,
        problems=problems,
        voices=voices(list(dict.fromkeys([merchant.default_locale, *merchant.market_locales]))),
        panels=page_panels(SETTINGS),
        saved=request.args.get("saved") == "1",
    ), status


@bp.route("/api-keys", methods=["GET", "POST"])
@dashboard_view(roles=OWNERS)
def api_keys() -> ResponseReturnValue:
    merchant = current_merchant()
    form = ApiKeyForm()
    new_key = None  # shown once, in the answer to the form that made it; never stored
    if request.method == "POST" and form.validate():
        with extensions.database().host_transaction() as host:
            row = host.get(Merchant, merchant.id)
            assert row is not None
            created, new_key = accounts.create_api_key(host, row, form.label.data or "")
            log.info(
                "API key %s of %s created by %s", created.prefix, merchant.slug, current_user.email
            )
        form = ApiKeyForm(formdata=None)
    with extensions.database().host_session() as host:
        keys = host.scalars(
            select(ApiKey)
            .where(ApiKey.merchant_id == merchant.id)
            .order_by(ApiKey.created_at.desc())
        ).all()
    return render_template(
        "dashboard/api_keys.html", form=form, keys=keys, revoke=RevokeForm(), new_key=new_key
    ), 422 if form.errors else 200


@bp.post("/api-keys/<prefix>/revoke")
@dashboard_view(roles=OWNERS)
def revoke_api_key(prefix: str) -> ResponseReturnValue:
    merchant = current_merchant()
    with extensions.database().host_transaction() as host:
        revoked = accounts.revoke_api_key(host, prefix, merchant_id=merchant.id)  # NotFound: 404
        log.info(
            "API key %s of %s revoked by %s", revoked.prefix, merchant.slug, current_user.email
        )
    return redirect(url_for(".api_keys"), 303)


@bp.route("/credentials", methods=["GET", "POST"])
@dashboard_view(roles=OWNERS)
def credentials() -> ResponseReturnValue:
    merchant = current_merchant()
    names = declared(extensions.plugin_manager().declarations)
    form = CredentialForm()
    form.name.choices = [SelectChoice(name, name) for name in names]
    problems: list[str] = []
    if request.method == "POST" and form.validate():
        try:
            extensions.credentials().set(merchant.id, form.name.data, form.value.data or "")
        except ClientError as error:
            problems = (
                attach(form, error) if isinstance(error, ValidationFailed) else [error.detail]
            )
        else:
            return redirect(url_for(".credentials"), 303)
    stored = [
        {**row, "updated_at": datetime.fromisoformat(row["updated_at"])}
        for row in extensions.credentials().describe(merchant.id)
    ]
    return render_template(
        "dashboard/credentials.html",
        form=form,
        stored=stored,
        remove=RevokeForm(),
        problems=problems,
    ), 422 if form.errors or problems else 200


@bp.post("/credentials/<name>/delete")
@dashboard_view(roles=OWNERS)
def delete_credential(name: str) -> ResponseReturnValue:
    extensions.credentials().delete(current_merchant().id, name)  # NotFound: 404
    return redirect(url_for(".credentials"), 303)
