"""The dashboard's pages in a real browser against the real served host: a CSV import
showing its rejected row, a translation reviewed and edited then outdated by a source
change, a narration that plays real audio with its captions, a call's transcript,
timeline and recording, plugin settings refused with the schema's messages, German dates
and prices, the sign-in limit, another merchant's call not found, and the axe-core audit
of every page; and the narration's embed snippet playing on a plain static page of
another origin. Seeded beside the host through its own database and engines."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from merchant_voice.tenancy import MerchantInfo
from plugins.catalog.models import Listing
from plugins.narration import editing
from plugins.narration.models import Narration
from plugins.translation import service
from plugins.translation.document import FIELDS
from plugins.translation.models import ListingTranslation
from tests.dashboard_browser import (
    DashboardHost,
    audited,
    opened,
    signed_in,
    signed_in_state,
    static_site,
)
from tests.dashboard_client import add_call
from tests.served_host import Served
from tests.test_jobs import wait_finished

OWNER = "owner@kaufhaus.test"
GERMAN = "deutsch@kaufhaus.test"
SCRIPT = "Meet the organic hoodie: soft cotton, a kangaroo pocket, and it costs forty-nine euros."


@dataclass
class Shop:
    host: Served
    app: Flask  # beside the host: its database and engines, for seeding
    merchant: MerchantInfo
    headers: dict[str, str]
    listing: int
    call: int
    other_call: int


@pytest.fixture(scope="module")
def shop(dashboard_host: DashboardHost) -> Shop:
    """Merchant kaufhaus (en_US, selling in de_DE and fr_FR): an owner, a German-speaking
    user, a listing translated into both and narrated in en_US (its audio rendered by
    Piper), a recorded call; and another merchant's call."""
    host, app = dashboard_host.served, dashboard_host.app
    merchant, headers = dashboard_host.merchant(
        "kaufhaus",
        name="Kaufhaus",
        market_locales=["de_DE", "fr_FR"],
        currency="EUR",
        timezone="Europe/Berlin",
    )
    dashboard_host.user("kaufhaus", OWNER)
    dashboard_host.user("kaufhaus", GERMAN, locale="de_DE")
    listing = {
        "handle": "organic-hoodie",
        "title": "Organic Hoodie",
        "description_html": "<p>Soft <b>organic</b> cotton.</p>",
        "price": "49.00",
        "currency": "EUR",
        "stock_quantity": 12,
    }
    made = httpx.post(f"{host.url}/api/v1/listings", json=listing, headers=headers)
    assert made.status_code == 201, made.text
    listing_id = made.json()["id"]
    with app.app_context(), app.extensions["db"].tenant_session(merchant) as session:
        item = session.get(Listing, listing_id)
        for locale, title in (("de_DE", "Bio-Kapuzenpullover"), ("fr_FR", "Sweat à capuche bio")):
            row = ListingTranslation(
                listing_id=listing_id,
                locale=locale,
                fields={"title": title, "description_html": "<p>Weich <b>bio</b>.</p>"},
                model="qwen2.5-coder-1.5b",
            )
            session.add(row)
            service.confirm(session, row, item, FIELDS)
        session.add(
            Narration(listing_id=listing_id, locale="en_US", script=SCRIPT, status="edited")
        )
        job = editing.queue(session, [listing_id], ["en_US"])
        session.commit()
        call_id = add_call(
            app,
            merchant,
            60,
            recorded=True,
            caller="+4930123456",
            language="en",
            outcome="resolved",
        )
        other, _ = dashboard_host.merchant("other", name="Other")
        other_call = add_call(app, other, 61, caller="+15550009999")
    app.extensions["jobs"].run(job.id)  # the narration's audio, by Piper
    assert wait_finished(app, job.id, timeout=120).status.value == "succeeded"
    return Shop(host, app, merchant, headers, listing_id, call_id, other_call)


@pytest.fixture(scope="module")
def owner(browser: Browser, shop: Shop) -> Any:
    """Signed in as the shop's owner once, for the module's tests."""
    return signed_in_state(browser, shop.host, OWNER)


def test_a_csv_import_shows_its_rejected_row(
    browser: Browser, shop: Shop, owner: Any, tmp_path: Path
) -> None:
    page = opened(browser, shop.host, owner, "/dashboard/")
    page.get_by_role("link", name="Catalog").click()
    audited(page, "catalog")
    page.get_by_text("Import a catalog file").click()
    bad = tmp_path / "products.csv"
    bad.write_text('Handle,Title,Variant Price\nscarf,Wool Scarf,19.90\nbeanie,Beanie,"12,50"\n')
    page.get_by_label("Catalog file (CSV)").set_input_files(bad)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Import of products.csv")).to_be_visible()
    worker = shop.host.popen("worker", "--threads", "1")
    try:  # the page reloads itself when the job is done
        rejected = page.get_by_role("region", name="Rejected rows")
        expect(rejected).to_be_visible(timeout=30_000)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    row = rejected.get_by_role("row").filter(has_text="Variant Price")
    expect(row).to_contain_text("3")
    expect(row).to_contain_text("'12,50' is not a price")
    audited(page, "catalog-import")


