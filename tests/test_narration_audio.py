"""A narration's audio: rendered by the real Piper voice, heard back by the real Whisper,
at one loudness, with captions that line up; rendered again only when what it says
changes; served with the API key or on signed links that expire; refused without a
voice; a catalog narrated in one job (its storage: test_narration_storage.py).

The scripts here are a person's (``edited``), so no test waits on the text model."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engines.audio import WHISPER_RATE, decode_file, resample
from merchant_voice import accounts
from merchant_voice.config import Settings
from plugins.catalog.public import Listing
from plugins.narration import files, links, voicing
from plugins.narration.models import Narration, ScriptStatus
from plugins.narration.sound import TARGET_LUFS, loudness
from tests.conftest import Shop, make_shop
from tests.engines_fixtures import MODELS_CACHE, words
from tests.test_jobs import wait_finished

JOE = MODELS_CACHE / "piper-en_US-joe-medium" / "en_US-joe-medium.onnx"
HOODIE = {
    "handle": "hoodie",
    "sku": "AC-HD-01",
    "title": "Acme organic cotton hoodie",
    "description_html": "<p>Made of organic cotton.</p>",
    "price": "49.90",
}
SCRIPT = (
    "Meet the Acme organic cotton hoodie. It is soft and warm, with a roomy pocket."
    " It costs $24.75."
)


def _app(
    make_app: Callable[..., Flask], tmp_path: Path, models: Path | None = None, **host: Any
) -> Flask:
    """A SQLite app speaking the bundled voice, and the voices added to ``models``."""
    return make_app(
        f"sqlite:///{tmp_path / 'narration.sqlite3'}",
        models={"cache_dir": str(models or MODELS_CACHE)},
        tts={"voices": {"en_US": str(JOE)}},
        host=host,
    )


@pytest.fixture
def voiced_app(make_app: Callable[..., Flask], tmp_path: Path, prepared: Settings) -> Flask:
    return _app(make_app, tmp_path)


def _scripted(app: Flask, shop: Shop, locale: str, script: str = SCRIPT, **listing: Any) -> int:
    """A listing with a person's script in ``locale``: the id of the listing."""
    response = app.test_client().post(
        "/api/v1/listings", headers=shop.headers, json={**HOODIE, **listing}
    )
    assert response.status_code == 201, response.get_json()
    listing_id = int(response.get_json()["id"])
    _scripted_row(app, shop, listing_id, locale, script)
    return listing_id


def _scripted_row(app: Flask, shop: Shop, listing_id: int, locale: str, script: str) -> None:
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        status = ScriptStatus.EDITED.value
        session.add(Narration(listing_id=listing_id, locale=locale, script=script, status=status))
        session.commit()


def _sells(app: Flask, slug: str, markets: list[str]) -> None:
    """The merchant's market locales become ``markets`` (as the settings page does it)."""
    with app.extensions["db"].host_transaction() as session:
        accounts.update_merchant(
            session, accounts.merchant_by_slug(session, slug), **{"market_locales": markets}
        )


def _narrate(app: Flask, shop: Shop, listing_id: int, locale: str) -> dict[str, Any]:
    """Run the narration job; its report of the one narration."""
    queued = app.test_client().post(
        f"/api/v1/listings/{listing_id}/narrations", headers=shop.headers, json={"locale": locale}
    )
    assert queued.status_code == 202, queued.get_json()
    app.extensions["jobs"].run(queued.get_json()["job_id"])
    job = wait_finished(app, queued.get_json()["job_id"])
    assert job.status.value == "succeeded", job.error
    assert job.result is not None
    [narration] = job.result["narrations"]
    return dict(narration)


def _shown(client: FlaskClient, shop: Shop, listing_id: int, locale: str) -> dict[str, Any]:
    url = f"/api/v1/listings/{listing_id}/narrations/{locale}"
    response = client.get(url, headers=shop.headers)
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def _cue_ends(track: str) -> list[float]:
    ends = re.findall(r"--> (\d\d):(\d\d):(\d\d\.\d\d\d)", track)
    return [int(h) * 3600 + int(m) * 60 + float(s) for h, m, s in ends]


def _heard(app: Flask, ogg: bytes) -> list[str]:
    sound = resample(decode_file(ogg), WHISPER_RATE)
    return words(app.extensions["engines"].asr.transcribe(sound, language="en").text)


