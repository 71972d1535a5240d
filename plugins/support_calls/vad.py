"""Endpointing: where the caller's turns start and end, from Silero VAD run frame by frame.

faster-whisper ships the Silero model; :class:`StreamingVad` runs it on 32 ms
windows as the audio arrives, carrying the model's state from one window to
the next (the same probabilities as faster-whisper's batch pass).

:class:`Endpointer` turns the probabilities into events:

* ``SPEECH`` - the caller has been speaking for ``min_speech_ms`` (used for barge-in);
* ``EAGER_END`` - ``eager_ms`` of silence after speech: likely the end of the turn, so
  the reply is prepared at once, speculatively;
* ``RESUMED`` - the caller went on speaking before the end was confirmed: drop the
  speculative reply, the utterance continues;
* ``END`` - ``endpoint_ms`` of silence: the turn is over, the reply may be heard.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass

import numpy as np
from faster_whisper.vad import get_vad_model

from merchant_voice.plugin_api import Audio, audio

VAD_RATE = 16_000
WINDOW = 512  # samples at 16 kHz: 32 ms
CONTEXT = 64
WINDOW_S = WINDOW / VAD_RATE

_model_lock = threading.Lock()


def _silero() -> object:
    with _model_lock:  # loads once per process; onnxruntime sessions are thread-safe
        return get_vad_model()


class StreamingVad:
    """Speech probability per 32 ms window of a live 8 kHz stream."""

    def __init__(self) -> None:
        self._session = _silero().session  # type: ignore[attr-defined]
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(CONTEXT, np.float32)
        self._pending = np.zeros(0, np.float32)

    def feed(self, samples_8k: audio.Samples) -> list[float]:
        """Probabilities for every whole window completed by these samples."""
        upsampled = np.interp(
            np.arange(len(samples_8k) * 2) / 2, np.arange(len(samples_8k)), samples_8k
        ).astype(np.float32)
        self._pending = np.concatenate([self._pending, upsampled])
        probabilities = []
        while len(self._pending) >= WINDOW:
            window, self._pending = self._pending[:WINDOW], self._pending[WINDOW:]
            batch = np.concatenate([self._context, window])[None, :]
            out, self._h, self._c = self._session.run(
                None, {"input": batch, "h": self._h, "c": self._c}
            )
            self._context = window[-CONTEXT:]
            probabilities.append(float(np.asarray(out).reshape(-1)[0]))
        return probabilities


class VadEvent(enum.Enum):
    SPEECH = "speech"
    EAGER_END = "eager_end"
    RESUMED = "resumed"
    END = "end"


@dataclass(frozen=True)
class EndpointSettings:
    threshold: float = 0.5
    min_speech_ms: int = 160
    eager_ms: int = 200
    endpoint_ms: int = 550
    preroll_ms: int = 300
    max_utterance_s: float = 30.0


class Endpointer:
    """Turns a live 8 kHz stream into utterances; the stream's clock is its sample count."""

    def __init__(self, settings: EndpointSettings | None = None) -> None:
        self.settings = settings or EndpointSettings()
        self.vad = StreamingVad()
        self._audio: list[audio.Samples] = []  # the utterance so far, pre-roll included
        self._preroll: list[audio.Samples] = []
        self._speech_s = 0.0
        self._silence_s = 0.0
        self._state = "idle"  # idle -> speaking -> eager -> idle
        self.received_s = 0.0
        self.speech_end_s = 0.0  # stream time the last speech window ended

    def utterance(self) -> Audio:
        """The current utterance at 8 kHz (up to now)."""
        samples = np.concatenate(self._audio) if self._audio else np.zeros(0, np.float32)
        return Audio(samples, 8_000)

    def feed(self, samples: audio.Samples) -> list[VadEvent]:
        s = self.settings
        self.received_s += len(samples) / 8_000
        if self._state == "idle":
            self._preroll.append(samples)
            while sum(len(p) for p in self._preroll) > s.preroll_ms * 8:
                self._preroll.pop(0)
        else:
            self._audio.append(samples)
        events: list[VadEvent] = []
        for probability in self.vad.feed(samples):
            speech = probability >= (s.threshold if self._state == "idle" else s.threshold - 0.15)
            events.extend(self._step(speech))
        return events

    def _step(self, speech: bool) -> list[VadEvent]:
        s = self.settings
        if speech:
            self._speech_s += WINDOW_S
            self._silence_s = 0.0
            self.speech_end_s = self.received_s
            if self._state == "idle" and self._speech_s * 1000 >= s.min_speech_ms:
                self._state = "speaking"
                self._audio, self._preroll = self._preroll, []
                return [VadEvent.SPEECH]
            if self._state == "eager":
                self._state = "speaking"
                return [VadEvent.RESUMED]
            if self._state == "speaking" and self._utterance_s() > s.max_utterance_s:
                return self._finish()
            return []
        self._silence_s += WINDOW_S
        if self._state == "idle":
            if self._silence_s * 1000 >= s.min_speech_ms:
                self._speech_s = 0.0  # a click or a breath, not speech
            return []
        if self._state == "speaking" and self._silence_s * 1000 >= s.eager_ms:
            self._state = "eager"
            return [VadEvent.EAGER_END]
        if self._state == "eager" and self._silence_s * 1000 >= s.endpoint_ms:
            return self._finish()
        return []

    def _utterance_s(self) -> float:
        return sum(len(a) for a in self._audio) / 8_000

    def _finish(self) -> list[VadEvent]:
        events = [VadEvent.END] if self._state == "eager" else [VadEvent.EAGER_END, VadEvent.END]
        self._state = "idle"
        self._speech_s = self._silence_s = 0.0
        return events

    def reset(self) -> None:
        """Forget the utterance (after it was taken)."""
        self._audio = []
