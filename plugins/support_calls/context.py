"""What a call's turns share: the host's parts, resolved once when the call connects
(:class:`CallDeps`), and what a turn did, written to its Turn row (:class:`TurnRecord`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from merchant_voice.plugin_api import (
    Action,
    ChatEngine,
    MerchantInfo,
    PluginResources,
    TenantSession,
)
from plugins.support_calls.settings import SupportCallsSettings
from plugins.support_calls.tools import BoundTool

WORKLOAD = "calls"  # [chat] workloads: the served model that answers calls


@dataclass
class TurnRecord:
    """What a turn did, written to its Turn row when it ends."""

    source: str
    transcript: str = ""
    language: str | None = None
    language_probability: float = 0.0
    reply_locale: str | None = None
    sentences: list[str] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    withheld: list[dict[str, Any]] = field(default_factory=list)  # the model's, unsupported
    action: Action | None = None
    fallback: bool = False
    interrupted: bool = False
    unanswered: str | None = None  # why the caller's words got no reply (models.Unanswered)
    timings: dict[str, int] = field(default_factory=dict)

    @property
    def reply(self) -> str:
        return " ".join(self.sentences)


@dataclass(frozen=True)
class CallDeps:
    """What a call needs from the host, resolved once when the call connects."""

    merchant: MerchantInfo
    settings: SupportCallsSettings
    tools: Sequence[BoundTool]
    chat: ChatEngine
    sessions: Callable[[], TenantSession]  # new sessions of the merchant's, for any thread
    resources: PluginResources
    llm_timeout_s: float = 8.0
