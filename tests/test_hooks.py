"""One test per hook of merchant_voice.hookspecs, plus failure containment.

tests/test_meta.py checks that every hook has its ``test_hook_<name>`` here.
"""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from merchant_voice.plugin_api import data_dir
from tests.conftest import Shop, make_shop
from tests.dashboard_client import add_user, sign_in
from tests.test_catalog_webhooks import secrets

__all__ = ["secrets"]  # fixture: shop A's webhook secrets
from tests.plugins.notes.models import Note
from tests.plugins.notes.plugin import NotesSettings


def _note_texts(app: Flask, shop: Shop) -> list[str]:
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        return list(session.scalars(select(Note.text).order_by(Note.id)))


def _failures(app: Flask, hook: str) -> list[str]:
    return [f.plugin for f in app.extensions["plugins"].failures if f.hook == hook]


def test_hook_startup(app: Flask) -> None:
    assert app.extensions["notes.started"] is True


def test_hook_register_jobs(app: Flask) -> None:
    kinds = app.extensions["jobs"].registry.kinds()
    assert {"notes.count", "notes.fail_once", "notes.always_fail", "notes.slow"} <= set(kinds)
    assert "notes.write_then_progress" in kinds
    assert app.extensions["jobs"].registry.get("notes.always_fail").max_attempts == 2


