"""Shared fixtures: real SQLite and PostgreSQL databases, Redis, apps, merchants.

PostgreSQL and Redis tests skip, saying why, when the service is unreachable;
under CI (``CI=true``) they fail instead, so a missing service is never hidden.
"""

from __future__ import annotations

import gc
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings

from app import create_app
from merchant_voice import accounts
from merchant_voice.migrate import Migrations
from merchant_voice.tenancy import MerchantInfo
from tests.dashboard_browser import browser, dashboard_host
from tests.engines_fixtures import TEST_CHAT_ROUTES, engines, prepared

# Session fixtures, once for the whole run: every module shares them (a module importing
# them itself would get, and start, its own vLLM server, browser or served host).
__all__ = ["browser", "dashboard_host", "engines", "prepared"]

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get(
    "MV_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("MV_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_PLUGIN_PACKAGES = ["plugins", "tests.plugins"]

# Generated input (the hostile-input suite): new examples on every local run; under CI
# the same ones every run, so that a red CI is a change's doing, not the draw's.
settings.register_profile("ci", derandomize=True, database=None)
if IN_CI:
    settings.load_profile("ci")

LIVE_FIXTURES = frozenset({"engines", "browser"})
"""The session's vLLM server and its Chromium: a test that asks the model (directly, through
an app, a call or a job) or drives the dashboard in a real browser is ``live``."""


@contextmanager
def _no_collection() -> Iterator[None]:
    """No garbage collection while an app is built: on CPython 3.11 before 3.11.8 one
    that runs while werkzeug compiles the routes' AST can fail the build with "AST
    constructor recursion depth mismatch" (gh-106905), once in a few hundred apps."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``-m "not live"``, the fast tier, leaves out every test that needs a model server or
    a browser."""
    for item in items:
        if LIVE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.live)


def require_service(name: str, where: str, error: Exception | None) -> None:
    """Skip (locally) or fail (under CI) when a service is unreachable."""
    if error is None:
        return
    message = f"{name} is not reachable at {where}: {error}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: this service is required)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[sa.Engine]:
    engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            pass
        error = None
    except sa.exc.OperationalError as exc:
        error = exc
    require_service("PostgreSQL", POSTGRES_ADMIN_URL, error)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        error = None
    except redis.RedisError as exc:
        error = exc
    require_service("Redis", REDIS_URL, error)
    return REDIS_URL


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from new_database(request.param, request, tmp_path)


def new_database(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database: a SQLite file, or a PostgreSQL database of its own."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'merchant_voice.sqlite3'}"
        return
    admin: sa.Engine = request.getfixturevalue("postgres_admin")
    name = f"mv_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def app_config(tmp_path: Path, database_url: str, **sections: dict[str, Any]) -> dict[str, Any]:
    """A configuration mapping for a test app in ``tmp_path``."""
    config: dict[str, Any] = {
        "host": {"instance_path": str(tmp_path / "instance"), "max_body_bytes": 64 * 1024},
        "database": {"url": database_url},
        "plugins": {"packages": TEST_PLUGIN_PACKAGES, "entry_points": False},
        "jobs": {"workers": 2, "heartbeat_s": 0.5, "retry_delay_s": 0.2},
        "chat": TEST_CHAT_ROUTES,
    }
    for section, values in sections.items():
        config[section] = {**config.get(section, {}), **values}
    return config


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build migrated apps; everything they opened is closed afterwards."""
    apps: list[Flask] = []

    def factory(database_url: str, migrate: bool = True, **sections: dict[str, Any]) -> Flask:
        with _no_collection():
            app = create_app(app_config(tmp_path, database_url, **sections))
        app.config["TESTING"] = True
        if migrate:
            Migrations(app.extensions["db"], app.extensions["plugins"]).upgrade()
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.extensions["jobs"].stop_workers(timeout_s=5)
        app.extensions["db"].dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask], database_url: str) -> Flask:
    return make_app(database_url)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass(frozen=True)
class Shop:
    """A merchant with an API key, as the tests' caller."""

    merchant: MerchantInfo
    key: str

    @property
    def id(self) -> int:
        return self.merchant.id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def make_shop(app: Flask, slug: str, **fields: Any) -> Shop:
    db, plugins = app.extensions["db"], app.extensions["plugins"]
    with app.app_context():
        merchant = accounts.onboard_merchant(
            db, plugins, slug=slug, name=fields.pop("name", slug.title()), **fields
        )
    with db.host_transaction() as session:
        _, key = accounts.create_api_key(session, accounts.merchant_by_slug(session, slug))
    return Shop(merchant, key)


@pytest.fixture
def shop_a(app: Flask) -> Shop:
    return make_shop(app, "shop-a", default_locale="de_DE", market_locales=["fr_FR"])


@pytest.fixture
def shop_b(app: Flask) -> Shop:
    return make_shop(app, "shop-b")
