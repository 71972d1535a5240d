"""The guarantees, checked on every translated segment and field before it is stored.

Each check returns None when the translation passes, else the reason, worded
for the merchant who reviews the flag ("lost the number '5 kg'").
"""

from __future__ import annotations

import html
import re
from collections import Counter
from typing import Any

from babel import Locale

from plugins.translation.language_id import wrong_language
from plugins.translation.markup import InvalidHtml, plain_text, tag_signature
from plugins.translation.protect import MARKER, Segment

WORD = re.compile(r"[^\W\d_]{3,}")
LETTERS = re.compile(r"[^\W\d_]+")
STRAY_MARKUP = re.compile(r"</?[A-Za-z!][^<>]*>")
NON_LATIN_LANGUAGES = frozenset(
    ["ar", "bg", "el", "fa", "he", "hi", "hy", "ja", "ka", "ko", "mk", "ru", "sr", "th", "uk", "zh"]
)
MIN_WORDS_TO_JUDGE = 3
MIN_CHARS_TO_MEASURE = 40
DENSE_SCRIPT_LANGUAGES = frozenset(["ja", "ko", "zh"])
UNCHANGED_SHARE = 0.6


def check_segment(
    segment: Segment, masked: str, language: str, source_language: str = "en"
) -> str | None:
    """Why the model's answer ``masked`` for ``segment`` cannot be stored, or None.

    ``language`` is the target's (``de``); into the source's own language
    (en_US -> en_GB) unchanged words are expected, so they are not judged.
    """
    if not MARKER.sub("", masked).strip():
        return "the translation is empty"
    return (
        _markers(segment, masked)
        or _stray_markup(segment, masked)
        or _length(segment, masked)
        or _proportion(segment.source, masked, language)
        or (
            None
            if language == source_language
            else _untranslated(segment.source, masked, language)
            or _other_language(masked, language, source_language)
        )
    )


def _other_language(masked: str, language: str, source_language: str) -> str | None:
    """Reworded, but not in the target language (English again, or French for German)."""
    found = wrong_language(html.unescape(MARKER.sub(" ", masked)), language, source_language)
    if found is None:
        return None
    return f"is in {found}, not {Locale.parse(language).get_display_name('en')}"


def _markers(segment: Segment, masked: str) -> str | None:
    found = MARKER.findall(masked)
    expected = [marker.name for marker in segment.markers]
    labels = {marker.name: marker.label for marker in segment.markers}
    missing = Counter(expected) - Counter(found)
    if missing:
        lost = ", ".join(labels[name] for name in list(missing)[:3])
        return f"lost {lost}"
    extra = Counter(found) - Counter(expected)
    if extra:
        return f"added markers the source does not have: {', '.join(sorted(extra))}"
    tags = [m.name for m in segment.markers if m.is_tag]
    if [name for name in found if name in set(tags)] != tags:
        return "changed the order or nesting of the tags"
    return None


def _stray_markup(segment: Segment, masked: str) -> str | None:
    added = STRAY_MARKUP.findall(MARKER.sub("", masked))
    if added and not STRAY_MARKUP.search(MARKER.sub("", segment.source)):
        return f"added markup that is not in the source: {added[0][:40]}"
    return None


def _length(segment: Segment, masked: str) -> str | None:
    if segment.max_chars is None:
        return None
    length = len(segment.restore(masked))
    if length > segment.max_chars:
        return f"is {length} characters long; the limit is {segment.max_chars}"
    return None


def _proportion(source: str, masked: str, language: str) -> str | None:
    """A translation far shorter or longer than its source is cut off, or something else."""
    source_chars = len(MARKER.sub("", source).strip())
    if source_chars < MIN_CHARS_TO_MEASURE:
        return None
    ratio = len(MARKER.sub("", masked).strip()) / source_chars
    low = 0.15 if language in DENSE_SCRIPT_LANGUAGES else 0.4
    if ratio < low:
        return f"is {ratio:.0%} as long as the source: cut off or incomplete"
    if ratio > 3.0:
        return f"is {ratio:.1f} times as long as the source: not a translation of it"
    return None


def _untranslated(source: str, masked: str, language: str) -> str | None:
    """Source-language text left as it was.

    Only words without capitals count: names ("Nike Air Max", "iPhone") stay
    as they are in every language. Three or more such words are judged by how
    many come back unchanged (shorter texts are not: "hoodie" is German too).
    Languages in a non-Latin script must not come back in Latin letters.
    """
    target_text = MARKER.sub(" ", masked)
    if language in NON_LATIN_LANGUAGES:
        words = [w for w in LETTERS.findall(target_text) if not w.isascii() or w.islower()]
        letters = "".join(words)
        latin = sum(1 for c in letters if c.isascii())
        if letters and latin / len(letters) > 0.5:
            return "was left in Latin script, not translated"
    source_words = _common_words(MARKER.sub(" ", source))
    if len(source_words) < MIN_WORDS_TO_JUDGE:
        return None
    target_words = set(_common_words(target_text))
    unchanged = sum(1 for w in source_words if w in target_words)
    if unchanged / len(source_words) >= UNCHANGED_SHARE:
        return (
            f"was left in the source language ({unchanged} of {len(source_words)} words unchanged)"
        )
    return None


def _common_words(text: str) -> list[str]:
    """Words of three or more letters with no capital letter."""
    return [word for word in WORD.findall(text) if word.islower()]


def check_description(source: str, translated: str) -> str | None:
    """The assembled description has exactly the source's tags and attributes."""
    try:
        same = tag_signature(translated) == tag_signature(source)
    except InvalidHtml as exc:
        return f"the assembled HTML is broken: {exc.reason}"
    return None if same else "the assembled HTML's tags differ from the source's"


def check_length(field: str, value: str, limit: int | None, is_html: bool = False) -> str | None:
    """A field's visible text is within the locale's limit."""
    if limit is None:
        return None
    length = len(plain_text(value) if is_html else value)
    if length > limit:
        return f"{field} is {length} characters long; the limit is {limit}"
    return None


def check_field(name: str, source: Any, value: Any, limit: int | None) -> str | None:
    """A whole translated field against its source: tags, length limit, no merged attributes."""
    if name == "description_html":
        return check_description(source, value) or check_length(name, value, limit, is_html=True)
    if name == "title":
        return check_length(name, value, limit)
    if name == "bullet_points":
        return next(
            (r for i, b in enumerate(value, 1) if (r := check_length(f"bullet {i}", b, limit))),
            None,
        )
    if name == "attributes" and len(value) < len(source):
        return "two attribute names came out the same; the attributes would merge"
    return None
