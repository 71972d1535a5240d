"""A script as its voice should hear it, in the script's locale.

The stored script stays as the merchant reads and edits it (digits, "49,90 €",
"500 g"); what the voice is given is this:

1. the merchant's pronunciation lexicon: each term (a whole word or phrase, in any
   case) replaced by its respelling;
2. the listing's price, as the locale writes it, said as money in words
   (num2words, where it knows the language and currency; else Babel's spoken form);
3. a date written in digits (24.12.2026, 12/24/2026, 2026-12-24) as the locale
   writes it in full (Babel's long date format: "24. Dezember 2026", its day an
   ordinal where the format marks it so), its numbers then in words with the rest;
4. a number followed by a unit abbreviation (g, kg, cm, ml, °C, %...) said with the
   unit's name in that locale (Babel's CLDR units);
5. every other number in words (num2words), read as the locale writes numbers.

No number rule is written here: Babel and num2words know the languages. A language
num2words does not know (zh, for one) keeps its digits, which its voice reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

from babel.dates import ParseError, format_date, get_date_format, parse_date
from babel.units import format_unit
from num2words import num2words

from merchant_voice.plugin_api import spoken_money
from plugins.narration.facts import NUMBER, number_value

# Unit abbreviations as shops write them, and the CLDR unit Babel names them by.
UNITS = {
    "mg": "mass-milligram",
    "g": "mass-gram",
    "kg": "mass-kilogram",
    "mm": "length-millimeter",
    "cm": "length-centimeter",
    "m": "length-meter",
    "km": "length-kilometer",
    "ml": "volume-milliliter",
    "l": "volume-liter",
    "°C": "temperature-celsius",
    "°F": "temperature-fahrenheit",
    "W": "power-watt",
    "kW": "power-kilowatt",
    "V": "electric-volt",
    "mAh": "electric-milliampere-hour",
    "GB": "digital-gigabyte",
    "TB": "digital-terabyte",
    "%": "concentr-percent",
}
_UNIT_PATTERN = "|".join(re.escape(unit) for unit in sorted(UNITS, key=len, reverse=True))
# A date in digits with a four-digit year: day, month and year in the locale's order, or
# year first (ISO 8601); Babel tells which is which.
_DATE = re.compile(
    r"(?<![\w.,/-])(?:\d{1,2}[./]\d{1,2}[./]\d{4}|\d{4}[-/]\d{1,2}[-/]\d{1,2})(?![\w/-])(?![.,]\d)"
)
_MEASURE = re.compile(rf"({NUMBER.pattern})\s?({_UNIT_PATTERN})(?!\w)")


def speakable(
    script: str,
    locale: str,
    *,
    price: str | None = None,
    amount: Decimal | None = None,
    currency: str = "",
    lexicon: Mapping[str, str] | None = None,
) -> str:
    """What the voice says for ``script``: ``price`` (the listing's, as the locale writes
    it) is ``amount`` of ``currency`` in words; ``lexicon`` maps terms to respellings."""
    text = " ".join(script.split())  # Babel's no-break spaces are plain ones to a voice
    for term, respelling in sorted((lexicon or {}).items(), key=lambda item: -len(item[0])):
        text = re.sub(rf"(?<!\w){re.escape(term)}(?!\w)", respelling, text, flags=re.IGNORECASE)
    if price and amount is not None:
        text = text.replace(" ".join(price.split()), money(amount, currency, locale))
    text = _DATE.sub(lambda match: _date(match.group(), locale), text)
    text = _MEASURE.sub(lambda match: _measure(match, locale), text)
    text = NUMBER.sub(lambda match: number(match.group(), locale), text)
    return " ".join(text.split())


def money(amount: Decimal, currency: str, locale: str) -> str:
    """``amount`` of ``currency`` in words: "neunundvierzig Dollar und neunzig Cent"."""
    try:
        return str(num2words(amount, to="currency", currency=currency, lang=_language(locale)))
    except (NotImplementedError, KeyError, OverflowError):
        return spoken_money(amount, currency, locale)


def number(written: str, locale: str) -> str:
    """A number as written in ``locale``, in words; as written where words are unknown."""
    value = number_value(written, locale)
    if value is None:
        return written
    try:
        return str(num2words(value, lang=_language(locale)))
    except (NotImplementedError, OverflowError):
        return written


def _date(written: str, locale: str) -> str:
    """A date in digits as ``locale`` writes it in full; as written when it is none."""
    try:
        day = parse_date(written, locale=locale)
    except (ParseError, ValueError):
        return written
    said = format_date(day, "long", locale=locale)
    if "d." in get_date_format("long", locale=locale).pattern:  # CLDR's ordinal day: de, da...
        try:
            ordinal = num2words(day.day, to="ordinal", lang=_language(locale))
        except NotImplementedError:
            return said
        said = said.replace(f"{day.day}.", str(ordinal), 1)
    return said


def _measure(match: re.Match[str], locale: str) -> str:
    written, unit = match.group(1), match.group(2)
    value = number_value(written, locale)
    if value is None:
        return match.group()
    try:
        named = format_unit(value, UNITS[unit], length="long", locale=locale)
    except (ValueError, KeyError):
        return match.group()
    return named  # its number is said in words with the others


def _language(locale: str) -> str:
    return locale.replace("-", "_").split("_")[0]
