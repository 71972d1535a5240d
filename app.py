"""Merchant Voice host: the application factory and the CLI wiring.

flask --app app db upgrade      # create or update the database
flask --app app serve           # run the host
flask --app app --help          # every command
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from flask import Flask

from engines import Engines
from merchant_voice import cli, dashboard, logs
from merchant_voice.config import Settings, build_settings, load_settings
from merchant_voice.credentials import CredentialStore
from merchant_voice.db import Database
from merchant_voice.errors import ConfigError
from merchant_voice.jobs import JobService
from merchant_voice.plugin_manager import PluginManager
from merchant_voice.web import (
    api,
    credentials_api,
    health,
    host_api,
    problems,
    security,
    shop_hooks,
)

log = logging.getLogger(__name__)


def create_app(config: Settings | Mapping[str, Any] | str | Path | None = None) -> Flask:
    """Build the host.

    ``config`` is a :class:`Settings`, a mapping shaped like ``config.toml``,
    a path to a TOML file, or None for ``$MV_CONFIG`` / ``./config.toml`` with
    ``MV_*`` overrides.
    """
    try:
        settings = _settings(config)
    except ConfigError as exc:
        if click.get_current_context(silent=True) is not None:
            raise click.ClickException(exc.detail) from None
        raise
    _configure_logging(settings)

    app = Flask(__name__, instance_path=str(settings.instance_dir))
    _own_files(settings.instance_dir)
    app.config.update(
        SECRET_KEY=_secret_key(settings),
        MAX_CONTENT_LENGTH=settings.host.max_body_bytes,
    )
    app.extensions["settings"] = settings
    security.init_app(app)

    db = Database(settings.database_url, settings.database.echo)
    db.init_app(app)
    CredentialStore(settings, db).init_app(app)
    plugins = PluginManager(settings.plugins)
    plugins.load()
    app.extensions["plugins"] = plugins
    jobs = JobService(settings, db, plugins)
    jobs.init_app(app)
    plugins.call_each(
        "register_jobs", lambda plugin: {"registry": jobs.registry.for_plugin(plugin)}
    )

    app.extensions["engines"] = Engines(settings.engines)

    logs.init_app(app)
    problems.init_app(app)
    api.init_app(app)
    app.register_blueprint(host_api.bp)
    app.register_blueprint(credentials_api.bp)
    app.register_blueprint(shop_hooks.bp)
    app.register_blueprint(health.bp)
    dashboard.init_app(app, settings)
    for plugin in plugins.plugins.values():
        for blueprint in plugin.blueprints:
            if isinstance(blueprint, api.ApiBlueprint) and blueprint.plugin is None:
                blueprint.plugin = plugin.name
            if blueprint.template_folder is None and plugin.resources.templates_dir:
                blueprint.template_folder = str(plugin.resources.templates_dir)
            app.register_blueprint(blueprint)

    cli.init_app(app)
    plugins.call("register_commands", cli=app.cli)
    plugins.call("startup", app=app)
    return app


def _settings(config: Settings | Mapping[str, Any] | str | Path | None) -> Settings:
    if isinstance(config, Settings):
        return config
    if isinstance(config, Mapping):
        return build_settings(config)
    return load_settings(config)


def _own_files(instance_dir: Path) -> None:
    """The host's files are its user's alone: the instance folder 0700, and everything the
    process creates (SQLite files, recordings, keys, prepared models) 0600 or 0700."""
    os.umask(0o077)
    instance_dir.mkdir(parents=True, exist_ok=True)
    instance_dir.chmod(0o700)


def _secret_key(settings: Settings) -> str:
    if settings.host.secret_key is not None:
        return settings.host.secret_key.get_secret_value()
    path = settings.instance_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _configure_logging(settings: Settings) -> None:
    logs.configure(settings.logging.level, settings.logging.format)
