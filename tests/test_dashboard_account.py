"""The owners' account pages: the shop's settings with its voices, API keys (shown once,
revoked), credentials (never shown back), plugins switched and configured through forms
generated from their schemas, with the schemas' own messages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from merchant_voice.config import Settings
from tests.conftest import Shop, make_shop
from tests.dashboard_client import add_user, sign_in, token


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: these pages read the host's tables and one plugin setting each, which
    the API's tests try on PostgreSQL too."""
    return f"sqlite:///{tmp_path / 'account.sqlite3'}"


def _owner(app: Flask, shop: Shop) -> FlaskClient:
    add_user(app, shop, f"owner@{shop.merchant.slug}.test")
    client = app.test_client()
    assert sign_in(client, f"owner@{shop.merchant.slug}.test").status_code == 302
    return client


def test_settings_show_each_locales_voice_and_change_the_shop(
    make_app: Callable[..., Flask], database_url: str, prepared: Settings
) -> None:
    app = make_app(database_url, models={"cache_dir": str(prepared.models.cache_dir)})
    shop_a = make_shop(app, "shop-a", default_locale="de_DE", market_locales=["fr_FR"])
    client = _owner(app, shop_a)
    page = client.get("/dashboard/account/settings").get_data(as_text=True)
    assert page.count("No voice") == 2  # de_DE and fr_FR: the default install speaks English
    assert "models voices add de_DE" in page
    form = {
        "csrf_token": token(page),
        "name": "Kaufhaus A",
        "default_locale": "de_DE",
        "market_locales": "fr_FR, en-gb",
        "currency": "eur",
        "timezone": "Europe/Berlin",
    }
    saved = client.post("/dashboard/account/settings", data=form)
    assert saved.status_code == 303
    after = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Settings saved." in after and 'value="de_DE, fr_FR, en_GB"' in after
    assert 'value="EUR"' in after and "en_US-joe-medium" in after  # en_GB speaks with en_US

    bad = client.post(
        "/dashboard/account/settings", data={**form, "timezone": "Mars/Olympus", "currency": "XYZ"}
    )
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert 'id="timezone-errors"' in text and 'id="currency-errors"' in text
    assert 'value="Mars/Olympus"' in text  # what was typed stays, to be corrected

    add_user(app, shop_a, "agent@shop-a.test", "agent")
    agent = app.test_client()
    sign_in(agent, "agent@shop-a.test")
    for page_url in ("settings", "api-keys", "credentials"):
        assert agent.get(f"/dashboard/account/{page_url}").status_code == 403
    assert agent.get("/dashboard/plugins/").status_code == 403
    nav = agent.get("/dashboard/").get_data(as_text=True)
    assert "/dashboard/account/settings" not in nav and "/dashboard/calls/" in nav


def test_api_keys_are_shown_once_and_revoked(app: Flask, shop_a: Shop, shop_b: Shop) -> None:
    client = _owner(app, shop_a)
    page = client.get("/dashboard/account/api-keys").get_data(as_text=True)
    made = client.post(
        "/dashboard/account/api-keys", data={"csrf_token": token(page), "label": "Shop plugin"}
    )
    assert made.status_code == 200
    key = made.get_data(as_text=True).split('<code class="secret" id="new-key">')[1].split("<")[0]
    api = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    assert api.get("/api/v1/merchant", headers=headers).get_json()["slug"] == "shop-a"
    again = client.get("/dashboard/account/api-keys").get_data(as_text=True)
    assert key not in again and "Shop plugin" in again  # shown once, never again
    prefix = "_".join(key.split("_")[:2])

    theirs = _owner(app, shop_b)  # another merchant's owner cannot revoke it
    other_token = token(theirs.get("/dashboard/account/api-keys").get_data(as_text=True))
    refused = theirs.post(
        f"/dashboard/account/api-keys/{prefix}/revoke", data={"csrf_token": other_token}
    )
    assert refused.status_code == 404
    assert api.get("/api/v1/merchant", headers=headers).status_code == 200

    revoked = client.post(
        f"/dashboard/account/api-keys/{prefix}/revoke", data={"csrf_token": token(again)}
    )
    assert revoked.status_code == 303
    assert api.get("/api/v1/merchant", headers=headers).status_code == 401
    assert "Revoked" in client.get("/dashboard/account/api-keys").get_data(as_text=True)


