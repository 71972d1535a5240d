"""The catalog's dashboard beyond the list: a CSV import with its rejected rows, and one
listing's page with the panels the translation and narration plugins add (the
``dashboard_panels`` hook): side by side, badges, edit and approve, outdated after a
source change; a narration's script edited, approved, written again."""

from __future__ import annotations

import io
import re
from decimal import Decimal

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from models import Job
from plugins.catalog.models import Listing
from plugins.narration.models import Narration
from plugins.translation import service
from plugins.translation.document import FIELDS
from plugins.translation.models import ListingTranslation
from tests.conftest import Shop
from tests.dashboard_client import add_user, sign_in, token
from tests.test_jobs import wait_finished

BAD_ROWS = (
    "Handle,Title,Body (HTML),Option1 Name,Option1 Value,Variant SKU,Variant Price\n"
    "good,Good Thing,<p>ok</p>,Size,S,G-S,10.00\n"
    'good,,,Size,M,G-M,"12,50"\n'
    ",Orphan,,,,,1.00\n"
)


def _signed_in(app: Flask, shop: Shop, role: str = "agent") -> FlaskClient:
    add_user(app, shop, f"{role}@{shop.merchant.slug}.test", role)
    client = app.test_client()
    assert sign_in(client, f"{role}@{shop.merchant.slug}.test").status_code == 302
    return client


def test_a_csv_import_shows_each_rejected_row(app: Flask, shop_a: Shop, shop_b: Shop) -> None:
    client = _signed_in(app, shop_a)
    page = client.get("/dashboard/catalog/").get_data(as_text=True)
    form = {"csrf_token": token(page), "format": ""}
    sent = client.post(
        "/dashboard/catalog/imports",
        data={**form, "file": (io.BytesIO(BAD_ROWS.encode()), "products.csv")},
    )
    assert sent.status_code == 303
    import_url = sent.headers["Location"]
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        job_id = session.scalars(select(Job.id).where(Job.kind == "catalog.import")).one()
    app.extensions["jobs"].run(job_id)
    assert wait_finished(app, job_id).status.value == "succeeded"

    report = client.get(import_url).get_data(as_text=True)
    assert "3 rows read: 1 listings created, 0 updated, 2 rows rejected." in report
    rows = re.findall(
        r"<tr><td class=\"number\">(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", report
    )
    assert (
        "3",
        "Variant Price",
        "&#39;12,50&#39; is not a price (digits, a dot for decimals)",
    ) in rows
    assert [r[:2] for r in rows] == [("3", "Variant Price"), ("4", "Handle")]

    unreadable = client.post(
        "/dashboard/catalog/imports",
        data={**form, "file": (io.BytesIO(b"name;price\nx;1\n"), "other.csv")},
    )
    assert unreadable.status_code == 400
    assert "This file cannot be imported: cannot tell the file&#39;s format" in unreadable.get_data(
        as_text=True
    )
    missing = client.post("/dashboard/catalog/imports", data=form)
    assert missing.status_code == 400 and "This field is required." in missing.get_data(
        as_text=True
    )

    other = _signed_in(app, shop_b)
    assert other.get(import_url).status_code == 404  # another merchant's import


def _listing_with_translations(app: Flask, shop: Shop) -> int:
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        listing = Listing(
            handle="hoodie",
            title="Organic Hoodie",
            description_html="<p>Soft <b>organic</b> cotton.</p>",
            price=Decimal("49.90"),
            currency="EUR",
            source="api",
        )
        session.add(listing)
        session.flush()
        for locale, title in (("de_DE", "Bio-Kapuzenpullover"), ("fr_FR", "Sweat à capuche bio")):
            row = ListingTranslation(
                listing_id=listing.id,
                locale=locale,
                fields={"title": title, "description_html": "<p>Weich <b>bio</b>.</p>"},
                model="test",
            )
            session.add(row)
            service.confirm(session, row, listing, FIELDS)
        session.add(
            Narration(
                listing_id=listing.id,
                locale="de_DE",
                script="Der Bio-Kapuzenpullover ist weich.",
                status="flagged",
                flags=["too short"],
            )
        )
        session.commit()
        return listing.id


