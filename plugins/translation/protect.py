"""Segments: what the model is asked to translate, with everything it must keep masked.

A :class:`Segment` is one field's text (a title, a bullet point, an attribute
value, one block of a description) in which inline tags and protected spans
are replaced by numbered markers:

* inline tags: ``<x1>`` ... ``</x1>`` for a pair, ``<x2/>`` for a lone tag;
* protected spans, ``<x3/>``: the merchant's never-translate glossary terms
  and forced translations, the listing's SKUs, placeholders (``{name}``,
  ``{{name}}``, ``%s``, ``[shortcode]``), URLs, e-mail addresses, product
  codes (``XJ-200``), and numbers with their units (``5 kg``, ``20%``).

The model only ever sees the markers, and :meth:`Segment.restore` puts the
originals back, so a kept tag or number is kept byte for byte. A segment's
:attr:`~Segment.digest` is its translation-memory key, so the same masked
text (even around different numbers) is translated once.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from babel import Locale

from plugins.translation.markup import Run, escape_text

MARKER = re.compile(r"</?x\d+/?>")

_UNITS = r"mAh|kWh|GHz|MHz|kHz|Hz|GB|TB|MB|kB|mm|cm|km|ml|mL|kg|mg|oz|lbs|lb|ft|yd|W|V|m|g|l|L"
_CURRENCIES = (  # shops' usual currencies; not every ISO code: "TOP", "ALL", "CUP" are words too
    "USD|EUR|GBP|JPY|CNY|CHF|CAD|AUD|NZD|SEK|NOK|DKK|PLN|CZK|HUF|RON|BGN|TRY|INR|BRL"
    "|MXN|ZAR|KRW|SGD|HKD|TWD|THB|IDR|MYR|PHP|VND|AED|SAR|ILS|UAH|RUB|ARS|CLP|COP|PEN"
)
_SYMBOLS = "|".join(map(re.escape, "$€£¥₹₩₽₺₪₫฿₴₦"))
_AMOUNT = r"\d+(?:[.,\u00a0\u202f]\d{3})*(?:[.,]\d{1,2})?"  # no plain space: "$5 100 pcs"
PATTERNS: tuple[tuple[str, str], ...] = (
    ("text", r"</?x\d+/?>"),  # literal text that looks like a marker
    (
        "placeholder",
        r"\{\{[^{}]*\}\}|\{%[^%]*%\}|\{[A-Za-z0-9_.]*\}|%\([a-z_]+\)[sd]|%[sd]"
        r"|\[/?[a-z_]+(?:\s+[a-z_-]+=[^\]]*)*\]",
    ),
    ("URL", r"(?:https?://|www\.)[^\s<>\"]*[^\s<>\".,;:!?)]"),
    ("e-mail address", r"(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.-]*\w"),
    (
        "product code",
        r"\b(?=[A-Z0-9_/-]*\d)(?=[A-Z0-9_/-]*[A-Z])[A-Z0-9]+(?:[-_/][A-Z0-9]+)+\b"
        r"|\b[A-Z]{1,5}\d{2,}[A-Z0-9]*\b",
    ),
    (
        "price",  # an amount with its currency code or symbol, on either side
        rf"(?<![\w.,])(?:(?:{_CURRENCIES})\s?|(?:[A-Z]{{1,2}})?(?:{_SYMBOLS})\s?){_AMOUNT}(?![\w])"
        rf"|(?<![\w.,]){_AMOUNT}\s?(?:(?:{_CURRENCIES})\b|(?:{_SYMBOLS}))",
    ),
    ("currency code", rf"\b(?:{_CURRENCIES})\b"),
    (
        "number",
        rf"(?<![\w.,])[-+]?\d+(?:[.,]\d+)*(?:\s?(?:%|°[CF]|(?:{_UNITS})\b(?![-']))(?!\w))?",
    ),
)


@dataclass(frozen=True)
class GlossaryTerm:
    term: str
    translation: str | None  # None: never translated


@dataclass(frozen=True)
class Glossary:
    """The merchant's glossary as it applies to one target locale."""

    terms: tuple[GlossaryTerm, ...] = ()

    @property
    def fingerprint(self) -> str:
        text = "\n".join(f"{t.term}\t{t.translation or ''}" for t in self.terms)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def found_in(self, text: str) -> Glossary:
        """The terms that occur in ``text`` as the masking finds them (whole words, case
        kept): only these change how it is translated."""
        return Glossary(
            tuple(t for t in self.terms if re.search(rf"(?<!\w){re.escape(t.term)}(?!\w)", text))
        )