def says_price(heard: list[str]) -> bool:
    """ "twenty-four dollars, seventy-five cents", as Whisper writes it back: "$24.75",
    "24 7 5 cents", "$24 and seventy-five cents"..."""
    text = " ".join(heard)
    digits = "".join(char for char in text if char.isdigit())
    dollars = "24" in heard or "twenty four" in text
    cents = "75" in heard or "seventy five" in text
    return "2475" in digits or (dollars and cents) or (dollars and digits.endswith("75"))


def test_the_audio_says_the_script_at_one_level_with_captions_in_time(voiced_app: Flask) -> None:
    app, client = voiced_app, voiced_app.test_client()
    shop = make_shop(app, "acme", default_locale="en_US")
    listing_id = _scripted(app, shop, "en_US", price="24.75")
    assert _narrate(app, shop, listing_id, "en_US")["audio"] == "rendered"

    shown = _shown(client, shop, listing_id, "en_US")
    audio = shown["audio"]
    assert (audio["current"], audio["voice"], audio["sample_rate"]) == (
        True,
        "en_US-joe-medium",
        22050,
    )
    ogg = client.get(audio["ogg"], headers=shop.headers)
    mp3 = client.get(audio["mp3"], headers=shop.headers)
    captions = client.get(audio["captions"], headers=shop.headers)
    kinds = (ogg.mimetype, mp3.mimetype, captions.mimetype)
    assert kinds == ("audio/ogg", "audio/mpeg", "text/vtt")
    assert audio["bytes"] == len(ogg.data) + len(mp3.data) + len(captions.data)
    for data in (ogg.data, mp3.data):
        decoded = decode_file(data)
        assert abs(loudness(decoded) - TARGET_LUFS) <= 1.0
        assert decoded.seconds == pytest.approx(audio["seconds"], abs=0.15)
    track = captions.get_data(as_text=True)
    assert track.startswith("WEBVTT") and track.count("-->") == 3  # a cue per sentence
    assert abs(decode_file(ogg.data).seconds - _cue_ends(track)[-1]) <= 0.5
    heard = _heard(app, ogg.data)
    assert says_price(heard), " ".join(heard)
    # the product's name (Piper's voice varies a little from one rendering to the next, and
    # Whisper may miss a word of it, or the made-up brand)
    assert "hoodie" in heard and set(heard) & {"organic", "cotton"}, " ".join(heard)

    # The lexicon changes what the voice says: the audio is no longer current, and a
    # re-run renders what is heard.
    entries = [{"term": "Acme", "respelling": "rainbow"}]
    client.put("/api/v1/narration/lexicon", headers=shop.headers, json={"entries": entries})
    assert _shown(client, shop, listing_id, "en_US")["audio"]["current"] is False
    assert _narrate(app, shop, listing_id, "en_US")["audio"] == "rendered"
    again = _shown(client, shop, listing_id, "en_US")["audio"]
    assert again["current"] is True
    assert "rainbow" in _heard(app, client.get(again["ogg"], headers=shop.headers).data)
    with app.app_context():
        folder = files.merchant_folder(shop.merchant.id)
    assert len(list(folder.rglob("*.ogg"))) == 1  # the earlier rendering was removed


