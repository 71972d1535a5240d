"""Stock said per option: "Medium: 12 in stock; Large: out of stock."

A caller who names an option ("do you have it in medium?") hears about the
variants with that option only. Option values are matched as whole words,
accents and case aside; sizes also by their names in a few languages ("M" is
"medium", "mittel", "moyen", "mediano"), and a longer name wins over one inside
it ("extra large" is XL, not L). Sizes are read out as words ("M: 12 in stock" is
said "Medium: 12 in stock"). At most :data:`MAX_SPOKEN` options are read out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from merchant_voice.plugin_api import N_, fold
from plugins.catalog.models import Variant
from plugins.catalog.stock import available

MAX_SPOKEN = 4  # options read out in one answer: more is too long for the phone

_SIZES = {
    "xs": ("extra small", "x small", "extra klein", "tres petit", "extra pequeno"),
    "s": ("small", "klein", "petit", "pequeno", "piccolo"),
    "m": ("medium", "mittel", "moyen", "mediano", "medio"),
    "l": ("large", "gross", "groß", "grand", "grande"),
    "xl": ("extra large", "x large", "extra gross", "extra groß", "tres grand", "extra grande"),
    "xxl": ("double extra large", "xx large", "2xl"),
}
_SIZE_OF = {name: size for size, names in _SIZES.items() for name in (size, *names)}
SIZE_WORDS = {  # a size's code as a shopper says it, in the call's language
    "xs": N_("Extra small"),
    "s": N_("Small"),
    "m": N_("Medium"),
    "l": N_("Large"),
    "xl": N_("Extra large"),
    "xxl": N_("Double extra large"),
}


def _names(value: str) -> set[str]:
    """The words a caller may use for an option value; single letters only as sizes' names."""
    folded = fold(value).strip()
    size = _SIZE_OF.get(folded)
    names = {folded, *(_SIZES[size] if size else ())}
    return {name for name in names if len(name) > 1}


def named_values(values: Iterable[str], utterance: str) -> set[str]:
    """The option values the caller's words name."""
    text = fold(utterance)
    hits = [
        (match.start(), match.end(), value)
        for value in set(values)
        for name in _names(value)
        for match in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text)
    ]
    return {
        value
        for start, end, value in hits
        if not any(s <= start and end <= e and e - s > end - start for s, e, _ in hits)
    }


def asked_variants(variants: Sequence[Variant], utterance: str) -> list[Variant]:
    """The variants with the most option values the caller named; none when they named none."""
    named = named_values((v for variant in variants for v in variant.options.values()), utterance)
    scores = [sum(value in named for value in v.options.values()) for v in variants]
    best = max(scores, default=0)
    return [v for v, score in zip(variants, scores, strict=True) if best and score == best]


def label(variant: Variant) -> str:
    return " ".join(variant.options.values()) or variant.title


def spoken_label(gettext: Callable[[str], str], variant: Variant) -> str:
    """The variant's options as a shopper says them: a size's code in words ("M" ->
    "Medium", "XL" -> "Extra large", in the call's language), other values as written."""
    words = []
    for value in variant.options.values():
        code = fold(value).strip()
        size = _SIZE_OF.get(code) if len(code) <= 3 else None
        words.append(gettext(SIZE_WORDS[size]) if size else value)
    return " ".join(words) or variant.title


def has_stock(variants: Sequence[Variant]) -> bool:
    return any(available(v) is not None for v in variants)


def per_option(gettext: Callable[[str], str], variants: Sequence[Variant]) -> str:
    """ "Medium: 12 in stock; Large: out of stock." for up to :data:`MAX_SPOKEN` variants,
    then how many more there are."""
    _ = gettext
    parts = []
    for variant in variants[:MAX_SPOKEN]:
        state = available(variant)
        if state and variant.stock_quantity is not None:
            stock = _("{count} in stock").format(count=variant.stock_quantity)
        elif state is not None:
            stock = _("in stock") if state else _("out of stock")
        else:
            stock = _("stock not known")
        option = spoken_label(gettext, variant)
        parts.append(_("{option}: {stock}").format(option=option, stock=stock))
    sentence = "; ".join(parts) + "."
    more = len(variants) - MAX_SPOKEN
    if more > 0:
        sentence += " " + _("And {count} more options: which one would you like?").format(
            count=more
        )
    return sentence