@dataclass(frozen=True)
class Marker:
    name: str  # "<x1>", "</x1>", "<x2/>"
    restore: str  # what replaces it: HTML for description segments, else plain text
    label: str  # how a rejection names it: "the tag <strong>", "the number '5 kg'"
    is_tag: bool


@dataclass(frozen=True)
class Segment:
    key: str  # the JSON key the model answers under: "title", "description_3"
    field: str  # the listing field: title, description_html, bullet_points, attributes
    source: str  # the masked text sent to the model
    markers: tuple[Marker, ...] = ()
    html: bool = False
    lead: str = ""  # whitespace around the text, restored as it was
    trail: str = ""
    max_chars: int | None = None

    @property
    def needs_model(self) -> bool:
        """Whether any words are left to translate once markers are taken out."""
        return _has_words(self.source)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()

    def restore(self, masked: str) -> str:
        """The translation with every marker replaced by its original."""
        by_name = {marker.name: marker.restore for marker in self.markers}
        pieces = []
        position = 0
        for match in MARKER.finditer(masked):
            pieces.append(self._text(masked[position : match.start()]))
            pieces.append(by_name.get(match.group(), ""))
            position = match.end()
        pieces.append(self._text(masked[position:]))
        return self.lead + "".join(pieces).strip() + self.trail

    def _text(self, text: str) -> str:
        # A model may answer with entities (&amp;, &uuml;) where text looks like HTML.
        return escape_text(html.unescape(text)) if self.html else text

    def remask(self, text: str) -> str | None:
        """A person's translation of a plain-text segment, masked as the model's would be.

        None when a protected span is missing from it (it cannot be reused then).
        """
        if self.html:
            return None
        masked = text.strip()
        for marker in self.markers:
            if marker.restore not in masked:
                return None
            masked = masked.replace(marker.restore, marker.name, 1)
        return masked


@dataclass
class _Masker:
    glossary: Glossary
    skus: Sequence[str]
    html: bool
    markers: list[Marker] = field(default_factory=list)

    def _add(self, kind: str, restore: str, label: str, is_tag: bool = False) -> str:
        number = sum(1 for m in self.markers if not m.name.startswith("</")) + 1
        name = {"open": f"<x{number}>", "void": f"<x{number}/>"}.get(kind, kind)
        self.markers.append(Marker(name, restore, label, is_tag))
        return name

    def close(self, name: str, raw: str, tag: str) -> str:
        closing = name.replace("<x", "</x")
        self.markers.append(Marker(closing, raw, f"the tag </{tag}>", True))
        return closing

    def tag(self, raw: str, tag: str, paired: bool) -> str:
        label = f"the tag {raw if len(raw) <= 60 else raw[:57] + '...>'}"
        return self._add("open" if paired else "void", raw, label, True)

    def text(self, text: str) -> str:
        """``text`` with every protected span replaced by a marker."""
        pattern = self._pattern()
        out = []
        position = 0
        for match in pattern.finditer(text):
            out.append(text[position : match.start()])
            out.append(self._protect(match))
            position = match.end()
        out.append(text[position:])
        return "".join(out)

    def _pattern(self) -> re.Pattern[str]:
        terms = sorted(
            {t.term for t in self.glossary.terms} | set(self.skus), key=len, reverse=True
        )
        alternatives = (
            [rf"(?P<term>(?<!\w)(?:{'|'.join(map(re.escape, terms))})(?!\w))"] if terms else []
        )
        alternatives += [f"(?P<p{i}>{regex})" for i, (_, regex) in enumerate(PATTERNS)]
        return re.compile("|".join(alternatives))

    def _protect(self, match: re.Match[str]) -> str:
        original = match.group()
        if match.lastgroup == "term":
            forced = next(
                (
                    t.translation
                    for t in self.glossary.terms
                    if t.term == original and t.translation
                ),
                None,
            )
            if forced is not None:
                label = f"the glossary translation {forced!r} of {original!r}"
                return self._add("void", self._escape(forced), label)
            return self._add("void", self._escape(original), f"the term {original!r}")
        kind = PATTERNS[int((match.lastgroup or "p0")[1:])][0]
        return self._add("void", self._escape(original), f"the {kind} {original!r}")

    def _escape(self, text: str) -> str:
        return escape_text(text) if self.html else text


