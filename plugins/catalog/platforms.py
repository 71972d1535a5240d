"""Products as Shopify and WooCommerce webhooks send them, read into parsed listings.

Stock, per variant where the platform has it:

- Shopify: each variant's ``inventory_quantity``, where its stock is tracked:
  ``inventory_management`` set, or absent (API versions from 2024-07 no longer
  send it). An oversold variant (below 0) has none left.
- WooCommerce: ``stock_quantity`` where ``manage_stock`` is true (a variation
  whose stock is managed by its parent has none of its own), and ``stock_status``
  (``instock``, ``onbackorder``: in stock). A variable product's payload lists
  its variations by id only; each variation comes in its own delivery (type
  ``variation``, with ``parent_id``), and updates its listing's variant.
"""

from __future__ import annotations

from typing import Any

from merchant_voice.plugin_api import platform_id
from plugins.catalog.importers.base import (
    ParsedListing,
    ParsedVariant,
    left,
    price,
    stock,
)
from plugins.catalog.importers.woocommerce import bullet_points

WOO_STOCK_STATUS = {"instock": True, "onbackorder": True, "outofstock": False}


def _text_field(product: dict[str, Any], key: str) -> str:
    value = product.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key!r} must be a non-empty string")
    return value


def _shopify_quantity(variant: dict[str, Any]) -> int | None:
    if variant.get("inventory_quantity") is None:
        return None
    if "inventory_management" in variant and not variant["inventory_management"]:
        return None  # not tracked
    return stock(variant["inventory_quantity"], "variants.inventory_quantity")


def from_shopify(product: dict[str, Any]) -> ParsedListing:
    names = [option["name"] for option in product.get("options") or []]
    variants, quantities = [], []
    for position, variant in enumerate(product.get("variants") or []):
        options = {
            name: variant[f"option{n}"]
            for n, name in enumerate(names, start=1)
            if variant.get(f"option{n}") not in (None, "", "Default Title")
        }
        quantities.append(_shopify_quantity(variant))
        variants.append(
            ParsedVariant(
                variant.get("sku") or None,
                variant.get("title") or "",
                options,
                price(str(variant.get("price") or ""), "variants.price"),
                position,
                stock_quantity=left(quantities[-1]),
                external_id=(
                    f"shopify:{platform_id(variant['id'], 'variants.id')}"
                    if variant.get("id")
                    else None
                ),
            )
        )
    listing = ParsedListing(
        handle=_text_field(product, "handle"),
        title=_text_field(product, "title"),
        row=0,
        external_id=f"shopify:{product['id']}",
        description_html=product.get("body_html") or "",
        attributes={
            option["name"]: list(option.get("values") or [])
            for option in product.get("options") or []
            if option.get("values") != ["Default Title"]
        },
        image_urls=[image["src"] for image in product.get("images") or [] if image.get("src")],
        extra={"vendor": product.get("vendor"), "type": product.get("product_type")},
    )
    if len(variants) == 1 and not variants[0].options:  # a product without variants
        listing.sku, listing.price = variants[0].sku, variants[0].price
        listing.stock_quantity = quantities[0]
        listing.in_stock = None if quantities[0] is None else quantities[0] > 0
    else:  # the listing's stock is its variants' (stock.settle)
        listing.variants = variants
        prices = [v.price for v in variants if v.price is not None]
        listing.price = min(prices) if prices else None
    return listing


def _woo_quantity(product: dict[str, Any], field: str) -> int | None:
    if product.get("manage_stock") is not True:  # False, or "parent" for a variation
        return None
    return stock(product.get("stock_quantity"), field)


def woo_variant(variation: dict[str, Any], position: int = 0) -> ParsedVariant:
    """A WooCommerce variation (its own delivery, or embedded in its product's)."""
    options = {
        str(a["name"]): str(a["option"])
        for a in variation.get("attributes") or []
        if a.get("name") and a.get("option")
    }
    amount = variation.get("regular_price") or variation.get("price") or ""
    return ParsedVariant(
        variation.get("sku") or None,
        str(variation.get("name") or " / ".join(options.values())),
        options,
        price(str(amount), "variations.price"),
        position,
        in_stock=WOO_STOCK_STATUS.get(str(variation.get("stock_status"))),
        stock_quantity=left(_woo_quantity(variation, "variations.stock_quantity")),
        external_id=f"woocommerce:{platform_id(variation['id'], 'variations.id')}",
    )


def from_woocommerce(product: dict[str, Any]) -> ParsedListing:
    short = product.get("short_description") or ""
    embedded = [v for v in product.get("variations") or [] if isinstance(v, dict)]
    return ParsedListing(
        handle=product.get("sku") or f"woo-{product['id']}",
        title=_text_field(product, "name"),
        row=0,
        external_id=f"woocommerce:{product['id']}",
        sku=product.get("sku") or None,
        description_html=product.get("description") or "",
        bullet_points=bullet_points(short),
        attributes={
            a["name"]: list(a.get("options") or []) for a in product.get("attributes") or []
        },
        price=price(str(product.get("regular_price") or product.get("price") or ""), "price"),
        in_stock=WOO_STOCK_STATUS.get(str(product.get("stock_status"))),
        stock_quantity=_woo_quantity(product, "stock_quantity"),
        image_urls=[image["src"] for image in product.get("images") or [] if image.get("src")],
        variants=[woo_variant(v, position) for position, v in enumerate(embedded)],
        # A variable product lists its variations by id: the ones stored stay as they are.
        variants_listed=bool(embedded) or product.get("type") != "variable",
        extra={"woocommerce_id": str(product["id"]), "type": product.get("type")},
    )
