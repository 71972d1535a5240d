"""Call recordings: both legs in one stereo WAV (left: the caller, right: the agent)."""

from __future__ import annotations

import io
import threading
import time
import wave

import numpy as np

from merchant_voice.plugin_api import audio
from plugins.support_calls.telephony.media import SAMPLE_RATE


class Recorder:
    """Collects a call's audio as it flows; :meth:`wav` renders the file at the end."""

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._caller = bytearray()
        self._agent = bytearray()
        self._lock = threading.Lock()

    def caller(self, mulaw: bytes) -> None:
        with self._lock:
            self._caller += mulaw

    def agent(self, mulaw: bytes) -> None:
        """A frame the agent sent now: placed at its time on the call's clock."""
        position = int((time.monotonic() - self._started) * SAMPLE_RATE)
        with self._lock:
            if len(self._agent) < position:
                self._agent += b"\xff" * (position - len(self._agent))  # µ-law silence
            self._agent += mulaw

    def wav(self) -> bytes:
        with self._lock:
            left = audio.from_mulaw(bytes(self._caller)).samples
            right = audio.from_mulaw(bytes(self._agent)).samples
        length = max(len(left), len(right))
        stereo = np.zeros((length, 2), np.float32)
        stereo[: len(left), 0] = left
        stereo[: len(right), 1] = right
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(2)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(audio.to_pcm16(stereo.reshape(-1)))
        return buffer.getvalue()
