"""Typed access to the services in ``app.extensions``, for the current app or a given one."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from flask import Flask, current_app

if TYPE_CHECKING:
    from engines import Engines
    from merchant_voice.config import Settings
    from merchant_voice.credentials import CredentialStore
    from merchant_voice.db import Database
    from merchant_voice.jobs import JobService
    from merchant_voice.plugin_manager import PluginManager


def _app(app: Flask | None) -> Flask:
    return app if app is not None else cast(Flask, current_app._get_current_object())  # type: ignore[attr-defined]


def settings(app: Flask | None = None) -> Settings:
    return cast("Settings", _app(app).extensions["settings"])


def database(app: Flask | None = None) -> Database:
    return cast("Database", _app(app).extensions["db"])


def plugin_manager(app: Flask | None = None) -> PluginManager:
    return cast("PluginManager", _app(app).extensions["plugins"])


def job_service(app: Flask | None = None) -> JobService:
    return cast("JobService", _app(app).extensions["jobs"])


def credentials(app: Flask | None = None) -> CredentialStore:
    return cast("CredentialStore", _app(app).extensions["credentials"])


def engines(app: Flask | None = None) -> Engines:
    return cast("Engines", _app(app).extensions["engines"])
