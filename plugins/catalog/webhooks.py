"""Product webhooks from Shopify and WooCommerce: verified, deduplicated, idempotent.

    POST /hooks/shopify/<merchant>/products      products/create|update|delete
    POST /hooks/woocommerce/<merchant>/products  product.created|updated|deleted

Each delivery is verified with the merchant's webhook secret (HMAC-SHA256 of
the raw body, base64: ``X-Shopify-Hmac-Sha256`` / ``X-WC-Webhook-Signature``),
recorded by its delivery id in the same transaction as its change (a repeat
answers ``duplicate`` and changes nothing), and applied as an upsert or delete
matched on the platform's product id. WooCommerce's unsigned ping, sent when a
webhook is created (``webhook_id=N``), is answered 200.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from merchant_voice.errors import BadRequest, Unauthorized, ValidationFailed
from merchant_voice.web.hooks import merchant_session
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

_PING = re.compile(rb"^webhook_id=\d+$")


def _signed(secret: str, body: bytes, signature: str) -> bool:
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return bool(signature) and hmac.compare_digest(expected, signature.encode("latin-1", "replace"))


def _payload(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"the webhook body is not JSON: {exc}") from None
    if not isinstance(payload, dict) or "id" not in payload:
        raise ValidationFailed("the webhook body is not a product (no id)")
    return payload


def _deliver(
    slug: str,
    source: str,
    secret_key: str,
    signature: str,
    delivery: str,
    topic: str,
    handle: dict[str, str],
) -> ResponseReturnValue:
    body = request.get_data()
    with merchant_session(slug, "catalog") as session:
        from plugins.catalog.plugin import plugin

        secret = plugin.credential(session, secret_key)
        if not secret:
            name = f"catalog.{secret_key}"
            raise Unauthorized(
                f"no {source} webhook secret is set for {slug!r}: PUT /api/v1/credentials/{name},"
                f" or flask --app app credentials set {slug} {name}"
            )
        if not _signed(secret, body, signature):
            raise Unauthorized(f"the {source} webhook signature does not match")
        action = handle.get(topic)
        if action is None:
            raise BadRequest(f"unsupported webhook topic {topic!r}")
        if not delivery:
            raise BadRequest(f"the {source} delivery id header is missing")
        payload = _payload(body)
        session.add(WebhookDelivery(source=source, delivery_id=delivery[:100], topic=topic))
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            return jsonify(status="duplicate", delivery=delivery)
        external_id = f"{source}:{payload['id']}"
        if action == "delete":
            for listing in session.scalars(
                select(Listing).where(Listing.external_id == external_id)
            ):
                session.delete(listing)
            session.commit()
        else:
            parse = _from_shopify if source == "shopify" else _from_woocommerce
            try:
                item = parse(payload)
            except (KeyError, TypeError, AttributeError, ValueError, RowRejected) as exc:
                raise ValidationFailed(f"the product in the webhook is malformed: {exc}") from None
            parsed = checked(Parsed(source, 1, [item]))
            if parsed.errors:
                raise ValidationFailed(
                    f"the product in the webhook is malformed: {parsed.errors[0]}"
                )
            store(session, parsed)
    return jsonify(status="applied", delivery=delivery, action=action)


@bp.post("/shopify/<merchant>/products")
def shopify_products(merchant: str) -> ResponseReturnValue:
    headers = request.headers
    return _deliver(
        merchant,
        "shopify",
        "shopify_webhook_secret",
        headers.get("X-Shopify-Hmac-Sha256", ""),
        headers.get("X-Shopify-Webhook-Id", ""),
        headers.get("X-Shopify-Topic", ""),
        {"products/create": "upsert", "products/update": "upsert", "products/delete": "delete"},
    )


@bp.post("/woocommerce/<merchant>/products")
def woocommerce_products(merchant: str) -> ResponseReturnValue:
    headers = request.headers
    if "X-WC-Webhook-Signature" not in headers and _PING.match(request.get_data()):
        merchant_session(merchant, "catalog").close()  # an unknown merchant still gets 404
        return jsonify(status="pong")
    return _deliver(
        merchant,
        "woocommerce",
        "woocommerce_webhook_secret",
        headers.get("X-WC-Webhook-Signature", ""),
        headers.get("X-WC-Webhook-Delivery-ID", ""),
        headers.get("X-WC-Webhook-Topic", ""),
        {"product.created": "upsert", "product.updated": "upsert", "product.deleted": "delete"},
    )


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
