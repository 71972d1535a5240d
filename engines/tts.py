"""Speech synthesis with Piper: streamed sentence by sentence.

Voices come from ``[tts] voices``, one per locale. A locale without its own
voice uses one of the same language (en_GB -> en_US); failing that, it gets
:class:`VoiceNotFound`, naming the locale, the installed voices and the fix.

Piper (and with it onnxruntime) is imported when a voice is first loaded,
never at import: onnxruntime's thread pools do not survive a fork, and a
gunicorn worker that inherited them from its master crashes at exit.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from engines.audio import TELEPHONY_RATE, Audio, encode_file, resample, to_mulaw, to_pcm16
from engines.errors import VoiceNotFound
from engines.live import LiveWork
from engines.metrics import ENGINE_ERRORS, TTS_FIRST_CHUNK, TTS_RTF

if TYPE_CHECKING:
    from piper import PiperVoice

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpeechChunk:
    """One sentence of speech: mono float32 samples at the voice's rate."""

    index: int
    audio: Audio

    @property
    def pcm16(self) -> bytes:
        return to_pcm16(self.audio.samples)

    def mulaw(self) -> bytes:
        """8 kHz µ-law, for telephony."""
        return to_mulaw(resample(self.audio, TELEPHONY_RATE).samples)


class Synthesizer(Protocol):
    def synthesize(self, text: str, locale: str) -> Iterator[SpeechChunk]:
        """Speak ``text`` in ``locale``: a chunk per sentence, the first as soon as it is ready."""

    def voice_for(self, locale: str) -> str:
        """The configured locale whose voice speaks ``locale``; :class:`VoiceNotFound` if none."""

    def voice_name(self, locale: str) -> str:
        """The name of the voice that speaks ``locale`` (en_US-joe-medium); as ``voice_for``."""

    def locales(self) -> list[str]:
        """The locales that have a voice of their own."""

    def warm(self) -> None:
        """Load every configured voice now (they load on first use otherwise)."""


def speech_file(chunks: Iterator[SpeechChunk], container: Literal["ogg", "mp3"]) -> bytes:
    """Join synthesized chunks into an Ogg Opus or MP3 file."""
    parts = list(chunks)
    if not parts:
        return b""
    rate = parts[0].audio.rate
    samples = np.concatenate([chunk.audio.samples for chunk in parts])
    return encode_file(Audio(samples, rate), container)


def load_voice(path: Path, use_cuda: bool = False) -> PiperVoice:
    """A Piper voice (``path`` and its ``.json``) whose onnxruntime threads sleep when idle.

    onnxruntime's threads spin between operators by default, holding their cores.
    On a CPU shared with the calls' text model that is the wrong trade: measured on
    2 cores in float32, 4 calls at once, voice-to-voice p95 1,555-2,072 ms sleeping
    against 1,723-2,637 spinning; a 4-word sentence alone beside SmolLM2's stream
    122 against 164-206 ms, at 18 ms more on an idle CPU (docs/performance.md).
    """
    import onnxruntime  # after any fork (module docstring)
    from piper import PiperVoice
    from piper.config import PiperConfig

    config = PiperConfig.from_dict(json.loads(Path(f"{path}.json").read_text(encoding="utf-8")))
    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    providers: list[str | tuple[str, dict[str, str]]] = ["CPUExecutionProvider"]
    if use_cuda:
        providers = [("CUDAExecutionProvider", {"cudnn_conv_algo_search": "HEURISTIC"})]
    session = onnxruntime.InferenceSession(str(path), sess_options=options, providers=providers)
    return PiperVoice(session=session, config=config)