def text_segment(
    key: str,
    field_name: str,
    text: str,
    glossary: Glossary,
    skus: Sequence[str] = (),
    max_chars: int | None = None,
) -> Segment | None:
    """A plain-text field as a segment; None when it is empty.

    A segment without words (only SKUs, numbers, glossary terms) does not
    ``need_model``: its restored source is its translation.
    """
    masker = _Masker(glossary, skus, html=False)
    masked = masker.text(text.strip())
    if not masked:
        return None
    return Segment(key, field_name, masked, tuple(masker.markers), max_chars=max_chars)


def run_segment(key: str, run: Run, glossary: Glossary, skus: Sequence[str] = ()) -> Segment | None:
    """One run of a description as a segment; None when it holds only whitespace and tags."""
    masker = _Masker(glossary, skus, html=True)
    pairs = _paired(run)
    open_names: dict[int, str] = {}
    pieces = []
    for index, token in enumerate(run.tokens):
        if token.kind == "data":
            pieces.append(masker.text(token.text))
        elif token.kind == "start" and index in pairs:
            open_names[pairs[index]] = masker.tag(token.text, token.tag, paired=True)
            pieces.append(open_names[pairs[index]])
        elif token.kind == "end" and index in open_names:
            pieces.append(masker.close(open_names[index], token.text, token.tag))
        else:
            pieces.append(masker.tag(token.text, token.tag, paired=False))
    masked = "".join(pieces)
    if not MARKER.sub("", masked).strip() and all(marker.is_tag for marker in masker.markers):
        return None
    body = masked.strip()
    lead = masked[: len(masked) - len(masked.lstrip())]
    trail = masked[len(masked.rstrip()) :]
    return Segment(key, "description_html", body, tuple(masker.markers), True, lead, trail)


def _has_words(masked: str) -> bool:
    """Whether any letters are left once markers are taken out (else: nothing to translate)."""
    return re.search(r"[^\W\d_]", MARKER.sub("", masked)) is not None


def _paired(run: Run) -> dict[int, int]:
    """Start-token index -> its end-token index, for tags opened and closed in the run."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for index, token in enumerate(run.tokens):
        if token.kind == "start":
            stack.append(index)
        elif token.kind == "end" and stack and run.tokens[stack[-1]].tag == token.tag:
            pairs[stack.pop()] = index
    return pairs


def original_text(run: Run) -> str:
    """A run as it was written, for runs with nothing to translate."""
    return "".join(escape_text(t.text) if t.kind == "data" else t.text for t in run.tokens)


def glossary_for(entries: Iterable[tuple[str, str, str | None]], locale: str) -> Glossary:
    """(term, locale or "", translation) rows -> the glossary for ``locale``.

    A locale-specific entry beats a language one (``de``), which beats an
    all-locales one (``""``).
    """
    parsed = Locale.parse(locale)
    rank = {"": 0, parsed.language: 1, locale: 3}
    if parsed.script:
        rank[f"{parsed.language}_{parsed.script}"] = 2
    chosen: dict[str, tuple[int, str | None]] = {}
    for term, entry_locale, translation in entries:
        if entry_locale in rank and rank[entry_locale] >= chosen.get(term, (-1, None))[0]:
            chosen[term] = (rank[entry_locale], translation)
    return Glossary(
        tuple(GlossaryTerm(term, translation) for term, (_, translation) in sorted(chosen.items()))
    )
