"""The dashboard's door: signing in and out, CSRF tokens on every write, the sign-in
rate limit, cookie flags and the page policy, and sessions a password reset ends."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from tests.conftest import Shop, make_shop
from tests.dashboard_client import PASSWORD, add_user, sign_in, token


@pytest.fixture
def door(make_app: Callable[..., Flask], database_url: str) -> Flask:
    return make_app(database_url, dashboard={"login_limit": "4 per minute"})


def test_a_user_signs_in_sees_their_merchant_and_signs_out(door: Flask) -> None:
    shop = make_shop(door, "acme", name="Acme Outdoor")
    add_user(door, shop, "Owner@Acme.test")
    client = door.test_client()  # Werkzeug sends the Secure cookie over http too
    assert client.get("/dashboard/").headers["Location"].startswith("/dashboard/login")

    page = client.get("/dashboard/login")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert 'for="email"' in page.get_data(as_text=True)  # labelled fields

    signed_in = sign_in(client, "owner@acme.test")
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/dashboard/"
    cookie = signed_in.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    answer = client.get("/dashboard/")
    assert answer.headers["Cache-Control"] == "no-store"  # the merchant's data, uncached
    assert "no-store" not in client.get("/dashboard/static/dashboard.css").headers.get(
        "Cache-Control", ""
    )
    overview = answer.get_data(as_text=True)
    assert "Acme Outdoor" in overview and "owner@acme.test (owner)" in overview

    refused = client.post("/dashboard/logout")  # no token: a forged sign-out
    assert refused.status_code == 400
    assert "not sent from this dashboard" in refused.get_data(as_text=True)
    out = client.post("/dashboard/logout", data={"csrf_token": token(overview)})
    assert out.status_code == 302
    assert client.get("/dashboard/").status_code == 302  # signed out


def test_wrong_passwords_and_forged_forms_are_refused(door: Flask, shop_a: Shop) -> None:
    add_user(door, shop_a, "agent@shop-a.test", role="agent")
    client = door.test_client()  # Werkzeug sends the Secure cookie over http too
    for email, password in (("agent@shop-a.test", "not the password"), ("nobody@x.test", PASSWORD)):
        answer = sign_in(client, email, password)
        assert answer.status_code == 401  # the same answer: no telling who has an account
        assert "Wrong e-mail or password." in answer.get_data(as_text=True)
    forged = client.post(
        "/dashboard/login", data={"email": "agent@shop-a.test", "password": PASSWORD}
    )
    assert forged.status_code == 400  # no CSRF token
    assert client.get("/dashboard/").status_code == 302

    for away in ("https://evil.test/dashboard/", "//evil.test/dashboard/", "/\\evil.test/"):
        elsewhere = sign_in(client, "agent@shop-a.test", next=away)
        assert elsewhere.headers["Location"] == "/dashboard/", away  # never sent off the host
    assert "(agent)" in client.get("/dashboard/").get_data(as_text=True)


def test_sign_in_attempts_are_limited(door: Flask, shop_a: Shop) -> None:
    add_user(door, shop_a, "owner@shop-a.test")
    client = door.test_client()  # Werkzeug sends the Secure cookie over http too
    for _ in range(4):
        assert sign_in(client, "owner@shop-a.test", "guess guess guess").status_code == 401
    limited = sign_in(client, "owner@shop-a.test")  # even the right password, for a while
    assert limited.status_code == 429
    assert "Too many sign-in attempts" in limited.get_data(as_text=True)
    # counted per address and e-mail: behind a proxy, one account's guessing locks no other
    assert sign_in(client, "someone@shop-a.test", "guess guess guess").status_code == 401


def test_a_password_reset_ends_the_users_sessions(door: Flask, shop_a: Shop) -> None:
    add_user(door, shop_a, "owner@shop-a.test")
    client = door.test_client()  # Werkzeug sends the Secure cookie over http too
    assert sign_in(client, "owner@shop-a.test").status_code == 302
    assert client.get("/dashboard/").status_code == 200
    runner = door.test_cli_runner()
    args = [
        "users",
        "reset-password",
        "shop-a",
        "owner@shop-a.test",
        "--password",
        "a new password!",
    ]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert client.get("/dashboard/").status_code == 302  # signed out by the reset
    assert sign_in(client, "owner@shop-a.test", "a new password!").status_code == 302

    for args, message in [
        (
            ["users", "reset-password", "shop-a", "who@x.test", "--password", "long enough!"],
            "no user",
        ),
        (
            ["users", "reset-password", "shop-a", "owner@shop-a.test", "--password", "short"],
            "--password",
        ),
        (
            ["users", "create", "shop-a", "x@x.test", "--password", PASSWORD, "--role", "boss"],
            "--role",
        ),
    ]:
        refused = runner.invoke(args=args)
        assert refused.exit_code != 0 and message in refused.output, refused.output


def test_pages_speak_the_users_language_else_the_browsers(door: Flask, shop_a: Shop) -> None:
    client = door.test_client()  # Werkzeug sends the Secure cookie over http too
    german = client.get("/dashboard/login", headers={"Accept-Language": "de-DE,de;q=0.9"})
    page = german.get_data(as_text=True)
    assert '<html lang="de">' in page and "Anmelden" in page and "Passwort" in page
    assert "Sign in" not in page
    assert "Sign in" in client.get("/dashboard/login").get_data(as_text=True)  # English

    add_user(door, shop_a, "tanaka@shop-a.test", "agent", "--locale", "ja_JP")
    assert sign_in(client, "tanaka@shop-a.test").status_code == 302
    overview = client.get("/dashboard/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "サインアウト" in overview and "担当者" in overview  # their choice wins

    bad = door.test_cli_runner().invoke(
        args=[
            "users",
            "create",
            "shop-a",
            "x@shop-a.test",
            "--password",
            PASSWORD,
            "--locale",
            "xx_YY",
        ]
    )
    assert bad.exit_code != 0 and "--locale" in bad.output


def test_a_session_ends_after_its_hours_and_https_needs_no_referer(
    door: Flask, shop_a: Shop
) -> None:
    add_user(door, shop_a, "owner@shop-a.test")
    client = door.test_client()
    page = client.get("/dashboard/login", base_url="https://shop.example").get_data(as_text=True)
    form = {"email": "owner@shop-a.test", "password": PASSWORD, "csrf_token": token(page)}
    signed_in = client.post("/dashboard/login", data=form, base_url="https://shop.example")
    assert signed_in.status_code == 302  # over HTTPS, with no Referer (no-referrer policy)
    assert client.get("/dashboard/", base_url="https://shop.example").status_code == 200
    with client.session_transaction(base_url="https://shop.example") as session:
        session["signed_in_at"] -= 12 * 3600 + 1  # signed in longer ago than a session lasts
    assert client.get("/dashboard/", base_url="https://shop.example").status_code == 302
    status = client.get(
        "/dashboard/jobs/status?ids=x",
        base_url="https://shop.example",
        headers={"Accept": "application/json"},
    )
    assert status.status_code == 401  # the page's script learns it is signed out
