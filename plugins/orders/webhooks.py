"""Order webhooks from Shopify and WooCommerce: verified, deduplicated, idempotent.

    POST /hooks/shopify/<merchant>/orders      orders/create, orders/updated
    POST /hooks/woocommerce/<merchant>/orders  order.created, order.updated

Verification and deduplication are the host's (:mod:`merchant_voice.web.shop_hooks`).
Each order is mapped onto the API's :class:`~plugins.orders.api.OrderIn`, so it
is validated by the same rules, and upserted on the platform's order id (or
its number). Carrier, tracking and delivery dates: :mod:`plugins.orders.shipping`.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, get_args

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from merchant_voice.plugin_api import (
    SHOPIFY,
    WOOCOMMERCE,
    Conflict,
    Platform,
    ValidationFailed,
    pong,
    receive,
)
from plugins.orders.api import OrderIn, apply_order
from plugins.orders.models import Order, WebhookDelivery
from plugins.orders.shipping import shopify_shipping, woocommerce_shipping

log = logging.getLogger(__name__)

bp = Blueprint("orders_webhooks", __name__, url_prefix="/hooks")

TOPICS = {
    SHOPIFY: {"orders/create": "upsert", "orders/updated": "upsert"},
    WOOCOMMERCE: {"order.created": "upsert", "order.updated": "upsert"},
}
WOO_STATUS = {"checkout-draft": "pending", "trash": "cancelled"}
KNOWN_STATUSES = frozenset(get_args(OrderIn.model_fields["status"].annotation))


def _phone(*values: Any) -> str:
    for value in values:
        if isinstance(value, str) and value.strip():
            return re.sub(r"[^0-9+() ./-]", "", value)[:40]
    return ""


def _name(address: dict[str, Any]) -> str:
    name = (
        address.get("name") or f"{address.get('first_name') or ''} {address.get('last_name') or ''}"
    )
    return str(name).strip()[:200]


def _shopify_status(order: dict[str, Any]) -> str:
    if order.get("cancelled_at"):
        return "cancelled"
    if order.get("financial_status") in ("refunded", "voided"):
        return "refunded"
    fulfillments = order.get("fulfillments") or []
    if any(f.get("shipment_status") == "delivered" for f in fulfillments):
        return "delivered"
    fulfillment = order.get("fulfillment_status")
    if fulfillment == "fulfilled":
        return "shipped"
    if fulfillment == "partial":
        return "partially_shipped"
    return {"paid": "paid", "pending": "pending", "authorized": "processing"}.get(
        str(order.get("financial_status")), "processing"
    )


def from_shopify(order: dict[str, Any]) -> dict[str, Any]:
    shipping = order.get("shipping_address") or {}
    billing = order.get("billing_address") or {}
    customer = order.get("customer") or {}
    return {
        "number": str(order.get("order_number") or order.get("name") or order["id"]),
        "status": _shopify_status(order),
        "customer_name": _name(shipping) or _name(customer),
        "email": order.get("email") or "",
        "phone": _phone(order.get("phone"), shipping.get("phone"), customer.get("phone")),
        "postcode": shipping.get("zip") or billing.get("zip") or "",
        "total": order.get("total_price"),
        "currency": order.get("currency"),
        "items": [
            {
                "sku": item.get("sku") or None,
                "title": item.get("title") or item.get("name") or "item",
                "quantity": item.get("quantity") or 1,
                "price": item.get("price"),
            }
            for item in order.get("line_items") or []
        ],
        **(fulfilment := shopify_shipping(order)),
        "placed_at": _utc(order.get("created_at")),
        "shipped_at": _utc(fulfilment["shipped_at"]),
    }


def _money(value: Any) -> str | None:
    """Woo sends line prices as floats (total / quantity): to the cent."""
    if value is None or value == "":
        return None
    try:
        return str(Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP))
    except (InvalidOperation, ValueError):
        return str(value)  # refused, naming the field, by the order's validation


def _utc(value: Any) -> Any:
    """A timestamp without a time zone, or a date alone, is read as UTC (WooCommerce's
    ``*_gmt`` fields, and some Shopify apps' payloads); any other value as it is, for the
    order's validation to judge."""
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.replace(tzinfo=UTC).isoformat() if moment.tzinfo is None else value


def from_woocommerce(order: dict[str, Any]) -> dict[str, Any]:
    shipping = order.get("shipping") or {}
    billing = order.get("billing") or {}
    status = str(order.get("status") or "pending")
    status = WOO_STATUS.get(status, status)
    if status not in KNOWN_STATUSES:  # a shop plugin's own status: say no more than this
        log.warning("WooCommerce order status %r is not one of ours: kept as processing", status)
        status = "processing"
    shipping = woocommerce_shipping(order)
    return {
        "number": str(order.get("number") or order["id"]),
        "status": status,
        "customer_name": _name(shipping) or _name(billing),
        "email": billing.get("email") or "",
        "phone": _phone(shipping.get("phone"), billing.get("phone")),
        "postcode": shipping.get("postcode") or billing.get("postcode") or "",
        "total": order.get("total"),
        "currency": order.get("currency"),
        "items": [
            {
                "sku": item.get("sku") or None,
                "title": item.get("name") or "item",
                "quantity": item.get("quantity") or 1,
                "price": _money(item.get("price")),
            }
            for item in order.get("line_items") or []
        ],
        "placed_at": _utc(order.get("date_created_gmt") or None),
        **shipping,
        "shipped_at": shipping["shipped_at"] or _utc(order.get("date_completed_gmt") or None),
    }


def _modified(platform: Platform, payload: dict[str, Any]) -> datetime | None:
    raw = _utc(payload.get("updated_at" if platform is SHOPIFY else "date_modified_gmt"))
    try:
        return datetime.fromisoformat(raw) if isinstance(raw, str) and raw else None
    except ValueError:
        return None


def _deliver(slug: str, platform: Platform) -> ResponseReturnValue:
    with receive(slug, "orders", platform, TOPICS[platform], WebhookDelivery) as delivery:
        if delivery.duplicate:
            return jsonify(status="duplicate", delivery=delivery.delivery_id)
        session, payload = delivery.session, delivery.payload
        convert = from_shopify if platform is SHOPIFY else from_woocommerce
        try:
            body = OrderIn.model_validate(convert(payload))
        except ValidationError as exc:
            raise ValidationFailed.from_pydantic(exc, prefix="order.") from None
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValidationFailed(f"the order in the webhook is malformed: {exc}") from None
        external_id = f"{platform.name}:{payload['id']}"[:64]
        order = session.scalars(
            select(Order).where(or_(Order.external_id == external_id, Order.number == body.number))
        ).first()
        modified = _modified(platform, payload)
        if order is None:
            order = Order(external_id=external_id, source=platform.name)
            session.add(order)
        elif modified and order.source_updated_at and modified < order.source_updated_at:
            session.commit()  # keep the delivery's record: a repeat is a duplicate
            return jsonify(status="stale", delivery=delivery.delivery_id, number=body.number)
        order.external_id, order.source = external_id, platform.name
        order.source_updated_at = modified or order.source_updated_at
        apply_order(order, body, session.merchant.currency)
        try:
            session.commit()
        except IntegrityError:  # the same new order, delivered twice at once
            session.rollback()
            raise Conflict(f"order {body.number} is being written by another delivery") from None
    return jsonify(status="applied", delivery=delivery.delivery_id, number=body.number)


@bp.post("/shopify/<merchant>/orders")
def shopify_orders(merchant: str) -> ResponseReturnValue:
    return _deliver(merchant, SHOPIFY)


@bp.post("/woocommerce/<merchant>/orders")
def woocommerce_orders(merchant: str) -> ResponseReturnValue:
    return pong(merchant, "orders") or _deliver(merchant, WOOCOMMERCE)
