"""The support-calls plugin: shoppers phone the merchant and are answered by voice."""

from __future__ import annotations

from pydantic import Field

from merchant_voice.plugin_api import Plugin, PluginSettings


class SupportCallsSettings(PluginSettings):
    handoff_number: str = Field(
        "", description="E.164 number a caller is transferred to for a person"
    )


plugin = Plugin(
    name="support_calls",
    version="0.1.0",
    host_api=">=1.0,<2",
    description="Shoppers' phone calls answered from the merchant's own data",
    settings=SupportCallsSettings,
    models=".models",
    blueprints=(".webhooks:bp", ".api:bp"),
    credentials=("twilio_auth_token",),
)
