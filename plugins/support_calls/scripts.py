"""Whether a voice can read a sentence: its letters are of the voice's language's script.

A model asked to answer in German may still write Thai, and an English voice reading
Thai letters speaks noise for as long as the text lasts. A sentence's letters must be
of the script its locale is written in (Babel's likely subtags: de → Latn, ja → Jpan,
zh → Hans), or Latin, which brand names, codes and SKUs are written in everywhere.
A language whose script is not known here is not checked.
"""

from __future__ import annotations

import unicodedata
from functools import cache

from babel.core import get_global

# ISO 15924 script -> the first word of its letters' Unicode names.
SCRIPT_LETTERS = {
    "Latn": ("LATIN",),
    "Cyrl": ("CYRILLIC",),
    "Grek": ("GREEK",),
    "Arab": ("ARABIC",),
    "Hebr": ("HEBREW",),
    "Thai": ("THAI",),
    "Deva": ("DEVANAGARI",),
    "Hang": ("HANGUL",),
    "Kore": ("HANGUL", "CJK", "IDEOGRAPHIC"),
    "Jpan": ("HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA", "CJK", "IDEOGRAPHIC"),
    "Hans": ("CJK", "IDEOGRAPHIC"),
    "Hant": ("CJK", "IDEOGRAPHIC"),
}
WIDTHS = ("FULLWIDTH", "HALFWIDTH")  # the same letters, in East Asian widths


def foreign_letters(sentence: str, locale: str) -> str:
    """The letters of ``sentence`` a voice for ``locale`` cannot read ("" if none)."""
    allowed = _letters(locale)
    if allowed is None:
        return ""
    return "".join(c for c in sentence if c.isalpha() and _script_word(c) not in allowed)


def _script_word(char: str) -> str:
    words = unicodedata.name(char, "").split(" ")
    return words[1] if words[0] in WIDTHS and len(words) > 1 else words[0]


@cache
def _letters(locale: str) -> frozenset[str] | None:
    language = locale.replace("-", "_").split("_")[0].lower()
    likely = get_global("likely_subtags").get(language, "")
    parts = likely.split("_")
    script = parts[1] if len(parts) > 2 else ""
    if script not in SCRIPT_LETTERS:
        return None
    return frozenset(SCRIPT_LETTERS[script]) | {"LATIN"}
