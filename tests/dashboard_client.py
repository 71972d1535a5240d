"""Driving the dashboard with Flask's test client: users, CSRF tokens, signing in."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import Shop

PASSWORD = "correct horse battery"


def token(page: str) -> str:
    """The CSRF token of the (first) form on ``page``."""
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def add_user(app: Flask, shop: Shop, email: str, role: str = "owner", *more: str) -> None:
    args = ["users", "create", shop.merchant.slug, email, "--password", PASSWORD, "--role", role]
    result = app.test_cli_runner().invoke(args=[*args, *more])
    assert result.exit_code == 0, result.output


def sign_in(
    client: FlaskClient, email: str, password: str = PASSWORD, **query: str
) -> TestResponse:
    form_token = token(client.get("/dashboard/login").get_data(as_text=True))
    form = {"email": email, "password": password, "csrf_token": form_token}
    return client.post("/dashboard/login", data=form, query_string=query)
