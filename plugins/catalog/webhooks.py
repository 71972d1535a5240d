"""Product webhooks from Shopify and WooCommerce: verified, deduplicated, idempotent.

    POST /hooks/shopify/<merchant>/products      products/create|update|delete
    POST /hooks/woocommerce/<merchant>/products  product.created|updated|deleted

Verification and deduplication are the host's (:mod:`merchant_voice.web.shop_hooks`);
each delivery is applied as an upsert or delete matched on the platform's
product id.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from merchant_voice.plugin_api import (
    SHOPIFY,
    WOOCOMMERCE,
    Platform,
    ValidationFailed,
    pong,
    receive,
)
from plugins.catalog.importers import checked, store
from plugins.catalog.importers.base import (
    Parsed,
    ParsedListing,
    ParsedVariant,
    RowRejected,
    price,
    stock,
)
from plugins.catalog.importers.woocommerce import bullet_points
from plugins.catalog.models import Listing, WebhookDelivery

bp = Blueprint("catalog_webhooks", __name__, url_prefix="/hooks")

TOPICS = {
    SHOPIFY: {
        "products/create": "upsert",
        "products/update": "upsert",
        "products/delete": "delete",
    },
    WOOCOMMERCE: {
        "product.created": "upsert",
        "product.updated": "upsert",
        "product.deleted": "delete",
    },
}


def _deliver(slug: str, platform: Platform) -> ResponseReturnValue:
    with receive(slug, "catalog", platform, TOPICS[platform], WebhookDelivery) as delivery:
        if delivery.duplicate:
            return jsonify(status="duplicate", delivery=delivery.delivery_id)
        session, payload = delivery.session, delivery.payload
        external_id = f"{platform.name}:{payload['id']}"
        if delivery.action == "delete":
            for listing in session.scalars(
                select(Listing).where(Listing.external_id == external_id)
            ):
                session.delete(listing)
            session.commit()
        else:
            parse = _from_shopify if platform is SHOPIFY else _from_woocommerce
            try:
                item = parse(payload)
            except (KeyError, TypeError, AttributeError, ValueError, RowRejected) as exc:
                raise ValidationFailed(f"the product in the webhook is malformed: {exc}") from None
            parsed = checked(Parsed(platform.name, 1, [item]))
            if parsed.errors:
                raise ValidationFailed(
                    f"the product in the webhook is malformed: {parsed.errors[0]}"
                )
            store(session, parsed)
    return jsonify(status="applied", delivery=delivery.delivery_id, action=delivery.action)


@bp.post("/shopify/<merchant>/products")
def shopify_products(merchant: str) -> ResponseReturnValue:
    return _deliver(merchant, SHOPIFY)


@bp.post("/woocommerce/<merchant>/products")
def woocommerce_products(merchant: str) -> ResponseReturnValue:
    return pong(merchant, "catalog") or _deliver(merchant, WOOCOMMERCE)


def _text_field(product: dict[str, Any], key: str) -> str:
    value = product.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key!r} must be a non-empty string")
    return value


def _from_shopify(product: dict[str, Any]) -> ParsedListing:
    names = [option["name"] for option in product.get("options") or []]
    variants = []
    for position, variant in enumerate(product.get("variants") or []):
        options = {
            name: variant[f"option{n}"]
            for n, name in enumerate(names, start=1)
            if variant.get(f"option{n}") not in (None, "", "Default Title")
        }
        variants.append(
            ParsedVariant(
                variant.get("sku") or None,
                variant.get("title") or "",
                options,
                price(str(variant.get("price") or ""), "variants.price"),
                position,
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
    quantities = [
        stock(v.get("inventory_quantity"), "variants.inventory_quantity")
        for v in product.get("variants") or []
        if v.get("inventory_management") and v.get("inventory_quantity") is not None
    ]
    if quantities:
        listing.stock_quantity = sum(q for q in quantities if q is not None)
        listing.in_stock = listing.stock_quantity > 0
    if len(variants) == 1 and not variants[0].options:
        listing.sku, listing.price = variants[0].sku, variants[0].price
    else:
        listing.variants = variants
        prices = [v.price for v in variants if v.price is not None]
        listing.price = min(prices) if prices else None
    return listing


def _from_woocommerce(product: dict[str, Any]) -> ParsedListing:
    short = product.get("short_description") or ""
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
        in_stock={"instock": True, "onbackorder": True, "outofstock": False}.get(
            str(product.get("stock_status"))
        ),
        stock_quantity=stock(product.get("stock_quantity"), "stock_quantity")
        if product.get("manage_stock")
        else None,
        image_urls=[image["src"] for image in product.get("images") or [] if image.get("src")],
        extra={"woocommerce_id": str(product["id"]), "type": product.get("type")},
    )
