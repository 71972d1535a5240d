"""Migrations build exactly the models' schema, host and plugins (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask

from merchant_voice.migrate import Migrations
from tests.conftest import make_shop


def _migrations(app: Flask) -> Migrations:
    return Migrations(app.extensions["db"], app.extensions["plugins"])


def _tables(app: Flask) -> set[str]:
    return set(sa.inspect(app.extensions["db"].engine).get_table_names())


def test_upgrade_applies_host_and_plugin_branches(
    make_app: Callable[..., Flask], database_url: str
) -> None:
    app = make_app(database_url, migrate=False)
    migrations = _migrations(app)
    assert {"0001_host", "0002_host", "notes_0001"} <= set(migrations.pending())
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert migrations.pending() == []
    assert {"0006_host", "notes_0001"} <= set(migrations.heads())
    assert {
        "merchants",
        "api_keys",
        "users",
        "jobs",
        "merchant_plugins",
        "notes_notes",
        "notes_tags",
    } <= _tables(app)


def test_models_and_migrations_agree(app: Flask) -> None:
    assert _migrations(app).differences() == []
    result = app.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code == 0 and "agree" in result.output


def test_check_detects_a_model_without_migration(app: Flask) -> None:
    with app.extensions["db"].engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE notes_tags"))
    differences = _migrations(app).differences()
    assert any(diff[0] == "add_table" and diff[1].name == "notes_tags" for diff in differences)
    assert app.test_cli_runner().invoke(args=["db", "check"]).exit_code == 1


def test_downgrade_and_upgrade_round_trip(app: Flask) -> None:
    migrations = _migrations(app)
    migrations.downgrade("notes@base")
    assert migrations.pending() == ["notes_0001"]
    assert "notes_notes" not in _tables(app)
    migrations.downgrade("base")
    assert _tables(app) <= {"alembic_version"}
    migrations.upgrade("notes@head")  # the plugin branch pulls in the host revision it needs
    pending = migrations.pending()  # other branches
    assert pending and not any(rev.startswith("notes_") for rev in pending)
    migrations.upgrade()
    assert migrations.pending() == []
    assert migrations.differences() == []


def test_a_plugin_disabled_on_the_host_adds_no_migrations(
    make_app: Callable[..., Flask], database_url: str
) -> None:
    app = make_app(database_url, migrate=False, plugins={"disabled": ["notes"]})
    migrations = _migrations(app)
    assert "0006_host" in migrations.heads() and "notes_0001" not in migrations.heads()
    migrations.upgrade()
    assert "notes_notes" not in _tables(app)


def test_disabling_a_migrated_plugin_keeps_the_database_usable(
    make_app: Callable[..., Flask], database_url: str
) -> None:
    make_app(database_url)  # notes migrated
    app = make_app(database_url, migrate=False, plugins={"disabled": ["notes"]})
    migrations = _migrations(app)
    assert migrations.pending() == []
    migrations.upgrade()
    result = app.test_cli_runner().invoke(args=["db", "current"])
    assert result.exit_code == 0 and "up to date" in result.output


def test_listings_and_orders_from_before_stock_per_variant_and_delivery_dates_still_work(
    make_app: Callable[..., Flask], database_url: str
) -> None:
    """Rows written before ``catalog_0004`` and ``orders_0003`` come through the upgrade with
    their new columns unknown (NULL), and are served as such."""
    app = make_app(database_url)
    migrations = _migrations(app)
    assert {"catalog_0004", "orders_0003"} <= set(migrations.heads())
    shop = make_shop(app, "old-shop")
    migrations.downgrade("catalog_0003")
    migrations.downgrade("orders_0002")
    now = datetime(2026, 11, 1, tzinfo=UTC)
    owned = {"merchant_id": shop.id, "created_at": now, "updated_at": now}
    with app.extensions["db"].engine.begin() as connection:
        tables = sa.MetaData()
        tables.reflect(connection, only=["catalog_listings", "catalog_variants", "orders_orders"])
        assert "stock_quantity" not in tables.tables["catalog_variants"].columns
        assert "estimated_delivery" not in tables.tables["orders_orders"].columns
        listing_id = connection.execute(
            tables.tables["catalog_listings"]
            .insert()
            .values(
                handle="old-tee",
                title="Old Tee",
                description_html="",
                bullet_points=[],
                attributes={},
                currency="USD",
                image_urls=[],
                source="api",
                extra={},
                stock_quantity=5,
                **owned,
            )
        ).inserted_primary_key[0]
        connection.execute(
            tables.tables["catalog_variants"]
            .insert()
            .values(
                listing_id=listing_id,
                title="M",
                options={"Size": "M"},
                position=0,
                merchant_id=shop.id,
            )
        )
        connection.execute(
            tables.tables["orders_orders"]
            .insert()
            .values(
                number="OLD-1",
                source="api",
                status="shipped",
                customer_name="",
                email="",
                phone="",
                phone_key="",
                postcode="",
                postcode_key="",
                currency="USD",
                items=[],
                carrier="DHL",
                tracking_numbers=[],
                tracking_urls=[],
                **owned,
            )
        )
    migrations.upgrade()
    assert migrations.pending() == [] and migrations.differences() == []
    client = app.test_client()
    listing = client.get(f"/api/v1/listings/{listing_id}", headers=shop.headers).get_json()
    assert listing["variants"][0] | {"id": 0} == {
        "id": 0, "sku": None, "title": "M", "options": {"Size": "M"}, "price": None,
        "in_stock": None, "stock_quantity": None,
    }  # fmt: skip
    assert listing["stock_quantity"] == 5  # the listing's own, kept
    order = client.get("/api/v1/orders/OLD-1", headers=shop.headers).get_json()
    assert (order["carrier"], order["estimated_delivery"]) == ("DHL", None)
