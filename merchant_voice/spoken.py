"""Values said the way a listener's locale says them, and numbers read back from speech.

Prices, dates and codes become words for speech synthesis (Babel): phone
answers and narrations say them the same way. Callers' digits said as words
("one oh four two") become digits again, so codes they read out can be matched.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_decimal, get_currency_name

from engines.digits import normalized_digits

__all__ = [
    "compact",
    "normalized_digits",
    "spoken_code",
    "spoken_date",
    "spoken_money",
]


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


def spoken_code(code: str, group: int = 0) -> str:
    """An order number or postcode, character by character: ``#1042`` -> "1 0 4 2".

    With ``group``, a long code (a tracking number) is read in groups of about that
    many characters, a pause between them: ``spoken_code("1Z999AA10123456784", 3)`` ->
    "1 Z 9, 9 9 A, A 1 0, 1 2 3, 4 5 6, 7 8 4". Groups have ``group`` or ``group + 1``
    characters, the longer ones last, but for codes too short to split so (five
    characters in threes: two, then three).
    """
    chars = [ch for ch in code if ch.isalnum()]
    if group <= 0 or not chars:
        return " ".join(chars)
    count = max(1, len(chars) // group)
    if len(chars) > count * (group + 1):
        count += 1
    size, longer = divmod(len(chars), count)
    groups, start = [], 0
    for index in range(count):
        end = start + size + (index >= count - longer)
        groups.append(" ".join(chars[start:end]))
        start = end
    return ", ".join(groups)


def compact(text: str) -> str:
    """Upper-case letters and digits only: how spoken codes are compared."""
    return re.sub(r"[^0-9A-Z]", "", normalized_digits(text).upper())
