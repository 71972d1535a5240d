"""What every script must be before it is used, each check a sentence when it fails.

A script names the product, carries no markup, says no number the listing does not
(a made-up price or size would be read to shoppers), and fits the length asked for.
"""

from __future__ import annotations

import re
import unicodedata

from plugins.narration.facts import Facts, numbers_in

_MARKUP = re.compile(
    r"<\s*/?\s*[a-zA-Z!][^>]*>|&#?\w+;|\*\*|__|`|^\s*(?:[#>*-]|\d+\.)\s", re.MULTILINE
)
_URL = re.compile(r"https?://|www\.", re.IGNORECASE)
_WORD = re.compile(r"\w+")
_UNSPACED = ("ja", "zh", "th", "lo", "km", "my")  # written without spaces between words


def problems(script: str, facts: Facts, words: tuple[int, int]) -> list[str]:
    """Why ``script`` cannot be used as it is (empty: it can)."""
    found = []
    if not script.strip():
        return ["is empty"]
    if not names_product(script, facts.title):
        found.append(f"does not name the product ({facts.title!r})")
    if _MARKUP.search(script) or _URL.search(script):
        found.append("carries markup, a list or a link: write plain sentences")
    if invented := invented_numbers(script, facts):
        found.append(invented)
    count = word_count(script, facts.locale)
    fewest, most = words
    if not fewest <= count <= most:
        found.append(f"is {count} words long, not {fewest} to {most}")
    return found


def invented_numbers(script: str, facts: Facts) -> str | None:
    """Which numbers ``script`` says that the listing does not have, as a problem."""
    invented = sorted(numbers_in(script, facts.locale) - facts.numbers)
    if not invented:
        return None
    said = ", ".join(format(n, "f") for n in invented[:5])
    return f"says numbers the listing does not have ({said})"


def no_longer_so(script: str, facts: Facts, accepted: list[str]) -> bool:
    """Whether ``script`` says numbers the listing no longer has (an old price), beyond
    what a person ``accepted`` (its flags when they wrote or approved it)."""
    invented = invented_numbers(script, facts)
    return invented is not None and invented not in accepted


def names_product(script: str, title: str) -> bool:
    """Whether ``script`` names the product: at least half the title's words (or, written
    without spaces, half its two-character pieces) appear in it."""
    said, named = _fold(script), _fold(title)
    if named in said:
        return True
    words = [word for word in _WORD.findall(named) if len(word) >= 3 or not word.isascii()]
    if len(words) > 1 or (words and words[0].isascii()):
        return bool(words) and sum(word in said for word in words) * 2 >= len(words)
    pieces = {named[i : i + 2] for i in range(len(named) - 1)} - {""}
    return bool(pieces) and sum(piece in said for piece in pieces) * 2 >= len(pieces)


def word_count(script: str, locale: str) -> int:
    """Words, or for a language written without spaces, its characters two to a word."""
    if locale.split("_")[0].split("-")[0] in _UNSPACED:
        letters = sum(1 for char in script if unicodedata.category(char)[0] in "LN")
        return round(letters / 2)
    return len(_WORD.findall(script))


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()
