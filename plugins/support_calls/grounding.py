"""What a sentence the model wrote may state: only what this call was told or heard.

A small model answering a caller invents facts: a postcode one digit off, an order
"delivered", returns "within 60 days". Each sentence of a model's reply is checked
before it is spoken:

* every figure in it (a number, price, date, code: in digits or in words) must be
  one the call's sources say - the tools' facts, the store's policies, what was
  said to the caller, or the caller's own words;
* every word stating an order's status, stock, a delivery or a day (:data:`STATUS`,
  and the locale's day and month names) must be one the store's side said, word
  for word: the tools' facts, the policies, or an earlier reply. The caller asking
  "has it shipped?" does not make "it has shipped" true;
* every word naming a policy or an offer (:data:`TOPICS`: returns, a discount) must
  be of a topic the store's side spoke of.

A sentence that fails is not spoken: the turn says ``lines.UNSURE_LINE`` instead.
"""

from __future__ import annotations

import contextlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

from babel import Locale, UnknownLocaleError
from text_to_num import alpha2digit

from merchant_voice.plugin_api import numbers_in

# The beginnings of words that state a fact: an order's status, stock, a delivery, a
# day. A sentence with one must have that very word from the store's side ("delivery"
# said does not make "delivered" so).
STATUS: dict[str, tuple[str, ...]] = {
    "en": (
        "ship", "deliver", "dispatch", "arriv", "transit", "cancel", "process", "pending",
        "stock", "availab", "sold out", "tomorrow", "yesterday",
    ),
    "de": (
        "versand", "versend", "verschick", "geliefert", "liefer", "zugestellt", "unterwegs",
        "storn", "bearbeit", "lager", "verfügbar", "ausverkauft", "gestern",
    ),
    "fr": (
        "expédi", "livr", "envoy", "achemin", "annul", "traitement", "stock", "disponib",
        "épuisé", "demain", "hier",
    ),
    "es": (
        "envi", "enví", "entreg", "despach", "tránsito", "cancel", "proces", "stock",
        "existencia", "disponib", "agotad", "ayer",
    ),
}  # fmt: skip
# The beginnings of words that name a policy or an offer. A sentence with one must be
# about a topic the store's side spoke of (its figures are checked as figures).
TOPICS: dict[str, tuple[str, ...]] = {
    "en": ("return", "refund", "exchang", "warrant", "guarante", "discount", "track"),
    "de": ("rückgabe", "zurück", "erstatt", "umtausch", "garantie", "rabatt", "kostenlos"),
    "fr": ("retour", "rembours", "échang", "garanti", "remise", "gratuit"),
    "es": ("devol", "reembols", "cambi", "garantí", "descuento", "gratis"),
}
_AMOUNT = re.compile(r"(?<![\d.,])(\d+)[.,](\d{1,2})(?!\d)")  # 49.90, 49,9: not 1,234
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)?")


@dataclass
class Sources:
    """What a call's replies may draw on: ``told`` by the store's side (tool facts,
    policies, earlier replies) and ``heard`` from the caller."""

    told: list[str] = field(default_factory=list)
    heard: list[str] = field(default_factory=list)

    def tell(self, value: Any) -> None:
        self.told.append(value if isinstance(value, str) else json.dumps(value))


def unsupported(sentence: str, sources: Sources, locale: str) -> list[str]:
    """What ``sentence`` states that its sources do not: its figures, then its status
    and topic words (empty: it may be spoken)."""
    language = _language(locale)
    known = set().union(*(figures(text, language) for text in [*sources.told, *sources.heard]))
    found = sorted(figures(sentence, language) - known)
    told = _fold(" ".join(sources.told))
    told_words = set(_WORD.findall(told))
    for word in _claims(sentence, STATUS.get(language, STATUS["en"]), calendar_names(locale)):
        if not (word in told if " " in word else word in told_words):
            found.append(word)
    for stem in _claims(sentence, TOPICS.get(language, TOPICS["en"]), stems=True):
        if not any(told_word.startswith(stem) for told_word in told_words):
            found.append(stem)
    return found


def figures(text: str, language: str) -> set[str]:
    """The figures ``text`` says, each as a string of digits: "thirty days" -> "30",
    "nine four one zero three" -> "94103"; amounts with cents as values: "$49.90",
    "49,90 Euro" and 49.9 -> "49.9"."""
    with contextlib.suppress(ValueError):  # a language text2num does not read: digits only
        text = alpha2digit(text, language)
    found = set()

    def amount(match: re.Match[str]) -> str:
        found.add(format(Decimal(f"{match[1]}.{match[2]}").normalize(), "f"))
        return " ; "

    found.update(numbers_in(_AMOUNT.sub(amount, text)))
    return found


def _claims(
    sentence: str,
    beginnings: tuple[str, ...],
    names: frozenset[str] = frozenset(),
    stems: bool = False,
) -> list[str]:
    """The folded words of ``sentence`` that begin with one of ``beginnings`` or are one of
    ``names`` (with ``stems``: the beginnings they begin with), in order; a beginning of
    two words ("sold out") as it is."""
    folded = _fold(sentence)
    found = [phrase for phrase in beginnings if " " in phrase and phrase in folded]
    for word in _WORD.findall(folded):
        stem = next((b for b in beginnings if " " not in b and word.startswith(b)), None)
        if stem is not None or word in names:
            found.append(stem if stems and stem else word)
    return found


@cache
def calendar_names(locale: str) -> frozenset[str]:
    """The locale's day and month names, folded (those of three letters or more)."""
    try:
        where = Locale.parse(locale.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        where = Locale("en")
    names = [*where.days["format"]["wide"].values(), *where.months["format"]["wide"].values()]
    return frozenset(_fold(name) for name in names if len(name) >= 3)


def _language(locale: str) -> str:
    return locale.replace("-", "_").split("_")[0]


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()