def test_credentials_are_set_replaced_and_deleted_never_shown(app: Flask, shop_a: Shop) -> None:
    client = _owner(app, shop_a)
    page = client.get("/dashboard/account/credentials").get_data(as_text=True)
    assert "support_calls.twilio_auth_token" in page  # a declared credential to choose
    form = {
        "csrf_token": token(page),
        "name": "support_calls.twilio_auth_token",
        "value": "s3cr3t-value",
    }
    assert client.post("/dashboard/account/credentials", data=form).status_code == 303
    listed = client.get("/dashboard/account/credentials").get_data(as_text=True)
    assert "s3cr3t-value" not in listed and "encrypted" in listed
    store = app.extensions["credentials"]
    assert store.get(shop_a.id, "support_calls.twilio_auth_token") == "s3cr3t-value"
    assert (
        client.post("/dashboard/account/credentials", data={**form, "value": "n3w"}).status_code
        == 303
    )
    assert store.get(shop_a.id, "support_calls.twilio_auth_token") == "n3w"
    unknown = client.post("/dashboard/account/credentials", data={**form, "name": "nope.token"})
    assert unknown.status_code == 422 and "Not a valid choice" in unknown.get_data(as_text=True)
    deleted = client.post(
        "/dashboard/account/credentials/support_calls.twilio_auth_token/delete",
        data={"csrf_token": token(listed)},
    )
    assert deleted.status_code == 303
    assert store.get(shop_a.id, "support_calls.twilio_auth_token") is None


def test_plugins_are_switched_with_their_requirements_and_configured_by_schema(
    app: Flask, shop_a: Shop
) -> None:
    client = _owner(app, shop_a)
    page = client.get("/dashboard/plugins/").get_data(as_text=True)
    assert 'id="plugin-support_calls"' in page and 'name="support_calls-handoff_number"' in page
    assert 'name="support_calls-record_calls" type="checkbox"' in page
    csrf = token(page)

    off = client.post(
        "/dashboard/plugins/catalog/enabled", data={"csrf_token": csrf, "enabled": "0"}
    )
    assert off.status_code == 303
    manager = app.extensions["plugins"]
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        states = manager.states(session)
        assert not states["catalog"].enabled and not states["translation"].enabled  # with it
    assert client.get("/dashboard/catalog/").status_code == 404  # its pages go with it
    refused = client.post(
        "/dashboard/plugins/translation/enabled", data={"csrf_token": csrf, "enabled": "1"}
    )
    assert refused.status_code == 409 and "translation requires catalog" in refused.get_data(
        as_text=True
    )
    assert (
        client.post(
            "/dashboard/plugins/catalog/enabled", data={"csrf_token": csrf, "enabled": "1"}
        ).status_code
        == 303
    )

    form = {
        "support_calls-csrf_token": csrf,
        "support_calls-handoff_number": "0171 555",
        "support_calls-greeting": "",
        "support_calls-policies": '{"Returns": "30 days"}',
        "support_calls-system_prompt": "",
        "support_calls-stream_replies": "y",
        "support_calls-retention_days": "0",
    }
    bad = client.post("/dashboard/plugins/support_calls/settings", data=form)
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert (
        "String should match pattern" in text and 'id="support_calls-handoff_number-errors"' in text
    )
    assert "Input should be greater than or equal to 1" in text
    assert "policy topic &#39;Returns&#39;: use lower_snake_case" in text
    not_json = client.post(
        "/dashboard/plugins/support_calls/settings",
        data={**form, "support_calls-policies": "{returns"},
    )
    assert not_json.status_code == 422 and "not valid JSON" in not_json.get_data(as_text=True)
    good = {
        **form,
        "support_calls-handoff_number": "+4930123456",
        "support_calls-retention_days": "30",
        "support_calls-policies": '{"returns": "30 days"}',
        "support_calls-record_calls": "y",
    }
    assert client.post("/dashboard/plugins/support_calls/settings", data=good).status_code == 303
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        settings = manager.states(session)["support_calls"].settings
    assert (settings.handoff_number, settings.retention_days, settings.record_calls) == (
        "+4930123456",
        30,
        True,
    )
    assert settings.policies == {"returns": "30 days"}


