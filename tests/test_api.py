"""/api/v1: authentication, problem details, body limits, OpenAPI."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from merchant_voice import accounts
from tests.conftest import Shop
from tests.plugins.notes.models import Note

PROBLEM = "application/problem+json"


def _problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert response.mimetype == PROBLEM  # type: ignore[attr-defined]
    body: dict[str, object] = response.get_json()  # type: ignore[attr-defined]
    assert body["status"] == status
    assert str(body["type"]).startswith("urn:merchant-voice:problem:")
    assert body["title"] and body["detail"]
    return body


def test_merchant_endpoint_returns_the_callers_merchant(client: FlaskClient, shop_a: Shop) -> None:
    response = client.get("/api/v1/merchant", headers=shop_a.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["slug"] == "shop-a"
    assert body["default_locale"] == "de_DE"
    assert body["market_locales"] == ["de_DE", "fr_FR"]
    assert body["plugins"]["notes"] == {
        "version": "1.2.0",
        "enabled": True,
        "details": {"notes": 1},
    }


def test_missing_malformed_bad_and_revoked_keys_get_401(
    app: Flask, client: FlaskClient, shop_a: Shop
) -> None:
    cases = {
        "missing": {},
        "not bearer": {"Authorization": f"Basic {shop_a.key}"},
        "malformed": {"Authorization": "Bearer nonsense"},
        "wrong secret": {"Authorization": f"Bearer {shop_a.key[:-4]}AAAA"},
        "unknown prefix": {"Authorization": "Bearer mvk_00000000_" + "A" * 43},
    }
    for case, headers in cases.items():
        response = client.get("/api/v1/merchant", headers=headers)
        body = _problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), case
        assert shop_a.key not in str(body)
    with app.extensions["db"].host_transaction() as session:
        accounts.revoke_api_key(session, shop_a.key[:12])
    body = _problem(client.get("/api/v1/merchant", headers=shop_a.headers), 401)
    assert "revoked" in str(body["detail"])


def test_malformed_json_gets_400_and_writes_nothing(
    app: Flask, client: FlaskClient, shop_a: Shop
) -> None:
    response = client.post(
        "/api/v1/notes",
        headers=shop_a.headers,
        data='{"text": "unterminated',
        content_type="application/json",
    )
    assert "malformed JSON body" in str(_problem(response, 400)["detail"])
    response = client.post(
        "/api/v1/notes", headers=shop_a.headers, data=b"\xff\xfe", content_type="application/json"
    )
    _problem(response, 400)
    response = client.post("/api/v1/notes", headers=shop_a.headers, data="text=x")
    _problem(response, 415)
    with app.extensions["db"].host_session() as session:
        assert session.scalars(select(Note.text)).all() == ["Welcome, Shop-A!"]


def test_deeply_nested_json_gets_400(client: FlaskClient, shop_a: Shop) -> None:
    body = "[" * 30_000 + "]" * 30_000  # under the 64 KiB test limit
    response = client.post(
        "/api/v1/notes", headers=shop_a.headers, data=body, content_type="application/json"
    )
    assert "nested too deeply" in str(_problem(response, 400)["detail"])


def test_stale_plugin_settings_fall_back_to_defaults(
    app: Flask, client: FlaskClient, shop_a: Shop
) -> None:
    from sqlalchemy import insert

    from models import MerchantPlugin

    with app.extensions["db"].host_transaction() as session:  # as an older plugin version left it
        session.execute(
            insert(MerchantPlugin).values(
                merchant_id=shop_a.id,
                plugin="notes",
                enabled=True,
                settings={"max_length": "lots", "retired_option": 1},
            )
        )
    response = client.get("/api/v1/merchant", headers=shop_a.headers)
    assert response.status_code == 200
    result = app.test_cli_runner().invoke(
        args=["plugins", "configure", "shop-a", "notes", "max_length=9"]
    )
    assert result.exit_code == 0, result.output


def test_invalid_fields_get_422_naming_each_field(client: FlaskClient, shop_a: Shop) -> None:
    response = client.post(
        "/api/v1/notes", headers=shop_a.headers, json={"text": "", "tags": "x", "colour": "red"}
    )
    body = _problem(response, 422)
    fields = {error["field"] for error in body["errors"]}  # type: ignore[attr-defined]
    assert fields == {"text", "tags", "colour"}


def test_body_over_the_limit_gets_413(app: Flask, client: FlaskClient, shop_a: Shop) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post(
        "/api/v1/notes", headers=shop_a.headers, json={"text": "x" * (limit + 1)}
    )
    body = _problem(response, 413)
    assert body["limit"] == limit


def test_unknown_routes_and_methods_are_problems(client: FlaskClient, shop_a: Shop) -> None:
    _problem(client.get("/api/v1/nothing-here", headers=shop_a.headers), 404)
    response = client.patch("/api/v1/merchant", headers=shop_a.headers)
    _problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_plugin_settings_apply_per_merchant(
    app: Flask, client: FlaskClient, shop_a: Shop, shop_b: Shop
) -> None:

    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        app.extensions["plugins"].configure(session, "notes", {"max_length": 5})
        session.commit()
    body = _problem(
        client.post("/api/v1/notes", headers=shop_a.headers, json={"text": "too long"}), 422
    )
    assert body["errors"] == [{"field": "text", "message": "at most 5 characters"}]
    assert (
        client.post("/api/v1/notes", headers=shop_b.headers, json={"text": "too long"}).status_code
        == 201
    )


def test_openapi_document_lists_host_and_plugin_operations(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.1")
    assert spec["servers"] == [{"url": "/api/v1"}]
    assert {"/merchant", "/jobs/{job_id}", "/notes", "/notes/{note_id}"} <= set(spec["paths"])
    get_note = spec["paths"]["/notes/{note_id}"]["get"]
    assert get_note["parameters"][0] == {
        "name": "note_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer"},
    }
    assert get_note["responses"]["404"]["content"]["application/problem+json"]
    post = spec["paths"]["/notes"]["post"]
    body_ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body_ref == "#/components/schemas/NoteIn"
    schemas = spec["components"]["schemas"]
    assert "NoteIn" in schemas and "Problem" in schemas
    # Both the host and the notes plugin call a model JobOut: neither hides the other.
    assert "id" in schemas["JobOut"]["properties"]
    assert "job_id" in schemas["notes_JobOut"]["properties"]
    assert spec["paths"]["/merchant"]["get"]["security"] == [{"apiKey": []}]
    refs = [ref for path in spec["paths"].values() for op in path.values() for ref in _refs(op)]
    for ref in refs:
        assert ref.removeprefix("#/components/schemas/") in spec["components"]["schemas"], ref


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_key_use_is_recorded_at_most_once_a_minute(
    app: Flask, client: FlaskClient, shop_a: Shop
) -> None:
    from models import ApiKey

    def last_used() -> object:
        with app.extensions["db"].host_session() as session:
            return session.scalars(select(ApiKey.last_used_at)).one()

    assert last_used() is None
    client.get("/api/v1/merchant", headers=shop_a.headers)
    first = last_used()
    assert first is not None
    client.get("/api/v1/merchant", headers=shop_a.headers)
    assert last_used() == first  # no write on every request


def test_plugin_settings_are_read_and_replaced_over_the_api(
    client: FlaskClient, shop_a: Shop, shop_b: Shop
) -> None:
    url = "/api/v1/plugins/notes/settings"
    read = client.get(url, headers=shop_a.headers)
    assert read.status_code == 200
    defaults = {"max_length": 200, "greeting": "Hello", "welcome_note": True}
    assert read.get_json() == {"plugin": "notes", "enabled": True, "settings": defaults}
    put = client.put(url, json={"max_length": 50, "greeting": "Moin"}, headers=shop_a.headers)
    assert put.status_code == 200
    assert put.get_json()["settings"] == {**defaults, "max_length": 50, "greeting": "Moin"}
    too_long = client.post("/api/v1/notes", json={"text": "x" * 51}, headers=shop_a.headers)
    assert too_long.status_code == 422  # the new setting is in force
    bad = _problem(
        client.put(url, json={"max_length": "lots", "colour": "red"}, headers=shop_a.headers),
        422,
    )
    assert {e["field"] for e in bad["errors"]} == {"max_length", "colour"}  # type: ignore[union-attr]
    assert client.get(url, headers=shop_a.headers).get_json()["settings"]["max_length"] == 50
    replaced = client.put(url, json={"greeting": "Hi"}, headers=shop_a.headers).get_json()
    assert replaced["settings"] == {**defaults, "greeting": "Hi"}  # the rest back to defaults
    assert client.get(url, headers=shop_b.headers).get_json()["settings"] == defaults
    _problem(client.get("/api/v1/plugins/nothere/settings", headers=shop_a.headers), 404)
    _problem(client.put(url, json=[1, 2], headers=shop_a.headers), 422)
    _problem(client.get(url), 401)
