"""The translation plugin: listings translated into every market locale by the shared LLM."""

from __future__ import annotations

from merchant_voice.plugin_api import Plugin
from plugins.translation.settings import TranslationSettings

plugin = Plugin(
    name="translation",
    version="0.1.0",
    host_api=">=1.0,<2",
    description="Listings translated into the merchant's market locales, markup and numbers kept",
    settings=TranslationSettings,
    requires=("catalog",),
    models=".models",
    hooks=".hooks",
    blueprints=(".api:bp", ".dashboard:bp"),
)
