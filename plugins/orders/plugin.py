"""The orders plugin: each merchant's orders, for other plugins (support calls) to answer from."""

from __future__ import annotations

from merchant_voice.plugin_api import Plugin

plugin = Plugin(
    name="orders",
    version="0.2.0",
    host_api=">=1.0,<2",
    description="Orders from the shop platform or the merchant's own system",
    models=".models",
    hooks=".hooks",
    blueprints=(".api:bp", ".webhooks:bp"),
)
