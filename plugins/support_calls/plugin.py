"""The support-calls plugin: shoppers phone the merchant and are answered by voice."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from jinja2 import TemplateSyntaxError
from pydantic import Field, field_validator

from merchant_voice.jobs import JobRegistry
from merchant_voice.plugin_api import Plugin, PluginSettings, hookimpl
from merchant_voice.tenancy import TenantSession
from merchant_voice.web.shop_hooks import RedactedCustomer

POLICY_TOPIC = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class SupportCallsSettings(PluginSettings):
    handoff_number: str = Field(
        "",
        pattern=r"^$|^\+[1-9][0-9]{6,14}$",
        description="E.164 number calls are transferred to for a person; empty: take a message",
    )
    greeting: str = Field(
        "",
        max_length=500,
        description="First words of every call; empty: 'Thank you for calling <store>...'",
    )
    policies: dict[str, str] = Field(
        default_factory=dict,
        description="Store policies read to callers: returns, shipping, opening_hours, or your own",
    )
    system_prompt: str = Field(
        "",
        max_length=20_000,
        description="Jinja2 template replacing prompts/system.j2 for this merchant",
    )
    record_calls: bool = Field(False, description="Keep both legs of each call as a WAV file")
    stream_replies: bool = Field(
        True,
        description="Speak each sentence as the model writes it; off: the whole reply, then"
        " speech (slower, for comparison)",
    )
    retention_days: int = Field(
        90, ge=1, le=3650, description="Days calls, transcripts and recordings are kept"
    )

    @field_validator("policies")
    @classmethod
    def _policies(cls, value: dict[str, str]) -> dict[str, str]:
        for topic, text in value.items():
            if not POLICY_TOPIC.match(topic):
                raise ValueError(f"policy topic {topic!r}: use lower_snake_case, e.g. returns")
            if len(text) > 1000:
                raise ValueError(f"policy {topic!r}: keep it under 1000 characters, it is spoken")
        return value

    @field_validator("system_prompt")
    @classmethod
    def _template(cls, value: str) -> str:
        from plugins.support_calls.prompting import sandbox

        try:
            sandbox().parse(value)
        except TemplateSyntaxError as exc:
            raise ValueError(
                f"not a valid Jinja2 template: line {exc.lineno}: {exc.message}"
            ) from None
        return value


plugin = Plugin(
    name="support_calls",
    version="0.2.0",
    host_api=">=1.0,<2",
    description="Shoppers' phone calls answered from the merchant's own data",
    settings=SupportCallsSettings,
    models=".models",
    blueprints=(".webhooks:bp", ".stream:bp", ".api:bp", ".privacy:api"),
    credentials=("twilio_auth_token",),
)


@hookimpl
def register_jobs(registry: JobRegistry) -> None:
    from plugins.support_calls.privacy import purge_expired

    registry.add("support_calls.retention", purge_expired, every=timedelta(days=1))


@hookimpl(tryfirst=True)  # before the orders plugin blanks the phones it matches on
def customer_redacted(session: TenantSession, customer: RedactedCustomer) -> dict[str, Any]:
    from plugins.support_calls.privacy import redact_customer

    return redact_customer(session, customer)