def test_only_a_change_to_what_is_said_renders_again(voiced_app: Flask) -> None:
    app, client = voiced_app, voiced_app.test_client()
    shop = make_shop(app, "acme", default_locale="en_US")
    listing_id = _scripted(app, shop, "en_US", "The Acme hoodie costs $49.90.")
    assert _narrate(app, shop, listing_id, "en_US")["audio"] == "rendered"
    first = _shown(client, shop, listing_id, "en_US")["audio"]

    url = f"/api/v1/listings/{listing_id}"
    client.put(url, headers=shop.headers, json={**HOODIE, "sku": "AC-HD-02"})
    assert _narrate(app, shop, listing_id, "en_US")["audio"] == "current"
    assert _shown(client, shop, listing_id, "en_US")["audio"]["rendered_at"] == first["rendered_at"]

    # A new price: the person's script says the old one, so it is held for review and
    # its audio no longer plays; their new script is rendered, and says the new price.
    assert client.get(first["signed"]["ogg"]).status_code == 200
    client.put(url, headers=shop.headers, json={**HOODIE, "price": "59.90"})
    assert _shown(client, shop, listing_id, "en_US")["audio"]["current"] is False
    withheld = client.get(first["signed"]["ogg"])  # at once: no shopper hears the old price
    assert withheld.status_code == 409 and "withheld" in withheld.get_json()["detail"]
    report = _narrate(app, shop, listing_id, "en_US")
    assert (report["outcome"], report["audio"]) == ("kept", "awaiting_review")
    held = _shown(client, shop, listing_id, "en_US")
    assert (held["status"], held["audio"], held["outdated"]) == ("review", None, True)
    assert "says numbers the listing does not have (49.9)" in held["flags"]
    assert client.get(first["signed"]["ogg"]).status_code == 404  # storefronts too

    edit = {"script": "The Acme hoodie now costs $59.90."}
    edited = client.patch(f"{url}/narrations/en_US", headers=shop.headers, json=edit).get_json()
    assert (edited["status"], edited["outdated"]) == ("edited", False)
    assert edited["audio"] is None and edited["rendering_job_id"]
    app.extensions["jobs"].run(edited["rendering_job_id"])
    assert wait_finished(app, edited["rendering_job_id"]).status.value == "succeeded"
    third = _shown(client, shop, listing_id, "en_US")["audio"]
    assert third["current"] is True and third["rendered_at"] != first["rendered_at"]
    heard = " ".join(_heard(app, client.get(third["ogg"], headers=shop.headers).data))
    assert "59" in heard or "fifty nine" in heard, heard

    # A script flagged for review no longer plays what the earlier one said.
    with app.app_context(), app.extensions["db"].tenant_session(shop.merchant) as session:
        row = session.query(Narration).one()
        row.status = ScriptStatus.FLAGGED.value
        session.commit()
        listing = session.get(Listing, listing_id)
        assert listing is not None
        tts = app.extensions["engines"].tts
        outcome = voicing.voice(session, lambda: tts, listing, row, "$59.90")
        folder = files.merchant_folder(shop.merchant.id)
    assert outcome == voicing.Voiced.AWAITING_REVIEW
    assert _shown(client, shop, listing_id, "en_US")["audio"] is None
    assert not list(folder.rglob("*.ogg"))


