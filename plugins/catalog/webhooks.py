"""Product webhooks from Shopify and WooCommerce: verified, deduplicated, idempotent.

    POST /hooks/shopify/<merchant>/products      products/create|update|delete
    POST /hooks/woocommerce/<merchant>/products  product.created|updated|deleted

Verification and deduplication are the host's (:mod:`merchant_voice.web.shop_hooks`);
each delivery is applied as an upsert or delete matched on the platform's
product id; a WooCommerce variation's delivery updates its listing's variant
(:mod:`plugins.catalog.platforms` reads the payloads, stock included).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from merchant_voice.plugin_api import (
    SHOPIFY,
    WOOCOMMERCE,
    Platform,
    TenantSession,
    ValidationFailed,
    platform_id,
    pong,
    receive,
)
from plugins.catalog.importers import check, fill, store, variant
from plugins.catalog.importers.base import (
    Parsed,
    RowRejected,
    check_types,
    check_variant_lengths,
)
from plugins.catalog.models import Listing, Variant, WebhookDelivery
from plugins.catalog.platforms import from_shopify, from_woocommerce, woo_variant
from plugins.catalog.stock import settle

log = logging.getLogger(__name__)

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
        status, clashes = "applied", []
        if delivery.action == "delete":
            _delete(session, external_id, variations=platform is WOOCOMMERCE)
        elif platform is WOOCOMMERCE and payload.get("type") == "variation":
            status = _upsert_variation(session, payload)
        else:
            parse = from_shopify if platform is SHOPIFY else from_woocommerce
            try:
                item = parse(payload)
                check(item)
            except MALFORMED as exc:
                raise malformed("product", exc) from None
            clashes = store(session, Parsed(platform.name, 1, [item])).clashes
        session.commit()
    answer = {"status": status, "delivery": delivery.delivery_id, "action": delivery.action}
    return jsonify({**answer, "clashes": clashes} if clashes else answer)


MALFORMED = (KeyError, TypeError, AttributeError, ValueError, RowRejected)


def malformed(what: str, exc: Exception) -> ValidationFailed:
    """A 422 naming the payload's field where the error does."""
    if isinstance(exc, RowRejected):
        detail = f"the {what} in the webhook is malformed: {exc.column}: {exc.reason}"
        return ValidationFailed(detail, [{"field": exc.column, "message": exc.reason}])
    return ValidationFailed(f"the {what} in the webhook is malformed: {exc}")


def _delete(session: TenantSession, external_id: str, variations: bool) -> None:
    """A product is gone, or a WooCommerce variation (a variant of its listing: WooCommerce
    sends its deletion as a product's; Shopify's variants go with a product update)."""
    for listing in session.scalars(select(Listing).where(Listing.external_id == external_id)):
        session.delete(listing)
    if not variations:
        return
    for gone in session.scalars(select(Variant).where(Variant.external_id == external_id)).all():
        listing = gone.listing
        listing.variants.remove(gone)
        settle(listing)


def _upsert_variation(session: TenantSession, payload: dict[str, Any]) -> str:
    """A WooCommerce variation's own delivery: the variant of its parent's listing, matched
    on the variation's id (then its SKU), is updated or added."""
    try:
        item = woo_variant(payload)
        check_types(item)
        check_variant_lengths(item)
        parent_id = f"woocommerce:{platform_id(payload.get('parent_id'), 'parent_id')}"
    except MALFORMED as exc:
        raise malformed("variation", exc) from None
    listing = session.scalars(select(Listing).where(Listing.external_id == parent_id)).first()
    if listing is None:
        log.warning(
            "WooCommerce variation %s: no product %s in the catalog", item.external_id, parent_id
        )
        return "skipped"
    found = [v for v in listing.variants if v.external_id == item.external_id]
    found = found or [v for v in listing.variants if item.sku and v.sku == item.sku]
    if found:
        fill(found[0], item)
    else:
        listing.variants.append(variant(item, len(listing.variants)))
    settle(listing)
    return "applied"


@bp.post("/shopify/<merchant>/products")
def shopify_products(merchant: str) -> ResponseReturnValue:
    return _deliver(merchant, SHOPIFY)


@bp.post("/woocommerce/<merchant>/products")
def woocommerce_products(merchant: str) -> ResponseReturnValue:
    return pong(merchant, "catalog") or _deliver(merchant, WOOCOMMERCE)
