"""Speech for the phone: sentences to 8 kHz µ-law, and fixed lines rendered once.

The greeting and the fallback line are rendered when a call connects and kept
per voice, so the fallback is heard at once even when every engine is busy or
the chat engine is down.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator

from merchant_voice.plugin_api import Synthesizer, VoiceNotFound

MAX_CACHED = 256

_cache: OrderedDict[tuple[str, str], bytes] = OrderedDict()
_lock = threading.Lock()


def _cached(locale: str, text: str) -> bytes | None:
    with _lock:
        audio = _cache.get((locale, text))
        if audio is not None:
            _cache.move_to_end((locale, text))
        return audio


def prerender(tts: Synthesizer, text: str, locale: str) -> bytes:
    """The whole line as µ-law, rendered once per (locale, text) and process."""
    audio = _cached(locale, text)
    if audio is None:
        audio = b"".join(chunk.mulaw() for chunk in tts.synthesize(text, locale))
        with _lock:
            _cache[(locale, text)] = audio
            while len(_cache) > MAX_CACHED:
                _cache.popitem(last=False)
    return audio


def has_voice(tts: Synthesizer, locale: str) -> bool:
    try:
        tts.voice_for(locale)
    except VoiceNotFound:
        return False
    return True


def speak(tts: Synthesizer, text: str, locale: str) -> Iterator[bytes]:
    """µ-law audio for ``text``: the cached line, or Piper's chunks as they come."""
    audio = _cached(locale, text)
    if audio is not None:
        yield audio
        return
    for chunk in tts.synthesize(text, locale):
        yield chunk.mulaw()
