"""One caller utterance in, the reply's sentences out, as soon as each is ready.

A turn picks a tool on the caller's words and runs it with the merchant's
session. The tool's own sentence (``say``) is spoken first, word for word;
then the shared chat engine, at interactive priority, goes on from it - or
answers alone when no tool applies and the words are small talk
(:mod:`~plugins.support_calls.small_talk`; other words hear ``UNSURE_LINE``) -
grounded in the store's policies and the tool's data. Its stream is cut into
sentences, so speech synthesis starts on the first while the model still writes
the rest. Each is checked before it is spoken
(:mod:`~plugins.support_calls.grounding`): one that states what the call's facts
do not, or in letters its voice cannot read, is withheld, and the caller hears
``UNSURE_LINE`` instead.

If the chat engine is down or too slow and nothing has been said yet, the
caller hears the fallback line (pre-rendered) and is offered a colleague.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any

from babel import Locale, UnknownLocaleError

from merchant_voice.plugin_api import (
    CallState,
    ChatRequest,
    EngineCancelled,
    EngineError,
    MerchantInfo,
    Priority,
)
from plugins.support_calls.context import WORKLOAD, CallDeps, TurnRecord
from plugins.support_calls.grounding import Sources, unsupported
from plugins.support_calls.lines import FALLBACK_LINE, UNSURE_LINE
from plugins.support_calls.prompting import facts_message, system_prompt
from plugins.support_calls.small_talk import is_small_talk
from plugins.support_calls.speech import SentenceSplitter, ends_sentence
from plugins.support_calls.tool_use import use_tool
from plugins.support_calls.tools import BoundTool, best_match

log = logging.getLogger(__name__)

HISTORY_MESSAGES = (6, 12)  # the conversation kept: cut back to 6 messages once past 12,
# not one at a time, so that most turns' prompts begin with the last turn's (cached) prompt
CONFIDENT_LANGUAGE = 0.7  # detected languages below this are not acted on
REPLY_MAX_TOKENS = 60
MODEL_SENTENCES = 2  # a phone answer is short: the model's stream is closed after these


def language_name(locale: str, in_locale: str = "en") -> str:
    try:
        return Locale.parse(locale.replace("-", "_")).get_language_name(in_locale) or locale
    except (ValueError, UnknownLocaleError):
        return locale


def reply_locale(
    merchant: MerchantInfo, current: str, language: str, has_voice: Callable[[str], bool]
) -> tuple[str, bool]:
    """The locale to answer a caller speaking ``language`` in, and whether to apologise first.

    The merchant's own locales of that language come first. Without a voice for
    the language, the answer is in the merchant's default language, after an apology.
    """
    if language == current.split("_")[0]:
        return current, False
    candidates = [merchant.default_locale, *merchant.market_locales, language]
    locale = next(c for c in candidates if c.split("_")[0] == language)
    if has_voice(locale):
        return locale, False
    if has_voice(merchant.default_locale):
        return merchant.default_locale, True
    return current, True  # the call's own voice: it has one


class Conversation:
    def __init__(self, deps: CallDeps, state: CallState) -> None:
        self.deps = deps
        self.state = state
        self.history: list[dict[str, str]] = []

    def choose_locale(
        self,
        language: str,
        probability: float,
        has_voice: Callable[[str], bool],
        record: TurnRecord,
    ) -> str | None:
        """Answer in the caller's language where a voice speaks it. Returns an apology to
        say first (once per call) when the reply must be in the merchant's language."""
        if probability < CONFIDENT_LANGUAGE:
            return None
        locale, apologise = reply_locale(self.deps.merchant, self.state.locale, language, has_voice)
        record.reply_locale = self.state.locale = locale
        if not apologise or self.state.scratch.get("apologised_for") == language:
            return None
        self.state.scratch["apologised_for"] = language
        apology = self.gettext(locale)("Sorry, I can only speak {language} on this line.")
        apology = apology.format(language=language_name(locale, locale))
        record.sentences.append(apology)
        return apology

    def greeting(self, record: TurnRecord) -> str:
        """The merchant's greeting, or the default one in the merchant's language. A call that
        cannot speak the merchant's language (no voice) opens with an apology in the language
        it speaks, and the default greeting in it."""
        _ = self.gettext(self.state.locale)
        default = _("Thank you for calling {store}. How can I help you?")
        default = default.format(store=self.deps.merchant.name)
        own = self.deps.merchant.default_locale.split("_")[0]
        if self.state.locale.split("_")[0] == own:
            greeting = self.deps.settings.greeting or default
        else:
            self.state.scratch["apologised_for"] = own
            apology = _("Sorry, I can only speak {language} on this line.")
            language = language_name(self.state.locale, self.state.locale)
            greeting = f"{apology.format(language=language)} {default}"
        record.sentences.append(greeting)
        return greeting

    def fallback(self, record: TurnRecord) -> str:
        """The fallback line (pre-rendered when the call connected). Once it was said
        (:meth:`offer_handoff`), the caller's "yes" hands over."""
        record.fallback = True
        line = self.gettext(self.state.locale)(FALLBACK_LINE)
        record.sentences.append(line)
        return line

    def offer_handoff(self) -> None:
        """The caller was offered a colleague: a "yes" next hands over."""
        self.state.scratch["offered_handoff"] = True

    def acts_on(
        self, text: str, language: str, probability: float, has_voice: Callable[[str], bool]
    ) -> bool:
        """Whether answering ``text`` changes the call's state before the reply is heard: a
        hand-off offered, a tool waiting for these words or chosen on them, or a language
        to switch to. A turn that does not may have its reply made before it is certain."""
        state = self.state
        if state.scratch.get("offered_handoff") or state.expecting or state.expects_code:
            return True
        if probability >= CONFIDENT_LANGUAGE:
            locale = reply_locale(self.deps.merchant, state.locale, language, has_voice)
            if locale != (state.locale, False):
                return True
        return best_match(self.deps.tools, text) is not None

    def gettext(self, locale: str) -> Callable[[str], str]:
        return self.deps.resources.translations(locale).gettext

    def respond(
        self,
        text: str,
        record: TurnRecord,
        cancel: threading.Event,
        tool: BoundTool | None = None,
        stands: Callable[[], bool] | None = None,
    ) -> Iterator[str]:
        """The reply's sentences; ``record`` collects what happened. ``tool``: use that one.

        A reply may be made before the turn is certain (the caller may go on speaking).
        The conversation keeps it once ``stands`` (which waits for the turn to be certain)
        says the turn was not dropped: a reply to words the caller went on from leaves
        no trace."""
        locale = record.reply_locale or self.state.locale
        self.state.locale = locale
        lead: str | None = None
        facts: list[dict[str, Any]] = []
        result = use_tool(self.deps, self.state, text, record, tool)
        if result is not None:
            facts.append({"tool": record.tool_calls[-1]["name"], "data": result.data})
            record.action = result.action
            lead = result.say
            if lead:
                yield from self._sentences(lead, record)
            if not result.answer:
                self._settle(text, record, stands)
                return
        if cancel.is_set():
            return
        if result is None and not self._model_answers(text):
            log.info("no tool answers these words and they are not small talk: the unsure line")
            yield self._unsure(record)
            self._settle(text, record, stands)
            return
        offered = False
        try:
            yield from self._model_reply(text, lead, facts, record, cancel)
        except EngineCancelled:
            return
        except EngineError as exc:
            log.warning("chat engine failed in a call turn: %s", exc)
            if not record.sentences:
                yield self.fallback(record)
                offered = True
            else:
                record.fallback = True
        self._settle(text, record, stands, offered)

    def _model_answers(self, text: str) -> bool:
        """Whether the model may answer these words alone (:mod:`.small_talk`)."""
        return self.deps.settings.model_answers == "all" or is_small_talk(text)

    def _unsure(self, record: TurnRecord) -> str:
        """:data:`UNSURE_LINE`, said (pre-rendered when the call connected)."""
        line = self.gettext(self.state.locale)(UNSURE_LINE)
        record.sentences.append(line)
        return line

    def _settle(
        self,
        text: str,
        record: TurnRecord,
        stands: Callable[[], bool] | None,
        offered_handoff: bool = False,
    ) -> None:
        """Keep the exchange, unless the turn was dropped before it was certain."""
        if stands is not None and not stands():
            return
        if offered_handoff:
            self.offer_handoff()
        self._remember(text, record.reply)

    def _sentences(self, text: str, record: TurnRecord) -> Iterator[str]:
        splitter = SentenceSplitter()
        for sentence in [*splitter.feed(text + " "), *splitter.flush()]:
            record.sentences.append(sentence)
            yield sentence

    def prompt(
        self, text: str, lead: str | None, facts: list[dict[str, Any]]
    ) -> list[dict[str, str]]:
        """The chat messages of a turn: the call's fixed system prompt and the conversation
        so far (a cached prefix), then the tools' facts and the caller's words."""
        system = system_prompt(
            self.deps.resources,
            self.deps.settings.system_prompt,
            store=self.deps.merchant.name,
            language=language_name(self.state.locale),
            policies=self.deps.settings.policies,
        )
        messages = [{"role": "system", "content": system}, *self.history]
        if facts:
            messages.append(facts_message(self.deps.resources, facts))
        messages.append({"role": "user", "content": text})
        if lead:
            messages.append({"role": "assistant", "content": lead})
        return messages

    def _model_reply(
        self,
        text: str,
        lead: str | None,
        facts: list[dict[str, Any]],
        record: TurnRecord,
        cancel: threading.Event,
    ) -> Iterator[str]:
        """The model's sentences, each checked before it is said: the first it cannot
        support is withheld, and :data:`UNSURE_LINE` said instead (which tells the caller
        to say "agent" for a colleague), ending the reply."""
        messages = self.prompt(text, lead, facts)
        request = ChatRequest(
            messages=messages,
            max_tokens=REPLY_MAX_TOKENS,
            temperature=0.0,  # the same words for the same question: predictable calls
            priority=Priority.INTERACTIVE,
            workload=WORKLOAD,
            merchant=self.deps.merchant.slug,
            timeout_s=self.deps.llm_timeout_s,
            continue_final_message=bool(lead),
        )
        sources = self._sources(messages[0]["content"], text, lead, facts)
        splitter = SentenceSplitter(first_clause=not lead)
        started = time.monotonic()
        stream = self.deps.chat.stream(request, cancel)
        pieces = self._streamed(stream, splitter, record, started)
        sentences = 0
        try:
            for piece in pieces:
                if missing := unsupported(piece, sources):
                    log.info("withheld a reply the call's facts do not support: %s", missing)
                    record.withheld.append({"sentence": piece, "unsupported": missing})
                    yield self._unsure(record)
                    return
                record.sentences.append(piece)
                yield piece
                sentences += ends_sentence(piece)
                if sentences >= MODEL_SENTENCES:
                    return
        finally:
            pieces.close()
            record.timings.setdefault(  # an empty answer still answered
                "llm_first_token_ms", round((time.monotonic() - started) * 1000)
            )
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # closing the request makes vLLM stop generating

    @staticmethod
    def _streamed(
        stream: Iterator[str], splitter: SentenceSplitter, record: TurnRecord, started: float
    ) -> Generator[str, None, None]:
        """The stream cut into pieces to speak, the first token's time noted."""
        for piece in stream:
            if "llm_first_token_ms" not in record.timings:
                elapsed = time.monotonic() - started
                record.timings["llm_first_token_ms"] = round(elapsed * 1000)
            yield from splitter.feed(piece)
        yield from splitter.flush()

    def _sources(
        self, system: str, text: str, lead: str | None, facts: list[dict[str, Any]]
    ) -> Sources:
        """What this turn's reply may draw on (see :mod:`~plugins.support_calls.grounding`):
        the system prompt (the store, its policies), the greeting, the tools' facts and
        sentence, the conversation so far, the caller's words."""
        sources = Sources(self.state.locale, heard=[text])
        sources.tell(system)
        sources.tell(self.deps.settings.greeting)
        sources.tell([fact["data"] for fact in facts])
        sources.tell(lead)
        for message in self.history:
            if message["role"] == "user":
                sources.hear(message["content"])
            else:
                sources.tell(message["content"])
        return sources

    def _remember(self, text: str, reply: str) -> None:
        self.history += [{"role": "user", "content": text}, {"role": "assistant", "content": reply}]
        keep, most = HISTORY_MESSAGES
        if len(self.history) > most:
            del self.history[:-keep]
