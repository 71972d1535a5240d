"""``flask --app app ...`` commands. Each takes ``--json`` where scripts read its output."""

from __future__ import annotations

from flask import Flask

from merchant_voice.cli.accounts import apikeys, merchants, users
from merchant_voice.cli.credentials import credentials
from merchant_voice.cli.engines import engines, models
from merchant_voice.cli.plugins import plugins
from merchant_voice.cli.system import config, db, serve, worker


def init_app(app: Flask) -> None:
    for group in (merchants, apikeys, users, credentials, plugins, config, db, serve, worker):
        app.cli.add_command(group)
    for group in (models, engines):
        app.cli.add_command(group)
