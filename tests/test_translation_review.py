"""Reviewing translations: edits and approvals, refused edits, outdated translations
confirmed; the same real engines and helpers as ``test_translation``."""

from __future__ import annotations

from flask import Flask

from tests.conftest import Shop
from tests.test_translation import (
    DESCRIPTION,
    HOODIE,
    acme,
    add_listing,
    translate,
    translation,
    translation_app,
)

__all__ = ["acme", "translation_app"]  # fixtures


def test_review_and_edits_survive_reruns_unless_overwritten(
    translation_app: Flask, acme: Shop
) -> None:
    client = translation_app.test_client()
    listing_id = add_listing(client, acme)
    translate(translation_app, acme, listing_id)
    url = f"/api/v1/listings/{listing_id}/translations/de_DE"
    stored = translation(client, acme, listing_id, "de_DE")
    if stored["flags"]:  # flagged fields must be fixed by a person before approval
        refused = client.patch(url, json={"review": "reviewed"}, headers=acme.headers)
        assert refused.status_code == 422 and "flagged" in refused.get_json()["detail"]

    edits = {
        "title": "Acme Kapuzenpullover aus Bio-Baumwolle",
        "description_html": DESCRIPTION.replace("Made of", "Aus").replace(
            "cotton by", "Baumwolle von"
        ),
        "bullet_points": ["Weich und warm", "Kängurutasche"],
        "attributes": {"Farbe": ["Blau", "Rot"]},
    }
    edited = client.patch(url, json={"fields": edits}, headers=acme.headers)
    assert edited.status_code == 200, edited.get_json()
    assert edited.get_json()["review"] == "edited" and edited.get_json()["flags"] == []
    reviewed = client.patch(url, json={"review": "reviewed"}, headers=acme.headers)
    assert reviewed.get_json()["review"] == "edited"  # approving keeps the edit's state

    kept = translate(translation_app, acme, listing_id)
    assert kept["kept_edits"] == 1 and kept["translations"] == 0
    assert translation(client, acme, listing_id, "de_DE")["fields"]["title"] == edits["title"]

    # The person's title and bullets went into memory: another listing gets them, no model.
    twin = add_listing(client, acme, handle="twin", description_html="", attributes={})
    reused = translate(translation_app, acme, twin)
    assert reused["sent"] == 0 and reused["memory_hits"] == 3
    assert (
        translation(client, acme, twin, "de_DE")["fields"]["bullet_points"]
        == edits["bullet_points"]
    )

    replaced = translate(translation_app, acme, listing_id, overwrite_edits=True)
    assert replaced["kept_edits"] == 0 and replaced["translations"] == 1
    assert translation(client, acme, listing_id, "de_DE")["review"] == "machine"


def test_edits_that_break_the_rules_are_refused(translation_app: Flask, acme: Shop) -> None:
    client = translation_app.test_client()
    listing_id = add_listing(client, acme)
    translate(translation_app, acme, listing_id)
    url = f"/api/v1/listings/{listing_id}/translations/de_DE"
    before = translation(client, acme, listing_id, "de_DE")
    cases = [
        ({"fields": {"title": ""}}, "fields.title"),
        ({"fields": {"description_html": "<p>Aus <b>Baumwolle</p>"}}, "fields.description_html"),
        ({"fields": {"description_html": "<p>Nur ein Absatz</p>"}}, "fields.description_html"),
        ({"fields": {"bullet_points": ["nur einer"]}}, "fields.bullet_points"),
        ({"review": "machine"}, "review"),
        ({}, "body"),
    ]
    for body, field in cases:
        response = client.patch(url, json=body, headers=acme.headers)
        assert response.status_code == 422, (body, response.get_json())
        assert response.get_json()["errors"][0]["field"].startswith(field), response.get_json()
    assert translation(client, acme, listing_id, "de_DE") == before


def test_an_outdated_translation_is_confirmed_by_an_edit_or_a_review(
    translation_app: Flask, acme: Shop
) -> None:
    client = translation_app.test_client()
    listing_id = add_listing(client, acme, description_html="", attributes={})
    translate(translation_app, acme, listing_id)
    url = f"/api/v1/listings/{listing_id}/translations/de_DE"
    title = {"title": "Acme Kapuzenpullover aus Bio-Baumwolle"}
    bullets = {"bullet_points": ["Weich", "Tasche"]}
    client.patch(url, json={"fields": {**title, **bullets}}, headers=acme.headers)

    # A glossary term no field contains leaves it current; the source changing does not.
    glossary = {"terms": [{"term": "Zipper"}]}
    response = client.put("/api/v1/translation/glossary", json=glossary, headers=acme.headers)
    assert response.status_code == 200, response.get_json()
    assert translation(client, acme, listing_id, "de_DE")["outdated"] is False
    changed = {**HOODIE, "description_html": "", "attributes": {}, "title": "Acme hoodie"}
    client.put(f"/api/v1/listings/{listing_id}", json=changed, headers=acme.headers)
    stale = translation(client, acme, listing_id, "de_DE")
    assert (stale["outdated_fields"], stale["review"]) == (["title"], "edited")

    # Editing the field confirms it against the new source...
    edit = {"fields": {"title": "Acme Kapuzenpullover"}}
    edited = client.patch(url, json=edit, headers=acme.headers)
    assert edited.get_json()["outdated"] is False and edited.get_json()["review"] == "edited"
    # ...and so does approving it as it stands, edits kept.
    changed["bullet_points"] = ["Soft and warm", "Two pockets"]
    client.put(f"/api/v1/listings/{listing_id}", json=changed, headers=acme.headers)
    assert translation(client, acme, listing_id, "de_DE")["outdated_fields"] == ["bullet_points"]
    approved = client.patch(url, json={"review": "reviewed"}, headers=acme.headers).get_json()
    assert (approved["outdated"], approved["review"]) == (False, "edited")
    assert approved["fields"]["bullet_points"] == ["Weich", "Tasche"]
