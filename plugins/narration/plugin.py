"""The narration plugin: a spoken presentation of each listing, per market locale."""

from __future__ import annotations

from merchant_voice.plugin_api import Plugin
from plugins.narration.settings import NarrationSettings

plugin = Plugin(
    name="narration",
    version="0.1.0",
    host_api=">=1.3,<2",
    description="A spoken presentation of each listing per locale, for the storefront",
    settings=NarrationSettings,
    requires=("catalog", "translation"),
    models=".models",
    hooks=".hooks",
    blueprints=(".api:bp", ".links:bp", ".dashboard:bp"),
    speaks=True,
)
