"""What a narration may say of a listing, in the narration's locale.

The listing's reviewed or machine translation into that locale where one exists
(field by field: a field that failed translation comes from the source), else the
source. Its price is written as that locale writes it (Babel). Every number in
these facts is one a script may say; no other.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal

from babel import Locale
from babel.numbers import NumberFormatError, format_currency, parse_decimal
from text_to_num import alpha2digit

from merchant_voice.plugin_api import TenantSession
from plugins.catalog.public import Listing
from plugins.translation.public import translated_fields

_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
# A number as written: thousands grouped by a space or an apostrophe (1 234,5), or digit
# groups joined by dots and commas (1.234,5 or 1,234.5).
_SPACE_GROUPS = {"\u00a0", "\u202f", " ", "'"}
NUMBER = re.compile(r"\d{1,3}(?:[\u00a0\u202f' ]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)*")
# A number text2num wrote for words, but an ordinal: "3rd", "3e", "3º", "3." ("dritten").
_CARDINAL = re.compile(rf"(?:{NUMBER.pattern})(?![\wº°.]|,\d)")


@dataclass(frozen=True)
class Facts:
    """A listing as a narration in ``locale`` may tell it."""

    locale: str
    title: str
    description: str  # plain text
    bullet_points: list[str]
    attributes: dict[str, list[str]]
    price: str | None  # as the locale writes it: "49,90 €"
    told_from: str  # the locale these facts are written in: ``locale``, or the source's
    numbers: frozenset[Decimal] = field(default_factory=frozenset)
    variant_prices: tuple[str, ...] = ()  # each variant's, as the locale writes it

    def fingerprint(self, *extra: object) -> str:
        """What the script is written from (with ``extra``: the length asked for...)."""
        data: list[object] = [self.locale, self.title, self.description, self.bullet_points]
        data += [self.attributes, self.price]
        if self.variant_prices:  # (a listing without variants keeps its earlier fingerprint)
            data.append(list(self.variant_prices))
        text = json.dumps([*data, *map(str, extra)], ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()


def facts(session: TenantSession, listing: Listing, locale: str) -> Facts:
    """``listing``'s facts in ``locale``: translated fields where they exist."""
    source_locale = session.merchant.default_locale
    fields = translated_fields(session, listing.id, locale) if locale != source_locale else {}
    title = fields.get("title") or listing.title
    description = plain_text(fields.get("description_html") or listing.description_html or "")
    bullets = list(fields.get("bullet_points") or listing.bullet_points or [])
    attributes = dict(fields.get("attributes") or listing.attributes or {})
    price = None
    if listing.price is not None:
        price = format_currency(listing.price, listing.currency, locale=_babel(locale))
    told = locale if "title" in fields or locale == source_locale else source_locale
    values = [value for listed in attributes.values() for value in listed]
    texts = [title, description, *bullets, *attributes, *values]
    numbers = {n for text in texts for n in numbers_in(text, told)}
    prices = [listing.price, *(v.price for v in listing.variants)]
    for amount in (p for p in prices if p is not None):
        numbers |= {amount.normalize(), Decimal(int(amount))}
        cents = (amount - int(amount)) * 100
        numbers.add(cents.normalize())  # "49 euros 90"
    variant_prices = tuple(
        format_currency(amount, listing.currency, locale=_babel(locale))
        for amount in sorted({v.price for v in listing.variants if v.price is not None})
    )
    return Facts(
        locale,
        title,
        description,
        bullets,
        attributes,
        price,
        told,
        frozenset(numbers),
        variant_prices,
    )


def plain_text(description_html: str) -> str:
    """A description's words, without its markup."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", description_html))).strip()


def numbers_in(text: str, locale: str) -> set[Decimal]:
    """The numbers written in ``text``, as values: "1.234,5" (de) and "1,234.5" (en) are
    one number; a mark that cannot be read either way counts each digit group. Numbers
    in words count too, in the languages text2num reads ("three pockets", "drei
    Taschen"), but for "one" and "two" alone (a pronoun, "two-way") and ordinals."""
    found = _written(NUMBER.findall(text), locale)
    try:
        digits = alpha2digit(text, _language(locale))
    except ValueError:  # a language text2num does not read: digits only
        return found
    return found | _written(_CARDINAL.findall(digits), locale)


def _written(numbers: list[str], locale: str) -> set[Decimal]:
    found: set[Decimal] = set()
    for written in numbers:
        value = number_value(written, locale)
        if value is None:
            found |= {Decimal(part) for part in re.findall(r"\d+", written)}
        else:
            found.add(value)
    return found


def number_value(written: str, locale: str) -> Decimal | None:
    """A number as ``locale`` writes it, as a value (Babel, strictly: "2.1" is no German
    number, "1.234,5" is); None when its marks cannot be read so."""
    babel_locale = _babel(locale)
    symbols = babel_locale.number_symbols.get("latn", {})
    group = symbols.get("group", ",")
    text = written
    for mark in _SPACE_GROUPS - {symbols.get("decimal", ".")}:
        text = text.replace(mark, group)  # thousands grouped by any space or apostrophe
    try:
        return parse_decimal(text, locale=babel_locale, strict=True).normalize()
    except NumberFormatError:
        return None


def _language(locale: str) -> str:
    return locale.replace("-", "_").split("_")[0]


def _babel(locale: str) -> Locale:
    return Locale.parse(locale.replace("-", "_"))