def test_a_listing_page_reviews_translations_and_narrations_in_place(
    app: Flask, shop_a: Shop, shop_b: Shop
) -> None:
    listing_id = _listing_with_translations(app, shop_a)
    client = _signed_in(app, shop_a)
    url = f"/dashboard/catalog/listings/{listing_id}"
    page = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert (
        "Organic Hoodie" in page and "Bio-Kapuzenpullover" in page and "Sweat à capuche bio" in page
    )
    assert page.count('class="badge badge-machine"') == 2 and "The source changed" not in page
    assert "German (Germany)" in page and "Source (German (Germany))" in page

    form = {
        "de_DE-csrf_token": token(page),
        "de_DE-title": "Kapuzenpullover aus Bio-Baumwolle",
        "de_DE-description_html": "<p>Weich <b>bio</b>.</p>",
        "de_DE-bullet_points": "",
        "de_DE-save": "Save edits",
    }
    saved = client.post(f"/dashboard/translation/listings/{listing_id}/de_DE", data=form)
    assert saved.status_code == 303 and saved.headers["Location"].endswith("#translation-de_DE")
    broken = {**form, "de_DE-description_html": "<p>Weich <b>bio.</p>"}
    refused = client.post(f"/dashboard/translation/listings/{listing_id}/de_DE", data=broken)
    assert refused.status_code == 422 and "fields.description_html" in refused.get_data(
        as_text=True
    )
    approve = {
        "fr_FR-csrf_token": token(page),
        "fr_FR-title": "Sweat à capuche bio",
        "fr_FR-description_html": "<p>Weich <b>bio</b>.</p>",
        "fr_FR-approve": "Approve",
    }
    assert (
        client.post(f"/dashboard/translation/listings/{listing_id}/fr_FR", data=approve).status_code
        == 303
    )
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        rows = {r.locale: r for r in session.scalars(select(ListingTranslation))}
        assert rows["de_DE"].review == "edited"
        assert rows["de_DE"].fields["title"] == "Kapuzenpullover aus Bio-Baumwolle"
        assert rows["fr_FR"].review == "reviewed"
        session.get(Listing, listing_id).title = "Organic Hoodie, Recycled"  # the source moves
        session.commit()
    after = client.get(url).get_data(as_text=True)
    assert after.count("The source changed since: Title.") == 2
    assert "badge-edited" in after and "badge-reviewed" in after

    # The narration panel: a flagged script, edited (its audio queued), and a locale to narrate.
    assert (
        "A flagged script gets no audio" in after
        and "Not narrated in French (France) yet." in after
    )
    script = {
        "de_DE-csrf_token": token(after),
        "de_DE-script": "Der weiche Bio-Kapuzenpullover kostet 49,90 Euro.",
        "de_DE-save": "Save script",
    }
    edited = client.post(f"/dashboard/narration/listings/{listing_id}/de_DE", data=script)
    assert edited.status_code == 303
    again = {
        "de_DE-csrf_token": token(after),
        "de_DE-script": "x",
        "de_DE-regenerate": "Write again",
    }
    assert (
        client.post(f"/dashboard/narration/listings/{listing_id}/de_DE", data=again).status_code
        == 303
    )
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        narration = session.scalars(select(Narration)).one()
        assert narration.status == "edited" and narration.script.startswith("Der weiche")
        payloads = [
            j.payload for j in session.scalars(select(Job).where(Job.kind == "narration.narrate"))
        ]
    assert {"listing_ids": [listing_id], "locales": ["de_DE"], "overwrite_edits": True} in payloads
    assert len(payloads) == 2  # the edit's rendering, and the script written again
    no_audio = client.get(f"/dashboard/narration/listings/{listing_id}/de_DE/audio.ogg")
    assert no_audio.status_code == 404
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        session.scalars(select(Narration)).one().status = "review"  # the price moved on
        session.commit()
    held = client.get(url, headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert 'class="badge badge-review"' in held and "Erneut prüfen" in held
    assert "Es wird erst wieder Audio erstellt" in held

    other = _signed_in(app, shop_b)  # another merchant's listing, whatever the route
    assert other.get(url).status_code == 404
    theirs = {**form, "de_DE-csrf_token": token(other.get("/dashboard/").get_data(as_text=True))}
    assert (
        other.post(f"/dashboard/translation/listings/{listing_id}/de_DE", data=theirs).status_code
        == 404
    )
    assert (
        other.get(f"/dashboard/narration/listings/{listing_id}/de_DE/audio.ogg").status_code == 404
    )
