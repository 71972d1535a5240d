"""Speech for the phone: sentences to 8 kHz µ-law, and fixed lines rendered once.

The greeting and the fixed lines (:data:`FALLBACK_LINE`, :data:`UNSURE_LINE`) are
rendered when a call connects and kept per voice, so that they are heard at once even
when every engine is busy or the chat engine is down.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator

from merchant_voice.plugin_api import N_, MerchantInfo, Synthesizer, VoiceNotFound

log = logging.getLogger(__name__)

MAX_CACHED = 256


# Said when the chat engine fails before anything was said (a "yes" then hands over).
FALLBACK_LINE = N_(
    "I'm sorry, I can't look that up right now. Say 'agent' or press 0 to speak to a colleague."
)
# Said instead of a sentence of the model's that the call's facts do not support (grounding).
UNSURE_LINE = N_(
    "I'm not sure about that. I can look up an order, a product or our policies, "
    "or say 'agent' to speak to a colleague."
)
FIXED_LINES = (FALLBACK_LINE, UNSURE_LINE)

Lines = OrderedDict[tuple[str, str], bytes]  # (locale, text) -> µ-law, oldest first
_caches: weakref.WeakKeyDictionary[Synthesizer, Lines] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _cached(tts: Synthesizer, locale: str, text: str) -> bytes | None:
    with _lock:
        lines = _caches.get(tts)
        audio = lines.get((locale, text)) if lines is not None else None
        if audio is not None and lines is not None:
            lines.move_to_end((locale, text))
        return audio


def prerender(tts: Synthesizer, text: str, locale: str) -> bytes:
    """The whole line as µ-law, rendered once per (locale, text) by each synthesizer."""
    audio = _cached(tts, locale, text)
    if audio is None:
        audio = b"".join(chunk.mulaw() for chunk in tts.synthesize(text, locale))
        with _lock:
            lines = _caches.setdefault(tts, OrderedDict())
            lines[(locale, text)] = audio
            while len(lines) > MAX_CACHED:
                lines.popitem(last=False)
    return audio


def opening_locale(merchant: MerchantInfo, tts: Synthesizer, call_sid: str) -> str:
    """The locale a call opens in: the merchant's own where a voice speaks it, else one of
    its market locales', else any installed voice's, after an apology (see
    ``Conversation.greeting``). Logged once per call when it is not the merchant's."""
    candidates = [merchant.default_locale, *merchant.market_locales, *tts.locales()]
    locale = next((c for c in candidates if has_voice(tts, c)), None)
    if locale is None:
        log.error("call %s: no voice is installed, so the call cannot speak", call_sid)
        return merchant.default_locale
    if locale.split("_")[0] != merchant.default_locale.split("_")[0]:
        log.warning(
            "call %s: no voice speaks %s; speaking %s", call_sid, merchant.default_locale, locale
        )
    return locale


def has_voice(tts: Synthesizer, locale: str) -> bool:
    try:
        tts.voice_for(locale)
    except VoiceNotFound:
        return False
    return True


def speak(tts: Synthesizer, text: str, locale: str) -> Iterator[bytes]:
    """µ-law audio for ``text``: the cached line, or Piper's chunks as they come."""
    audio = _cached(tts, locale, text)
    if audio is not None:
        yield audio
        return
    for chunk in tts.synthesize(text, locale):
        yield chunk.mulaw()
