"""Text for the ear: replies made speakable, cut into sentences as they stream, and
prices, dates and order numbers said the way the caller's locale says them (Babel).

It also reads callers: digits said as words ("one oh four two") become digits,
so order numbers and postcodes can be matched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_decimal, get_currency_name

_MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_URL = re.compile(r"https?://\S+|www\.\S+")
_MARKUP = re.compile(r"[*_`#>|~]+|^\s*[-+•]\s+|^\s*\d+[.)]\s+", re.MULTILINE)
_NOT_SPOKEN = re.compile(r"[\U0001F000-\U0001FAFF\u2600-\u27BF<>{}\[\]\\]")
_SPACES = re.compile(r"\s+")

_SENTENCE_END = re.compile("[.!?\u2026\u3002\uff01\uff1f]+[\"')\\]]*\\s")
_CLAUSE_END = re.compile(r"[,;:—]\s")
FIRST_CLAUSE_WORDS = 2  # a reply's first clause ("I'm sorry,") is spoken alone: earlier audio
FIRST_CHUNK_WORDS = 8  # with no punctuation yet, the first words go ahead on their own
MAX_SENTENCE_CHARS = 220


def speakable(text: str) -> str:
    """No markdown, links, emoji or markup: only what a voice can say."""
    text = _MARKDOWN_LINK.sub(r"\1", text)
    text = _URL.sub("", text)
    text = _MARKUP.sub(" ", text)
    text = _NOT_SPOKEN.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


class SentenceSplitter:
    """Cuts a streamed reply into sentences, each ready for speech synthesis at once."""

    def __init__(self, first_clause: bool = True) -> None:
        self._buffer = ""
        self._emitted = 0 if first_clause else 1  # only a reply's opening clause goes alone

    def feed(self, piece: str) -> Iterator[str]:
        self._buffer += piece
        while True:
            cut = self._cut()
            if cut is None:
                return
            sentence, self._buffer = self._buffer[:cut], self._buffer[cut:]
            sentence = speakable(sentence)
            if sentence:
                self._emitted += 1
                yield sentence

    def flush(self) -> Iterator[str]:
        rest, self._buffer = speakable(self._buffer), ""
        if rest:
            self._emitted += 1
            yield rest

    def _cut(self) -> int | None:
        match = _SENTENCE_END.search(self._buffer)
        if match:
            return match.end()
        if self._emitted == 0:
            clause = _CLAUSE_END.search(self._buffer)
            if clause and len(self._buffer[: clause.start()].split()) >= FIRST_CLAUSE_WORDS:
                return clause.end()
            words = list(re.finditer(r"\S+\s", self._buffer))
            if len(words) >= FIRST_CHUNK_WORDS:
                return words[FIRST_CHUNK_WORDS - 1].end()
        if len(self._buffer) > MAX_SENTENCE_CHARS:
            space = self._buffer.rfind(" ", 0, MAX_SENTENCE_CHARS)
            return space + 1 if space > 0 else MAX_SENTENCE_CHARS
        return None


def _locale(locale: str) -> Locale:
    try:
        return Locale.parse(locale.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return Locale("en")


def spoken_money(amount: Decimal | float, currency: str, locale: str) -> str:
    """``12.5 EUR`` -> "12.50 euros" (en), "12,50 Euro" (de): a number, then the currency's name."""
    where = _locale(locale)
    number = format_decimal(amount, format="#,##0.00", locale=where)
    if number.endswith(("00", ",00", ".00")) and Decimal(str(amount)) == int(Decimal(str(amount))):
        number = format_decimal(int(Decimal(str(amount))), locale=where)
    name = get_currency_name(currency, count=float(amount), locale=where)
    return f"{number} {name}"


def spoken_date(value: date | datetime, locale: str) -> str:
    """``2026-11-20`` -> "November 20, 2026" (en_US), "20. November 2026" (de)."""
    day = value.date() if isinstance(value, datetime) else value
    return format_date(day, format="long", locale=_locale(locale))


def spoken_code(code: str) -> str:
    """An order number or postcode, character by character: ``#1042`` -> "1 0 4 2"."""
    return " ".join(ch for ch in code if ch.isalnum())


_DIGIT_WORDS = {
    # en, de, fr, es, it, nl: the words callers use when they read out a number
    # (words that are also articles or common words - "ein", "un" - are left out)
    "zero": "0", "oh": "0", "null": "0", "zéro": "0", "cero": "0",
    "one": "1", "eins": "1", "uno": "1",
    "two": "2", "zwei": "2", "zwo": "2", "deux": "2", "dos": "2", "twee": "2",
    "three": "3", "drei": "3", "trois": "3", "tres": "3", "drie": "3",
    "four": "4", "vier": "4", "quatre": "4", "cuatro": "4", "quattro": "4",
    "five": "5", "fünf": "5", "cinq": "5", "cinco": "5", "cinque": "5", "vijf": "5",
    "six": "6", "sechs": "6", "seis": "6", "zes": "6",
    "seven": "7", "sieben": "7", "sept": "7", "siete": "7", "sette": "7", "zeven": "7",
    "eight": "8", "acht": "8", "huit": "8", "ocho": "8", "otto": "8",
    "nine": "9", "neun": "9", "neuf": "9", "nueve": "9", "nove": "9", "negen": "9",
}  # fmt: skip
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def normalized_digits(text: str) -> str:
    """Number words to digits, for matching: "one oh four two" -> "1 0 4 2"."""
    return _WORD.sub(lambda m: _DIGIT_WORDS.get(m.group(0).lower(), m.group(0)), text)


def compact(text: str) -> str:
    """Upper-case letters and digits only: how spoken codes are compared."""
    return re.sub(r"[^0-9A-Z]", "", normalized_digits(text).upper())
