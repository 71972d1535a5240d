"""A live call's turns: one in flight at a time, each kept as a Turn row once it ends.

Every utterance that passed endpointing is kept, answered or not: one whose
reply never started is written with the reason (:class:`Unanswered`). The only
utterances not kept are speculative ones the caller went on speaking over - their
words are part of the next utterance.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from merchant_voice.plugin_api import Audio
from plugins.support_calls import records
from plugins.support_calls.context import CallDeps, TurnRecord
from plugins.support_calls.models import Unanswered

log = logging.getLogger(__name__)

EARLIER_WORDS_WAIT_S = 120.0  # a safety net only: recognition ends long before


@dataclass
class ActiveTurn:
    record: TurnRecord
    audio: Audio | None  # the caller's words; None for greetings and key presses
    text: str
    speech_end: float  # monotonic time the caller stopped speaking (or the turn began)
    cancel: threading.Event = field(default_factory=threading.Event)
    gate: threading.Event = field(default_factory=threading.Event)  # set: may be heard
    # set: its words are accounted for (carried on, or taken into its own reply)
    settled: threading.Event = field(default_factory=threading.Event)
    discard: bool = False  # a speculative turn the caller spoke on over: not kept
    done: bool = False
    saved: bool = False
    generation: int = 0  # the player's, when the turn began: a clear() since drops its audio
    worker: threading.Thread | None = None
    previous: ActiveTurn | None = None  # the turn this one followed
    seq: int = 0  # the call's turns in the order they began
    spoken_s: float = 0.0  # the reply's speech so far

    def earlier(self) -> Iterator[ActiveTurn]:
        """The turns before this one, the latest first."""
        turn = self.previous
        while turn is not None:
            yield turn
            turn = turn.previous

    def stands(self) -> bool:
        """Waits until the turn is certain or dropped; whether it stands (it was not
        dropped: a caller who went on speaking, or a key press before it was certain)."""
        self.gate.wait()
        return not self.discard


class TurnLog:
    """Writes a call's turns, one at a time, in the order they end."""

    def __init__(self, deps: CallDeps, call: records.CallRef) -> None:
        self.deps = deps
        self.call = call
        self.replied = False  # a reply to the caller's words was spoken
        self._count = 0
        self._lock = threading.Lock()
        self._carried = ""  # the words of turns the caller spoke on over, before a reply
        self._read_upto = 0  # the last turn that took the carried words: none are older

    def save(self, turn: ActiveTurn, language: str | None) -> None:
        """Write the turn once (unless it was dropped)."""
        record = turn.record
        with self._lock:
            if turn.discard or turn.saved:
                return
            turn.saved = True
            if record.source != "greeting" and record.sentences:
                self.replied = True
            index, self._count = self._count, self._count + 1
            try:
                records.save_turn(self.deps, self.call, index, record, language)
            except Exception:
                log.exception("call %s: could not save a turn", self.call.sid)

    def unanswered(self, turn: ActiveTurn, hung_up: bool, acted_on: bool = False) -> None:
        """A turn cut short before the caller heard a reply. A key press or a greeting is
        dropped; the caller's words are kept with the reason, and without the reply they
        did not hear (it may have been made before the turn was certain). Words not yet
        acted on are read with the caller's next ones (unless a later turn has already
        been read)."""
        record = turn.record
        if record.source != "speech" or turn.discard:
            turn.discard = turn.discard or record.source == "speech"
            return
        record.sentences.clear()
        if not record.unanswered:
            record.unanswered = Unanswered.HUNG_UP if hung_up else Unanswered.SUPERSEDED
        carry = record.unanswered == Unanswered.SUPERSEDED and record.transcript and not acted_on
        with self._lock:
            if carry and turn.seq > self._read_upto:
                self._carried = f"{self._carried} {record.transcript}".strip()
        log.info("call %s: a turn got no reply (%s)", self.call.sid, record.unanswered)

    def nothing_carried(self, turn: ActiveTurn) -> bool:
        """Whether every earlier turn's words are accounted for and none are to be read
        with this turn's (without waiting)."""
        if not all(earlier.settled.is_set() for earlier in turn.earlier()):
            return False
        with self._lock:
            return not self._carried

    def with_carried(self, turn: ActiveTurn, text: str) -> str:
        """The caller's words, after those of earlier turns they spoke on over before a
        reply: every earlier turn still hearing its words is waited for, however long its
        recognition takes on a busy host (it always ends: the words are never lost)."""
        for earlier in turn.earlier():
            if not earlier.settled.wait(timeout=EARLIER_WORDS_WAIT_S):
                log.error(
                    "call %s: an earlier turn's words were not heard in %.0f s; going on"
                    " without them",
                    self.call.sid,
                    EARLIER_WORDS_WAIT_S,
                )
        with self._lock:
            carried, self._carried = self._carried, ""
            self._read_upto = max(self._read_upto, turn.seq)
        return f"{carried} {text}".strip()