def test_hook_register_commands(app: Flask, shop_a: Shop) -> None:
    result = app.test_cli_runner().invoke(args=["notes-count", "shop-a"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "1"


def test_hook_merchant_created(app: Flask) -> None:
    shop = make_shop(app, "fresh", name="Fresh Goods")
    assert _note_texts(app, shop) == ["Welcome, Fresh Goods!"]
    # flaky raised after writing a note: that write was rolled back, the rest kept.
    assert "flaky" in _failures(app, "merchant_created")


def test_hook_merchant_deleted(app: Flask) -> None:
    shop = make_shop(app, "leaving", name="Leaving Soon")
    with app.app_context():  # a file the notes plugin keeps for the merchant
        welcome = data_dir("notes") / str(shop.merchant.id) / "welcome.txt"
    welcome.parent.mkdir()
    welcome.write_text("Welcome!")
    result = app.test_cli_runner().invoke(args=["merchants", "delete", "leaving", "--yes"])
    assert result.exit_code == 0, result.output
    assert not welcome.exists()  # the plugin's files went with the merchant
    with app.extensions["db"].host_session() as session:
        assert (
            session.scalars(select(Note.id).where(Note.merchant_id == shop.merchant.id)).all() == []
        )
    missing = app.test_cli_runner().invoke(args=["merchants", "delete", "leaving", "--yes"])
    assert missing.exit_code != 0 and "no merchant with slug 'leaving'" in missing.output


def test_hook_dashboard_pages(app: Flask, shop_a: Shop, shop_b: Shop) -> None:
    add_user(app, shop_a, "owner@shop-a.test")
    add_user(app, shop_a, "agent@shop-a.test", "agent")
    with app.extensions["db"].tenant_session(shop_b.merchant) as session:
        session.add(Note(text="shop B's own note"))
        session.commit()
    owner = app.test_client()
    assert sign_in(owner, "owner@shop-a.test").status_code == 302
    overview = owner.get("/dashboard/").get_data(as_text=True)
    assert '<a href="/dashboard/notes/">Notes</a>' in overview  # in the navigation
    page = owner.get("/dashboard/notes/")
    assert (
        page.status_code == 200 and "unsafe-inline" not in page.headers["Content-Security-Policy"]
    )
    text = page.get_data(as_text=True)
    assert "Welcome, Shop-A!" in text and "shop B" not in text  # the merchant's own notes
    assert 'aria-current="page">Notes' in text

    agent = app.test_client()
    assert sign_in(agent, "agent@shop-a.test").status_code == 302
    assert "/dashboard/notes/" not in agent.get("/dashboard/").get_data(as_text=True)
    assert agent.get("/dashboard/notes/").status_code == 403  # an owner's page

    result = app.test_cli_runner().invoke(args=["plugins", "disable", "shop-a", "notes"])
    assert result.exit_code == 0, result.output
    assert "/dashboard/notes/" not in owner.get("/dashboard/").get_data(as_text=True)
    assert owner.get("/dashboard/notes/").status_code == 404
    signed_out = app.test_client().get("/dashboard/notes/")
    assert signed_out.status_code == 302 and "/dashboard/login" in signed_out.headers["Location"]


def test_hook_dashboard_panels(app: Flask, shop_a: Shop) -> None:
    add_user(app, shop_a, "owner@shop-a.test")
    add_user(app, shop_a, "agent@shop-a.test", "agent")
    owner = app.test_client()
    assert sign_in(owner, "owner@shop-a.test").status_code == 302
    overview = owner.get("/dashboard/")
    assert overview.status_code == 200  # flaky's panel failed; the page carried on
    text = overview.get_data(as_text=True)
    assert '<h2 id="panel-2">Notes</h2>' in text and "1 notes kept." in text  # after calls'
    assert "flaky" in _failures(app, "dashboard_panels")
    agent = app.test_client()
    assert sign_in(agent, "agent@shop-a.test").status_code == 302
    assert "notes kept" not in agent.get("/dashboard/").get_data(as_text=True)  # owners only
    app.test_cli_runner().invoke(args=["plugins", "disable", "shop-a", "notes"])
    assert "notes kept" not in owner.get("/dashboard/").get_data(as_text=True)


def test_hook_merchant_details(app: Flask, client: FlaskClient, shop_a: Shop) -> None:
    response = client.get("/api/v1/merchant", headers=shop_a.headers)
    assert response.status_code == 200  # flaky raised; the request carried on
    plugins = response.get_json()["plugins"]
    assert plugins["notes"]["details"] == {"notes": 1}
    assert plugins["flaky"]["details"] is None
    assert "flaky" in _failures(app, "merchant_details")


def test_hook_job_finished(app: Flask, shop_a: Shop) -> None:
    jobs = app.extensions["jobs"]
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        job = jobs.enqueue(session, "notes.count")
        session.commit()
    jobs.run(job.id)  # the worker's own entry point, without waiting for a queue
    assert _note_texts(app, shop_a)[-1] == "job notes.count succeeded"
    assert "flaky" in _failures(app, "job_finished")


def test_hook_call_tools(app: Flask, shop_a: Shop) -> None:
    from merchant_voice.plugin_api import CallState
    from plugins.support_calls.tools import choose, gather

    db = app.extensions["db"]
    shop_b = make_shop(app, "shop-b")
    with app.app_context(), db.tenant_session(shop_a.merchant) as session:
        tools = gather(session)
        names = [tool.name for tool in tools]
        assert names[-1] == "latest_note" and len(set(names)) == len(names)
        tool = choose(tools, "what does the latest note say?", CallState("", "en_US"))
        assert tool is not None and tool.name == "latest_note"
        assert tool.settings == NotesSettings()  # its own plugin's settings, not support calls'
        result = tool.run(session, CallState("", "en_US"), {"topic": "x"}, "")
        assert result.data == {"note": "Welcome, Shop-A!", "topic": "x"}  # shop A's note only
        assert "flaky" not in names
    assert _note_texts(app, shop_b) == ["Welcome, Shop-B!"]


def test_hook_customer_contacts(app: Flask, shop_a: Shop, secrets: None) -> None:
    """Plugins tell what they know of a customer - the orders plugin, their orders' phones -
    even when the merchant switched them off: the data is still there to forget."""
    from merchant_voice.plugin_api import CustomerContacts, RedactedCustomer
    from tests.test_orders_webhooks import SHOPIFY_ORDER, shopify

    assert shopify(app, "orders/create", SHOPIFY_ORDER, "d-1").status_code == 200
    manager = app.extensions["plugins"]
    customer = RedactedCustomer(
        "shopify", ("+1 555 0999",), (), (f"shopify:{SHOPIFY_ORDER['id']}",)
    )
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        known = manager.call("customer_contacts", session=session, customer=customer)
        stranger = manager.call(
            "customer_contacts",
            session=session,
            customer=RedactedCustomer("shopify", (), (), ("shopify:1",)),
        )
        manager.set_enabled(session, "orders", False)
        switched_off = manager.call("customer_contacts", session=session, customer=customer)
        kept = manager.call(
            "customer_contacts", session=session, customer=customer, every_plugin=True
        )
    assert known == {"orders": CustomerContacts(phones=("+1 (555) 010-0100",))}
    assert stranger == {"orders": CustomerContacts()}
    assert switched_off == {} and kept == known
    enriched = customer.with_contacts(list(known.values()))
    assert enriched.phones == ("+1 555 0999",)  # the platform's, as they were
    assert enriched.all_phones == ("+1 555 0999", "+1 (555) 010-0100")


def test_hook_customer_redacted(app: Flask, shop_a: Shop, secrets: None) -> None:
    """Shopify's customers/redact: calls (by the customer's and their orders' phones) go,
    orders stay without the customer's name, contact and address."""
    from datetime import UTC, datetime

    from plugins.orders.models import Order
    from tests.test_catalog_webhooks import _sign
    from tests.test_orders_webhooks import SHOPIFY_ORDER, _callers, _calls, shopify

    assert shopify(app, "orders/create", SHOPIFY_ORDER, "d-1").status_code == 200
    now = datetime.now(UTC)
    _calls(app, shop_a, ("+1 555 010 0100", now), ("+15550999", now))
    payload = {"customer": {"id": 7, "phone": None}, "orders_to_redact": [SHOPIFY_ORDER["id"]]}
    body = json.dumps(payload).encode()
    headers = {
        "X-Shopify-Topic": "customers/redact",
        "X-Shopify-Webhook-Id": "r-1",
        "X-Shopify-Hmac-Sha256": _sign(body),
    }
    client = app.test_client()
    redacted = client.post("/hooks/shopify/shop-a/customers/redact", data=body, headers=headers)
    assert redacted.status_code == 200
    assert redacted.get_json()["plugins"] == {
        "support_calls": {"deleted_calls": 1},
        "orders": {"redacted_orders": 1},
    }
    assert _callers(app, shop_a) == ["+15550999"]
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        order = session.scalars(select(Order)).one()
        assert (order.number, order.status) == ("1001", "shipped")
        assert (order.customer_name, order.email, order.phone, order.postcode) == ("", "", "", "")
    again = client.post("/hooks/shopify/shop-a/customers/redact", data=body, headers=headers)
    assert again.get_json()["plugins"]["support_calls"] == {"deleted_calls": 0}  # idempotent
    unsigned = client.post("/hooks/shopify/shop-a/customers/redact", data=body)
    assert unsigned.status_code == 401


def test_hooks_skip_plugins_the_merchant_disabled(app: Flask, shop_a: Shop) -> None:

    manager = app.extensions["plugins"]
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        manager.set_enabled(session, "flaky", False)
        session.commit()
        before = len(manager.failures)
        results = manager.call("merchant_details", session=session)
    assert set(results) == {"notes", "catalog", "translation", "narration", "orders"}
    assert len(manager.failures) == before
