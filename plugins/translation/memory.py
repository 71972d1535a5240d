"""Translation memory: accepted segments, keyed by locale and the SHA-256 of their masked source.

Because tags, numbers and glossary terms are masked, "Weighs 5 kg" and
"Weighs 3 kg" share one entry. Only accepted answers and people's edits are
remembered; a refused segment is asked again on the next run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from merchant_voice.plugin_api import TenantSession
from plugins.translation.document import Document
from plugins.translation.models import MemoryEntry
from plugins.translation.protect import Segment

Key = tuple[str, str]
"""(locale, segment digest): a segment's identity in translation memory."""

CHUNK = 500  # ids per IN (...) clause


def lookup(session: TenantSession, wanted: Mapping[str, Iterable[str]]) -> dict[Key, str]:
    """The remembered masked translations of ``{locale: digests}``."""
    found: dict[Key, str] = {}
    for locale, digests in wanted.items():
        ordered = sorted(set(digests))
        for start in range(0, len(ordered), CHUNK):
            rows = session.execute(
                select(MemoryEntry.source_hash, MemoryEntry.target).where(
                    MemoryEntry.locale == locale,
                    MemoryEntry.source_hash.in_(ordered[start : start + CHUNK]),
                )
            )
            found.update({(locale, digest): target for digest, target in rows})
    return found


def remember(
    session: TenantSession,
    locale: str,
    entries: Iterable[tuple[Segment, str]],
    replace: bool = False,
) -> int:
    """Store (segment, masked translation) pairs; ``replace`` lets them overwrite (edits)."""
    written = 0
    for segment, target in entries:
        existing = session.scalars(
            select(MemoryEntry).where(
                MemoryEntry.locale == locale, MemoryEntry.source_hash == segment.digest
            )
        ).first()
        if existing is not None:
            if replace:
                existing.target = target
                written += 1
            continue
        try:
            with session.begin_nested():
                session.add(
                    MemoryEntry(
                        locale=locale,
                        source_hash=segment.digest,
                        source=segment.source,
                        target=target,
                    )
                )
            written += 1
        except IntegrityError:  # another run remembered it first
            pass
    return written


def remember_edits(session: TenantSession, doc: Document, edits: Mapping[str, Any]) -> int:
    """A person's edited title and bullet points, for every later run and listing.

    Descriptions are not split back into blocks, and attribute names may be
    reordered, so neither is remembered. Returns the entries written.
    """
    edited: dict[str, str] = {}
    if "title" in edits:
        edited["title"] = edits["title"]
    for i, bullet in enumerate(edits.get("bullet_points", []), 1):
        edited[f"bullet_{i}"] = bullet
    pairs = []
    for segment in doc.segments:
        masked = segment.remask(edited[segment.key]) if segment.key in edited else None
        if masked is not None:
            pairs.append((segment, masked))
    return remember(session, doc.locale, pairs, replace=True)
