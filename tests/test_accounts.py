"""Merchants, users and API keys through the CLI, as scripts use it (--json)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.security import check_password_hash

from models import ApiKey, Merchant, User


@pytest.fixture
def database_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path / 'accounts.sqlite3'}"


def run(app: Flask, *args: str, input: str | None = None) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=list(args), input=input)
    return result.exit_code, result.output


def test_merchants_create_and_list(app: Flask) -> None:
    code, out = run(
        app,
        "merchants",
        "create",
        "acme",
        "--name",
        "Acme",
        "--locale",
        "de-at",
        "--markets",
        "fr_FR,en_GB",
        "--currency",
        "eur",
        "--timezone",
        "Europe/Vienna",
        "--json",
    )
    assert code == 0, out
    created = json.loads(out)
    assert created["slug"] == "acme"
    assert created["default_locale"] == "de_AT"
    assert created["market_locales"] == ["de_AT", "fr_FR", "en_GB"]
    assert created["currency"] == "EUR"
    code, out = run(app, "merchants", "list", "--json")
    assert code == 0
    assert [m["slug"] for m in json.loads(out)] == ["acme"]
    code, out = run(app, "merchants", "list")
    assert "acme" in out and "Acme" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Bad Slug", "--name", "X"], "SLUG: 'Bad Slug' is not a slug"),
        (["ok", "--name", "X", "--locale", "xx_YY"], "--locale: 'xx_YY' is not a known locale"),
        (["ok", "--name", "X", "--markets", "de_DE,zz"], "--markets: 'zz' is not a known locale"),
        (["ok", "--name", "X", "--currency", "EURO"], "--currency: 'EURO' is not an ISO 4217"),
        (
            ["ok", "--name", "X", "--timezone", "Mars/Base"],
            "--timezone: 'Mars/Base' is not a known",
        ),
        (["ok", "--name", ""], "--name: String should have at least 1 character"),
    ],
)
def test_bad_merchant_fields_are_named(app: Flask, args: list[str], message: str) -> None:
    code, out = run(app, "merchants", "create", *args)
    assert code == 1
    assert message in out
    with app.extensions["db"].host_session() as session:
        assert session.scalars(select(Merchant)).all() == []


def test_duplicate_slug_is_a_conflict(app: Flask) -> None:
    assert run(app, "merchants", "create", "acme", "--name", "A")[0] == 0
    code, out = run(app, "merchants", "create", "acme", "--name", "B", "--json")
    assert code == 1
    assert json.loads(out.split("Error:")[0])["error"]["status"] == 409


def test_api_keys_are_shown_once_and_stored_hashed(app: Flask) -> None:
    run(app, "merchants", "create", "acme", "--name", "Acme")
    code, out = run(app, "apikeys", "create", "acme", "--label", "shop sync", "--json")
    assert code == 0, out
    created = json.loads(out)
    key, prefix = created["key"], created["prefix"]
    assert key.startswith(prefix + "_") and len(key) > 40
    with app.extensions["db"].host_session() as session:
        stored = session.scalars(select(ApiKey)).one()
        assert stored.prefix == prefix
        assert key not in (stored.key_hash, stored.prefix, stored.label)
    code, out = run(app, "apikeys", "list", "acme", "--json")
    assert key not in out and json.loads(out)[0]["prefix"] == prefix
    code, out = run(app, "apikeys", "revoke", prefix, "--json")
    assert code == 0 and json.loads(out)["revoked_at"]
    assert run(app, "apikeys", "revoke", "mvk_00000000")[0] == 1
    assert (
        run(app, "apikeys", "create", "nobody")[1].strip()
        == "Error: no merchant with slug 'nobody'"
    )


def test_users_get_hashed_passwords(app: Flask) -> None:
    run(app, "merchants", "create", "acme", "--name", "Acme")
    code, out = run(
        app,
        "users",
        "create",
        "acme",
        "Ann@Example.com",
        "--json",
        input="correct horse battery\ncorrect horse battery\n",
    )
    assert code == 0, out
    assert json.loads(out[out.index("{") :])["email"] == "ann@example.com"
    with app.extensions["db"].host_session() as session:
        user = session.scalars(select(User)).one()
        assert "correct horse" not in user.password_hash
        assert check_password_hash(user.password_hash, "correct horse battery")
    code, out = run(app, "users", "create", "acme", "not-an-email", "--password", "short")
    assert code == 1
    assert "EMAIL: 'not-an-email' is not an e-mail address" in out
    assert "--password: must be at least 10 characters" in out
    code, out = run(
        app, "users", "create", "acme", "ann@example.com", "--password", "long enough pw"
    )
    assert code == 1 and "already exists" in out
