"""Where narrations' audio lives: the instance folder, per merchant, per listing.

``<instance>/plugins/narration/audio/<merchant id>/<listing id>/<locale>-<hash>.<ext>``
(``ogg``, ``mp3``, ``vtt``). A listing's folder goes when the listing's deletion commits,
a merchant's when the merchant is deleted; a locale's earlier renderings go once a new
one is stored. What the files take counts against the merchant's storage quota.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from flask import has_app_context
from sqlalchemy import event, func, select
from sqlalchemy.orm import Mapper, Session, object_session

from merchant_voice.plugin_api import QuotaExceeded, TenantSession, data_dir, storage_quota
from plugins.catalog.public import Listing
from plugins.narration.models import Narration

log = logging.getLogger(__name__)

KINDS = ("ogg", "mp3", "vtt")
_GONE = "narration.listing_folders_gone"  # Session.info key: folders to remove on commit


def merchant_folder(merchant_id: int) -> Path:
    return data_dir("narration") / "audio" / str(merchant_id)


def paths(merchant_id: int, listing_id: int, locale: str, content_hash: str) -> dict[str, Path]:
    """The files of one rendering, by kind."""
    folder = merchant_folder(merchant_id) / str(listing_id)
    return {kind: folder / f"{locale}-{content_hash[:20]}.{kind}" for kind in KINDS}


def stored(row: Narration) -> dict[str, Path]:
    """The row's rendered files (empty when it has no audio)."""
    if not row.audio_hash:
        return {}
    return paths(row.merchant_id, row.listing_id, row.locale, row.audio_hash)


def forget(row: Narration) -> list[Path]:
    """Clear the row's audio (the caller commits): the files to remove once it has."""
    stale = list(stored(row).values())
    row.audio_hash, row.voice, row.audio_bytes = "", "", 0
    row.audio_seconds = row.sample_rate = row.loudness_lufs = row.audio_at = None
    return stale


def used_bytes(session: TenantSession) -> int:
    """What the merchant's narration audio takes, in bytes."""
    return int(session.scalar(select(func.coalesce(func.sum(Narration.audio_bytes), 0))) or 0)


def check_quota(session: TenantSession, adding: int = 0, freeing: int = 0) -> None:
    """QuotaExceeded (403) when the merchant's files, with ``adding`` bytes more and
    ``freeing`` fewer, would pass its storage quota; with nothing to add, when it is full."""
    quota, used = storage_quota(session.merchant), used_bytes(session)
    after = used + adding - freeing
    if (after > quota) if adding else (after >= quota):
        own = session.merchant.storage_mb is not None
        which = "its own, `merchants quota`" if own else "[host] merchant_storage_mb"
        raise QuotaExceeded(
            f"the merchant's narration audio takes {used / 1e6:.1f} MB of its"
            f" {quota / 1e6:.1f} MB storage quota ({which});"
            " delete narrations or listings, or ask the operator for a larger quota",
            used_bytes=used,
            quota_bytes=quota,
        )


def write(
    merchant_id: int, listing_id: int, locale: str, content_hash: str, files: dict[str, bytes]
) -> list[Path]:
    """Store one rendering's files, each whole (written aside, then renamed into place)."""
    written = []
    for kind, path in paths(merchant_id, listing_id, locale, content_hash).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(path.suffix + ".part")
        partial.write_bytes(files[kind])
        partial.replace(path)
        written.append(path)
    return written


def remove(stale: list[Path]) -> None:
    for path in stale:
        path.unlink(missing_ok=True)


def prune(row: Narration) -> None:
    """Remove the locale's renderings other than the row's own."""
    prune_locale(row.merchant_id, row.listing_id, row.locale, keep=set(stored(row).values()))


def prune_locale(
    merchant_id: int, listing_id: int, locale: str, keep: set[Path] | None = None
) -> None:
    """Remove a listing's renderings in ``locale``, but those in ``keep``."""
    folder, keep = merchant_folder(merchant_id) / str(listing_id), keep or set()
    for path in folder.glob(f"{locale}-*"):
        if path not in keep:
            path.unlink(missing_ok=True)


def remove_merchant(merchant_id: int) -> None:
    shutil.rmtree(merchant_folder(merchant_id), ignore_errors=True)


def watch_listing_deletions() -> None:
    """Remove a listing's audio folder once its deletion commits (catalog's API and shop
    webhooks delete listings through the ORM; the rows go by the foreign key's cascade)."""
    if not event.contains(Listing, "after_delete", _listing_deleted):
        event.listen(Listing, "after_delete", _listing_deleted)
        event.listen(Session, "after_commit", _remove_gone)
        event.listen(Session, "after_rollback", _forget_gone)


def _listing_deleted(_mapper: Mapper[Any], _connection: Any, listing: Listing) -> None:
    session = object_session(listing)
    if session is not None:
        session.info.setdefault(_GONE, set()).add((listing.merchant_id, listing.id))


def _remove_gone(session: Session) -> None:
    gone = session.info.pop(_GONE, ())
    if gone and not has_app_context():  # no instance folder known: a script's own session
        log.warning("narration audio of deleted listings %s left on disk", sorted(gone))
        return
    for merchant_id, listing_id in gone:
        shutil.rmtree(merchant_folder(merchant_id) / str(listing_id), ignore_errors=True)
        log.info("removed the narration audio of deleted listing %d", listing_id)


def _forget_gone(session: Session) -> None:
    session.info.pop(_GONE, None)
