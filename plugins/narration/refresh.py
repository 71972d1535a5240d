"""Narrations follow their listings: job ``narration.refresh``, queued by the host every
hour for each merchant (``follow_catalog``, on by default), and after a change to the
pronunciation lexicon.

It narrates again, in the locales they have narrations in, the listings changed since
(the listing itself, or its translation into the narration's locale); after a lexicon
change, every narration. A run writes, holds and renders only what changed: the
model's outdated scripts are written again, a person's script that now says an old
price is held for review, audio is rendered only where what it says changed.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select

from merchant_voice.plugin_api import JobContext, TenantSession
from plugins.catalog.public import Listing, chosen_listings
from plugins.narration import service
from plugins.narration.models import Narration
from plugins.narration.settings import NarrationSettings
from plugins.translation.public import translation_changed_after

JOB_KIND = "narration.refresh"
EVERY = timedelta(hours=1)


def due(session: TenantSession, everything: bool = False) -> dict[str, list[int]]:
    """Locale -> the listings whose narration in it was made before the listing or its
    translation last changed (``everything``: every narration)."""
    query = select(Narration.locale, Narration.listing_id).join(
        Listing, Listing.id == Narration.listing_id
    )
    if not everything:
        query = query.where(
            or_(
                Narration.checked_at.is_(None),
                Listing.updated_at > Narration.checked_at,
                translation_changed_after(
                    Narration.listing_id, Narration.locale, Narration.checked_at
                ),
            )
        )
    chosen: dict[str, list[int]] = defaultdict(list)
    for locale, listing_id in session.execute(query.order_by(Narration.listing_id)):
        chosen[locale].append(listing_id)
    return dict(chosen)


def run_refresh(context: JobContext[NarrationSettings]) -> dict[str, Any]:
    """Payload ``all`` (the lexicon changed): every narration, else those due."""
    everything = bool(context.payload.get("all"))
    if not everything and not context.settings.follow_catalog:
        return {"skipped": "follow_catalog is off", "narrations": []}
    session = context.session
    todo = due(session, everything)
    total, done = sum(map(len, todo.values())), 0
    result: dict[str, Any] = {"narrations": []}
    for locale, ids in sorted(todo.items()):

        def progress(step: int, _total: int, before: int = done) -> None:
            context.progress((before + step) / max(total, 1), f"{before + step} of {total}")

        report = service.narrate(
            session, context.settings, chosen_listings(session, ids), [locale], progress=progress
        ).as_dict()
        done += len(ids)
        for key, value in report.items():
            result[key] = _added(result.get(key), value)
    return result


def _added(before: Any, more: Any) -> Any:
    """Two locales' reports as one: counts added, lists joined."""
    if before is None:
        return more
    if isinstance(more, dict):
        return {key: before.get(key, 0) + count for key, count in more.items()}
    return before + more
