"""Plugin discovery, refusal, per-merchant enablement and settings (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from models import MerchantPlugin
from tests.conftest import Shop


def _cli(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=list(args))
    return result.exit_code, result.output


def _install(site: Path, dist: str, entry: str, module: str, code: str) -> None:
    """Install a real distribution into ``site``: a module plus its .dist-info entry point."""
    package = site / module
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "plugin.py").write_text(textwrap.dedent(code))
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[merchant_voice.plugins]\n{entry} = {module}.plugin\n")


def test_builtins_load_and_bad_ones_are_refused_with_reasons(app: Flask) -> None:
    manager = app.extensions["plugins"]
    assert set(manager.plugins) == {
        "catalog",
        "translation",
        "narration",
        "orders",
        "support_calls",
        "notes",
        "flaky",
    }
    assert manager.plugins["catalog"].origin == "built-in plugins.catalog.plugin"
    assert manager.plugins["notes"].origin == "built-in tests.plugins.notes.plugin"
    assert "ModuleNotFoundError" in manager.refused["broken"].reason
    # Refused before its models were imported (that module raises on import).
    assert manager.refused["future"].reason == ("needs host API >=2.0, but this host provides 1.6")


def test_plugins_list_shows_version_and_status(app: Flask) -> None:
    code, out = _cli(app, "plugins", "list", "--json")
    assert code == 0
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["notes"]["version"] == "1.2.0" and rows["notes"]["status"] == "loaded"
    assert rows["future"]["status"] == "refused" and "host API" in rows["future"]["reason"]
    code, out = _cli(app, "plugins", "list")
    assert "notes" in out and "1.2.0" in out and "refused: needs host API >=2.0" in out


def test_external_plugins_load_through_entry_points(
    make_app: Callable[..., Flask],
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = tmp_path / "site"
    tag = uuid.uuid4().hex[:8]  # fresh module names: each run must import them anew
    _install(
        site,
        "mv-hello",
        "hello",
        f"mv_hello_{tag}",
        """
        from merchant_voice.plugin_api import Plugin, PluginSettings, hookimpl

        class Settings(PluginSettings):
            word: str = "hello"

        plugin = Plugin(name="hello", version="2.0.1", host_api=">=1.0,<2", settings=Settings)

        @hookimpl
        def merchant_details(settings):
            return {"word": settings.word}
    """,
    )
    _install(
        site,
        "mv-misnamed",
        "wrongname",
        f"mv_misnamed_{tag}",
        """
        from merchant_voice.plugin_api import Plugin
        plugin = Plugin(name="other", version="1.0", host_api=">=1.0")
    """,
    )
    _install(
        site,
        "mv-badhook",
        "badhook",
        f"mv_badhook_{tag}",
        """
        from merchant_voice.plugin_api import Plugin, hookimpl
        plugin = Plugin(name="badhook", version="1.0", host_api=">=1.0")

        @hookimpl
        def no_such_hook():
            pass
    """,
    )
    _install(
        site,
        "mv-badtable",
        "badtable",
        f"mv_badtable_{tag}",
        """
        from merchant_voice.plugin_api import Plugin
        plugin = Plugin(name="badtable", version="1.0", host_api=">=1.0", models=".models")
    """,
    )
    (site / f"mv_badtable_{tag}" / "models.py").write_text(
        textwrap.dedent("""
        from sqlalchemy.orm import Mapped, mapped_column
        from merchant_voice.orm import Base

        class Stray(Base):
            __tablename__ = "stray_things"
            id: Mapped[int] = mapped_column(primary_key=True)
    """)
    )
    monkeypatch.syspath_prepend(str(site))
    app = make_app(database_url, plugins={"entry_points": True})
    manager = app.extensions["plugins"]
    hello = manager.plugins["hello"]
    assert hello.version == "2.0.1"
    assert hello.origin == f"entry point mv_hello_{tag}.plugin (mv-hello 1.0)"
    assert "declares the name 'other'" in manager.refused["wrongname"].reason
    assert "invalid hook implementation" in manager.refused["badhook"].reason
    assert "must be named badtable_...: stray_things" in manager.refused["badtable"].reason
    from merchant_voice.orm import Base

    assert "stray_things" not in Base.metadata.tables
    assert {"notes", "flaky", "hello"} <= set(manager.plugins)  # the others keep working
    from tests.conftest import make_shop

    shop = make_shop(app, "ext-shop")
    body = app.test_client().get("/api/v1/merchant", headers=shop.headers).get_json()
    assert body["plugins"]["hello"]["details"] == {"word": "hello"}


def test_host_can_disable_a_plugin_entirely(
    make_app: Callable[..., Flask], database_url: str
) -> None:
    app = make_app(database_url, plugins={"disabled": ["flaky"]})
    assert "flaky" not in app.extensions["plugins"].plugins
    _code, out = _cli(app, "plugins", "list")
    assert "flaky" in out and "disabled on this host" in out


def test_enable_and_disable_per_merchant(
    app: Flask, client: FlaskClient, shop_a: Shop, shop_b: Shop
) -> None:
    assert client.get("/api/v1/notes", headers=shop_a.headers).status_code == 200
    code, out = _cli(app, "plugins", "disable", "shop-a", "notes", "--json")
    assert code == 0 and json.loads(out)["enabled"] is False
    response = client.get("/api/v1/notes", headers=shop_a.headers)
    assert response.status_code == 404
    assert "not enabled" in response.get_json()["detail"]
    assert client.get("/api/v1/notes", headers=shop_b.headers).status_code == 200
    merchant = client.get("/api/v1/merchant", headers=shop_a.headers).get_json()
    assert merchant["plugins"]["notes"]["enabled"] is False
    assert merchant["plugins"]["notes"]["details"] is None  # hooks skip disabled plugins
    assert _cli(app, "plugins", "enable", "shop-a", "notes")[0] == 0
    assert client.get("/api/v1/notes", headers=shop_a.headers).status_code == 200


def test_configure_validates_against_the_schema(app: Flask, shop_a: Shop) -> None:
    code, out = _cli(
        app, "plugins", "configure", "shop-a", "notes", "max_length=50", "greeting=Moin", "--json"
    )
    assert code == 0, out
    assert json.loads(out)["settings"] == {
        "max_length": 50,
        "greeting": "Moin",
        "welcome_note": True,
    }
    for args, message in [
        (["max_length=lots"], "max_length: Input should be a valid integer"),
        (["colour=red"], "colour: unknown field"),
        (["max_length=10", "welcome_note=maybe"], "welcome_note: Input should be a valid boolean"),
    ]:
        code, out = _cli(app, "plugins", "configure", "shop-a", "notes", *args)
        assert code == 1 and message in out, out
    code, out = _cli(app, "plugins", "configure", "shop-a", "nothere", "x=1")
    assert code == 1 and "no plugin named 'nothere'" in out
    code, out = _cli(app, "plugins", "enable", "no-shop", "notes")
    assert code == 1 and "no merchant with slug 'no-shop'" in out
    with app.extensions["db"].host_session() as session:
        row = session.scalars(select(MerchantPlugin).where(MerchantPlugin.plugin == "notes")).one()
        assert row.settings == {"max_length": 50, "greeting": "Moin"}  # failed writes left nothing
    code, out = _cli(app, "plugins", "show", "shop-a", "--json")
    notes = next(row for row in json.loads(out) if row["name"] == "notes")
    assert notes["settings"]["greeting"] == "Moin" and notes["enabled"] is True


def test_templates_prompts_and_translations(
    app: Flask, client: FlaskClient, shop_a: Shop, shop_b: Shop
) -> None:
    german = client.get("/api/v1/notes/summary", headers=shop_a.headers).get_json()
    assert german["html"].strip() == "<p>Shop-A has 1 notes.</p>"
    assert german["prompt"] == "Summarize the 1 notes of Shop-A in one sentence.\n"
    assert german["greeting"] == "Hallo"  # de_DE falls back to the plugin's de catalog
    english = client.get("/api/v1/notes/summary", headers=shop_b.headers).get_json()
    assert english["greeting"] == "Hello"
    resources = app.extensions["plugins"].get("notes").resources
    assert resources.gettext("de_AT", "Hello") == "Hallo"
    assert resources.gettext("fr_FR", "Hello") == "Hello"
    from jinja2 import UndefinedError

    with pytest.raises(UndefinedError):
        resources.render_prompt("summary.j2", count=1)  # a missing variable is an error
