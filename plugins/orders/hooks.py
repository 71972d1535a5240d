"""The orders plugin's hooks: its count, the order-status call tool, and forgetting a
customer (their orders stay, without their name, contact and address)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from merchant_voice.plugin_api import (
    CallTool,
    CustomerContacts,
    PluginSettings,
    RedactedCustomer,
    TenantSession,
    hookimpl,
    phone_key,
)
from plugins.orders.call_tools import ORDER_STATUS
from plugins.orders.models import Order


@hookimpl
def merchant_details(session: TenantSession) -> dict[str, Any]:
    return {"orders": session.scalar(select(func.count(Order.id)))}


@hookimpl
def call_tools() -> list[CallTool[PluginSettings]]:
    return [ORDER_STATUS]


@hookimpl
def customer_contacts(session: TenantSession, customer: RedactedCustomer) -> CustomerContacts:
    """The phone numbers on the customer's orders (calls from them are theirs too)."""
    if not customer.order_ids:
        return CustomerContacts()
    phones = session.scalars(select(Order.phone).where(Order.external_id.in_(customer.order_ids)))
    return CustomerContacts(phones=tuple(phone for phone in phones if phone))


@hookimpl
def customer_redacted(session: TenantSession, customer: RedactedCustomer) -> dict[str, Any]:
    """Blank the customer's name, contact and address on their orders; keep the order."""
    keys = [key for key in map(phone_key, customer.phones) if key]
    matches = [Order.external_id.in_(customer.order_ids), Order.email.in_(customer.emails)]
    if keys:
        matches.append(Order.phone_key.in_(keys))
    orders = list(session.scalars(select(Order).where(or_(*matches))))
    for order in orders:
        order.customer_name = order.email = order.phone = order.phone_key = ""
        order.postcode = order.postcode_key = ""
    return {"redacted_orders": len(orders)}
