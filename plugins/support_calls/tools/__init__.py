"""The tools of a merchant's calls: gathered from every plugin, chosen on the caller's words.

Every enabled plugin offers its tools through the ``call_tools`` hook - support
calls its own (:mod:`.service`), the orders plugin ``order_status``, the
catalog ``product_info``. Each comes bound to its plugin's settings for the
merchant and its translations, which is what the tool gets when it runs.

Choosing a tool is done on the caller's words, not by the model: each tool
names ``keywords`` (any language) and the best match wins, ties going to the
higher ``priority``, then the earlier tool; a tool waiting for an answer (a
postcode, a message) gets the next utterance. Small models on a CPU are
neither fast nor reliable enough to pick functions inside a phone call's
latency budget; they do fill in the arguments of a tool that has no
``extract`` of its own, constrained to its JSON schema.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from merchant_voice.plugin_api import (
    CallState,
    CallTool,
    PluginResources,
    PluginSettings,
    TenantSession,
    ToolContext,
    ToolResult,
    contributions,
    fold,
)
from plugins.support_calls.plugin import plugin

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BoundTool:
    """A call tool with its plugin's settings for the merchant and its translations."""

    tool: CallTool[Any]
    plugin: str
    settings: PluginSettings
    resources: PluginResources

    @property
    def name(self) -> str:
        return self.tool.name

    def extract(self, utterance: str, state: CallState) -> dict[str, Any] | None:
        """The arguments from the caller's words; None when the tool leaves them to the model."""
        if self.tool.extract is None:
            return None
        return self.tool.extract(utterance, state) or {}

    def run(
        self, session: TenantSession, state: CallState, arguments: dict[str, Any], utterance: str
    ) -> ToolResult:
        """Run the tool with the merchant's ``session``, its plugin's settings and translations."""
        context: ToolContext[Any] = ToolContext(
            session=session,
            state=state,
            arguments=arguments,
            utterance=utterance,
            gettext=self.resources.translations(state.locale).gettext,
            settings=self.settings,
        )
        return self.tool.run(context)


def gather(session: TenantSession) -> list[BoundTool]:
    """The tools every enabled plugin offers this merchant's calls: support calls' own first
    (their names are theirs), then the others' in hook order. A tool whose name an earlier
    one took is left out, and logged."""
    tools: list[BoundTool] = []
    names: set[str] = set()
    offers = contributions("call_tools", session)
    offers.sort(key=lambda offer: offer.plugin != plugin.name)  # a stable sort
    for offer in offers:
        for tool in offer.value or []:
            if not isinstance(tool, CallTool) or tool.name in names:
                log.warning(
                    "plugin %s: call tool %r ignored (not a CallTool, or a taken name)",
                    offer.plugin,
                    tool,
                )
                continue
            names.add(tool.name)
            tools.append(BoundTool(tool, offer.plugin, offer.settings, offer.resources))
    return tools


def choose(tools: Sequence[BoundTool], utterance: str, state: CallState) -> BoundTool | None:
    """The tool for this utterance: the one expecting it, else the best keyword match."""
    state.expects_code = None  # a tool asking for a code again says so again
    if state.expecting is not None:
        for tool in tools:
            if tool.name == state.expecting:
                return tool
        state.expecting = None
    return best_match(tools, utterance)


def best_match(tools: Sequence[BoundTool], utterance: str) -> BoundTool | None:
    """The tool whose keywords the words match best (ties: the higher priority, then the
    earlier tool); None when no tool's keywords are in the words."""
    words = fold(utterance)
    best, best_rank = None, (0, 0)
    for tool in tools:
        score = tool.tool.score(words)
        rank = (score, tool.tool.priority)
        if score and (best is None or rank > best_rank):
            best, best_rank = tool, rank
    return best


def named(tools: Sequence[BoundTool], name: str) -> BoundTool | None:
    return next((tool for tool in tools if tool.name == name), None)


def for_keys(tools: Sequence[BoundTool], digits: str, state: CallState) -> BoundTool | None:
    """The tool for keyed digits: ``0`` asks for a person; other digits go to the keypad
    tool (an order number, say) unless a tool expects the caller's next words."""
    if digits == "0":
        return named(tools, "handoff")
    if state.expecting is not None:
        return None
    return next((tool for tool in tools if tool.tool.keypad), None)


def schema_for_arguments(tool: CallTool[Any]) -> dict[str, Any]:
    """The JSON schema the model's arguments must follow (strict: no extra keys)."""
    schema = dict(tool.parameters)
    schema.setdefault("additionalProperties", False)
    return schema
