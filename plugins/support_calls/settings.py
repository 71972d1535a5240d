"""A merchant's support-calls settings (``plugins configure MERCHANT support_calls ...``)."""

from __future__ import annotations

import re
from typing import Literal

from jinja2 import TemplateSyntaxError, meta
from pydantic import Field, field_validator

from merchant_voice.plugin_api import PluginSettings
from plugins.support_calls.prompting import VARIABLES, sandbox

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
    model_answers: Literal["small_talk", "all"] = Field(
        "small_talk",
        description="What the calls model answers when no tool does: small_talk (greetings,"
        " thanks, 'can you hear me?'; anything else hears what the line can do), or all"
        " (free answers, each sentence checked; for a larger model than the bundled ones)",
    )
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
        try:
            parsed = sandbox().parse(value)
        except TemplateSyntaxError as exc:
            raise ValueError(
                f"not a valid Jinja2 template: line {exc.lineno}: {exc.message}"
            ) from None
        unknown = sorted(meta.find_undeclared_variables(parsed) - set(VARIABLES))
        if unknown:
            raise ValueError(
                f"unknown template variable {', '.join(unknown)}; use {', '.join(VARIABLES[:-1])}"
            )
        return value
