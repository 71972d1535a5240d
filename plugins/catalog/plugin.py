"""The catalog plugin: listings and variants for every other plugin to use."""

from __future__ import annotations

from merchant_voice.plugin_api import Plugin

plugin = Plugin(
    name="catalog",
    version="0.1.0",
    host_api=">=1.6,<2",
    description="Product listings and variants, imported from Shopify and WooCommerce",
    models=".models",
    hooks=".hooks",
    blueprints=(".api:bp", ".webhooks:bp", ".dashboard:bp"),
)
