"""The orders plugin: each merchant's orders, for other plugins (support calls) to answer from."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from merchant_voice.plugin_api import Plugin, hookimpl
from merchant_voice.tenancy import TenantSession
from merchant_voice.web.shop_hooks import RedactedCustomer

plugin = Plugin(
    name="orders",
    version="0.2.0",
    host_api=">=1.0,<2",
    description="Orders from the shop platform or the merchant's own system",
    models=".models",
    blueprints=(".api:bp", ".webhooks:bp"),
)


@hookimpl
def merchant_details(session: TenantSession) -> dict[str, Any]:
    from plugins.orders.models import Order

    return {"orders": session.scalar(select(func.count(Order.id)))}


@hookimpl
def customer_redacted(session: TenantSession, customer: RedactedCustomer) -> dict[str, Any]:
    """Blank the customer's name, contact and address on their orders; keep the order."""
    from plugins.orders.models import Order, phone_key

    keys = [key for key in map(phone_key, customer.phones) if key]
    matches = [Order.external_id.in_(customer.order_ids), Order.email.in_(customer.emails)]
    if keys:
        matches.append(Order.phone_key.in_(keys))
    orders = list(session.scalars(select(Order).where(or_(*matches))))
    for order in orders:
        order.customer_name = order.email = order.phone = order.phone_key = ""
        order.postcode = order.postcode_key = ""
    return {"redacted_orders": len(orders)}
