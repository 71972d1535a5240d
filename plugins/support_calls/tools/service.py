"""Support calls' own tools: the store's policies (from its settings), hand-off, ending the call.

They reach calls through the plugin's ``call_tools`` hook, as every other plugin's do.
"""

from __future__ import annotations

import re

from merchant_voice.plugin_api import Action, CallTool, ToolContext, ToolResult, fold
from plugins.support_calls.settings import SupportCallsSettings

Context = ToolContext[SupportCallsSettings]
Tool = CallTool[SupportCallsSettings]

# Policy topic -> the words that ask about it. A merchant's own topics match on their name.
POLICY_WORDS: dict[str, tuple[str, ...]] = {
    "returns": (
        "return", "refund", "exchange", "send back", "send it back", "money back", "ruckgabe",
        "umtausch", "erstattung", "zuruckschicken", "retour", "rembourse", "devolucion",
        "reembolso", "reso", "rimborso",
    ),
    "shipping": (
        "shipping", "postage", "delivery time", "how long", "how fast", "how quickly", "ship to",
        "do you ship", "versand", "lieferzeit", "livraison", "envio", "spedizione", "verzending",
    ),
    "opening_hours": (
        "open", "opening", "hours", "closing", "close", "offnungszeiten", "geoffnet", "horaires",
        "ouvert", "horario", "abierto", "orari", "openingstijden",
    ),
}  # fmt: skip


def _topic_words(topic: str) -> tuple[str, ...]:
    return POLICY_WORDS.get(topic, (topic.replace("_", " "),))


def _policy_topic(utterance: str, policies: dict[str, str]) -> str | None:
    """The topic the words ask about; on equal words, one the merchant has written a policy
    for wins (a merchant's own "hours" over the built-in, unwritten "opening_hours")."""
    words = fold(utterance)
    scored = [
        (
            sum(1 for w in _topic_words(topic) if fold(w) in words),
            bool(policies.get(topic, "").strip()),
            topic,
        )
        for topic in {*POLICY_WORDS, *policies}
    ]
    hits, _written, topic = max(scored, default=(0, False, ""))
    return topic if hits else None


def run_policy(ctx: Context) -> ToolResult:
    _ = ctx.gettext
    policies = ctx.settings.policies
    topic = ctx.arguments.get("topic") or _policy_topic(ctx.utterance, policies)
    text = policies.get(topic or "", "").strip()
    if not text:
        return ToolResult(
            {"topic": topic, "known": False},
            say=_(
                "I'm afraid I don't have that information. "
                "Say 'agent' if you would like to speak to a colleague."
            ),
            answer=False,
        )
    return ToolResult({"topic": topic, "policy": text}, say=text, answer=False)


def policy_tool(policies: dict[str, str]) -> Tool:
    """The ``store_policy`` tool for a merchant's policies (and its own topics)."""
    keywords = {word for topic in {*POLICY_WORDS, *policies} for word in _topic_words(topic)}
    return CallTool(
        name="store_policy",
        description="The store's policies: returns, shipping, opening hours and others.",
        parameters={
            "type": "object",
            "properties": {"topic": {"type": "string", "enum": sorted({*POLICY_WORDS, *policies})}},
            "required": ["topic"],
        },
        run=run_policy,
        extract=lambda utterance, _state: {"topic": _policy_topic(utterance, policies)},
        keywords=tuple(sorted(keywords)),
        priority=-1,  # general words ("open", "return"): a more specific tool wins a tie
    )


def run_handoff(ctx: Context) -> ToolResult:
    _ = ctx.gettext
    state = ctx.state
    if state.expecting == "handoff":  # this utterance is the caller's message
        state.expecting = None
        state.message = ctx.utterance
        state.handed_off = True
        return ToolResult(
            {"message": ctx.utterance},
            say=_("Thank you, I have passed your message on. We will call you back. Goodbye."),
            answer=False,
            action=Action.HANG_UP,
        )
    if ctx.settings.handoff_number:  # handed off once the transfer happens
        return ToolResult(
            {"transfer": True},
            say=_("I'm putting you through to a colleague now. Please hold."),
            answer=False,
            action=Action.TRANSFER,
        )
    state.expecting = "handoff"
    return ToolResult(
        {"transfer": False, "taking_message": True},
        say=_(
            "Nobody is free to take your call right now. Please leave a short message "
            "with your name, and we will call you back."
        ),
        answer=False,
    )


HANDOFF: Tool = CallTool(
    name="handoff",
    description="Hand the call to a person: transfer it, or take a message.",
    parameters={"type": "object", "properties": {}},
    run=run_handoff,
    extract=lambda _utterance, _state: {},
    priority=2,  # call control wins ties
    keywords=(
        "human", "person", "agent", "representative", "operator", "someone", "somebody",
        "colleague", "manager", "speak to", "talk to", "mitarbeiter", "mensch", "berater",
        "conseiller", "humain", "quelqu'un", "agente", "persona", "operador", "operatore",
        "medewerker", "オペレーター", "担当者", "人工服务", "人工",
    ),
)  # fmt: skip


def run_end_call(ctx: Context) -> ToolResult:
    return ToolResult(
        {"ended": True},
        say=ctx.gettext("Thank you for calling. Goodbye!"),
        answer=False,
        action=Action.HANG_UP,
    )


END_CALL: Tool = CallTool(
    name="end_call",
    description="End the call when the caller says goodbye or needs nothing else.",
    parameters={"type": "object", "properties": {}},
    run=run_end_call,
    extract=lambda _utterance, _state: {},
    priority=2,
    keywords=(
        "goodbye", "bye", "that's all", "that is all", "nothing else", "no thanks",
        "hang up", "tschuss", "auf wiederhoren", "au revoir", "adios", "arrivederci",
        "doei", "tot ziens",
    ),
)  # fmt: skip

YES_WORDS = ("yes", "yeah", "please", "sure", "ja", "oui", "si", "sí", "okay", "ok")


def is_yes(utterance: str) -> bool:
    return not set(re.findall(r"\w+", fold(utterance))).isdisjoint(fold(w) for w in YES_WORDS)


def service_tools(settings: SupportCallsSettings) -> list[Tool]:
    """Support calls' own tools, in order of precedence on equal matches."""
    return [HANDOFF, END_CALL, policy_tool(settings.policies)]