def test_a_translation_is_edited_approved_then_outdated(
    browser: Browser, shop: Shop, owner: Any
) -> None:
    page = opened(browser, shop.host, owner, f"/dashboard/catalog/listings/{shop.listing}")
    german = page.locator("#translation-de_DE")
    expect(german.locator(".badge-machine")).to_have_text("Machine")
    audited(page, "listing")
    german.get_by_text("Edit German (Germany)").click()
    german.get_by_label("Title").fill("Kapuzenpullover aus Bio-Baumwolle")
    german.get_by_role("button", name="Save edits").click()
    german = page.locator("#translation-de_DE")
    expect(german.locator(".badge-edited")).to_have_text("Edited")
    expect(german.get_by_role("cell", name="Kapuzenpullover aus Bio-Baumwolle")).to_be_visible()
    page.locator("#translation-fr_FR").get_by_role("button", name="Approve").click()
    expect(page.locator("#translation-fr_FR .badge-reviewed")).to_have_text("Reviewed")

    listing = httpx.get(f"{shop.host.url}/api/v1/listings/{shop.listing}", headers=shop.headers)
    changed = {**listing.json(), "title": "Organic Hoodie, Recycled Cotton"}
    for name in ("id", "created_at", "updated_at", "in_stock", "source"):
        changed.pop(name, None)
    answer = httpx.put(
        f"{shop.host.url}/api/v1/listings/{shop.listing}", json=changed, headers=shop.headers
    )
    assert answer.status_code == 200, answer.text
    page.reload()
    for locale in ("de_DE", "fr_FR"):
        expect(page.locator(f"#translation-{locale} .badge-outdated")).to_have_text("Outdated")
    expect(page.get_by_text("The source changed since: Title.").first).to_be_visible()


def test_a_narration_plays_real_audio_with_captions(
    browser: Browser, shop: Shop, owner: Any
) -> None:
    url = f"/dashboard/catalog/listings/{shop.listing}#narration-en_US"
    page = opened(browser, shop.host, owner, url)
    player = page.locator("#narration-en_US audio")
    expect(player).to_be_visible()
    player.evaluate("audio => void audio.play().catch(() => {})")  # no wait on its promise
    page.wait_for_function(
        "() => document.querySelector('#narration-en_US audio').currentTime > 0.5",
        timeout=15_000,
    )
    duration = player.evaluate("audio => audio.duration")
    assert 3 < duration < 30, duration  # the rendered script, not silence
    assert player.evaluate("audio => audio.currentSrc").endswith("/audio.ogg")  # Opus first
    cues = player.evaluate(
        "audio => Array.from(audio.textTracks[0].cues || []).map(cue => cue.text)"
    )
    assert cues and cues[0].startswith("Meet the organic hoodie"), cues


def test_the_embed_snippet_plays_with_captions_on_a_plain_storefront_page(
    browser: Browser, shop: Shop, tmp_path: Path
) -> None:
    url = f"{shop.host.url}/api/v1/listings/{shop.listing}/narrations/en_US"
    embed = httpx.get(url, headers=shop.headers).json()["audio"]["embed"]
    (tmp_path / "index.html").write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Organic Hoodie</title></head><body><h1>Organic Hoodie</h1>{embed}</body></html>"
    )
    with static_site(tmp_path) as storefront:
        page = browser.new_context().new_page()  # a shopper: no key, no cookie
        problems: list[str] = []  # refused across origins, or not found (but a favicon)
        page.on("requestfailed", lambda request: problems.append(request.url))
        page.on(
            "response",
            lambda r: (
                problems.append(r.url) if r.status >= 400 and "favicon" not in r.url else None
            ),
        )
        page.goto(f"{storefront}/index.html")
        player = page.locator("audio")
        player.evaluate("audio => void audio.play().catch(() => {})")  # no wait on its promise
        page.wait_for_function(
            "() => document.querySelector('audio').currentTime > 0.5", timeout=15_000
        )
        assert player.evaluate("audio => audio.currentSrc").startswith(f"{shop.host.url}/media/")
        assert 3 < player.evaluate("audio => audio.duration") < 30
        page.wait_for_function(  # the caption track, fetched across origins (CORS)
            "() => (document.querySelector('audio').textTracks[0].cues || []).length > 0"
        )
        cues = player.evaluate("audio => Array.from(audio.textTracks[0].cues).map(c => c.text)")
        assert cues[0].startswith("Meet the organic hoodie"), cues
        assert player.evaluate("audio => audio.textTracks[0].mode") == "showing"
        assert not problems, problems
        audited(page, "storefront-embed")


