"""The audio step: a narration's script rendered, stored and counted, once per content hash.

A script gets audio when it is the model's (every check passed), or a person edited or
approved it; a flagged script waits for review. A rendering whose content hash (the
script, what the voice is given, the voice, the loudness) is the stored one is
*current*: the stored files are served, nothing is rendered again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum

from merchant_voice.plugin_api import (
    EngineError,
    QuotaExceeded,
    Synthesizer,
    TenantSession,
    utcnow,
)
from plugins.catalog.public import Listing
from plugins.narration import files, lexicon, render
from plugins.narration.models import Narration, ScriptStatus
from plugins.narration.speech import speakable

log = logging.getLogger(__name__)


class Voiced(StrEnum):
    RENDERED = "rendered"
    CURRENT = "current"  # the stored audio says the script as it is now
    FAILED = "failed"  # ``audio_error`` says why: no voice, the quota...
    AWAITING_REVIEW = "awaiting_review"  # a flagged script gets no audio


def plan(
    session: TenantSession, tts: Synthesizer, listing: Listing, row: Narration, price: str | None
) -> render.Plan:
    """What the row's script will sound like; VoiceNotFound when no voice speaks its locale.
    ``price``: the listing's price as the row's locale writes it (``facts.price``)."""
    said_as = lexicon.said_as(session, row.locale)

    def said(sentence: str) -> str:
        return speakable(
            sentence,
            row.locale,
            price=price,
            amount=listing.price,
            currency=listing.currency,
            lexicon=said_as,
        )

    return render.plan(tts, row.script, row.locale, said)


def is_current(row: Narration, planned: render.Plan) -> bool:
    return row.audio_hash == planned.content_hash() and all(
        path.is_file() for path in files.stored(row).values()
    )


def voice(
    session: TenantSession,
    synthesizer: Callable[[], Synthesizer],
    listing: Listing,
    row: Narration,
    price: str | None,
) -> Voiced:
    """Render the row's audio unless it is current; commits. An engine error (no voice,
    no model) or the quota is kept in ``row.audio_error``; the script stays as it is."""
    if not row.script or row.status == ScriptStatus.FLAGGED:
        return Voiced.AWAITING_REVIEW
    try:
        tts = synthesizer()
        planned = plan(session, tts, listing, row, price)
        if is_current(row, planned):
            return Voiced.CURRENT
        files.check_quota(session)
        session.commit()  # no transaction (nor SQLite's lock) while the voice speaks
        rendering = render.render(tts, planned)
        size = sum(len(data) for data in rendering.files.values())
        files.check_quota(session, adding=size, freeing=row.audio_bytes)
    except (EngineError, QuotaExceeded) as exc:
        log.warning("no audio for listing %d in %s: %s", listing.id, row.locale, exc.detail)
        row.audio_error = exc.detail
        session.commit()
        return Voiced.FAILED
    content_hash = planned.content_hash()
    files.write(row.merchant_id, row.listing_id, row.locale, content_hash, rendering.files)
    row.audio_hash, row.voice, row.audio_bytes = content_hash, planned.voice, size
    row.audio_seconds, row.sample_rate = round(rendering.seconds, 3), rendering.rate
    row.loudness_lufs, row.audio_error, row.audio_at = rendering.lufs, "", utcnow()
    session.commit()
    files.prune(row)
    return Voiced.RENDERED
