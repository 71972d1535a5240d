"""Call tools: what the voice agent can look up or do during a call.

A :class:`CallTool` is a JSON-schema function. The built-in ones live beside
this module (orders, products, store service); other plugins add theirs
through the ``call_tools`` hook. Every tool runs with the calling merchant's
:class:`~merchant_voice.tenancy.TenantSession` and nothing else, so it can
only ever read that merchant's rows.

Choosing a tool is done on the caller's words, not by the model: each tool
names ``keywords`` (any language) and the best match wins; a tool waiting for
an answer (a postcode, a message) gets the next utterance. Small models on a
CPU are neither fast nor reliable enough to pick functions inside a phone
call's latency budget; they do fill in the arguments of a tool that has no
``extract`` of its own, constrained to its JSON schema.
"""

from __future__ import annotations

import enum
import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from merchant_voice.tenancy import TenantSession

log = logging.getLogger(__name__)


class Action(enum.StrEnum):
    """Call control a tool may ask for, carried out once its words are spoken."""

    TRANSFER = "transfer"  # to the merchant's hand-off number
    HANG_UP = "hang_up"


@dataclass
class CallState:
    """What the agent knows about the call so far; tools read and update it."""

    caller: str
    locale: str
    verified_orders: set[str] = field(default_factory=set)
    expecting: str | None = None  # the tool that wants the caller's next words
    scratch: dict[str, Any] = field(default_factory=dict)  # per tool, by tool name
    message: str | None = None  # a message the caller left for the merchant
    handed_off: bool = False


@dataclass(frozen=True)
class ToolContext:
    """Everything a tool gets: the merchant's session, the call, its arguments."""

    session: TenantSession
    state: CallState
    arguments: dict[str, Any]
    utterance: str
    gettext: Callable[[str], str]
    settings: Any  # the merchant's support-calls settings


@dataclass(frozen=True)
class ToolResult:
    """A tool's outcome.

    ``data`` is stored on the turn and shown to the model. ``say`` is spoken
    first, word for word (facts are never left to the model to retell); with
    ``answer=False`` it is the whole reply. ``action`` controls the call.
    """

    data: dict[str, Any]
    say: str | None = None
    answer: bool = True
    action: Action | None = None


Extractor = Callable[[str, CallState], dict[str, Any] | None]


@dataclass(frozen=True)
class CallTool:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments (an object)
    run: Callable[[ToolContext], ToolResult]
    keywords: tuple[str, ...] = ()
    extract: Extractor | None = None  # arguments from the words; else the model fills them

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{1,63}", self.name):
            raise ValueError(f"call tool name {self.name!r}: use lower_snake_case")
        if self.parameters.get("type") != "object":
            raise ValueError(f"call tool {self.name}: parameters must be a JSON schema object")

    def score(self, words: str) -> int:
        """How many of the tool's keywords the (folded) utterance contains."""
        return sum(1 for keyword in self.keywords if _contains(words, fold(keyword)))


def fold(text: str) -> str:
    """Lower case without accents, for matching: "Rückgabe" -> "ruckgabe"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _contains(words: str, phrase: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(phrase)}", words) is not None


def choose(tools: Sequence[CallTool], utterance: str, state: CallState) -> CallTool | None:
    """The tool for this utterance: the one expecting it, else the best keyword match."""
    if state.expecting is not None:
        for tool in tools:
            if tool.name == state.expecting:
                return tool
        state.expecting = None
    words = fold(utterance)
    best, best_score = None, 0
    for tool in tools:
        score = tool.score(words)
        if score > best_score:
            best, best_score = tool, score
    return best


def schema_for_arguments(tool: CallTool) -> dict[str, Any]:
    """The JSON schema the model's arguments must follow (strict: no extra keys)."""
    schema = dict(tool.parameters)
    schema.setdefault("additionalProperties", False)
    return schema
