"""Call tools: what the phone agent of the support-calls plugin may look up or do.

Any plugin adds tools to a merchant's calls through the ``call_tools`` hook, the
built-in ones included: the orders plugin brings ``order_status``, the catalog
``product_info``, support calls its own hand-off, goodbye and store policies.
A :class:`CallTool` is a JSON-schema function. It runs with the calling
merchant's session and its own plugin's settings and translations, and nothing
else, so it can only ever read that merchant's rows.

A tool is chosen on the caller's words, not by the model: each names
``keywords`` (in any language) and the best match wins - on a tie, the tool
with the higher ``priority``; a tool waiting for an answer
(``state.expecting``) gets the next utterance, and a ``keypad`` tool gets
digits the caller types when nothing is expected. A tool that asks for a code
(an order number, a postcode) also sets ``state.expects_code``: the answer is
then heard digit by digit, as the caller reads it out.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from merchant_voice.plugin_declaration import PluginSettings
from merchant_voice.tenancy import TenantSession

S = TypeVar("S", bound=PluginSettings)


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
    expects_code: str | None = None  # the tool that asked for a code: heard digit by digit
    scratch: dict[str, Any] = field(default_factory=dict)  # per tool, by tool name
    message: str | None = None  # a message the caller left for the merchant
    handed_off: bool = False
    keypad_told: bool = False  # the caller has been told they can key digits

    def ask_for_code(self, tool: str, question: str, keypad_hint: str) -> str:
        """What to say to ask for a code (an order number, a postcode): the caller's next
        words go to ``tool`` and are heard digit by digit. The keypad hint ("you can also
        key it in, then press hash") is added the first time in the call."""
        self.expecting = self.expects_code = tool
        if self.keypad_told:
            return question
        self.keypad_told = True
        return f"{question} {keypad_hint}"


@dataclass(frozen=True)
class ToolContext(Generic[S]):
    """Everything a tool gets: the merchant's session, the call, its arguments, and its
    own plugin's settings (for this merchant) and translations (in the call's language)."""

    session: TenantSession
    state: CallState
    arguments: dict[str, Any]
    utterance: str
    gettext: Callable[[str], str]
    settings: S


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
"""The tool's arguments from the caller's words (and the call so far)."""

TOOL_NAME = re.compile(r"[a-z][a-z0-9_]{1,63}")


@dataclass(frozen=True)
class CallTool(Generic[S]):
    """One tool. Without ``extract``, the shared model fills in the arguments under the
    ``parameters`` schema; ``keypad=True`` takes digits typed when nothing is expected.
    ``priority`` settles ties between tools the caller's words match equally: higher
    wins (call control 2, order questions 1, most tools 0, store policies -1)."""

    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments (an object)
    run: Callable[[ToolContext[S]], ToolResult]
    keywords: tuple[str, ...] = ()
    extract: Extractor | None = None
    keypad: bool = False
    priority: int = 0

    def __post_init__(self) -> None:
        if not TOOL_NAME.fullmatch(self.name):
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
    """Whether ``phrase`` begins a word of ``words``; anywhere for a phrase in a script
    written without spaces between words (Chinese, Japanese)."""
    if phrase and unicodedata.east_asian_width(phrase[0]) in ("W", "F"):
        return phrase in words
    return re.search(rf"(?<!\w){re.escape(phrase)}", words) is not None