def test_a_calls_transcript_timeline_and_recording(
    browser: Browser, shop: Shop, owner: Any
) -> None:
    page = opened(browser, shop.host, owner, "/dashboard/")
    page.get_by_role("link", name="Calls", exact=True).click()
    audited(page, "calls")
    page.locator("table a").first.click()
    expect(page.get_by_text("Is the organic hoodie in stock?")).to_be_visible()
    expect(page.get_by_text("Yes, the organic hoodie is in stock in every size.")).to_be_visible()
    timeline = page.get_by_role("img", name="Stage timeline of each answer")
    expect(timeline.locator("rect")).to_have_count(4)  # endpoint, recognition, first token, audio
    recording = page.locator("audio")
    page.wait_for_function("() => document.querySelector('audio').readyState >= 1")
    assert recording.evaluate("audio => audio.duration") == pytest.approx(2.0, abs=0.05)
    audited(page, "call")
    assert page.goto(f"/dashboard/calls/{shop.other_call}").status == 404  # another merchant's


def test_german_dates_and_prices_a_phone_screen_and_settings_refused(
    browser: Browser, shop: Shop
) -> None:
    phone = {"width": 390, "height": 844}
    page = signed_in(browser, shop.host, GERMAN, viewport=phone)  # their language: German
    expect(page.locator("html")).to_have_attribute("lang", "de-DE")
    page.goto("/dashboard/calls/")
    started = page.locator("table a").first.inner_text()
    assert len(started.split(".")) == 3 and ":" in started, started  # 01.12.26, 05:12
    page.goto(f"/dashboard/catalog/listings/{shop.listing}")
    expect(page.get_by_text("49,00\xa0€")).to_be_visible()
    for url in ("/dashboard/", "/dashboard/calls/", f"/dashboard/calls/{shop.call}",
                f"/dashboard/catalog/listings/{shop.listing}", "/dashboard/plugins/"):  # fmt: skip
        page.goto(url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{url} is {width} px wide on a 390 px screen"
    page.goto("/dashboard/plugins/")
    calls = page.locator("#plugin-support_calls")
    calls.locator("summary").click()
    calls.locator("input[name='support_calls-handoff_number']").fill("12345")
    calls.locator("input[name='support_calls-retention_days']").fill("0")
    calls.locator("form[action$='/settings'] button[type=submit]").click()
    calls = page.locator("#plugin-support_calls")
    expect(calls.locator("#support_calls-handoff_number-errors")).to_contain_text("pattern")
    expect(calls.locator("#support_calls-retention_days")).to_have_attribute("aria-invalid", "true")
    audited(page, "plugins-de")


def test_the_owner_pages_pass_the_audit_and_sign_in_is_limited(
    browser: Browser, shop: Shop, owner: Any
) -> None:
    page = opened(browser, shop.host, owner, "/dashboard/")
    for name, url in (
        ("overview-calls", "/dashboard/"),
        ("settings", "/dashboard/account/settings"),
        ("api-keys", "/dashboard/account/api-keys"),
        ("credentials", "/dashboard/account/credentials"),
        ("glossary", "/dashboard/translation/glossary"),
        ("lexicon", "/dashboard/narration/lexicon"),
    ):
        assert page.goto(url).status == 200, url
        audited(page, name)
    page.goto("/dashboard/account/api-keys")
    page.get_by_label("Label").fill("Storefront")
    page.get_by_role("button", name="Create a key").click()
    key = page.locator("#new-key").inner_text()
    assert (
        httpx.get(
            f"{shop.host.url}/api/v1/merchant", headers={"Authorization": f"Bearer {key}"}
        ).status_code
        == 200
    )

    stranger = browser.new_context(base_url=shop.host.url).new_page()
    stranger.goto("/dashboard/login")
    for _ in range(5):
        stranger.get_by_label("E-mail").fill("guess@kaufhaus.test")
        stranger.get_by_label("Password").fill("not the password")
        stranger.get_by_role("button", name="Sign in").click()
        expect(stranger.get_by_role("alert")).to_have_text("Wrong e-mail or password.")
    stranger.get_by_label("E-mail").fill("guess@kaufhaus.test")
    stranger.get_by_label("Password").fill("not the password")
    stranger.get_by_role("button", name="Sign in").click()
    expect(stranger.get_by_role("alert")).to_contain_text("Too many sign-in attempts")
    # the owner's own sign-in is counted apart (per address and e-mail)
    assert signed_in(browser, shop.host, OWNER).url.endswith("/dashboard/")
