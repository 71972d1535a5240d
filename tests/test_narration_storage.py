"""Where a merchant's narration audio lives and how much of it: the storage quota (the
merchant's own, or the host's), edits kept when it is full; audio deleted with its
narration, its listing and its merchant; narrations of a locale no longer sold."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask

from merchant_voice import accounts
from merchant_voice.config import Settings
from plugins.catalog.public import Listing
from plugins.narration import files, service
from plugins.narration.models import Narration, ScriptStatus
from plugins.narration.settings import NarrationSettings
from tests.conftest import make_shop
from tests.test_jobs import wait_finished
from tests.test_narration_audio import (
    _app,
    _narrate,
    _scripted,
    _scripted_row,
    _sells,
    _shown,
    voiced_app,
)

__all__ = ["voiced_app"]


def test_the_storage_quota_refuses_more_audio(
    make_app: Callable[..., Flask], tmp_path: Path, prepared: Settings
) -> None:
    app = _app(make_app, tmp_path)  # the host's default: 1024 MB each
    shop = make_shop(app, "acme", default_locale="en_US", market_locales=["en_GB"])
    runner = app.test_cli_runner()
    with app.app_context():
        folder = files.merchant_folder(shop.merchant.id)

    def quota(*args: str) -> tuple[int, str]:
        result = runner.invoke(args=["merchants", "quota", "acme", *args])
        return result.exit_code, result.output

    assert quota() == (0, "Merchant acme may store 1024 MB of files (the host's [host]"
                          " merchant_storage_mb).\n")  # fmt: skip
    code, said = quota("--storage-mb", "0")
    assert code != 0 and "--storage-mb" in said and "give 1 to 10000000 MB" in said
    code, said = quota("--storage-mb", "5", "--default")
    assert code != 0 and "not both" in said
    assert quota("--storage-mb", "1")[1].endswith("1 MB of files (its own quota).\n")
    listing_id = _scripted(app, shop, "en_US", "The Acme hoodie is warm.")
    report = _narrate(app, shop, listing_id, "en_US")
    assert report["audio"] == "rendered"
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        row = session.query(Narration).one()
        row.audio_bytes = 1_000_000  # as if the merchant's other narrations had filled it
        session.commit()
    client = app.test_client()
    refused = client.post(
        f"/api/v1/listings/{listing_id}/narrations", headers=shop.headers, json={"locale": "en_US"}
    )
    assert refused.status_code == 403
    problem = refused.get_json()
    assert problem["type"].endswith("quota-exceeded")
    assert "storage quota (its own, `merchants quota`)" in problem["detail"]
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        edited = ScriptStatus.EDITED.value
        session.add(
            Narration(listing_id=listing_id, locale="en_GB", script="A warm hoodie.", status=edited)
        )
        session.commit()  # a job already queued renders nothing beyond the quota either
    with app.extensions["db"].host_session() as host:
        merchant = accounts.merchant_by_slug(host, "acme").info()  # as a job reads it
    with app.app_context(), app.extensions["db"].tenant_session(merchant) as session:
        chosen = session.query(Listing).all()
        result = service.narrate(session, NarrationSettings(), chosen, ["en_GB"])
    [narration] = result.narrations
    assert narration["audio"] == "failed" and "storage quota" in str(narration["audio_error"])

    def edit(locale: str, script: str) -> dict[str, Any]:
        url = f"/api/v1/listings/{listing_id}/narrations/{locale}"
        answer = client.patch(url, headers=shop.headers, json={"script": script})
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["script"] == script  # an edit costs no storage: kept
        return dict(answer.get_json())

    # A narration's own audio makes room for its next rendering...
    mine = edit("en_US", "The Acme hoodie is soft.")
    assert mine["rendering_job_id"] and mine["audio_error"] is None
    app.extensions["jobs"].run(mine["rendering_job_id"])
    assert wait_finished(app, mine["rendering_job_id"]).status.value == "succeeded"
    assert _shown(client, shop, listing_id, "en_US")["audio"]["current"] is True
    # ...but no more: with the quota full without it, the old audio (saying the old
    # script) is removed, and the edit says why there is none.
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        session.query(Narration).filter_by(locale="en_GB").one().audio_bytes = 1_000_000
        session.commit()
    signed = _shown(client, shop, listing_id, "en_US")["audio"]["signed"]["ogg"]
    refused_edit = edit("en_US", "The Acme hoodie is very soft.")
    assert refused_edit["rendering_job_id"] is None and refused_edit["audio"] is None
    assert "storage quota" in refused_edit["audio_error"]
    assert client.get(signed).status_code == 404 and not list(folder.rglob("en_US-*"))

    assert quota("--default")[0] == 0  # the host's 1024 MB again: room to narrate
    again = client.post(
        f"/api/v1/listings/{listing_id}/narrations", headers=shop.headers, json={"locale": "en_US"}
    )
    assert again.status_code == 202, again.get_json()


def test_audio_is_deleted_with_its_listing_and_its_merchant(voiced_app: Flask) -> None:
    app, client = voiced_app, voiced_app.test_client()
    shop = make_shop(app, "acme", default_locale="en_US")
    kept = _scripted(app, shop, "en_US", "The Acme hoodie is warm.")
    gone = _scripted(app, shop, "en_US", "The Acme scarf is long.", handle="scarf", sku="SC-1")
    for listing_id in (kept, gone):
        assert _narrate(app, shop, listing_id, "en_US")["audio"] == "rendered"
    with app.app_context():
        folder = files.merchant_folder(shop.merchant.id)
    assert {path.name for path in folder.iterdir()} == {str(kept), str(gone)}

    assert client.delete(f"/api/v1/listings/{gone}", headers=shop.headers).status_code == 204
    assert {path.name for path in folder.iterdir()} == {str(kept)}

    # A locale the merchant no longer sells: its narration is still read, then deleted.
    _sells(app, "acme", ["en_GB"])
    _scripted_row(app, shop, kept, "en_GB", "The Acme hoodie is warm, in Britain.")
    assert _narrate(app, shop, kept, "en_GB")["audio"] == "rendered"
    british = {path.name.split("-")[0] for path in (folder / str(kept)).iterdir()}
    assert british == {"en_US", "en_GB"}
    _sells(app, "acme", [])
    url = f"/api/v1/listings/{kept}/narrations/en_GB"
    assert client.get(url, headers=shop.headers).get_json()["audio"]["seconds"] > 1
    assert client.get(f"{url}/audio.mp3", headers=shop.headers).status_code == 200
    edit = {"script": "The Acme hoodie is warm, in Britain, still."}
    job_id = client.patch(url, headers=shop.headers, json=edit).get_json()["rendering_job_id"]
    app.extensions["jobs"].run(job_id)
    assert wait_finished(app, job_id).status.value == "succeeded"  # rendered all the same
    assert client.get(url, headers=shop.headers).get_json()["audio"]["current"] is True
    assert client.delete(url, headers=shop.headers).status_code == 204
    assert client.get(url, headers=shop.headers).status_code == 404
    assert client.delete(url, headers=shop.headers).status_code == 404
    assert {path.name.split("-")[0] for path in (folder / str(kept)).iterdir()} == {"en_US"}

    result = app.test_cli_runner().invoke(args=["merchants", "delete", "acme"])
    assert result.exit_code != 0 and "--yes" in result.output and folder.exists()
    result = app.test_cli_runner().invoke(args=["merchants", "delete", "acme", "--yes"])
    assert result.exit_code == 0, result.output
    assert not folder.exists()
    assert client.get("/api/v1/merchant", headers=shop.headers).status_code == 401


def test_a_listing_deleted_while_its_catalog_is_narrated_is_passed_over(
    voiced_app: Flask,
) -> None:
    app, client = voiced_app, voiced_app.test_client()
    shop = make_shop(app, "acme", default_locale="en_US")
    kept = _scripted(app, shop, "en_US", "The Acme hoodie is warm.")
    gone = _scripted(app, shop, "en_US", "The Acme scarf is long.", handle="scarf", sku="SC-1")
    with app.app_context(), app.extensions["db"].tenant_session(shop.merchant) as session:
        chosen = session.query(Listing).order_by(Listing.id).all()  # as a job finds them
        assert client.delete(f"/api/v1/listings/{gone}", headers=shop.headers).status_code == 204
        report = service.narrate(session, NarrationSettings(), chosen, ["en_US"])
    assert [(n["listing_id"], n["audio"]) for n in report.narrations] == [(kept, "rendered")]