def test_signed_links_serve_one_narration_until_they_expire(voiced_app: Flask) -> None:
    app, client = voiced_app, voiced_app.test_client()
    shop = make_shop(app, "acme", default_locale="en_US")
    other = make_shop(app, "other", default_locale="en_US")
    mine = _scripted(app, shop, "en_US", "The Acme hoodie is warm.")
    theirs = _scripted(app, other, "en_US", "The Other hoodie is cold.")
    for owner, listing_id in ((shop, mine), (other, theirs)):
        assert _narrate(app, owner, listing_id, "en_US")["audio"] == "rendered"
    audio = _shown(client, shop, mine, "en_US")["audio"]
    signed = audio["signed"]

    played = client.get(signed["ogg"])  # no API key: a storefront's visitor
    assert played.status_code == 200 and played.mimetype == "audio/ogg"
    assert played.data == client.get(audio["ogg"], headers=shop.headers).data
    assert played.headers["Access-Control-Allow-Origin"] == "*"
    part = client.get(signed["mp3"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.data) == 100  # browsers seek
    track = client.get(signed["captions"])
    assert track.status_code == 200 and "The Acme hoodie is warm." in track.get_data(as_text=True)
    snippet = audio["embed"]
    assert f'<source src="{signed["ogg"]}" type="audio/ogg; codecs=opus">' in snippet
    assert f'<track kind="captions" src="{signed["captions"]}" srclang="en"' in snippet
    assert 'crossorigin="anonymous"' in snippet

    token = signed["ogg"].split("/")[-2]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    refused = client.get(f"/media/narrations/{tampered}/audio.ogg")
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    with app.test_request_context(), app.extensions["db"].tenant_session(shop.merchant) as session:
        row = session.query(Narration).one()
        narration_id = row.id
        expired = links.links("acme", row, timedelta(seconds=-1))
        crossed = links.links("other", row, timedelta(hours=1))  # their slug, my narration
    answer = client.get(expired.ogg)
    assert answer.status_code == 403 and "expired" in answer.get_json()["detail"]
    assert client.get(crossed.ogg).status_code == 404  # the other merchant has no such narration

    # A narration made again (its listing deleted, a new one taking its id) is another one.
    assert client.delete(f"/api/v1/listings/{mine}", headers=shop.headers).status_code == 204
    again = _scripted(app, shop, "en_US", "The Acme hoodie is back.")
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        session.query(Narration).one().id = narration_id  # as SQLite may give it
        session.commit()
    assert _narrate(app, shop, again, "en_US")["audio"] == "rendered"
    assert client.get(signed["ogg"]).status_code == 404
    assert client.get(signed["ogg"].replace("audio.ogg", "secret.txt")).status_code == 404

    # The API's own files are each merchant's: another key finds nothing.
    assert client.get(audio["ogg"], headers=other.headers).status_code == 404


def test_a_locale_without_a_voice_keeps_its_script_and_says_how_to_add_one(
    make_app: Callable[..., Flask], tmp_path: Path, prepared: Settings
) -> None:
    models = tmp_path / "models"
    app = _app(make_app, tmp_path, models)
    shop = make_shop(app, "kaufhaus", default_locale="en_US", market_locales=["de_DE"])
    script = "Der Acme Hoodie ist weich und warm."
    listing_id = _scripted(app, shop, "de_DE", script)

    report = _narrate(app, shop, listing_id, "de_DE")
    assert report["audio"] == "failed"
    assert "no voice speaks 'de_DE' (installed voices: en_US)" in report["audio_error"]
    assert "flask --app app models voices add de_DE-<voice>-<quality>" in report["audio_error"]
    client = app.test_client()
    shown = _shown(client, shop, listing_id, "de_DE")
    assert (shown["script"], shown["audio"]) == (script, None)
    assert shown["audio_error"] == report["audio_error"]
    missing = client.get(
        f"/api/v1/listings/{listing_id}/narrations/de_DE/audio.ogg", headers=shop.headers
    )
    assert missing.status_code == 409 and "no voice speaks" in missing.get_json()["detail"]

    source = tmp_path / "download"  # the bundled voice's files, as if German
    source.mkdir()
    for suffix in (".onnx", ".onnx.json"):
        shutil.copyfile(JOE.with_suffix(suffix), source / f"de_DE-joe-medium{suffix}")
    runner = app.test_cli_runner()
    added = runner.invoke(args=["models", "voices", "add", "de_DE-joe-medium", "--from", source])
    assert added.exit_code == 0, added.output
    restarted = _app(make_app, tmp_path, models)
    assert _narrate(restarted, shop, listing_id, "de_DE")["audio"] == "rendered"
    shown = _shown(restarted.test_client(), shop, listing_id, "de_DE")
    assert shown["audio"]["voice"] == "de_DE-joe-medium" and shown["audio_error"] is None


def test_the_catalog_is_narrated_in_one_job_and_a_rerun_renders_nothing(
    voiced_app: Flask,
) -> None:
    app, client = voiced_app, voiced_app.test_client()
    shop = make_shop(app, "acme", default_locale="en_US", market_locales=["en_GB"])
    hoodie = _scripted(app, shop, "en_US", "The Acme hoodie is warm.")
    scarf = _scripted(app, shop, "en_US", "The Acme scarf is long.", handle="scarf", sku="SC-1")
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        for listing_id in (hoodie, scarf):  # en_GB speaks with the en_US voice
            script, edited = "A warm British welcome.", ScriptStatus.EDITED.value
            session.add(
                Narration(listing_id=listing_id, locale="en_GB", script=script, status=edited)
            )
        session.commit()

    def run() -> dict[str, Any]:
        queued = client.post("/api/v1/narrations/jobs", headers=shop.headers, json={})
        assert queued.status_code == 202, queued.get_json()
        assert (queued.get_json()["locales"], queued.get_json()["listings"]) == (
            ["en_US", "en_GB"],
            2,
        )
        app.extensions["jobs"].run(queued.get_json()["job_id"])
        job = wait_finished(app, queued.get_json()["job_id"])
        assert job.status.value == "succeeded", job.error
        assert job.progress == 1.0
        assert job.result is not None
        return dict(job.result["audio"])

    assert run() == {"rendered": 4, "current": 0, "failed": 0, "awaiting_review": 0}
    assert run() == {"rendered": 0, "current": 4, "failed": 0, "awaiting_review": 0}

    bad = client.post(
        "/api/v1/narrations/jobs", headers=shop.headers, json={"listing_ids": [hoodie, 999_999]}
    )
    assert bad.status_code == 404 and "999999" in bad.get_json()["detail"]
    other = make_shop(app, "other", default_locale="en_US")
    theirs = client.post(
        "/api/v1/narrations/jobs", headers=other.headers, json={"listing_ids": [hoodie]}
    )
    assert theirs.status_code == 404  # another merchant's listing is not found
