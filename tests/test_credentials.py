"""Merchants' credentials: encrypted at rest, environment references, rotation, isolation."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import select

from merchant_voice.errors import CredentialUnreadable, TenancyViolation
from models import Credential
from tests.conftest import Shop

NAME = "shopify.webhook_secret"
SECRET = "shpss_correct-horse-battery-staple"


def stored(app: Flask) -> list[bytes]:
    with app.extensions["db"].host_session() as session:
        return [blob for blob in session.scalars(select(Credential.ciphertext)) if blob]


def test_a_value_is_encrypted_at_rest_and_never_logged(
    app: Flask, shop_a: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    store = app.extensions["credentials"]
    with caplog.at_level(logging.DEBUG):
        store.set(shop_a.id, NAME, SECRET)
    assert store.get(shop_a.id, NAME) == SECRET
    (blob,) = stored(app)
    assert SECRET.encode() not in blob and blob.startswith(b"gAAAAA")  # a Fernet token
    assert SECRET not in caplog.text
    assert store.describe(shop_a.id)[0]["kind"] == "encrypted"


def test_an_environment_reference_is_read_when_used(
    app: Flask, shop_a: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = app.extensions["credentials"]
    store.set(shop_a.id, NAME, "env:SHOP_A_SHOPIFY_SECRET", allow_env=True)
    assert store.get(shop_a.id, NAME) is None  # not set yet
    monkeypatch.setenv("SHOP_A_SHOPIFY_SECRET", SECRET)
    assert store.get(shop_a.id, NAME) == SECRET
    assert stored(app) == []
    # Without allow_env (the API's way), "env:..." is only a value like any other.
    store.set(shop_a.id, NAME, "env:OTHER")
    assert store.get(shop_a.id, NAME) == "env:OTHER"


def test_keys_rotate_and_a_lost_key_is_a_clear_error(
    make_app: Callable[..., Flask], database_url: str, shop_a: Shop, app: Flask
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    first = make_app(database_url, migrate=False, host={"credentials_key": old})
    first.extensions["credentials"].set(shop_a.id, NAME, SECRET)
    rotated = make_app(
        database_url,
        migrate=False,
        host={"credentials_key": new, "credentials_previous_keys": [old]},
    )
    assert rotated.extensions["credentials"].get(shop_a.id, NAME) == SECRET
    result = rotated.test_cli_runner().invoke(args=["credentials", "rotate", "--json"])
    assert result.exit_code == 0 and '"rotated": 1' in result.output
    only_new = make_app(database_url, migrate=False, host={"credentials_key": new})
    assert only_new.extensions["credentials"].get(shop_a.id, NAME) == SECRET
    lost = make_app(database_url, migrate=False, host={"credentials_key": old})
    with pytest.raises(CredentialUnreadable, match="credentials_previous_keys"):
        lost.extensions["credentials"].get(shop_a.id, NAME)


def test_api_sets_lists_and_deletes_without_ever_returning_values(
    app: Flask, shop_a: Shop, shop_b: Shop
) -> None:
    client = app.test_client()
    put = client.put(f"/api/v1/credentials/{NAME}", json={"value": SECRET}, headers=shop_a.headers)
    assert put.status_code == 200 and SECRET not in put.get_data(as_text=True)
    listed = client.get("/api/v1/credentials", headers=shop_a.headers).get_json()
    assert [row["name"] for row in listed["credentials"]] == [NAME]
    assert "woocommerce.webhook_secret" in listed["declared"]
    assert client.get("/api/v1/credentials", headers=shop_b.headers).get_json()["credentials"] == []
    assert app.extensions["credentials"].get(shop_b.id, NAME) is None
    assert client.delete(f"/api/v1/credentials/{NAME}", headers=shop_b.headers).status_code == 404
    unknown = client.put(
        "/api/v1/credentials/catalog.nope", json={"value": "x"}, headers=shop_a.headers
    )
    assert unknown.status_code == 422 and unknown.get_json()["errors"][0]["field"] == "name"
    empty = client.put(f"/api/v1/credentials/{NAME}", json={"value": ""}, headers=shop_a.headers)
    assert empty.status_code == 422
    assert client.delete(f"/api/v1/credentials/{NAME}", headers=shop_a.headers).status_code == 204
    assert app.extensions["credentials"].get(shop_a.id, NAME) is None


def test_cli_sets_from_stdin_or_env_and_names_bad_input(app: Flask, shop_a: Shop) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["credentials", "set", "shop-a", NAME, "--stdin"], input=SECRET)
    assert result.exit_code == 0 and SECRET not in result.output
    assert app.extensions["credentials"].get(shop_a.id, NAME) == SECRET
    env = runner.invoke(args=["credentials", "set", "shop-a", NAME, "--env", "SHOP_A_SECRET"])
    assert env.exit_code == 0 and "(env)" in env.output
    listed = runner.invoke(args=["credentials", "list", "shop-a"])
    assert "env SHOP_A_SECRET" in listed.output
    bad = runner.invoke(args=["credentials", "set", "shop-a", "catalog.nope", "--stdin"], input="x")
    assert bad.exit_code == 1 and "NAME: no credential is called" in bad.output
    bad_env = runner.invoke(args=["credentials", "set", "shop-a", NAME, "--env", "1-bad"])
    assert bad_env.exit_code == 1 and "not an environment reference" in bad_env.output


def test_plugins_cannot_read_the_credentials_table(app: Flask, shop_a: Shop) -> None:
    app.extensions["credentials"].set(shop_a.id, NAME, SECRET)
    session = app.extensions["db"].tenant_session(shop_a.merchant)
    with session, pytest.raises(TenancyViolation):
        session.scalars(select(Credential)).all()
