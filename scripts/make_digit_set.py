"""Synthesize the spoken-digits set under tests/data/digits with the bundled voice.

    .venv/bin/python scripts/make_digit_set.py

Reads tests/data/digits/texts.tsv (expected digits, TAB, what the caller says)
and writes one 8 kHz WAV per line, as a phone line carries it (µ-law and back),
at three speaking rates in turn. The WAVs are committed: the set stays the same
when the voice or Piper changes; rerun this only to change the set.
"""

from __future__ import annotations

import sys
import wave
from pathlib import Path

import numpy as np
from piper import PiperVoice
from piper.config import SynthesisConfig

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engines.audio import Audio, from_mulaw, resample, to_mulaw, to_pcm16  # noqa: E402

SET = ROOT / "tests" / "data" / "digits"
VOICE = ROOT / "instance" / "models" / "piper-en_US-joe-medium" / "en_US-joe-medium.onnx"
RATES = (1.0, 1.15, 0.9)  # Piper's length_scale: normal, slower, faster


def main() -> None:
    voice = PiperVoice.load(VOICE)
    lines = (SET / "texts.tsv").read_text().splitlines()
    for number, line in enumerate(lines, 1):
        _, text = line.split("\t")
        config = SynthesisConfig(length_scale=RATES[number % len(RATES)])
        chunks = list(voice.synthesize(text, syn_config=config))
        samples = np.concatenate([chunk.audio_float_array for chunk in chunks])
        phone = from_mulaw(to_mulaw(resample(Audio(samples, chunks[0].sample_rate), 8000).samples))
        with wave.open(str(SET / f"{number:02d}.wav"), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(8000)
            out.writeframes(to_pcm16(phone.samples))
    print(f"{len(lines)} utterances in {SET}")


if __name__ == "__main__":
    main()
