"""Digits read out as words: "nine oh two one oh" -> "9 0 2 1 0".

Speech recognition hears codes (postcodes, order and phone numbers) as words
when it is asked to (see :mod:`engines.asr`), and the host matches them as
digits. The words are those callers use to read a number out, digit by
digit, in the languages the bundled models hear best.
"""

from __future__ import annotations

import re
from itertools import groupby

from text_to_num import alpha2digit

DIGIT_WORDS = {
    # en, de, fr, es, it, nl (words that are also articles or common words - "ein",
    # "un" - are left out)
    "zero": "0", "oh": "0", "null": "0", "nul": "0", "zéro": "0", "cero": "0",
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
REPEATS = {"double": 2, "triple": 3}  # "double seven" -> "7 7"
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_REPEATED = re.compile(r"\b(double|triple)[\s-]+(\d)\b", re.IGNORECASE)
# Digits only beside other digits, being common words too: "un zéro quatre deux",
# "uno due tre" (it: "due" is English, "sei" is "you are").
BESIDE_DIGITS = {"un": "1", "une": "1", "een": "1", "due": "2", "tre": "3", "sei": "6"}
_BESIDE = r"\b(" + "|".join(BESIDE_DIGITS) + r")\b"
_BESIDE_BEFORE = re.compile(_BESIDE + r"(?=[\s,.-]*\d)", re.IGNORECASE)
_BESIDE_AFTER = re.compile(r"(\d[\s,.-]*)" + _BESIDE, re.IGNORECASE)


# text_to_num writes ordinals too ("fifth" -> "5th"): no code a caller reads out
_ORDINAL = re.compile(r"\b\d+(?:st|nd|rd|th|ème|eme|er|re|e|º|ª)(?!\w)", re.IGNORECASE)


def compound_numbers(text: str, language: str = "en") -> str:
    """Numbers said as tens and hundreds, as digits: "eighty-eight twenty-one" -> "88 21"
    (de "achtundachtzig einundzwanzig", fr "quatre-vingt-huit vingt et un"), in the
    languages text_to_num reads. Ordinals ("the fifth of May") are left as words."""
    try:
        converted = str(alpha2digit(text, language))
    except ValueError:  # a language text_to_num does not read
        return text
    if not _ORDINAL.search(converted):
        return converted

    def ordinal(word: str) -> bool:
        return _ORDINAL.search(alpha2digit(word, language)) is not None

    return " ".join(  # the words between the ordinals converted, the ordinals kept
        " ".join(words) if is_ordinal else str(alpha2digit(" ".join(words), language))
        for is_ordinal, words in groupby(text.split(), key=ordinal)
    )


def normalized_digits(text: str, language: str = "en") -> str:
    """Number words to digits, for matching: "one oh four two" -> "1 0 4 2", "eighty-eight
    twenty-one" -> "88 21" (in ``language``'s words for tens: :func:`compound_numbers`)."""
    text = compound_numbers(text, language)
    text = _WORD.sub(lambda m: DIGIT_WORDS.get(m.group(0).lower(), m.group(0)), text)
    for _ in range(2):  # "uno due tre": each word once a digit is beside it
        text = _BESIDE_BEFORE.sub(lambda m: BESIDE_DIGITS[m.group(1).lower()], text)
        text = _BESIDE_AFTER.sub(lambda m: m.group(1) + BESIDE_DIGITS[m.group(2).lower()], text)
    return _REPEATED.sub(lambda m: " ".join(m.group(2) * REPEATS[m.group(1).lower()]), text)


_DIGIT_RUN = re.compile(r"\d[\s,.-]*\d")


def says_digits(text: str) -> bool:
    """Whether ``text`` reads out a number: a figure, or two digit words in a row
    ("one question" and "oh, hello" do not)."""
    if any(ch.isdigit() for ch in text):
        return True
    return _DIGIT_RUN.search(normalized_digits(text)) is not None


_NUMBER = re.compile(r"\d(?:[\s,.-]*\d)*")


def numbers_in(text: str) -> list[str]:
    """The numbers read out in ``text``, each as one string of digits:
    "it's nine four, one zero three" -> ["94103"]."""
    return [re.sub(r"\D", "", match) for match in _NUMBER.findall(normalized_digits(text))]
