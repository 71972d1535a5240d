"""Is a translation in its target language? Lingua's statistical models decide.

Lingua (``lingua-language-detector``) ships its models in its wheel: nothing is
downloaded. A detector knows the target and source languages and the usual
confusions (the major European languages, Chinese, Japanese, Korean); it is
built once per set of languages, and each model loads on first use.

What is judged: a text with at least two words of letters. A single word, or
a text of names only (every word capitalised: "Nike Air Max"), passes as it
is: brand names and loanwords are the same in every language, and one word
gives a statistical model too little to go on.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import cache

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

log = logging.getLogger(__name__)

CONFUSIONS = ("en", "de", "fr", "es", "it", "nl", "pt", "zh", "ja", "ko")
WORDS = re.compile(r"[^\W\d_]+")
CLEARLY = 0.5  # another language's confidence above this, and well above the target's
MARGIN = 0.25

_lock = threading.Lock()


def wrong_language(text: str, language: str, source_language: str) -> str | None:
    """The name of the language ``text`` is clearly in, when it is not ``language``."""
    target = _language(language)
    if target is None or not _judged(text):
        return None
    detector = _detector(tuple(sorted({language, source_language, *CONFUSIONS})))
    with _lock:  # model loading is not thread-safe; detection is quick
        values = detector.compute_language_confidence_values(text)
    confidence = {value.language: value.value for value in values}
    best = values[0]
    if best.language == target:
        return None
    if best.value >= CLEARLY and best.value - confidence.get(target, 0.0) >= MARGIN:
        return best.language.name.capitalize()
    return None


def _judged(text: str) -> bool:
    words = WORDS.findall(text)
    if len(words) < 2 and not any(len(word) >= 8 and not word.isascii() for word in words):
        return False
    return any(not word[0].isupper() for word in words)


def _language(code: str) -> Language | None:
    try:
        return Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
    except (AttributeError, ValueError):
        return None


@cache
def _detector(codes: tuple[str, ...]) -> LanguageDetector:
    languages = [language for code in codes if (language := _language(code)) is not None]
    log.debug("language detector for %s", ", ".join(codes))
    return LanguageDetectorBuilder.from_languages(*languages).build()