def test_the_settings_panels_edit_the_glossary_lexicon_and_hand_off(
    app: Flask, shop_a: Shop
) -> None:
    client = _owner(app, shop_a)
    page = client.get("/dashboard/account/settings").get_data(as_text=True)
    assert "0 terms kept as written" in page and "0 terms the voices say your way" in page
    assert 'name="support_calls-handoff_number"' in page  # the calls panel's two settings
    assert 'name="support_calls-greeting"' not in page

    glossary = client.get("/dashboard/translation/glossary").get_data(as_text=True)
    sent = {"csrf_token": token(glossary), "terms": "Acme\nHoodie | de | Kapuzenpullover\n | fr"}
    refused = client.post("/dashboard/translation/glossary", data=sent)
    assert refused.status_code == 422
    assert "line 3 (empty)" in refused.get_data(as_text=True)
    sent["terms"] = "Acme\n\nHoodie | de | Kapuzenpullover"
    assert client.post("/dashboard/translation/glossary", data=sent).status_code == 303
    terms = client.get("/api/v1/translation/glossary", headers=shop_a.headers).get_json()["terms"]
    assert terms == [
        {"term": "Acme", "locale": "", "translation": None},
        {"term": "Hoodie", "locale": "de", "translation": "Kapuzenpullover"},
    ]
    shown = client.get("/dashboard/translation/glossary").get_data(as_text=True)
    assert "Acme\nHoodie | de | Kapuzenpullover</textarea>" in shown

    lexicon = {"csrf_token": token(shown), "entries": "Nike | en | Nye-key\nAdidas | de"}
    refused = client.post("/dashboard/narration/lexicon", data=lexicon)
    assert refused.status_code == 422 and "line 2 (Adidas)" in refused.get_data(as_text=True)
    lexicon["entries"] = "Nike | en | Nye-key\nAdidas | de | [[ 'a:didas ]]"
    assert client.post("/dashboard/narration/lexicon", data=lexicon).status_code == 303
    entries = client.get("/api/v1/narration/lexicon", headers=shop_a.headers).get_json()["entries"]
    assert {(e["term"], e["respelling"], e["phonemes"]) for e in entries} == {
        ("Nike", "Nye-key", None),
        ("Adidas", None, "'a:didas"),
    }

    handoff = {
        "support_calls-csrf_token": token(page),
        "fields": ["handoff_number", "retention_days"],
        "support_calls-handoff_number": "+4930123456",
        "support_calls-retention_days": "14",
    }
    saved = client.post("/dashboard/plugins/support_calls/settings", data=handoff)
    assert saved.status_code == 303 and "/dashboard/account/settings" in saved.headers["Location"]
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        settings = app.extensions["plugins"].states(session)["support_calls"].settings
    assert (settings.handoff_number, settings.retention_days) == ("+4930123456", 14)
    assert settings.stream_replies is True  # the settings it did not show are left as they were
    bad = client.post(
        "/dashboard/plugins/support_calls/settings",
        data={**handoff, "support_calls-retention_days": "99999"},
    )
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "less than or equal to 3650" in text
    assert text.count('<input type="hidden" name="fields"') == 2  # sent again, still those two
    assert 'name="support_calls-record_calls"' not in text

    twice = {"csrf_token": token(page), "entries": "Nike | en | Nye-key\nNIKE | en | Nee-kay"}
    refused = client.post("/dashboard/narration/lexicon", data=twice)
    assert refused.status_code == 422 and "given twice" in refused.get_data(as_text=True)
