"""The orders plugin: each merchant's orders, for other plugins (support calls) to answer from."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from merchant_voice.plugin_api import Plugin, hookimpl
from merchant_voice.tenancy import TenantSession

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
