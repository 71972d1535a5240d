"""A listing in one target locale: its segments to translate, and its fields put back together.

Fields and their segment keys (the keys of the model's JSON answer):

* ``title`` -> ``title``
* ``description_html`` -> ``description_1``, ``description_2``... one per block, and
  ``alt_1``, ``alt_2``... the images' ``alt`` texts (the rest of each tag is kept)
* ``bullet_points`` -> ``bullet_1``, ``bullet_2``...
* ``attributes`` -> ``attribute_1`` (a name), ``attribute_1_value_1``...
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from plugins.catalog.public import Listing
from plugins.translation.checks import check_field
from plugins.translation.markup import (
    MAX_SEGMENT_CHARS,
    InvalidHtml,
    Run,
    alt_texts,
    skeleton,
    with_alt_texts,
)
from plugins.translation.protect import Glossary, Segment, original_text, run_segment, text_segment

FIELDS = ("title", "description_html", "bullet_points", "attributes")


def source_hashes(listing: Listing, glossary: Glossary) -> dict[str, str]:
    """A fingerprint per source field, with the glossary terms found in it: a change of
    either marks the field's translation outdated; a change to other terms does not."""
    hashes = {}
    for name in FIELDS:
        text = json.dumps(_source(listing, name), sort_keys=True, ensure_ascii=False)
        used = glossary.found_in(html.unescape(text) if name == "description_html" else text)
        hashes[name] = hashlib.sha256((text + used.fingerprint).encode()).hexdigest()[:32]
    return hashes


def outdated_fields(stored: Mapping[str, str], listing: Listing, glossary: Glossary) -> list[str]:
    """The fields whose source (or glossary terms in it) changed since ``stored`` was taken.
    Hashes stored before 2026-11-30 fingerprinted the whole glossary: those still match."""
    current = source_hashes(listing, glossary)
    return sorted(
        name
        for name, digest in current.items()
        if stored.get(name) not in (digest, _whole_glossary_hash(listing, name, glossary))
    )


def _whole_glossary_hash(listing: Listing, name: str, glossary: Glossary) -> str:
    text = json.dumps(_source(listing, name), sort_keys=True)
    return hashlib.sha256((text + glossary.fingerprint).encode()).hexdigest()[:32]


def _source(listing: Listing, name: str) -> Any:
    return getattr(listing, name) or (
        {} if name == "attributes" else [] if name == "bullet_points" else ""
    )


@dataclass
class Document:
    listing_id: int
    locale: str
    language: str
    source: dict[str, Any]
    hashes: dict[str, str]
    limits: Mapping[str, int]
    segments: list[Segment] = field(default_factory=list)
    parts: list[str | Run | Segment] = field(default_factory=list)
    flags: dict[str, str] = field(default_factory=dict)  # found before translating
    fixed: dict[str, str] = field(default_factory=dict)  # segments without words, restored
    originals: dict[str, str] = field(default_factory=dict)  # description blocks as written
    alts: list[str] = field(default_factory=list)  # the description's images' alt texts

    def assemble(
        self, answers: Mapping[str, str], failures: Mapping[str, str]
    ) -> tuple[dict[str, Any], list[dict[str, str]]]:
        """The translated fields that pass every check, and a flag per field that does not."""
        by_key = {segment.key: segment for segment in self.segments}
        fields: dict[str, Any] = {}
        flags = dict(self.flags)

        def text(key: str) -> str:
            if key in failures:
                raise _Failed(failures[key])
            return by_key[key].restore(answers[key])

        def attempt(name: str, build: Any) -> None:
            if name in flags or not self.source[name]:
                return
            try:
                value = build()
            except _Failed as failed:
                flags[name] = str(failed)
                return
            reason = check_field(name, self.source[name], value, self.limits.get(name))
            if reason is not None:
                flags[name] = reason
                return
            fields[name] = value
            if name in untranslated:  # stored, and flagged until a person edits those parts
                flags[name] = "kept in the source language: " + "; ".join(untranslated[name])

        def kept(key: str, original: str | None) -> str | None:
            return text(key) if key in by_key else self.fixed.get(key, original)

        def description() -> str:
            html, failed = self._description(text)
            alts: list[str | None] = []  # None: as written
            for n in range(1, len(self.alts) + 1):
                try:
                    alts.append(kept(f"alt_{n}", None))
                except _Failed as failure:
                    failed.append(f"image {n}'s alt text: {failure}")
                    alts.append(None)
            blocks_failed = sum(reason.startswith("block ") for reason in failed)
            if self.originals and blocks_failed == len(self.originals):
                raise _Failed("; ".join(failed))  # no block translated: nothing to keep
            if failed:
                untranslated["description_html"] = failed
            return with_alt_texts(html, alts)

        untranslated: dict[str, list[str]] = {}
        attempt("title", lambda: kept("title", self.source["title"]))
        attempt("description_html", description)
        attempt(
            "bullet_points",
            lambda: [
                kept(f"bullet_{i}", bullet)
                for i, bullet in enumerate(self.source["bullet_points"], 1)
            ],
        )
        attempt(
            "attributes",
            lambda: {
                kept(f"attribute_{i}", name): [
                    kept(f"attribute_{i}_value_{j}", value) for j, value in enumerate(values, 1)
                ]
                for i, (name, values) in enumerate(self.source["attributes"].items(), 1)
            },
        )
        return fields, [{"field": name, "reason": reason} for name, reason in flags.items()]

    def _description(self, text: Any) -> tuple[str, list[str]]:
        """The description, and why each block that failed (kept as written) failed."""
        pieces, failed = [], []
        for part in self.parts:
            if isinstance(part, Segment):
                try:
                    pieces.append(text(part.key))
                except _Failed as failure:
                    failed.append(f"block {part.key.rsplit('_', 1)[1]}: {failure}")
                    pieces.append(self.originals[part.key])
            elif isinstance(part, Run):
                pieces.append(original_text(part))
            else:
                pieces.append(part)
        return "".join(pieces), failed


