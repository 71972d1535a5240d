"""Driving the dashboard in a real browser: Debian's Chromium under Playwright (the
``browser`` fixture skips without it, and fails under CI), against one served host for
the run (``dashboard_host``, with an app beside it on the same instance for seeding);
signing in, and the axe-core audit every page passes (``MV_SCREENSHOTS=1``: its
screenshot into docs/screenshots/). The session fixtures are the conftest's: every
browser module shares them."""

from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Browser, Page, expect, sync_playwright

from app import create_app
from merchant_voice import accounts
from merchant_voice.tenancy import MerchantInfo
from tests.engines_fixtures import MODELS_CACHE
from tests.served_host import Served, served_host

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("MV_TEST_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "correct horse battery"
SERIOUS = {"serious", "critical"}


@dataclass
class DashboardHost:
    served: Served  # plain HTTP (Secure cookies off), jobs run by a worker a test starts
    app: Flask  # on the same instance: its database, files and engines, for seeding

    def merchant(self, slug: str, **fields: Any) -> tuple[MerchantInfo, dict[str, str]]:
        """A new merchant, onboarded as the CLI does it, and its API key's headers."""
        db, plugins = self.app.extensions["db"], self.app.extensions["plugins"]
        with self.app.app_context():
            merchant = accounts.onboard_merchant(db, plugins, slug=slug, **fields)
        with db.host_transaction() as session:
            row = accounts.merchant_by_slug(session, slug)
            _, key = accounts.create_api_key(session, row)
        return merchant, {"Authorization": f"Bearer {key}"}

    def user(self, slug: str, email: str, locale: str | None = None) -> None:
        """An owner of merchant ``slug``, with the tests' password."""
        with self.app.extensions["db"].host_transaction() as session:
            merchant = accounts.merchant_by_slug(session, slug)
            accounts.create_user(session, merchant, email, PASSWORD, locale=locale)


@pytest.fixture(scope="session")
def dashboard_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardHost]:
    tmp = tmp_path_factory.mktemp("dashboard")
    settings = {"MV_DASHBOARD_SECURE_COOKIES": "false", "MV_JOBS_WORKERS": "0"}
    with served_host(tmp, **settings) as served:
        app = create_app(
            {
                "host": {"instance_path": str(tmp)},
                "models": {"cache_dir": str(MODELS_CACHE)},
                "chat": {"url": "http://127.0.0.1:9"},
                "jobs": {"workers": 0},
            }
        )
        try:
            yield DashboardHost(served, app)
        finally:
            app.extensions["db"].dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    from tests.conftest import require_service  # the conftest imports this module

    error = None if CHROMIUM.is_file() else FileNotFoundError(f"{CHROMIUM} is not installed")
    require_service("Chromium", str(CHROMIUM), error)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],  # audio plays
        )
        yield launched
        launched.close()


def signed_in(
    browser: Browser, host: Served, email: str = "owner@acme.test", **context: object
) -> Page:
    page = browser.new_context(base_url=host.url, **context).new_page()  # type: ignore[arg-type]
    page.goto("/dashboard/login")
    page.locator("input[name=email]").fill(email)  # in any language
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{host.url}/dashboard/")
    return page


def signed_in_state(browser: Browser, host: Served, email: str) -> Any:
    """A browser's state signed in as ``email`` (its cookie), for pages opened with
    :func:`opened`: a module signs in once, not once a test (the sign-in limit counts
    every attempt)."""
    page = signed_in(browser, host, email)
    state = page.context.storage_state()
    page.context.close()
    return state


def opened(browser: Browser, host: Served, state: Any, url: str, **context: Any) -> Page:
    """A new page of a browser in ``state`` (signed in), at ``url``."""
    page = browser.new_context(base_url=host.url, storage_state=state, **context).new_page()
    page.goto(url)
    return page


def audited(page: Page, name: str) -> None:
    """No serious or critical axe-core violation; the screenshot, when asked for."""
    found = Axe().run(page).response["violations"]
    serious = [(v["id"], v["impact"], v["help"]) for v in found if v["impact"] in SERIOUS]
    assert not serious, f"{name}: {json.dumps(serious, indent=1)}"
    if os.environ.get("MV_SCREENSHOTS"):
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


@contextmanager
def static_site(folder: Path) -> Iterator[str]:
    """``folder`` served as plain files, as a storefront's static pages are, at
    ``http://localhost:<port>``: another origin than the served host's 127.0.0.1."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://localhost:{server.server_address[1]}"
        finally:
            server.shutdown()
            thread.join()
