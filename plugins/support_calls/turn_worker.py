"""One turn of a live call, worked on in its own thread: the caller's words heard, the
reply made, spoken sentence by sentence, and the Turn row written.

A turn of the caller's speech begins on the *eager* end of speech, before the end
is certain. Recognition runs at once. The reply waits for the end to be certain
(the turn's ``gate``) when answering would change the call's state - a tool to
run, a hand-off offered, a language to switch to, earlier words carried on -
because a turn the caller speaks on over must leave no trace. A reply the model
makes alone changes nothing until it is heard: it is made at once, and only its
audio waits at the gate. The conversation keeps it only once the gate opens.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from functools import partial

from merchant_voice.plugin_api import (
    Action,
    CallState,
    Detection,
    EngineError,
    Synthesizer,
    Transcriber,
    audio,
)
from plugins.support_calls.context import TurnRecord
from plugins.support_calls.conversation import CONFIDENT_LANGUAGE, Conversation
from plugins.support_calls.lines import FIXED_LINES, has_voice, prerender, speak
from plugins.support_calls.models import Unanswered
from plugins.support_calls.player import Player
from plugins.support_calls.tools import for_keys
from plugins.support_calls.turns import ActiveTurn, TurnLog

log = logging.getLogger(__name__)

HEARD_WAIT_S = 60.0  # the longest a turn waits for its reply to be heard out
# A reply's speech: a sentence that would take it past this is not said (the first always
# is; the merchant's greeting, at most 500 characters, is said whole).
MAX_REPLY_S = 20.0


class TurnWorker:
    """Works a call's turns, one thread each; the call starts them and cancels them."""

    def __init__(
        self,
        sid: str,
        conversation: Conversation,
        turns: TurnLog,
        asr: Transcriber,
        tts: Synthesizer,
        player: Player,
        at_work: Callable[[], AbstractContextManager[None]],
        act: Callable[[Action], None],
        closing: Callable[[], bool],
    ) -> None:
        self.sid = sid
        self.conversation = conversation
        self.state: CallState = conversation.state
        self.turns = turns
        self.asr = asr
        self.tts = tts
        self.player = player
        self.at_work = at_work  # held while a turn is worked on: bulk work stops meanwhile
        self.act = act  # a transfer or a hang-up, once its reply was heard
        self.closing = closing  # the stream is closing: turns in flight end unanswered
        self.language: str | None = None  # the call's, once recognised with confidence
        self.mute = False  # set when even the fallback line could not be spoken
        self._marks = itertools.count(1)
        self._conversation_lock = threading.Lock()  # one turn at a time talks to the tools

    def start(self, turn: ActiveTurn) -> None:
        turn.worker = threading.Thread(target=self.work, args=(turn,), name="call-turn")
        turn.worker.daemon = True
        turn.worker.start()

    def work(self, turn: ActiveTurn) -> None:
        record = turn.record
        sentences: Iterator[str] | None = None
        at_work = ExitStack()
        at_work.enter_context(self.at_work())
        conversation = ExitStack()  # holds the conversation's lock: one turn's at a time
        try:
            text = turn.text if turn.audio is None else self._hear(turn)
            speech = record.source == "speech"
            early = speech and self._answers_before_certain(turn, text, conversation)
            if not early:
                turn.gate.wait()  # the reply acts on the call: only once the turn is certain
            if turn.cancel.is_set() or record.unanswered:
                self.turns.unanswered(turn, hung_up=self.closing())
                return
            carried = self.turns.with_carried(turn, text)  # a key press drops them: not words
            turn.settled.set()  # its words are this turn's now: a later one need not wait
            text = carried if speech else text
            with conversation:
                if not early:
                    conversation.enter_context(self._conversation_lock)
                if speech:
                    apology = self.conversation.choose_locale(
                        record.language or "",
                        record.language_probability,
                        partial(has_voice, self.tts),
                        record,
                    )
                    if apology:
                        self._say(turn, apology)
                record.transcript = text
                record.reply_locale = record.reply_locale or self.state.locale
                sentences = self._sentences(turn, text)
                if not self.conversation.deps.settings.stream_replies:  # all of it, then speech
                    sentences = iter([" ".join(list(sentences))])
                for sentence in sentences:
                    if turn.cancel.is_set() or not self._say(turn, sentence):
                        break
            at_work.close()  # the reply is made: what is left is playback
            if turn.cancel.is_set() and speech and not self._heard_any(turn):
                self.turns.unanswered(turn, hung_up=self.closing(), acted_on=True)
            if not turn.cancel.is_set():
                self.player.wait_heard(timeout=HEARD_WAIT_S)
            if record.action is not None and not turn.cancel.is_set():
                self.turns.save(turn, self.language)
                self.act(record.action)
        except EngineError as exc:  # speech recognition or synthesis (VoiceNotFound too)
            log.error("call %s: a turn failed: %s", self.sid, exc)
            self._fall_back(turn)
        except Exception:
            log.exception("call %s: a turn failed", self.sid)
            self._fall_back(turn)
        finally:
            if sentences is not None and hasattr(sentences, "close"):
                sentences.close()  # stops the model's stream if the turn was cut short
            conversation.close()
            at_work.close()
            self.turns.save(turn, self.language)
            turn.settled.set()
            turn.done = True
            turn.audio = None  # a long call does not hold all its audio

    def _answers_before_certain(self, turn: ActiveTurn, text: str, conversation: ExitStack) -> bool:
        """Whether the reply to these words may be made before the turn is certain: nothing
        in it acts on the call, and no earlier words are still to be read with them. If
        so, ``conversation`` holds the conversation's lock from the decision on, so that
        no other turn changes the call's state before this reply is made."""
        record = turn.record
        if turn.gate.is_set() or record.unanswered:
            return False
        conversation.enter_context(self._conversation_lock)
        if self.turns.nothing_carried(turn) and not self.conversation.acts_on(
            text, record.language or "", record.language_probability, partial(has_voice, self.tts)
        ):
            return True
        conversation.close()
        return False

    @staticmethod
    def _heard_any(turn: ActiveTurn) -> bool:
        """Whether a frame of the turn's reply went out (the player sets the time)."""
        return turn.record.timings.get("first_audio_ms", -1) >= 0

    def _hear(self, turn: ActiveTurn) -> str:
        """The caller's words; a turn with none is marked unanswered ("empty")."""
        assert turn.audio is not None
        record = turn.record
        state = self.state  # a code asked for, and the answer still goes to who asked
        expect_digits = state.expects_code is not None and state.expects_code == state.expecting
        started = time.monotonic()
        try:
            transcript = self.asr.transcribe(turn.audio, self._language(), expect_digits)
        except Exception:
            record.unanswered = Unanswered.RECOGNITION_FAILED
            raise
        finally:
            record.timings["asr_ms"] = round((time.monotonic() - started) * 1000)
        text = record.transcript = transcript.text.strip()
        if not any(ch.isalnum() for ch in text):
            record.unanswered = Unanswered.EMPTY
            return ""
        record.language = transcript.language
        record.language_probability = transcript.language_probability
        if transcript.language_probability >= CONFIDENT_LANGUAGE:
            self.language = self.language or transcript.language  # the call's, from now
        return text

    def _language(self) -> str | Detection:
        """The call's language once recognised; until then, one of the merchant's or
        English, detected with confidence, else the language the call is in so far."""
        if self.language:
            return self.language
        merchant = self.conversation.deps.merchant
        return Detection.of(
            [merchant.default_locale, *merchant.market_locales, "en"],
            otherwise=self.state.locale.split("_")[0],
            confidence=CONFIDENT_LANGUAGE,
        )

    def _sentences(self, turn: ActiveTurn, text: str) -> Iterator[str]:
        record = turn.record
        if record.source == "greeting":
            greeting = self.conversation.greeting(record)
            prerender(self.tts, greeting, self.state.locale)
            threading.Thread(target=self._prerender_lines, daemon=True).start()
            return iter([greeting])
        tools = self.conversation.deps.tools
        tool = for_keys(tools, text, self.state) if record.source == "dtmf" else None
        return self.conversation.respond(text, record, turn.cancel, tool, stands=turn.stands)

    def _prerender_lines(self) -> None:
        _ = self.conversation.gettext(self.state.locale)
        try:
            for line in FIXED_LINES:
                prerender(self.tts, _(line), self.state.locale)
        except Exception:
            log.exception("could not pre-render the call's fixed lines")

    def _say(self, turn: ActiveTurn, sentence: str, locale: str | None = None) -> bool:
        """Synthesise a sentence at once; its audio goes out once the turn is certain.
        False once the reply has said all it may (:data:`MAX_REPLY_S`): say no more."""
        locale = locale or turn.record.reply_locale or self.state.locale
        timings = turn.record.timings
        for mulaw in speak(self.tts, sentence, locale):
            if "reply_ready_ms" not in timings:
                timings["reply_ready_ms"] = round((time.monotonic() - turn.speech_end) * 1000)
            seconds = len(mulaw) / audio.TELEPHONY_RATE
            capped = turn.record.source != "greeting" and turn.spoken_s > 0
            if capped and turn.spoken_s + seconds > MAX_REPLY_S:
                log.warning("call %s: a reply was cut at %.1f s of speech", self.sid, turn.spoken_s)
                return False
            turn.spoken_s += seconds
            turn.gate.wait()
            if turn.cancel.is_set():
                return False
            on_first = None
            if "first_audio_ms" not in turn.record.timings:
                turn.record.timings["first_audio_ms"] = -1  # claimed; the player fills it in

                def on_first(sent_at: float, record: TurnRecord = turn.record) -> None:
                    record.timings["first_audio_ms"] = round((sent_at - turn.speech_end) * 1000)

            self.player.play(mulaw, turn.generation, on_first_frame=on_first)
        self.player.mark(f"s{next(self._marks)}", turn.generation)
        return True

    def _fall_back(self, turn: ActiveTurn) -> None:
        """Never silence: the pre-rendered fallback line, and a colleague on "yes"."""
        if turn.cancel.is_set():
            return
        line = self.conversation.fallback(turn.record)
        try:
            self._say(turn, line, locale=self.state.locale)
        except Exception:
            self.mute = True
            log.exception("call %s: the fallback line could not be played", self.sid)
        else:
            if turn.stands():
                self.conversation.offer_handoff()
