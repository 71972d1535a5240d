"""Driving the dashboard in a real browser: Debian's Chromium under Playwright (the
``browser`` fixture skips without it, and fails under CI), signing in, and the axe-core
audit every page passes (``MV_SCREENSHOTS=1``: its screenshot into docs/screenshots/)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import require_service
from tests.served_host import Served

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("MV_TEST_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "correct horse battery"
SERIOUS = {"serious", "critical"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
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


def audited(page: Page, name: str) -> None:
    """No serious or critical axe-core violation; the screenshot, when asked for."""
    found = Axe().run(page).response["violations"]
    serious = [(v["id"], v["impact"], v["help"]) for v in found if v["impact"] in SERIOUS]
    assert not serious, f"{name}: {json.dumps(serious, indent=1)}"
    if os.environ.get("MV_SCREENSHOTS"):
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
