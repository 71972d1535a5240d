"""The audio step: a narration's script rendered, stored and counted, once per content hash.

A script gets audio when it is the model's (every check passed), or a person edited or
approved it; a flagged script, or a person's that the listing has since made wrong
(review), waits for review. A rendering whose content hash (the
script, what the voice is given, the voice, the loudness) is the stored one is
*current*: the stored files are served, nothing is rendered again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum

from sqlalchemy import select

from merchant_voice.plugin_api import (
    EngineError,
    QuotaExceeded,
    Synthesizer,
    TenantSession,
    utcnow,
)
from plugins.catalog.public import Listing
from plugins.narration import files, lexicon, render
from plugins.narration.models import HELD, Narration
from plugins.narration.speech import speakable

log = logging.getLogger(__name__)


class Voiced(StrEnum):
    RENDERED = "rendered"
    CURRENT = "current"  # the stored audio says the script as it is now
    FAILED = "failed"  # ``audio_error`` says why: no voice, the quota...
    AWAITING_REVIEW = "awaiting_review"  # a held script (flagged, review) gets no audio


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
    no model) or the quota is kept in ``row.audio_error``; the script stays as it is.
    A held script's earlier audio is removed: it says what is no longer so (an old price)."""
    if not row.script or row.status in HELD:
        if row.audio_hash:
            _remove_audio(session, row.id)
        return Voiced.AWAITING_REVIEW
    try:
        tts = synthesizer()
        planned = plan(session, tts, listing, row, price)
        if is_current(row, planned):
            return Voiced.CURRENT
        files.check_quota(session, freeing=row.audio_bytes)
        session.commit()  # no transaction (nor SQLite's lock) while the voice speaks
        rendering = render.render(tts, planned)
    except (EngineError, QuotaExceeded) as exc:
        return _failed(session, listing, row, exc.detail)
    size = sum(len(data) for data in rendering.files.values())
    stored = _writing(session, row.id)
    if stored is None:  # its listing was deleted meanwhile
        session.commit()
        return Voiced.FAILED
    try:
        files.check_quota(session, adding=size, freeing=stored.audio_bytes)
    except QuotaExceeded as exc:
        return _failed(session, listing, stored, exc.detail)
    content_hash = planned.content_hash()
    written = files.write(
        stored.merchant_id, stored.listing_id, stored.locale, content_hash, rendering.files
    )
    try:
        stored.audio_hash, stored.voice, stored.audio_bytes = content_hash, planned.voice, size
        stored.audio_seconds, stored.sample_rate = round(rendering.seconds, 3), rendering.rate
        stored.loudness_lufs, stored.audio_error, stored.audio_at = rendering.lufs, "", utcnow()
        session.commit()
    except Exception:
        session.rollback()
        files.remove(written)
        raise
    files.prune(stored)
    return Voiced.RENDERED


def _writing(session: TenantSession, narration_id: int) -> Narration | None:
    """Begin a write transaction (on SQLite, its lock taken first: job heartbeats commit
    meanwhile) with the narration as it is now; None when it is gone."""
    session.commit()
    session.writes_first()
    query = select(Narration).where(Narration.id == narration_id)
    return session.scalar(query.execution_options(populate_existing=True))


def _failed(session: TenantSession, listing: Listing, row: Narration, detail: str) -> Voiced:
    log.warning("no audio for listing %d in %s: %s", listing.id, row.locale, detail)
    stored = _writing(session, row.id)
    if stored is not None:
        stored.audio_error = detail
    session.commit()
    return Voiced.FAILED


def _remove_audio(session: TenantSession, narration_id: int) -> None:
    stored = _writing(session, narration_id)
    if stored is None:
        session.commit()
        return
    stale = files.forget(stored)
    session.commit()
    files.remove(stale)
