"""A narration's sound: its sentences' cues, a WebVTT caption track, and one loudness.

Every narration plays at one level: its integrated loudness (ITU-R BS.1770, as
EBU R128 measures it, with pyloudnorm) is brought to ``TARGET_LUFS``; the peaks that
level would clip are limited softly instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyloudnorm

from merchant_voice.plugin_api import Audio

TARGET_LUFS = -16.0  # the level of spoken-word streaming (and of podcasts' usual target)
PEAK_LIMIT = 0.98  # no sample passes it after normalisation (no clipping)
KNEE = 0.5  # peaks above it are bent softly towards PEAK_LIMIT
# A sentence ends at . ! ? or an ellipsis and a space, or at an ideographic full stop
# or a full-width ! or ? (written without a space after).
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|(?<=[\u3002\uff01\uff1f])")


@dataclass(frozen=True)
class Cue:
    start_s: float
    end_s: float
    text: str


def sentences(script: str) -> list[str]:
    """The script's sentences, as captions show them one cue each."""
    return [part.strip() for part in _SENTENCE_END.split(script) if part.strip()]


def webvtt(cues: list[Cue]) -> str:
    """A WebVTT caption track of ``cues``."""
    lines = ["WEBVTT", ""]
    for number, cue in enumerate(cues, start=1):
        lines += [
            str(number),
            f"{_time(cue.start_s)} --> {_time(cue.end_s)}",
            _escaped(cue.text),
            "",
        ]
    return "\n".join(lines)


def loudness(audio: Audio) -> float:
    """Integrated loudness in LUFS (-inf for silence)."""
    return _loudness(audio.samples.astype(np.float64), audio.rate)


def normalized(audio: Audio, target_lufs: float = TARGET_LUFS) -> Audio:
    """``audio`` at ``target_lufs`` integrated: gain, then the peaks that gain would clip
    softly limited (above ``KNEE``, never past ``PEAK_LIMIT``), and again until the level
    is within a tenth of a LU (speech's peaks stand well above its loudness)."""
    samples = audio.samples.astype(np.float64)
    for _ in range(6):
        measured = _loudness(samples, audio.rate)
        if not np.isfinite(measured):
            break  # silence stays silent
        if abs(measured - target_lufs) <= 0.1:
            break
        samples = _limited(samples * 10 ** ((target_lufs - measured) / 20))
    return Audio(samples.astype(np.float32), audio.rate)


def _loudness(samples: np.ndarray, rate: int) -> float:
    return float(pyloudnorm.Meter(rate).integrated_loudness(samples))


def _limited(samples: np.ndarray) -> np.ndarray:
    """Samples above KNEE bent smoothly towards PEAK_LIMIT, which none reaches."""
    span = PEAK_LIMIT - KNEE
    over = np.abs(samples) > KNEE
    bent = samples.copy()
    bent[over] = np.sign(samples[over]) * (
        KNEE + span * np.tanh((np.abs(samples[over]) - KNEE) / span)
    )
    return bent


def _time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
