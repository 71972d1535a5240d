"""A live call: the caller's audio in, turns through the conversation, the reply out.

Threads of one call:

* the socket's reader (the request's thread): parses each message, feeds the
  endpointer, reacts to DTMF, marks and barge-in - never blocks on an engine;
* one turn worker at a time (:mod:`.turn_worker`): speech recognition, the
  conversation, speech synthesis sentence by sentence, then the Turn row;
* the player: paced outbound frames.

A turn starts on the endpointer's *eager* end of speech, before the end is
certain; its audio is held back (``gate``) until the end is confirmed, and
the turn is dropped if the caller goes on speaking. Speech over the reply
(barge-in) or a key press cancels the turn and clears the playback.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext, suppress
from pathlib import Path
from typing import Any

from simple_websocket import ConnectionClosed

from merchant_voice.plugin_api import (
    Action,
    CallState,
    StreamProtocolError,
    Synthesizer,
    Transcriber,
    audio,
)
from plugins.support_calls import records
from plugins.support_calls.context import CallDeps, TurnRecord
from plugins.support_calls.conversation import Conversation
from plugins.support_calls.lines import opening_locale
from plugins.support_calls.player import Player
from plugins.support_calls.recording import Recorder
from plugins.support_calls.telephony import media
from plugins.support_calls.turn_worker import TurnWorker
from plugins.support_calls.turns import ActiveTurn, TurnLog
from plugins.support_calls.vad import Endpointer, VadEvent

log = logging.getLogger(__name__)

MAX_BAD_MESSAGES = 20
DTMF_PAUSE_S = 2.0  # digits are taken after '#', or this long after the last one


class LiveCall:
    def __init__(
        self,
        ws: Any,
        deps: CallDeps,
        call: records.CallRef,
        asr: Transcriber,
        tts: Synthesizer,
        recordings_dir: Path,
        at_work: Callable[[], AbstractContextManager[None]] = nullcontext,
    ) -> None:
        self.ws = ws
        self.deps = deps
        self.call = call
        self.asr = asr
        self.tts = tts
        self.recordings_dir = recordings_dir
        self.at_work = at_work  # held while a turn is worked on: bulk work stops meanwhile
        self.state = CallState(
            caller=call.caller, locale=opening_locale(deps.merchant, tts, call.sid)
        )
        self.conversation = Conversation(deps, self.state)
        self.endpointer = Endpointer()
        self.recorder = Recorder() if deps.settings.record_calls else None
        self.player: Player | None = None
        self.worker: TurnWorker | None = None  # once the stream started
        self.turn: ActiveTurn | None = None
        self.turns = TurnLog(deps, call)
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._ending = threading.Event()
        self._bad = 0
        self._digits = ""
        self._digit_at = 0.0
        self._turn_numbers = itertools.count(1)
        self._closing = False  # the stream is closing: turns in flight end unanswered

    # -- the socket -------------------------------------------------------------

    def send(self, message: str) -> None:
        with self._send_lock:
            self.ws.send(message)

    def run(self) -> None:
        liveness = media.Liveness()
        try:
            while not self._ending.is_set():
                message = self.ws.receive(timeout=0.5)
                if (ended := liveness.ended()) is not None:
                    log.warning("call %s: %s, closing", self.call.sid, ended)
                    break
                if message is None:
                    continue
                try:
                    event = media.parse(message)
                    liveness.saw(event)
                    if not self._handle(event):
                        break
                except StreamProtocolError as exc:
                    self._bad += 1
                    log.warning("call %s: refused a stream message: %s", self.call.sid, exc.detail)
                    if self._bad >= MAX_BAD_MESSAGES or self.player is None:
                        break
                except Exception:  # never let one message take the call down
                    self._bad += 1
                    log.exception("call %s: a stream message failed", self.call.sid)
                if self._digits and time.monotonic() - self._digit_at > DTMF_PAUSE_S:
                    self._take_digits()
        except ConnectionClosed:
            pass
        finally:
            self._finish()

    def _handle(self, event: media.Event) -> bool:
        if isinstance(event, media.Connected):
            return True
        if isinstance(event, media.Start):
            return self._start(event)
        if self.player is None:
            raise StreamProtocolError(f"{type(event).__name__.lower()} before start")
        if isinstance(event, media.Media):
            if self.recorder is not None:
                self.recorder.caller(event.payload)
            for vad_event in self.endpointer.feed(audio.from_mulaw(event.payload).samples):
                self._on_vad(vad_event)
        elif isinstance(event, media.Mark):
            self.player.heard(event.name)
        elif isinstance(event, media.Dtmf):
            self._barge_in()
            if event.digit == "#":
                self._take_digits()
            else:
                self._digits = (self._digits + event.digit)[-32:]
                self._digit_at = time.monotonic()
        elif isinstance(event, media.Stop):
            return False
        return True

    def _start(self, event: media.Start) -> bool:
        if self.player is not None:
            raise StreamProtocolError("a second start message")
        if event.call_sid != self.call.sid:
            log.warning(
                "call %s: stream start names call %s, closing", self.call.sid, event.call_sid
            )
            return False
        if event.encoding != "audio/x-mulaw" or event.sample_rate != media.SAMPLE_RATE:
            log.warning(
                "call %s: unsupported audio %s/%s", self.call.sid, event.encoding, event.sample_rate
            )
            return False
        on_frame = self.recorder.agent if self.recorder is not None else None
        self.player = Player(self.send, event.stream_sid, on_frame)
        self.worker = TurnWorker(
            self.call.sid,
            self.conversation,
            self.turns,
            self.asr,
            self.tts,
            self.player,
            self.at_work,
            self._act,
            lambda: self._closing,
        )
        records.stream_started(self.deps, self.call, event.stream_sid)
        self._begin(ActiveTurn(TurnRecord("greeting"), None, "", time.monotonic()), gated=False)
        return True

    # -- turns ------------------------------------------------------------------

    def _on_vad(self, event: VadEvent) -> None:
        if event is VadEvent.SPEECH:
            self._barge_in()
        elif event is VadEvent.EAGER_END:
            silence = self.endpointer.received_s - self.endpointer.speech_end_s
            record = TurnRecord("speech", timings={"endpoint_ms": round(silence * 1000)})
            turn = ActiveTurn(record, self.endpointer.utterance(), "", time.monotonic() - silence)
            self._begin(turn, gated=True)
        elif event is VadEvent.RESUMED:
            with self._lock:
                if self.turn is not None and not self.turn.gate.is_set():
                    self.turn.discard = True  # the caller was not done: the utterance goes on
                    self.turn.cancel.set()
                    self.turn.gate.set()
        elif event is VadEvent.END:
            with self._lock:
                if self.turn is not None:
                    self.turn.gate.set()
            self.endpointer.reset()

    def _take_digits(self) -> None:
        digits, self._digits = self._digits, ""
        if digits:
            turn = ActiveTurn(TurnRecord("dtmf"), None, digits, time.monotonic())
            self._begin(turn, gated=False)

    def _barge_in(self) -> None:
        """The caller speaks (or presses a key) over the agent: stop and listen."""
        with self._lock:
            turn = self.turn
            if turn is None or turn.done:
                return
            if turn.gate.is_set():
                turn.record.interrupted = True
            else:
                turn.discard = True
            turn.cancel.set()
            turn.gate.set()
        if self.player is not None:
            self.player.clear()  # also drops audio the turn was about to queue

    def _begin(self, turn: ActiveTurn, gated: bool) -> None:
        with self._lock:
            turn.seq = next(self._turn_numbers)
            previous = self.turn
            if previous is not None and not previous.done:
                previous.discard = previous.discard or not previous.gate.is_set()
                previous.cancel.set()
                previous.gate.set()
            if not gated:
                turn.gate.set()
            turn.generation = self.player.generation if self.player is not None else 0
            turn.previous, self.turn = previous, turn
        assert self.worker is not None  # turns begin once the stream started
        self.worker.start(turn)

    def _act(self, action: Action) -> None:
        """Transfer or hang up: Twilio asks our <Connect action> URL once the stream closes."""
        if action is Action.TRANSFER:
            self.state.handed_off = True
        records.set_next_action(self.deps, self.call, action)
        self._ending.set()
        with suppress(ConnectionClosed):
            self.ws.close()

    def _finish(self) -> None:
        with self._lock:
            self._closing = True
            turn = self.turn
            if turn is not None and not turn.done:
                turn.cancel.set()
                turn.gate.set()
        if self.player is not None:
            self.player.close()  # wakes a turn waiting for the caller to hear its reply
        worker = turn.worker if turn is not None else None
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout=30)  # its Turn row is written before the call's end
        try:
            spoke = self.player is not None and self.player.frames_sent > 0
            heard = spoke or not (self.worker is not None and self.worker.mute)
            replied = self.turns.replied and spoke
            recorder = self.recorder if self.player is not None else None  # never started
            records.call_ended(
                self.deps, self.call, self.state, replied, heard, recorder, self.recordings_dir
            )
        except Exception:
            log.exception("call %s: could not record the end of the call", self.call.sid)
