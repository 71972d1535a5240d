"""What a sentence the model wrote may state: only what this call was told or heard.

A small model answering a caller invents facts: a postcode one digit off, an order
"delivered", returns "within 60 days". Each sentence of a model's reply is checked
before it is spoken:

* every figure in it (a number, price, time or code, in digits or in words) must be
  one the store's side said - the tools' facts, the store's policies and prompt,
  an earlier reply - or a code (three digits or more) the caller said;
* every word stating an order's status, stock, a delivery or a day (:data:`STATUS`,
  and the locale's day names; month names beside a figure) must be one the store's
  side said, word for word. The caller asking "has it shipped?" does not make "it
  has shipped" true;
* every word naming a policy or an offer (:data:`TOPICS`: returns, a discount) must
  be of a topic the store's side spoke of.

A sentence in letters the call's voice cannot read (:mod:`.scripts`: Thai written
for a German voice) is not spoken either.

Questions and negations assert no status or topic ("Could you give me the delivery
postcode?", "I can't see when it will arrive."): only their figures are checked.

A sentence that fails is not spoken: the turn says ``lines.UNSURE_LINE`` instead.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache, cached_property
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from text_to_num import alpha2digit

from merchant_voice.plugin_api import fold, normalized_digits
from plugins.support_calls.scripts import foreign_letters

# The beginnings of words that state a fact: an order's status, stock, a delivery, a
# day. A sentence with one must have that very word from the store's side ("delivery"
# said does not make "delivered" so). Folded: lower case, no accents.
STATUS: dict[str, tuple[str, ...]] = {
    "en": (
        "ship", "deliver", "dispatch", "arriv", "transit", "on its way", "cancel", "stock",
        "availab", "sold out", "today", "tomorrow", "yesterday",
    ),
    "de": (
        "versand", "versend", "verschick", "geliefert", "ausgeliefert", "liefer",
        "zugestellt", "unterwegs", "storn", "lager", "verfugbar", "ausverkauft", "heute",
        "gestern",
    ),
    "fr": (
        "expedi", "livre", "livraison", "envoy", "achemin", "annul", "stock", "disponib",
        "epuise", "aujourd", "demain", "hier",
    ),
    "es": (
        "envi", "entreg", "despach", "transito", "cancel", "stock", "existencia",
        "disponib", "agotad", "hoy", "ayer",
    ),
}  # fmt: skip
# The beginnings of words that name a policy or an offer. A sentence with one must be
# about a topic the store's side spoke of (its figures are checked as figures).
TOPICS: dict[str, tuple[str, ...]] = {
    "en": ("return", "refund", "exchang", "warrant", "guarante", "discount"),
    "de": ("ruckgabe", "zuruckgeb", "zurucksend", "erstatt", "umtausch", "garantie", "rabatt"),
    "fr": ("retour", "rembours", "echang", "garanti", "remise"),
    "es": ("devol", "reembols", "garanti", "descuento"),
}
NEGATIONS: dict[str, str] = {  # a sentence with one asserts no status or topic
    "en": r"not|never|cannot|\w+n't",
    "de": r"nicht|kein\w*|nie",
    "fr": r"ne|n|pas|jamais",
    "es": r"no|nunca",
}
_AMOUNT = re.compile(r"(?<![\d.,])(\d+)[.,](\d{1,2})(?!\d)")  # 49.90, 49,9: not 1,234
_CLOCK = re.compile(r"\b(\d{1,2}):(\d{2})\b")  # 9:00 -> 9, 9:30 -> 9 30
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_RUN = re.compile(r"\d(?:[\s,.-]*\d)*")
_WORD = re.compile(r"[^\W_]+")
CALLER_CODE_DIGITS = 3  # the caller's own figures count from this length: codes they read


@dataclass
class Sources:
    """What a call's replies may draw on: ``told`` by the store's side (tool facts,
    policies, the prompt, earlier replies) and ``heard`` from the caller. What they say
    is read once, when the first sentence is checked, and again only after more is told
    or heard."""

    locale: str
    told: list[str] = field(default_factory=list)
    heard: list[str] = field(default_factory=list)

    def tell(self, value: Any) -> None:
        """Text, or a tool's data: its values (a key too when its value is true; dates
        also as the locale says them), not its false or empty ones."""
        self.__dict__.pop("known", None)
        if isinstance(value, dict):
            for key, item in value.items():
                if item is True:
                    self.told.append(str(key).replace("_", " "))
                elif item not in (None, False, "", [], {}):
                    self.told.append(str(key).replace("_", " "))
                    self.tell(item)
        elif isinstance(value, list | tuple):
            for item in value:
                self.tell(item)
        elif value not in (None, False):
            text = str(value)
            self.told.append(text)
            for year, month, day in _ISO_DATE.findall(text):
                with contextlib.suppress(ValueError):
                    day_told = date(int(year), int(month), int(day))
                    self.told.append(format_date(day_told, "long", _babel(self.locale)))

    def hear(self, text: str) -> None:
        self.__dict__.pop("known", None)
        self.heard.append(text)

    @cached_property
    def known(self) -> Known:
        language = _language(self.locale)
        said = set().union(*(figures(text, language, digit_words=True) for text in self.told))
        for text in self.heard:
            said |= {f for f in figures(text, language, True) if len(f) >= CALLER_CODE_DIGITS}
        told = fold(" ".join(self.told))
        return Known(said, told, frozenset(_WORD.findall(told)))


@dataclass(frozen=True)
class Known:
    """What :class:`Sources` say, read: their figures, and the store's side's text (folded)
    and words."""

    figures: set[str]
    told: str
    told_words: frozenset[str]


def unsupported(sentence: str, sources: Sources) -> list[str]:
    """What ``sentence`` states that its sources do not: letters its voice cannot read,
    else its figures, then its status and topic words (empty: it may be spoken)."""
    if foreign := foreign_letters(sentence, sources.locale):
        return [foreign]
    language = _language(sources.locale)
    known = sources.known
    said = figures(sentence, language)
    found = sorted(said - known.figures)
    folded = fold(sentence)
    negation = rf"(?<!\w)(?:{NEGATIONS.get(language, NEGATIONS['en'])})(?!\w)"
    if folded.rstrip().endswith("?") or re.search(negation, folded):
        return found
    told, told_words = known.told, known.told_words
    names = calendar_names(sources.locale, months=bool(said))
    for word in _claims(folded, STATUS.get(language, STATUS["en"]), names):
        if not (word in told if " " in word else word in told_words):
            found.append(word)
    for stem in _claims(folded, TOPICS.get(language, TOPICS["en"]), stems=True):
        if not any(told_word.startswith(stem) for told_word in told_words):
            found.append(stem)
    return found


def figures(text: str, language: str, digit_words: bool = False) -> set[str]:
    """The figures ``text`` says, each as a string of digits: "thirty days" -> "30",
    "nine four one zero three" -> "94103"; amounts with cents as values: "$49.90",
    "49,90 Euro" and 49.9 -> "49.9"; whole hours without their minutes: "9:00" -> "9".
    With ``digit_words``, digits read out one by one ("nine oh two") count too (two or
    more: a lone "one" or "oh" is no figure)."""
    with contextlib.suppress(ValueError):  # a language text2num does not read: digits only
        text = alpha2digit(text, language)
    found: set[str] = set()

    def amount(match: re.Match[str]) -> str:
        found.add(format(Decimal(f"{match[1]}.{match[2]}").normalize(), "f"))
        return " ; "

    text = _CLOCK.sub(lambda m: m[1] if m[2] == "00" else f"{m[1]} ; {m[2]}", text)
    text = _AMOUNT.sub(amount, text)
    found.update(_runs(text))
    if digit_words:
        found.update(run for run in _runs(normalized_digits(text)) if len(run) >= 2)
    return found


def _runs(text: str) -> list[str]:
    return [re.sub(r"\D", "", run) for run in _RUN.findall(text)]


def _claims(
    folded: str,
    beginnings: tuple[str, ...],
    names: frozenset[str] = frozenset(),
    stems: bool = False,
) -> list[str]:
    """The words of ``folded`` that begin with one of ``beginnings`` or are one of
    ``names`` (with ``stems``: the beginnings they begin with), in order; a beginning of
    two words or more ("sold out") as it is."""
    found = [phrase for phrase in beginnings if " " in phrase and phrase in folded]
    for word in _WORD.findall(folded):
        stem = next((b for b in beginnings if " " not in b and word.startswith(b)), None)
        if stem is not None or word in names:
            found.append(stem if stems and stem else word)
    return found


@cache
def calendar_names(locale: str, months: bool = True) -> frozenset[str]:
    """The locale's day names, and with ``months`` its month names, folded."""
    where = _babel(locale)
    names = list(where.days["format"]["wide"].values())
    if months:
        names += where.months["format"]["wide"].values()
    return frozenset(fold(name) for name in names)


def _babel(locale: str) -> Locale:
    try:
        return Locale.parse(locale.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return Locale("en")


def _language(locale: str) -> str:
    return locale.replace("-", "_").split("_")[0]