class _Failed(Exception):
    """A segment of the field was not translated; the message is the reason."""


def build(
    listing: Listing,
    locale: str,
    language: str,
    glossary: Glossary,
    limits: Mapping[str, int],
) -> Document:
    """The listing's segments for ``locale``; unusable source fields are flagged at once."""
    skus = [sku for sku in [listing.sku, *(v.sku for v in listing.variants)] if sku]
    source = {name: _source(listing, name) for name in FIELDS}
    doc = Document(listing.id, locale, language, source, source_hashes(listing, glossary), limits)

    def add(segment: Segment | None) -> None:
        if segment is None:
            return
        if segment.needs_model:
            doc.segments.append(segment)
        else:  # only SKUs, numbers, glossary terms: restored as they are
            doc.fixed[segment.key] = segment.restore(segment.source)

    add(text_segment("title", "title", source["title"], glossary, skus, limits.get("title")))
    _description_parts(doc, source["description_html"], glossary, skus, add)
    for i, bullet in enumerate(source["bullet_points"], 1):
        add(
            text_segment(
                f"bullet_{i}", "bullet_points", bullet, glossary, skus, limits.get("bullet_points")
            )
        )
    for i, (name, values) in enumerate(source["attributes"].items(), 1):
        add(text_segment(f"attribute_{i}", "attributes", name, glossary, skus))
        for j, value in enumerate(values, 1):
            add(text_segment(f"attribute_{i}_value_{j}", "attributes", value, glossary, skus))
    return doc


def _description_parts(
    doc: Document, html: str, glossary: Glossary, skus: list[str], add: Any
) -> None:
    if not html.strip():
        return
    try:
        parts = skeleton(html)
    except InvalidHtml as exc:
        doc.flags["description_html"] = f"the source HTML is invalid: {exc.reason}"
        return
    oversized = next(
        (
            (n, size)
            for n, part in enumerate((p for p in parts if isinstance(p, Run)), 1)
            if (size := sum(len(t.text) for t in part.tokens)) > MAX_SEGMENT_CHARS
        ),
        None,
    )
    if oversized is not None:  # measured before masking, which is linear but not free
        doc.flags["description_html"] = (
            f"block {oversized[0]} is {oversized[1]} characters long, over the limit of"
            f" {MAX_SEGMENT_CHARS} for one block: split it into paragraphs"
        )
        return
    block = 0
    for part in parts:
        segment = None
        if isinstance(part, Run):
            segment = run_segment(f"description_{block + 1}", part, glossary, skus)
        if segment is None:
            doc.parts.append(part)
        elif not segment.needs_model:
            doc.parts.append(segment.restore(segment.source))
        else:
            assert isinstance(part, Run)
            block += 1
            doc.segments.append(segment)
            doc.parts.append(segment)
            doc.originals[segment.key] = original_text(part)
    doc.alts = alt_texts(html)
    for n, alt in enumerate(doc.alts, 1):
        if alt.strip():
            add(text_segment(f"alt_{n}", "description_html", alt, glossary, skus))
