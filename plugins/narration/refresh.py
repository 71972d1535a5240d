"""Narrations follow their listings: job ``narration.refresh``, queued by the host every
hour for each merchant (``follow_catalog``, on by default), and after a change to the
pronunciation lexicon.

It narrates again, in the locales they have narrations in, the listings changed since
(the listing, a variant, or its translation into the narration's locale), writing,
holding and rendering only what changed: the model's outdated scripts are written
again, a person's script that now says an old price is held for review, audio is
rendered only where what it says changed. After a lexicon change it writes no script:
it renders again the audio of every narration whose speech the lexicon changed.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select

from merchant_voice.plugin_api import JobContext, TenantSession, engines
from plugins.catalog.public import Listing
from plugins.narration import service
from plugins.narration.facts import facts
from plugins.narration.models import Narration
from plugins.narration.settings import NarrationSettings
from plugins.narration.voicing import voice
from plugins.translation.public import translation_changed_after

JOB_KIND = "narration.refresh"
EVERY = timedelta(hours=1)


def due(session: TenantSession) -> dict[str, list[int]]:
    """Locale -> the listings whose narration in it was checked before the listing (or a
    variant) or its translation last changed."""
    query = (
        select(Narration.locale, Narration.listing_id)
        .join(Listing, Listing.id == Narration.listing_id)
        .where(
            or_(
                Narration.checked_at.is_(None),
                Listing.updated_at > Narration.checked_at,
                translation_changed_after(
                    Narration.listing_id, Narration.locale, Narration.checked_at
                ),
            )
        )
    )
    chosen: dict[str, list[int]] = defaultdict(list)
    for locale, listing_id in session.execute(query.order_by(Narration.listing_id)):
        chosen[locale].append(listing_id)
    return dict(chosen)


def run_refresh(context: JobContext[NarrationSettings]) -> dict[str, Any]:
    """Payload ``all`` (the lexicon changed): every narration's audio looked at again, no
    script written; else the narrations due, narrated again."""
    if context.payload.get("all"):
        return revoice(context)
    if not context.settings.follow_catalog:
        return {"skipped": "follow_catalog is off", "narrations": []}
    session = context.session
    todo = due(session)
    total, done = sum(map(len, todo.values())), 0
    result = service.Report()
    for locale, ids in sorted(todo.items()):

        def progress(step: int, _total: int, before: int = done) -> None:
            context.progress((before + step) / max(total, 1), f"{before + step} of {total}")

        chosen = session.scalars(select(Listing).where(Listing.id.in_(ids))).all()  # not gone
        result.add(
            service.narrate(
                session,
                context.settings,
                chosen,
                [locale],
                progress=progress,
                waiting=context.waiting,
            )
        )
        done += len(ids)
    return result.as_dict()


def revoice(context: JobContext[NarrationSettings]) -> dict[str, Any]:
    """Every narration's audio rendered again where what its voice says has changed (a new
    lexicon); the scripts as they are."""
    session = context.session
    rows = session.scalars(select(Narration).order_by(Narration.listing_id)).all()
    report = service.Report()
    for done, row in enumerate(rows, 1):
        listing = session.get(Listing, row.listing_id)
        if listing is not None:
            price = facts(session, listing, row.locale).price
            voiced = voice(session, lambda: engines().bulk_tts, listing, row, price)
            report.audio[voiced.value] += 1
            report.narrations.append(
                {"listing_id": row.listing_id, "locale": row.locale, "audio": voiced.value}
            )
        context.progress(done / len(rows), f"{done} of {len(rows)}")
    return {"audio": report.audio_counts(), "narrations": report.narrations}
