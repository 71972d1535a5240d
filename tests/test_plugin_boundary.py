"""The plugin boundary: declared requirements, load order, settings that come in, and the
import rules that keep plugins to the plugin API (import-linter, on a copy of the tree)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

import merchant_voice.plugin_api as plugin_api
from merchant_voice.errors import JobError
from merchant_voice.migrate import Migrations
from merchant_voice.orm import Base
from tests.conftest import ROOT, Shop, make_shop
from tests.plugins.notes.models import Note
from tests.plugins.notes.plugin import NotesSettings
from tests.test_plugins import _install


def _cli(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=list(args))
    return result.exit_code, result.output


def _plugin(name: str, requires: tuple[str, ...] = (), hooks: str = "") -> str:
    return f"""
        from merchant_voice.plugin_api import Plugin, hookimpl

        plugin = Plugin(
            name="{name}", version="1.0", host_api=">=1.0", requires={requires!r},
            models=".models",
        )
        {hooks}
    """


def _models(site: Path, module: str, table: str) -> None:
    (site / module / "models.py").write_text(
        textwrap.dedent(f"""
        from sqlalchemy.orm import Mapped, mapped_column
        from merchant_voice.plugin_api import Base, MerchantOwned

        class Thing(MerchantOwned, Base):
            __tablename__ = "{table}"
            id: Mapped[int] = mapped_column(primary_key=True)
    """)
    )


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A site-packages folder on the path, and a tag that keeps its module names new."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder, uuid.uuid4().hex[:8]


def test_a_plugin_whose_requirement_is_unmet_is_refused_and_registers_nothing(
    make_app: Callable[..., Flask], database_url: str, site: tuple[Path, str]
) -> None:
    site_dir, tag = site
    details = "@hookimpl\n        def merchant_details():\n            return {'here': True}"
    cases = {  # plugin -> what it requires
        "needy": ("absent",),  # installed nowhere
        "futurist": ("future",),  # refused by the host (host API)
        "flakefan": ("flaky",),  # disabled on this host
        "chicken": ("egg",),  # the two require each other
        "egg": ("chicken",),
    }
    for name, requires in cases.items():
        code = _plugin(name, requires, details)
        _install(site_dir, f"mv-{name}", name, f"mv_{name}_{tag}", code)
        _models(site_dir, f"mv_{name}_{tag}", f"{name}_things_{tag}")
    app = make_app(database_url, plugins={"entry_points": True, "disabled": ["flaky"]})
    manager = app.extensions["plugins"]
    refused = {name: manager.refused[name].reason for name in cases}
    assert refused["needy"] == "requires absent, which is not installed"
    assert refused["futurist"].startswith("requires future, which is refused: needs host API")
    assert refused["flakefan"] == "requires flaky, which is disabled on this host"
    assert "a cycle" in refused["chicken"] and "a cycle" in refused["egg"]
    for name in cases:
        assert f"{name}_things_{tag}" not in Base.metadata.tables  # models never imported
        assert name not in manager.plugins
    shop = make_shop(app, "fresh")
    body = app.test_client().get("/api/v1/merchant", headers=shop.headers).get_json()
    assert not set(cases) & set(body["plugins"])  # no hook of theirs ever runs
    code, out = _cli(app, "plugins", "list")
    assert code == 0 and "refused: requires absent, which is not installed" in out


def test_a_declaration_module_that_imports_its_models_is_refused(
    make_app: Callable[..., Flask], database_url: str, site: tuple[Path, str]
) -> None:
    site_dir, tag = site
    module = f"mv_eager_{tag}"
    code = _plugin("eager") + f"\n        from {module}.models import Thing\n"
    _install(site_dir, "mv-eager", "eager", module, code)
    _models(site_dir, module, f"eager_things_{tag}")
    app = make_app(database_url, plugins={"entry_points": True})
    reason = app.extensions["plugins"].refused["eager"].reason
    assert reason.startswith(f"importing its declaration added tables (eager_things_{tag})")
    assert f"eager_things_{tag}" not in Base.metadata.tables


def test_plugins_load_and_run_their_hooks_after_the_plugins_they_require(
    make_app: Callable[..., Flask], database_url: str, site: tuple[Path, str]
) -> None:
    site_dir, tag = site
    details = "@hookimpl\n        def merchant_details():\n            return {'ok': 1}"
    # Discovered child first (entry points come in name order), loaded parent first.
    child = _plugin("achild", ("zparent",), details)
    _install(site_dir, "mv-achild", "achild", f"mv_achild_{tag}", child)
    _install(
        site_dir, "mv-zparent", "zparent", f"mv_zparent_{tag}", _plugin("zparent", (), details)
    )
    for name in ("achild", "zparent"):
        _models(site_dir, f"mv_{name}_{tag}", f"{name}_things_{tag}")
    app = make_app(database_url, plugins={"entry_points": True})
    order = list(app.extensions["plugins"].plugins)
    assert order.index("catalog") < order.index("translation")  # translation requires catalog
    assert order.index("notes") < order.index("flaky")
    assert order.index("zparent") < order.index("achild")
    shop = make_shop(app, "ordered")
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        called = list(app.extensions["plugins"].call("merchant_details", session=session))
    assert called.index("zparent") < called.index("achild")
    assert called.index("catalog") < called.index("translation")


def test_a_merchant_cannot_enable_translation_without_the_catalog(
    app: Flask, client: FlaskClient, shop_a: Shop
) -> None:
    assert client.get("/api/v1/listings", headers=shop_a.headers).status_code == 200
    code, out = _cli(app, "plugins", "disable", "shop-a", "catalog", "--json")
    assert code == 0 and json.loads(out)["off_with_it"] == ["translation", "narration"]
    merchant = client.get("/api/v1/merchant", headers=shop_a.headers).get_json()
    assert not merchant["plugins"]["catalog"]["enabled"]
    assert not merchant["plugins"]["translation"]["enabled"]  # off with its requirement
    assert not merchant["plugins"]["narration"]["enabled"]
    glossary = client.get("/api/v1/translation/glossary", headers=shop_a.headers)
    assert glossary.status_code == 404

    code, out = _cli(app, "plugins", "enable", "shop-a", "translation")
    assert code == 1
    assert "translation requires catalog, which this merchant has disabled" in out
    assert "enable catalog first" in out
    code, out = _cli(app, "plugins", "enable", "shop-a", "catalog")
    assert code == 0
    merchant = client.get("/api/v1/merchant", headers=shop_a.headers).get_json()
    assert merchant["plugins"]["translation"]["enabled"]  # its own choice was kept
    assert client.get("/api/v1/translation/glossary", headers=shop_a.headers).status_code == 200


def test_the_order_and_product_tools_come_from_their_plugins(app: Flask, shop_a: Shop) -> None:
    from plugins.support_calls.tools import gather

    manager, db = app.extensions["plugins"], app.extensions["db"]

    def tools() -> dict[str, str]:
        with app.app_context(), db.tenant_session(shop_a.merchant) as session:
            return {tool.name: tool.plugin for tool in gather(session)}

    offered = tools()
    assert offered["order_status"] == "orders" and offered["product_info"] == "catalog"
    assert {offered[n] for n in ("handoff", "end_call", "store_policy")} == {"support_calls"}
    with db.tenant_session(shop_a.merchant) as session:
        manager.set_enabled(session, "orders", False)
        session.commit()
    assert "order_status" not in tools() and "product_info" in tools()
    with db.tenant_session(shop_a.merchant) as session:
        manager.set_enabled(session, "catalog", False)
        session.commit()
    assert set(tools()) == {"handoff", "end_call", "store_policy", "latest_note"}


def test_hooks_jobs_and_requests_receive_their_own_plugins_settings(
    app: Flask, client: FlaskClient, shop_a: Shop
) -> None:
    manager, db, jobs = app.extensions["plugins"], app.extensions["db"], app.extensions["jobs"]
    with db.tenant_session(shop_a.merchant) as session:
        manager.configure(session, "notes", {"greeting": "Moin", "welcome_note": False})
        job = jobs.enqueue(session, "notes.greeting")
        session.commit()
    jobs.run(job.id)
    status = client.get(f"/api/v1/jobs/{job.id}", headers=shop_a.headers).get_json()
    assert status["result"] == {"greeting": "Moin"}  # JobContext.settings
    summary = client.get("/api/v1/notes/summary", headers=shop_a.headers).get_json()
    assert summary["greeting"] == "Moin"  # current_settings() in a request
    with db.tenant_session(shop_a.merchant) as session:
        received = {
            c.plugin: c.settings for c in manager.contributions("merchant_details", session)
        }
        assert received["notes"] == NotesSettings(greeting="Moin", welcome_note=False)
        before = session.scalar(select(func.count(Note.id)))
        manager.call("merchant_created", session=session)  # its `settings`: no welcome note
        assert session.scalar(select(func.count(Note.id))) == before
        manager.configure(session, "notes", {"welcome_note": True})
        manager.call("merchant_created", session=session)
        assert session.scalar(select(func.count(Note.id))) == before + 1
    with app.test_request_context(), pytest.raises(TypeError, match="settings class of no"):
        plugin_api.current_settings(plugin_api.PluginSettings)


def test_a_plugin_registers_job_kinds_in_its_own_name(app: Flask) -> None:
    kinds = app.extensions["jobs"].registry
    with pytest.raises(JobError, match=r"must be named notes\.<action>"):
        kinds.for_plugin("notes").add("catalog.borrowed", lambda context: None)
    assert "catalog.borrowed" not in kinds
    assert kinds.get("notes.count").plugin == "notes"


def test_a_plugins_revisions_take_their_column_types_from_the_plugin_api(
    make_app: Callable[..., Flask], database_url: str, site: tuple[Path, str]
) -> None:
    site_dir, tag = site
    module = f"mv_stamped_{tag}"
    _install(site_dir, "mv-stamped", "stamped", module, _plugin("stamped"))
    (site_dir / module / "models.py").write_text(
        textwrap.dedent(f"""
        from datetime import datetime
        from sqlalchemy.orm import Mapped, mapped_column
        from merchant_voice.plugin_api import Base, MerchantOwned, UTCDateTime

        class Stamp(MerchantOwned, Base):
            __tablename__ = "stamped_stamps_{tag}"
            id: Mapped[int] = mapped_column(primary_key=True)
            at: Mapped[datetime] = mapped_column(UTCDateTime)
    """)
    )
    app = make_app(database_url, plugins={"entry_points": True})
    Migrations(app.extensions["db"], app.extensions["plugins"]).revision("stamps", "stamped")
    [revision] = (site_dir / module / "migrations" / "versions").glob("*.py")
    text = revision.read_text()
    assert "import merchant_voice.plugin_api" in text
    assert "merchant_voice.plugin_api.UTCDateTime(timezone=True)" in text
    assert "merchant_voice.orm" not in text and "merchant_voice.db" not in text
    compile(text, str(revision), "exec")


def test_every_name_of_the_plugin_api_is_documented() -> None:
    docs = (ROOT / "docs" / "plugins.md").read_text()
    missing = [name for name in plugin_api.__all__ if f"`{name}" not in docs]
    assert not missing, f"plugin API names missing from docs/plugins.md: {missing}"


def test_import_linter_refuses_imports_past_the_boundary(tmp_path: Path) -> None:
    """A copy of the tree with deliberate violations breaks exactly the contracts it should."""
    tree = tmp_path / "tree"
    ignore = shutil.ignore_patterns(".venv*", "instance", "__pycache__", ".git", "*.egg-info")
    shutil.copytree(ROOT, tree, ignore=ignore)
    lint = [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"]
    environment = {**os.environ, "PYTHONPATH": str(tree)}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            lint, cwd=tree, env=environment, capture_output=True, text=True, timeout=120
        )

    clean = run()
    assert clean.returncode == 0, clean.stdout[-3000:]
    (tree / "plugins" / "catalog" / "reach.py").write_text("from merchant_voice import db\n")
    (tree / "plugins" / "orders" / "borrow.py").write_text(
        "from plugins.catalog.public import Listing\n"  # orders does not require the catalog
    )
    (tree / "plugins" / "translation" / "peek.py").write_text(
        "from plugins.catalog.models import Listing\n"  # required, but not its public module
    )
    (tree / "plugins" / "_shared.py").write_text("from plugins.orders import models\n")
    (tree / "engines" / "web.py").write_text("import flask\n")
    (tree / "merchant_voice" / "shortcut.py").write_text("import plugins.orders.models\n")
    broken = run()
    assert broken.returncode == 1
    out = " ".join(broken.stdout.split())  # lines are wrapped to the terminal's width
    for contract in (
        "Plugins import the host through the plugin API only BROKEN",
        "Plugins import another plugin's public module only, and only one they require BROKEN",
        "The host imports no plugin, and not the plugin API it offers them BROKEN",
        "The engines stand on their own: no host, no plugin, no web BROKEN",
    ):
        assert contract in out, out[-4000:]
    assert "plugins.orders.borrow -> plugins.catalog.public: imports plugin catalog" in out
    assert "plugins.translation.peek -> plugins.catalog.models: reaches into plugin catalog" in out
    assert (
        "plugins._shared -> plugins.orders.models: imports plugin orders, but is no plugin" in out
    )
