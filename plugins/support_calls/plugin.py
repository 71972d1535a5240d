"""The support-calls plugin: shoppers phone the merchant and are answered by voice."""

from __future__ import annotations

from merchant_voice.plugin_api import Plugin
from plugins.support_calls.settings import SupportCallsSettings

plugin = Plugin(
    name="support_calls",
    version="0.2.0",
    host_api=">=1.6,<2",
    description="Shoppers' phone calls answered from the merchant's own data",
    settings=SupportCallsSettings,
    models=".models",
    hooks=".hooks",
    blueprints=(".webhooks:bp", ".stream:bp", ".api:bp", ".privacy:api", ".dashboard:bp"),
    credentials=("twilio_auth_token",),
    speaks=True,
)
