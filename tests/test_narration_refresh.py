"""Narrations follow their listings: the hourly ``narration.refresh`` narrates again
what changed since (the listing, a variant, a translation: a person's script saying an
old price is held, the rest stays current), and a lexicon change renders again the
narrations whose speech it changes. Real Piper and SQLite; the scripts are a person's,
so no test waits on the text model."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import update

from merchant_voice.plugin_api import utcnow
from plugins.catalog.models import Listing
from plugins.narration import refresh
from plugins.narration.models import Narration
from plugins.translation.models import ListingTranslation
from tests.conftest import Shop, make_shop
from tests.test_jobs import wait_finished
from tests.test_narration_audio import HOODIE, _narrate, _scripted, voiced_app

__all__ = ["voiced_app"]


def _ran(app: Flask, job_id: str) -> dict[str, Any]:
    app.extensions["jobs"].run(job_id)
    job = wait_finished(app, job_id)
    assert job.status.value == "succeeded", job.error
    assert job.result is not None
    return dict(job.result)


def _refresh(app: Flask, shop: Shop) -> dict[str, Any]:
    jobs = app.extensions["jobs"]
    with app.app_context(), app.extensions["db"].tenant_session(shop.merchant) as session:
        job = jobs.enqueue(session, "narration.refresh")
        session.commit()
    return _ran(app, job.id)


def _an_hour_later(app: Flask, shop: Shop) -> None:
    """As if an hour had passed since the listings last changed (a narration is checked as
    of a few minutes before the run: a change just before it is looked at again)."""
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        session.execute(update(Listing).values(updated_at=utcnow() - timedelta(hours=1)))
        session.commit()


def _outcomes(report: dict[str, Any]) -> dict[int, str]:
    return {n["listing_id"]: n["audio"] for n in report["narrations"]}


def test_narrations_follow_their_listings_and_the_lexicon(voiced_app: Flask) -> None:
    app, client = voiced_app, voiced_app.test_client()
    shop = make_shop(app, "acme", default_locale="en_US")
    priced = _scripted(app, shop, "en_US", "The Acme hoodie costs $49.90.")
    scarf = {"handle": "scarf", "sku": "SC-1", "title": "Acme scarf"}
    plain = _scripted(app, shop, "en_US", "The Acme scarf is long and warm.", **scarf)
    _an_hour_later(app, shop)

    jobs = app.extensions["jobs"]
    reports = [_ran(app, job_id) for job_id in jobs.schedules.run_due()]  # hourly, by the host
    [refreshed] = [r for r in reports if "held" in r]
    assert _outcomes(refreshed) == {priced: "rendered", plain: "rendered"}  # never checked
    assert _refresh(app, shop)["narrations"] == []  # nothing changed since

    new_sku = {**HOODIE, **scarf, "sku": "SC-2"}  # changed, but not what it says
    client.put(f"/api/v1/listings/{plain}", headers=shop.headers, json=new_sku)
    client.put(f"/api/v1/listings/{priced}", headers=shop.headers, json={**HOODIE, "price": "59"})
    report = _refresh(app, shop)
    assert _outcomes(report) == {priced: "awaiting_review", plain: "current"}
    assert (report["kept_edits"], report["held"]) == (2, 1)
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        statuses = {row.listing_id: row.status for row in session.query(Narration)}
    assert statuses == {priced: "review", plain: "edited"}
    _an_hour_later(app, shop)
    assert _refresh(app, shop)["narrations"] == []  # checked as of then

    # A variant's price alone changes the listing (its updated_at), and a translation too.
    variant = {"sku": "SC-1-R", "options": {"Color": "Red"}, "price": "19.00"}
    with_variant = {**new_sku, "variants": [variant]}
    client.put(f"/api/v1/listings/{plain}", headers=shop.headers, json=with_variant)
    assert _outcomes(_refresh(app, shop)) == {plain: "current"}
    _an_hour_later(app, shop)
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        assert refresh.due(session) == {}
    cheaper = {**with_variant, "variants": [{**variant, "price": "17.00"}]}
    client.put(f"/api/v1/listings/{plain}", headers=shop.headers, json=cheaper)
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        assert refresh.due(session) == {"en_US": [plain]}
        checked = utcnow()
        session.add(
            Narration(listing_id=plain, locale="de_DE", script="Ein Schal.", checked_at=checked)
        )
        session.commit()
    _an_hour_later(app, shop)
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        session.query(Narration).filter_by(locale="en_US").update({"checked_at": checked})
        session.commit()
        assert refresh.due(session) == {}
        session.add(ListingTranslation(listing_id=plain, locale="de_DE", fields={"title": "Schal"}))
        session.commit()
        assert refresh.due(session) == {"de_DE": [plain]}
        session.query(Narration).filter_by(locale="de_DE").delete()
        session.commit()

    lexicon = {"entries": [{"term": "scarf", "respelling": "scarff"}]}
    saved = client.put("/api/v1/narration/lexicon", headers=shop.headers, json=lexicon)
    assert saved.status_code == 200, saved.get_json()
    relexed = _ran(app, saved.get_json()["refresh_job_id"])  # every narration's audio
    assert _outcomes(relexed) == {priced: "awaiting_review", plain: "rendered"}
    assert "written" not in relexed  # no script is written for a lexicon

    off = {"follow_catalog": False}
    put = client.put("/api/v1/plugins/narration/settings", headers=shop.headers, json=off)
    assert put.status_code == 200, put.get_json()
    client.put(f"/api/v1/listings/{plain}", headers=shop.headers, json={**cheaper, "sku": "SC-3"})
    assert _refresh(app, shop) == {"skipped": "follow_catalog is off", "narrations": []}
    assert _narrate(app, shop, plain, "en_US")["audio"] == "current"  # a run still works
