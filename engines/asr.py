"""Speech recognition with faster-whisper.

One model instance per (model, device, compute type) in the process, shared by
every thread, with a bounded number of transcriptions at once.

Files go through faster-whisper's own pipeline: 30 s windows, Silero VAD,
word timestamps. A live call's utterance, already cut by the call's
endpointer, can take a short window instead (:mod:`engines.whisper_window`):
the utterance plus 2 s of silence, encoded in a fraction of the time. An
utterance that reads out a number is heard a second time, digit by digit
(``expect_digits`` skips the first hearing).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from faster_whisper import WhisperModel

from engines.audio import WHISPER_RATE, Audio, resample
from engines.digits import says_digits
from engines.metrics import ASR_RTF, ENGINE_ERRORS
from engines.spoken_language import Detection
from engines.whisper_window import FULL_WINDOW_S, MAX_WINDOW_S, WindowDecoder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    language_probability: float
    duration_s: float
    words: tuple[Word, ...]
    processing_s: float

    @property
    def real_time_factor(self) -> float:
        """Processing time over audio time: below 1 is faster than real time."""
        return self.processing_s / self.duration_s if self.duration_s else 0.0


class Transcriber(Protocol):
    def transcribe(
        self, audio: Audio, language: str | Detection | None = None, expect_digits: bool = False
    ) -> Transcript:
        """The words spoken in ``audio``; ``language`` fixes it, a :class:`Detection` detects
        it among a speaker's languages, None among all. ``expect_digits``: the speaker was
        asked for a number (a code, digit by digit)."""

    def load(self) -> None:
        """Load the model now (it loads on first use otherwise)."""


def choose_device(device: str, compute_type: str) -> tuple[str, str]:
    """auto: cuda with float16 when a GPU is visible, else cpu with int8."""
    if device == "auto":
        import ctranslate2

        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return device, compute_type


def cpu_threads(workers: int) -> int:
    """Each of ``workers`` CTranslate2 workers' share of this process's cores.

    One worker runs one transcription at a time: with one (faster-whisper's default),
    concurrent calls' turns queued behind each other. Measured on 2 cores, whisper base,
    2.5 s utterances: 4 at once took 0.74 s with one worker on both cores, 0.52 s with
    two workers of one core each; one alone 0.21 against 0.26 s.
    """
    return max(1, len(os.sched_getaffinity(0)) // max(1, workers))


_models: dict[tuple[str, str, str], tuple[WhisperModel, threading.BoundedSemaphore]] = {}
_models_lock = threading.Lock()


class WhisperTranscriber:
    """:class:`Transcriber` on faster-whisper, with Silero VAD and word timestamps."""

    def __init__(
        self,
        model: str | Path,
        device: str = "auto",
        compute_type: str = "auto",
        max_concurrency: int = 2,
        beam_size: int = 5,
        vad: bool = True,
        word_timestamps: bool = True,
        short_window: bool = False,
        digits_window_s: float = 0.0,
    ) -> None:
        self.model_name = str(model)
        self.device, self.compute_type = choose_device(device, compute_type)
        self.max_concurrency = max_concurrency
        self.beam_size = beam_size
        self.vad = vad
        self.word_timestamps = word_timestamps
        self.short_window = short_window  # no VAD, no word timestamps: a cut utterance
        self.digits_window_s = digits_window_s  # 0: numbers are not heard again

    def _model(self) -> tuple[WhisperModel, threading.BoundedSemaphore]:
        key = (self.model_name, self.device, self.compute_type)
        with _models_lock:
            if key not in _models:
                log.info("loading whisper %s on %s (%s)", *key)
                model = WhisperModel(
                    self.model_name,
                    device=self.device,
                    compute_type=self.compute_type,
                    num_workers=self.max_concurrency,
                    cpu_threads=cpu_threads(self.max_concurrency),
                )
                _models[key] = (model, threading.BoundedSemaphore(self.max_concurrency))
            return _models[key]

    def load(self) -> None:
        """Load the model now (it loads on first use otherwise)."""
        self._model()

    def transcribe(
        self, audio: Audio, language: str | Detection | None = None, expect_digits: bool = False
    ) -> Transcript:
        model, slots = self._model()
        audio = resample(audio, WHISPER_RATE)
        windowed = audio.seconds <= MAX_WINDOW_S and (self.short_window or self.digits_window_s)
        if not windowed:
            return self._transcribe_file(model, slots, audio, language)
        started = time.perf_counter()
        decoder = WindowDecoder(model, self.beam_size)
        first_window = None if self.short_window else FULL_WINDOW_S
        text, heard, probability = "", language if isinstance(language, str) else "", 1.0
        with slots:
            try:
                if not expect_digits or not self.digits_window_s:
                    text, heard, probability = decoder.decode(audio.samples, language, first_window)
                    language = heard  # the digits pass keeps it
                if self.digits_window_s and (expect_digits or says_digits(text)):
                    text, heard, digits_probability = decoder.decode(
                        audio.samples, language, self.digits_window_s, digits=True
                    )
                    probability = min(probability, digits_probability)
            except Exception:
                ENGINE_ERRORS.labels(engine="asr").inc()
                raise
        elapsed = time.perf_counter() - started
        return self._observed(Transcript(text, heard, probability, audio.seconds, (), elapsed))

    def _transcribe_file(
        self,
        model: WhisperModel,
        slots: threading.BoundedSemaphore,
        audio: Audio,
        language: str | Detection | None,
    ) -> Transcript:
        started = time.perf_counter()
        probability = None  # faster-whisper's, unless chosen here
        with slots:
            try:
                if isinstance(language, Detection) and model.model.is_multilingual:
                    _, _, scores = model.detect_language(audio.samples)
                    language, probability = language.choose(scores)
                segments, info = model.transcribe(
                    audio.samples,
                    language=language if isinstance(language, str) else None,
                    beam_size=self.beam_size,
                    vad_filter=self.vad,
                    word_timestamps=self.word_timestamps,
                    without_timestamps=not self.word_timestamps,
                    condition_on_previous_text=False,
                )
                segments = list(segments)
            except Exception:
                ENGINE_ERRORS.labels(engine="asr").inc()
                raise
        elapsed = time.perf_counter() - started
        words = tuple(
            Word(w.word.strip(), w.start, w.end, w.probability)
            for segment in segments
            for w in (segment.words or [])
        )
        return self._observed(
            Transcript(
                text=" ".join(segment.text.strip() for segment in segments).strip(),
                language=info.language,
                language_probability=(
                    info.language_probability if probability is None else probability
                ),
                duration_s=audio.seconds,
                words=words,
                processing_s=elapsed,
            )
        )

    def _observed(self, transcript: Transcript) -> Transcript:
        if transcript.duration_s:
            ASR_RTF.labels(model=self.model_name).observe(transcript.real_time_factor)
        return transcript