class PiperSynthesizer:
    """:class:`Synthesizer` on Piper voices (onnxruntime; CUDA on a GPU when asked)."""

    def __init__(
        self,
        voices: Mapping[str, Path],
        use_cuda: bool = False,
        noise_scale: float | None = None,
        noise_w: float | None = None,
    ) -> None:
        self.voices = dict(voices)
        self.use_cuda = use_cuda
        self.noise_scale = noise_scale  # None: each voice's own variation; 0: none
        self.noise_w = noise_w
        self._loaded: dict[str, PiperVoice] = {}
        self._lock = threading.Lock()

    def locales(self) -> list[str]:
        return sorted(self.voices)

    def voice_for(self, locale: str) -> str:
        """The configured locale whose voice speaks ``locale``."""
        if locale in self.voices:
            return locale
        language = locale.replace("-", "_").split("_")[0]
        for candidate in sorted(self.voices):
            if candidate.split("_")[0] == language:
                return candidate
        installed = ", ".join(sorted(self.voices)) or "none"
        raise VoiceNotFound(
            f"no voice speaks {locale!r} (installed voices: {installed}); add one with"
            f" `flask --app app models voices add {locale}-<voice>-<quality>` (Piper's"
            " downloader) or `... --from PATH` (a .onnx with its .onnx.json), or in"
            f' config.toml: [tts] voices = {{ {locale} = "/path/to/voice.onnx" }}',
            locale=locale,
            installed=sorted(self.voices),
        )

    def voice_name(self, locale: str) -> str:
        return self.voices[self.voice_for(locale)].name.removesuffix(".onnx")

    def warm(self) -> None:
        """Load every configured voice now (they load on first use otherwise)."""
        for locale in self.voices:
            self._voice(locale)

    def _voice(self, locale: str) -> PiperVoice:
        with self._lock:
            if locale not in self._loaded:
                path = self.voices[locale]
                log.info("loading Piper voice %s for %s", path.name, locale)
                self._loaded[locale] = load_voice(path, self.use_cuda)
            return self._loaded[locale]

    def synthesize(self, text: str, locale: str) -> Iterator[SpeechChunk]:
        voice_locale = self.voice_for(locale)
        voice = self._voice(voice_locale)
        from piper import SynthesisConfig

        config = SynthesisConfig(noise_scale=self.noise_scale, noise_w_scale=self.noise_w)
        sentences = iter(voice.synthesize(text, config))
        working = spoken = 0.0  # time spent synthesizing (not waiting on the consumer)
        index = 0
        while True:
            started = time.perf_counter()
            try:
                chunk = next(sentences, None)
            except Exception:
                ENGINE_ERRORS.labels(engine="tts").inc()
                raise
            working += time.perf_counter() - started
            if chunk is None:
                break
            audio = Audio(chunk.audio_float_array.astype(np.float32), chunk.sample_rate)
            if index == 0:
                TTS_FIRST_CHUNK.labels(voice=voice_locale).observe(working)
            spoken += audio.seconds
            yield SpeechChunk(index, audio)
            index += 1
        if spoken:
            TTS_RTF.labels(voice=voice_locale).observe(working / spoken)


class YieldingSynthesizer:
    """A :class:`Synthesizer` for bulk work (narration): while a call is live on this
    machine it pauses between sentences, keeping a tenth of its pace, and waits out
    the calls' turns at work (:meth:`~engines.live.LiveWork.yield_after`), so the
    call's own speech comes first."""

    def __init__(self, synthesizer: Synthesizer, live: LiveWork) -> None:
        self.synthesizer = synthesizer
        self.live = live

    def synthesize(self, text: str, locale: str) -> Iterator[SpeechChunk]:
        chunks = iter(self.synthesizer.synthesize(text, locale))
        worked_s = 0.0
        while True:
            self.live.yield_after(worked_s)
            started = time.perf_counter()
            chunk = next(chunks, None)  # a sentence synthesised
            if chunk is None:
                return
            worked_s = time.perf_counter() - started
            yield chunk

    def voice_for(self, locale: str) -> str:
        return self.synthesizer.voice_for(locale)

    def voice_name(self, locale: str) -> str:
        return self.synthesizer.voice_name(locale)

    def locales(self) -> list[str]:
        return self.synthesizer.locales()

    def warm(self) -> None:
        self.synthesizer.warm()
