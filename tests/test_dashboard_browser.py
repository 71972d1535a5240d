"""The dashboard in a real browser (Debian's Chromium under Playwright) against the real
served host: signing in, a refused forged form, German pages, a narrow screen, jobs that
update in place, and an accessibility audit (axe-core) of every page.

Without a browser these tests skip, saying why; under CI (``CI=true``) they fail.
``MV_SCREENSHOTS=1`` writes the key pages' screenshots into docs/screenshots/.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.dashboard_browser import DashboardHost, audited, signed_in
from tests.served_host import Served


@pytest.fixture(scope="module")
def host(dashboard_host: DashboardHost) -> Served:
    """The served host, with merchant acme's owner and twelve listings."""
    served = dashboard_host.served
    dashboard_host.user("acme", "owner@acme.test")
    for n in range(12):
        listing = {
            "handle": f"hoodie-{n}",
            "title": f"Organic Hoodie {n}",
            "price": "1249.90",
            "stock_quantity": n,
        }
        answer = httpx.post(f"{served.url}/api/v1/listings", json=listing, headers=served.headers)
        assert answer.status_code == 201, answer.text
    return served


def test_signing_in_and_every_page_passes_the_audit(browser: Browser, host: Served) -> None:
    page = browser.new_context(base_url=host.url).new_page()
    page.goto("/dashboard/")  # signed out: to the sign-in page
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    audited(page, "login")
    page.get_by_label("E-mail").fill("owner@acme.test")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong e-mail or password.")

    page = signed_in(browser, host)
    audited(page, "overview")
    page.get_by_role("link", name="Catalog").click()
    expect(page.get_by_role("cell", name="Organic Hoodie 3")).to_be_visible()
    expect(page.get_by_text("12 listings")).to_be_visible()
    audited(page, "catalog")
    page.get_by_label("Search listings").fill("hoodie 11")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("1 listing", exact=True)).to_be_visible()
    page.get_by_role("link", name="Jobs").click()
    audited(page, "jobs")

    forged = page.request.post(f"{host.url}/dashboard/logout", form={"csrf_token": "forged"})
    assert forged.status == 400  # a form without this session's token
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_pages_in_german_and_on_a_narrow_screen(browser: Browser, host: Served) -> None:
    page = signed_in(browser, host, locale="de-DE", viewport={"width": 390, "height": 844})
    expect(page.locator("html")).to_have_attribute("lang", "de")
    page.get_by_role("link", name="Katalog").click()
    expect(page.get_by_text("12 Angebote")).to_be_visible()
    expect(page.get_by_role("cell", name="1.249,90\xa0$").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px screen"
    audited(page, "catalog-de-390px")


def test_a_jobs_progress_updates_without_reloading(browser: Browser, host: Served) -> None:
    csv = "Handle,Title,Variant Price\nscarf,Wool Scarf,19.90\n"
    answer = httpx.post(
        f"{host.url}/api/v1/catalog/imports",
        files={"file": ("products.csv", csv, "text/csv")},
        data={"format": "shopify"},
        headers=host.headers,
    )
    assert answer.status_code == 202, answer.text
    page = signed_in(browser, host)
    page.goto("/dashboard/jobs/")
    row = page.get_by_role("row").filter(has_text="catalog.import")
    expect(row.get_by_text("Queued")).to_be_visible()  # no worker yet
    loaded = page.evaluate("performance.timeOrigin")
    worker = host.popen("worker", "--threads", "1")
    try:
        expect(row.get_by_text("Done")).to_be_visible(timeout=30_000)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert page.evaluate("performance.timeOrigin") == loaded  # the same page, not reloaded
    assert row.locator("progress").evaluate("bar => bar.value") == 1
