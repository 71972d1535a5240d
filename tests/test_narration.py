"""Listing narration scripts: the checks every script passes, the facts it is written
from (a listing's translation where there is one), the real model writing it, edits
kept, and the API's isolation between merchants.

The bundled SmolLM2-135M writes poor scripts, so the end-to-end tests never assert
what a good script says: whatever is stored as the model's passed every check, and
whatever did not is flagged with the reason."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from engines import Engines
from engines.errors import EngineUnavailable
from plugins.catalog.models import Listing
from plugins.narration import lexicon, service
from plugins.narration.checks import names_product, problems, word_count
from plugins.narration.facts import facts, numbers_in
from plugins.narration.models import Narration, ScriptStatus
from plugins.narration.settings import NarrationSettings
from plugins.translation.models import ListingTranslation
from tests.conftest import Shop, make_shop, new_database
from tests.engines_fixtures import TEST_CHAT_PORT
from tests.test_jobs import wait_finished

HOODIE = {
    "handle": "hoodie",
    "sku": "AC-HD-01",
    "title": "Acme organic cotton hoodie",
    "description_html": "<p>Made of <strong>organic</strong> cotton, 500 g. Wash at 30 °C.</p>",
    "bullet_points": ["Soft and warm", "Kangaroo pocket"],
    "attributes": {"Color": ["Blue", "Red"]},
    "price": "49.90",
}
WORDS = (10, 60)


def _listing(app: Flask, shop: Shop, **changes: Any) -> int:
    response = app.test_client().post(
        "/api/v1/listings", headers=shop.headers, json={**HOODIE, **changes}
    )
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def _facts(app: Flask, shop: Shop, listing_id: int, locale: str) -> Any:
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        listing = session.get(Listing, listing_id)
        assert listing is not None
        listing.variants  # noqa: B018  (loaded while the session is open)
        return facts(session, listing, locale)


def test_numbers_are_read_as_the_locale_writes_them() -> None:
    assert numbers_in("1.234,50 € for 2 pieces", "de_DE") == {Decimal("1234.5"), Decimal(2)}
    assert numbers_in("1,234.50 for 2 pieces", "en_US") == {Decimal("1234.5"), Decimal(2)}
    assert numbers_in("Größe 38", "de_DE") == {Decimal(38)}
    # In words too (text2num), but for "one" and "two" alone and ordinals...
    spelled = "One of our best: three pockets, twenty-four hours, the third time, 2.5 kg."
    assert numbers_in(spelled, "en_US") == {Decimal(3), Decimal(24), Decimal("2.5")}
    assert numbers_in("drei Taschen für neunundvierzig Euro", "de_DE") == {Decimal(3), Decimal(49)}
    assert numbers_in("Zum dritten Mal: vier Farben.", "de_DE") == {Decimal(4)}
    assert numbers_in("三个口袋 49", "zh_CN") == {Decimal(49)}  # ...where text2num reads them


def test_a_script_is_checked_before_it_is_used(app: Flask, shop_b: Shop) -> None:
    told = _facts(app, shop_b, _listing(app, shop_b), "en_US")
    assert told.price == "$49.90" and told.description.startswith("Made of organic cotton")
    good = (
        "Meet the Acme organic cotton hoodie. It is soft and warm, made of organic cotton,"
        " weighs 500 g and has a kangaroo pocket. Choose blue or red, and wash it at 30 degrees."
        " It costs $49.90."
    )
    assert problems(good, told, WORDS) == []
    assert problems("Meet our new top. " * 3, told, WORDS) == [
        "does not name the product ('Acme organic cotton hoodie')"
    ]
    marked = good.replace("Meet the", "<b>Meet</b> the")
    assert problems(marked, told, WORDS) == [
        "carries markup, a list or a link: write plain sentences"
    ]
    invented = good.replace("$49.90", "$39.90, with 3 pockets")
    assert problems(invented, told, WORDS) == ["says numbers the listing does not have (3, 39.9)"]
    in_words = good.replace("a kangaroo pocket", "four kangaroo pockets")
    assert problems(in_words, told, WORDS) == ["says numbers the listing does not have (4)"]
    assert problems(good.replace("500 g", "five hundred grams"), told, WORDS) == []
    assert problems("The Acme organic cotton hoodie.", told, WORDS) == [
        "is 5 words long, not 10 to 60"
    ]
    assert problems(" ", told, WORDS) == ["is empty"]


def test_names_and_lengths_in_languages_written_without_spaces() -> None:
    assert names_product(
        "新しいオーガニックコットンのパーカーです。", "オーガニックコットンのパーカー"
    )
    assert not names_product("新しいシャツです。", "オーガニックコットンのパーカー")
    assert word_count("オーガニックコットンのパーカーです", "ja_JP") == 8
    assert word_count("an organic cotton hoodie", "en_US") == 4


def test_a_script_is_told_from_the_translation_where_there_is_one(app: Flask, shop_a: Shop) -> None:
    listing_id = _listing(app, shop_a)
    source = _facts(app, shop_a, listing_id, "fr_FR")  # no translation yet: the source's
    assert (source.told_from, source.title) == ("de_DE", HOODIE["title"])
    assert source.price == "49,90\u00a0$US"  # the merchant's currency, as French writes it
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        fields = {"title": "Sweat à capuche en coton bio Acme", "bullet_points": ["Doux"]}
        session.add(ListingTranslation(listing_id=listing_id, locale="fr_FR", fields=fields))
        session.commit()
    french = _facts(app, shop_a, listing_id, "fr_FR")
    assert (french.told_from, french.title) == ("fr_FR", "Sweat à capuche en coton bio Acme")
    assert french.bullet_points == ["Doux"] and french.description == source.description
    assert french.fingerprint(WORDS) != source.fingerprint(WORDS)


def test_the_length_asked_for_must_be_a_range() -> None:
    assert NarrationSettings().word_range() == (50, 100)  # 20-40 s at 150 words a minute
    with pytest.raises(ValueError, match="min_seconds must not be above max_seconds"):
        NarrationSettings(min_seconds=50, max_seconds=30)


@pytest.fixture
def narration_app(
    make_app: Callable[..., Flask], request: pytest.FixtureRequest, tmp_path: Path, engines: Engines
) -> Iterator[Flask]:
    for url in new_database("sqlite", request, tmp_path):
        yield make_app(url, chat={"url": f"http://127.0.0.1:{TEST_CHAT_PORT}"})


def _narration(app: Flask, shop: Shop, listing_id: int, locale: str) -> Narration:
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        row = session.scalar(
            select(Narration).where(Narration.listing_id == listing_id, Narration.locale == locale)
        )
        assert row is not None
        session.expunge(row)
        return row


def test_the_model_writes_a_checked_script_and_edits_are_kept(narration_app: Flask) -> None:
    app = narration_app
    shop = make_shop(app, "acme", default_locale="en_US", market_locales=["de_DE"])
    client = app.test_client()
    configure = {"min_seconds": 5, "max_seconds": 40, "retries": 1}  # a retry, kept short
    response = client.put(
        "/api/v1/plugins/narration/settings", headers=shop.headers, json=configure
    )
    assert response.status_code == 200, response.get_json()
    listing_id = _listing(app, shop)

    queued = client.post(
        f"/api/v1/listings/{listing_id}/narrations", headers=shop.headers, json={"locale": "de-de"}
    )
    assert queued.status_code == 202, queued.get_json()
    assert queued.get_json()["locale"] == "de_DE"
    app.extensions["jobs"].run(queued.get_json()["job_id"])
    job = wait_finished(app, queued.get_json()["job_id"])
    assert job.status.value == "succeeded", job.error
    row = _narration(app, shop, listing_id, "de_DE")
    told = _facts(app, shop, listing_id, "de_DE")
    settings = NarrationSettings(**configure)
    if row.status == ScriptStatus.MACHINE:  # every check passed
        assert row.script and problems(row.script, told, settings.word_range()) == []
    else:  # the model's last try, with why it cannot be used
        assert row.status == ScriptStatus.FLAGGED and row.flags
    assert row.source_locale == "en_US" and row.model

    url = f"/api/v1/listings/{listing_id}/narrations/de_DE"
    shown = client.get(url, headers=shop.headers).get_json()
    assert (shown["status"], shown["outdated"]) == (row.status, False)
    mine = "Der Acme organic cotton hoodie ist weich und warm, mit Kängurutasche, für 49,90 $."
    edited = client.patch(url, headers=shop.headers, json={"script": mine}).get_json()
    assert (edited["status"], edited["script"]) == ("edited", mine)
    assert edited["flags"] == []  # it passes the checks too
    approved = client.patch(url, headers=shop.headers, json={"approved": True}).get_json()
    assert approved["status"] == "approved"

    with app.app_context(), app.extensions["db"].tenant_session(shop.merchant) as session:
        chosen = session.scalars(select(Listing).where(Listing.id == listing_id)).all()
        report = service.narrate(session, settings, chosen, ["de_DE"])
    assert (report.kept_edits, report.tokens) == (1, 0)  # a re-run leaves the person's script
    assert _narration(app, shop, listing_id, "de_DE").script == mine

    # A price change: the script is outdated; a change the script does not tell of is not.
    listing_url = f"/api/v1/listings/{listing_id}"
    client.put(listing_url, headers=shop.headers, json={**HOODIE, "sku": "X-1"})
    assert client.get(url, headers=shop.headers).get_json()["outdated"] is False
    client.put(listing_url, headers=shop.headers, json={**HOODIE, "price": "59.90"})
    assert client.get(url, headers=shop.headers).get_json()["outdated"] is True
    # The re-run keeps the person's script, but holds it: it says the old price.
    with app.app_context(), app.extensions["db"].tenant_session(shop.merchant) as session:
        chosen = session.scalars(select(Listing).where(Listing.id == listing_id)).all()
        report = service.narrate(session, settings, chosen, ["de_DE"])
    assert (report.kept_edits, report.tokens, report.audio["awaiting_review"]) == (1, 0, 1)
    held = client.get(url, headers=shop.headers).get_json()
    assert (held["status"], held["script"]) == ("review", mine)
    assert "says numbers the listing does not have (49.9)" in held["flags"]
    # Taking an approval back is no review: it is held until edited or approved again.
    unapproved = client.patch(url, headers=shop.headers, json={"approved": False}).get_json()
    assert (unapproved["status"], unapproved["rendering_job_id"]) == ("review", None)
    approved = client.patch(url, headers=shop.headers, json={"approved": True}).get_json()
    assert (approved["status"], approved["outdated"]) == ("approved", False)
    assert approved["rendering_job_id"]  # as the person approved it, price and all


def test_a_current_script_is_not_written_again(narration_app: Flask) -> None:
    app = narration_app
    shop = make_shop(app, "acme", default_locale="en_US")
    listing_id = _listing(app, shop)
    settings = NarrationSettings()
    told = _facts(app, shop, listing_id, "en_US")
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        session.add(
            Narration(
                listing_id=listing_id,
                locale="en_US",
                script="A script the model wrote earlier.",
                status=ScriptStatus.MACHINE.value,
                source_hash=told.fingerprint(settings.word_range()),
            )
        )
        session.commit()
        chosen = session.scalars(select(Listing).where(Listing.id == listing_id)).all()
        with app.app_context():
            report = service.narrate(session, settings, chosen, ["en_US"])
    assert (report.current, report.written, report.tokens) == (1, 0, 0)
    assert _narration(app, shop, listing_id, "en_US").script == "A script the model wrote earlier."

    # A new price: the model's script is written again (and its audio with it).
    put = {**HOODIE, "price": "59.90"}
    client = app.test_client()
    assert (
        client.put(f"/api/v1/listings/{listing_id}", headers=shop.headers, json=put).status_code
        == 200
    )
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        chosen = session.scalars(select(Listing).where(Listing.id == listing_id)).all()
        with app.app_context():
            report = service.narrate(session, NarrationSettings(retries=0), chosen, ["en_US"])
    assert report.written + report.flagged == 1 and report.tokens > 0
    assert _narration(app, shop, listing_id, "en_US").script != "A script the model wrote earlier."


def test_narrations_are_the_merchants_own(app: Flask, shop_a: Shop, shop_b: Shop) -> None:
    client = app.test_client()
    listing_id = _listing(app, shop_a)
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        session.add(Narration(listing_id=listing_id, locale="fr_FR", script="Un script."))
        session.commit()
    base = f"/api/v1/listings/{listing_id}/narrations"
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        session.add(Narration(listing_id=listing_id, locale="de_DE", script="Ein Skript."))
        session.commit()
    mine = client.get(base, headers=shop_a.headers).get_json()
    assert [n["locale"] for n in mine["narrations"]] == ["de_DE", "fr_FR"]
    theirs = {
        "list": client.get(base, headers=shop_b.headers),
        "one": client.get(f"{base}/en_US", headers=shop_b.headers),
        "edit": client.patch(f"{base}/en_US", headers=shop_b.headers, json={"approved": True}),
        "narrate": client.post(base, headers=shop_b.headers, json={"locale": "en_US"}),
        "delete": client.delete(f"{base}/fr_FR", headers=shop_b.headers),
    }
    assert {name: answer.status_code for name, answer in theirs.items()} == dict.fromkeys(
        theirs, 404
    )
    assert client.get(f"{base}/fr_FR", headers=shop_a.headers).get_json()["script"] == "Un script."


def test_bad_narration_requests_are_refused_naming_the_field(app: Flask, shop_a: Shop) -> None:
    client = app.test_client()
    listing_id = _listing(app, shop_a)
    base = f"/api/v1/listings/{listing_id}/narrations"
    other_locale = client.post(base, headers=shop_a.headers, json={"locale": "ja_JP"})
    assert other_locale.status_code == 422
    assert other_locale.get_json()["errors"][0]["field"] == "locales"
    assert "ja_JP is not one of the merchant's locales" in other_locale.get_json()["detail"]
    assert client.post(base, headers=shop_a.headers, json={"locale": "xx-yy"}).status_code == 422
    assert client.get(f"{base}/fr_FR", headers=shop_a.headers).status_code == 404  # none yet
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        session.add(Narration(listing_id=listing_id, locale="fr_FR", script="Un script."))
        session.commit()
    empty = client.patch(f"{base}/fr_FR", headers=shop_a.headers, json={})
    assert empty.status_code == 422 and "give a script, approved, or both" in empty.get_data(True)
    for script in ("", "  \n\t "):
        blank = client.patch(f"{base}/fr_FR", headers=shop_a.headers, json={"script": script})
        assert blank.status_code == 422 and blank.get_json()["errors"][0]["field"] == "script"
    assert client.get(f"{base}/fr_FR", headers=shop_a.headers).get_json()["script"] == "Un script."
    assert client.get(f"{base}/xx-yy", headers=shop_a.headers).status_code == 422


def test_the_narrate_command_names_what_it_cannot_use(app: Flask, shop_a: Shop) -> None:
    _listing(app, shop_a)

    def narrate(*args: str) -> tuple[int, str]:
        result = app.test_cli_runner().invoke(args=["narrate", "shop-a", *args])
        return result.exit_code, result.output

    code, out = narrate()
    assert code == 1 and "--all: give either --all or one or more --listing HANDLE" in out
    code, out = narrate("--listing", "nope")
    assert code == 1 and "--listing: no listing with handle nope" in out
    code, out = narrate("--all", "--locales", "ja_JP")
    assert code == 1 and "--locales:" in out and "ja_JP is not one of the merchant's" in out


def test_the_lexicon_is_the_merchants_own_and_checked(
    app: Flask, shop_a: Shop, shop_b: Shop
) -> None:
    client = app.test_client()
    url = "/api/v1/narration/lexicon"
    entries = [
        {"term": "Acme", "respelling": "Ack me"},
        {"term": "Acme", "locale": "fr", "respelling": "Aqué mé"},
        {"term": "acme", "locale": "fr-fr", "phonemes": "akme"},
        {"term": "Gorp", "respelling": "Gorrp"},
    ]
    put = client.put(url, headers=shop_a.headers, json={"entries": entries})
    assert put.status_code == 200, put.get_json()
    assert [(e["term"], e["locale"]) for e in put.get_json()["entries"]] == [
        ("Acme", ""),
        ("Acme", "fr"),
        ("Gorp", ""),
        ("acme", "fr_FR"),
    ]
    assert client.get(url, headers=shop_b.headers).get_json() == {"entries": []}
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        assert lexicon.said_as(session, "fr_FR") == {"acme": "[[ akme ]]", "Gorp": "Gorrp"}
        assert lexicon.said_as(session, "fr_CA") == {"Acme": "Aqué mé", "Gorp": "Gorrp"}
        assert lexicon.said_as(session, "de_DE") == {"Acme": "Ack me", "Gorp": "Gorrp"}
    twice = [{"term": "Gorp", "respelling": "Gorrp"}, {"term": "GORP", "respelling": "Gorp"}]
    refused = client.put(url, headers=shop_a.headers, json={"entries": twice})
    assert refused.status_code == 422  # not one of them silently dropped
    assert refused.get_json()["errors"][0]["field"] == "entries.1"
    both = client.put(
        url,
        headers=shop_a.headers,
        json={"entries": [{"term": "X", "respelling": "a", "phonemes": "b"}]},
    )
    assert both.status_code == 422 and "respelling or phonemes" in both.get_data(True)
    for blank in ({"respelling": " "}, {"phonemes": "\t"}):
        said = client.put(url, headers=shop_a.headers, json={"entries": [{"term": "X", **blank}]})
        assert said.status_code == 422 and said.get_json()["errors"][0]["field"].startswith(
            "entries.0."
        )
    bad_locale = client.put(
        url,
        headers=shop_a.headers,
        json={"entries": [{"term": "X", "locale": "xx-yy", "respelling": "a"}]},
    )
    assert bad_locale.status_code == 422 and "locale" in bad_locale.get_data(True)
    assert len(client.get(url, headers=shop_a.headers).get_json()["entries"]) == 4  # unchanged


def test_an_engine_outage_leaves_no_empty_narration(
    make_app: Callable[..., Flask], database_url: str
) -> None:
    """The job is retried later; meanwhile no script is shown that was never written."""
    app = make_app(database_url, chat={"url": "http://127.0.0.1:9", "engine_wait_s": 0})
    shop = make_shop(app, "acme", default_locale="en_US")
    listing_id = _listing(app, shop)
    with app.app_context(), app.extensions["db"].tenant_session(shop.merchant) as session:
        chosen = session.scalars(select(Listing).where(Listing.id == listing_id)).all()
        with pytest.raises(EngineUnavailable):
            service.narrate(session, NarrationSettings(), chosen, ["en_US"])
    url = f"/api/v1/listings/{listing_id}/narrations"
    answer = app.test_client().get(url, headers=shop.headers)
    assert answer.get_json()["narrations"] == []
