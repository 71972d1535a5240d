"""What a person does to a narration, through the API or the dashboard: edit or approve
its script, have it written again; and its stored media."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from merchant_voice.plugin_api import Job, QuotaExceeded, TenantSession, enqueue_job
from plugins.catalog.public import Listing
from plugins.narration import files, lexicon, links, refresh, service
from plugins.narration.checks import problems
from plugins.narration.facts import facts
from plugins.narration.models import HELD, Narration, ScriptStatus
from plugins.narration.settings import NarrationSettings


def edit(
    session: TenantSession,
    listing: Listing,
    row: Narration,
    settings: NarrationSettings,
    *,
    script: str | None,
    approved: bool | None,
) -> str | None:
    """A person's script stands (*edited*; what it breaks is flagged, shown, not refused),
    and/or their approval, against the listing as it is now. Its audio is queued when the
    words changed, or when a script held for review (flagged, review) has been cleared:
    the rendering job's id; None, with ``audio_error`` saying why, when the storage quota
    is full even without the script's old audio: the edit is kept, and that audio, which
    says the old script, is removed. Commits."""
    said_before, waited = row.script, row.status in HELD
    told = facts(session, listing, row.locale)
    if script is not None:
        row.script = " ".join(script.split())
        row.flags = problems(row.script, told, settings.word_range())
        row.status = ScriptStatus.EDITED.value
    if approved:
        row.status = ScriptStatus.APPROVED.value
    elif approved is False and row.status == ScriptStatus.APPROVED.value:
        row.status = ScriptStatus.EDITED.value
    if script is not None or approved:  # reviewed against the listing as it is now
        row.source_hash = told.fingerprint(settings.word_range())
    job_id, stale = None, []
    if row.script != said_before or (waited and row.status not in HELD):
        try:  # the job replaces the old audio: its bytes count as freed
            job_id = queue(session, [listing.id], [row.locale], freeing=row.audio_bytes).id
        except QuotaExceeded as exc:
            row.audio_error, stale = exc.detail, files.forget(row)
    session.commit()
    files.remove(stale)
    return job_id


def save_lexicon(session: TenantSession, entries: Sequence[lexicon.Entry]) -> str:
    """Replace the pronunciation lexicon (``lexicon.replace``) and queue the job that
    renders again the narrations whose speech it changes: its id. The caller commits."""
    lexicon.replace(session, entries)
    return enqueue_job(session, refresh.JOB_KIND, {"all": True}).id


def delete(session: TenantSession, row: Narration) -> None:
    """Delete the narration and, once that is committed, its files; commits."""
    session.delete(row)
    session.commit()
    files.prune_locale(row.merchant_id, row.listing_id, row.locale)


def queue(
    session: TenantSession,
    listing_ids: list[int] | None,
    locales: list[str] | None,
    *,
    overwrite_edits: bool = False,
    freeing: int = 0,
) -> Job:
    """Queue the narration of these listings (None: all) in these locales (None: the
    merchant's); a full storage quota (but for the ``freeing`` bytes the job replaces) is
    refused now (``QuotaExceeded``), not in the job."""
    files.check_quota(session, freeing=freeing)
    payload = {"listing_ids": listing_ids, "locales": locales, "overwrite_edits": overwrite_edits}
    return enqueue_job(session, service.JOB_KIND, payload)


def stored_medium(row: Narration, name: str) -> tuple[Path | None, str]:
    """``row``'s stored file ``name`` (``audio.ogg``, ``audio.mp3``, ``captions.vtt``), None
    when it has none, and its content type; NotFound for another name."""
    kind, content_type = links.medium(name)
    path = files.stored(row).get(kind)
    return (path if path is not None and path.is_file() else None), content_type
