"""The catalog's dashboard page (a built-in plugin's page through the dashboard_pages
hook): the merchant's own listings, searched and paged in SQL, in the user's language."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask

from plugins.catalog.models import Listing
from tests.conftest import Shop
from tests.dashboard_client import add_user, sign_in


def _listings(app: Flask, shop: Shop, count: int, prefix: str = "Hoodie") -> None:
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        session.add_all(
            Listing(
                handle=f"{prefix.lower()}-{n:03d}",
                sku=f"SKU-{prefix[:2].upper()}{n:03d}",
                title=f"{prefix} {n:03d}",
                price=Decimal("1249.90"),
                currency="EUR",
                stock_quantity=n,
                source="api",
            )
            for n in range(count)
        )
        session.commit()


def test_the_catalog_page_lists_the_merchants_listings_paged_and_searched(
    app: Flask, shop_a: Shop, shop_b: Shop
) -> None:
    _listings(app, shop_a, 55)
    _listings(app, shop_b, 3, prefix="Secret")
    add_user(app, shop_a, "agent@shop-a.test", "agent")  # agents see the catalog too
    client = app.test_client()
    assert sign_in(client, "agent@shop-a.test").status_code == 302
    assert '<a href="/dashboard/catalog/">Catalog</a>' in client.get("/dashboard/").get_data(
        as_text=True
    )

    first = client.get("/dashboard/catalog/").get_data(as_text=True)
    assert "55 listings" in first and "Page 1 of 2" in first
    assert first.count("<tr>") == 51  # the header and 50 listings
    assert "Hoodie 000" in first and "Hoodie 050" not in first and "Secret" not in first
    assert "€1,249.90" in first  # the browser asked for no language: English
    second = client.get("/dashboard/catalog/?page=2").get_data(as_text=True)
    assert "Hoodie 054" in second and 'rel="prev"' in second and "Page 2 of 2" in second
    beyond = client.get("/dashboard/catalog/?page=99").get_data(as_text=True)
    assert "Page 2 of 2" in beyond  # the last page, not an empty one

    found = client.get("/dashboard/catalog/?q=sku-ho007").get_data(as_text=True)
    assert "<p>1 listing</p>" in found and "Hoodie 007" in found
    assert "No listing matches" in client.get("/dashboard/catalog/?q=secret").get_data(
        as_text=True
    )  # another merchant's listing is not found
    assert "No listing matches" in client.get("/dashboard/catalog/?q=%25").get_data(
        as_text=True
    )  # "%" is a character searched for, not a wildcard

    german = client.get("/dashboard/catalog/", headers={"Accept-Language": "de"})
    text = german.get_data(as_text=True)
    assert "55 Angebote" in text and "Seite 1 von 2" in text
    assert "1.249,90\xa0€" in text  # Babel's German price


def test_the_catalog_page_is_the_merchants_and_needs_a_user(app: Flask, shop_a: Shop) -> None:
    client = app.test_client()
    assert client.get("/dashboard/catalog/").status_code == 302  # to sign-in
    add_user(app, shop_a, "owner@shop-a.test")
    assert sign_in(client, "owner@shop-a.test").status_code == 302
    empty = client.get("/dashboard/catalog/").get_data(as_text=True)
    assert "No listings yet" in empty
    result = app.test_cli_runner().invoke(args=["plugins", "disable", "shop-a", "catalog"])
    assert result.exit_code == 0, result.output
    assert client.get("/dashboard/catalog/").status_code == 404
