"""A script rendered as a narration: Piper, sentence by sentence, at one loudness, encoded
as Ogg Opus and MP3, with a caption per sentence timed from the speech itself.

What makes a rendering is its *content hash*: the script, what the voice is given for
each sentence (the lexicon and the price as applied), the voice and the loudness
target. The same hash is the same sound, so it is rendered once and served after.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from merchant_voice.plugin_api import Audio, InvalidAudio, Synthesizer, audio
from plugins.narration.sound import TARGET_LUFS, Cue, loudness, normalized, sentences, webvtt

VERSION = 1  # of the rendering itself: a change of how audio is made renders it all again
PAUSE_S = 0.35  # silence between sentences
LEAD_S = 0.15  # silence before the first and after the last


@dataclass(frozen=True)
class Plan:
    """What will be said: the script's sentences and what the voice is given for each."""

    locale: str
    voice: str  # the voice's name: en_US-joe-medium
    sentences: list[str]
    spoken: list[str]

    def content_hash(self) -> str:
        how = [VERSION, TARGET_LUFS, PAUSE_S, LEAD_S, audio.FILE_CODECS]  # how it is made
        data = [how, self.locale, self.voice, self.sentences, self.spoken]
        return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class Rendering:
    files: dict[str, bytes]  # "ogg", "mp3" and "vtt"
    seconds: float
    rate: int  # the voice's sample rate
    lufs: float  # integrated loudness, as measured after normalisation


def plan(tts: Synthesizer, script: str, locale: str, said: Callable[[str], str]) -> Plan:
    """The plan of ``script`` in ``locale``; ``said`` gives a sentence as the voice says it.
    VoiceNotFound when no installed voice speaks ``locale``."""
    voice = tts.voice_name(locale)
    parts = sentences(script)
    return Plan(locale, voice, parts, [said(part) for part in parts])


def render(tts: Synthesizer, planned: Plan) -> Rendering:
    """Speak ``planned``: its sentences, each a caption cue from its own start to end."""
    pieces: list[np.ndarray] = []
    cues: list[Cue] = []
    rate, at = 0, LEAD_S
    for text, spoken in zip(planned.sentences, planned.spoken, strict=True):
        chunks = [chunk.audio for chunk in tts.synthesize(spoken, planned.locale)]
        samples = [chunk.samples for chunk in chunks if len(chunk.samples)]
        if not samples:
            continue
        rate = chunks[0].rate
        if not pieces:
            pieces.append(_silence(LEAD_S, rate))
        else:
            pieces.append(_silence(PAUSE_S, rate))
            at += PAUSE_S
        speech = np.concatenate(samples)
        cues.append(Cue(at, at + len(speech) / rate, text))
        pieces.append(speech)
        at += len(speech) / rate
    if not pieces:
        raise InvalidAudio("the script says nothing the voice can speak")
    pieces.append(_silence(LEAD_S, rate))
    level = normalized(Audio(np.concatenate(pieces).astype(np.float32), rate))
    files = {
        "ogg": audio.encode_file(level, "ogg"),
        "mp3": audio.encode_file(level, "mp3"),
        "vtt": webvtt(cues).encode(),
    }
    return Rendering(files, level.seconds, rate, round(loudness(level), 2))


def _silence(seconds: float, rate: int) -> np.ndarray:
    return np.zeros(round(seconds * rate), np.float32)
