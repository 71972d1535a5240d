"""Narrating listings: a script per listing and locale, written once and kept current.

A re-run writes again only what changed: a script whose facts (the listing as told
in that locale, the length asked for) are as they were is *current* and skipped; one
a person edited or approved is kept unless ``overwrite_edits`` is asked for. A kept
script that the listing's change has made wrong (it says a number the listing no
longer has: an old price) is held for *review*, its audio removed, until a person
edits or approves it again.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import InvalidRequestError

from merchant_voice.plugin_api import (
    ChatEngine,
    Synthesizer,
    TenantSession,
    ValidationFailed,
    engines,
    normalize_locale,
    plugin_resources,
    utcnow,
)
from plugins.catalog.public import Listing
from plugins.narration.checks import no_longer_so, problems
from plugins.narration.facts import Facts, facts
from plugins.narration.models import KEPT, Narration, ScriptStatus
from plugins.narration.settings import NarrationSettings
from plugins.narration.voicing import Voiced, voice
from plugins.narration.writer import WORKLOAD, Written, write

log = logging.getLogger(__name__)

JOB_KIND = "narration.narrate"
# A narration counts as checked a little before its listing was read: a change flushed
# but not yet committed then (its updated_at already set) is seen by the next refresh.
CHECK_MARGIN = timedelta(minutes=5)


@dataclass
class Report:
    written: int = 0
    current: int = 0
    kept_edits: int = 0
    held: int = 0  # of the kept: held for review, the listing having changed what they say
    flagged: int = 0
    tokens: int = 0
    audio: Counter[str] = field(default_factory=Counter)  # Voiced outcome -> narrations
    narrations: list[dict[str, object]] = field(default_factory=list)

    def add(self, other: Report) -> None:
        """Count ``other``'s narrations too (one job's runs over several locales)."""
        for name in ("written", "current", "kept_edits", "held", "flagged", "tokens"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.audio.update(other.audio)
        self.narrations += other.narrations

    def audio_counts(self) -> dict[str, int]:
        return {outcome.value: self.audio[outcome.value] for outcome in Voiced}

    def as_dict(self) -> dict[str, object]:
        return {
            "written": self.written,
            "current": self.current,
            "kept_edits": self.kept_edits,
            "held": self.held,
            "flagged": self.flagged,
            "tokens": self.tokens,
            "audio": self.audio_counts(),
            "narrations": self.narrations,
        }


def locales(
    session: TenantSession, requested: Sequence[str] | None, *, narrated: bool = False
) -> list[str]:
    """The requested locales (default: the merchant's own and market locales), each one
    the merchant sells in (``narrated``: or one it has narrations in, sold or not: a
    job rendering an edit); ValidationFailed names any other."""
    merchant = session.merchant
    selling = list(dict.fromkeys([merchant.default_locale, *merchant.market_locales]))
    if not requested:
        return selling
    allowed = set(selling)
    if narrated:
        allowed |= set(session.scalars(select(Narration.locale).distinct()))
    chosen = []
    for value in requested:
        locale = locale_named(value, "locales")
        if locale not in allowed:
            message = f"{locale} is not one of the merchant's locales ({', '.join(selling)})"
            raise ValidationFailed(
                f"locales: {message}", [{"field": "locales", "message": message}]
            )
        chosen.append(locale)
    return list(dict.fromkeys(chosen))


@dataclass(frozen=True)
class _Item:
    listing: Listing
    locale: str
    told: Facts
    digest: str
    read_at: datetime  # when its facts were read: the narration is checked as of then


def locale_named(value: str, field: str) -> str:
    """``value`` as a locale (``de-de`` -> ``de_DE``); ValidationFailed naming ``field``."""
    try:
        return normalize_locale(value.strip())
    except ValueError as exc:
        raise ValidationFailed(f"{field}: {exc}", [{"field": field, "message": str(exc)}]) from None


def narrate(
    session: TenantSession,
    settings: NarrationSettings,
    chosen: Sequence[Listing],
    targets: Sequence[str],
    *,
    overwrite_edits: bool = False,
    progress: Callable[[int, int], None] | None = None,
    waiting: Callable[[str], None] | None = None,
    chat: ChatEngine | None = None,
    tts: Synthesizer | None = None,
) -> Report:
    """Write the scripts of ``chosen`` listings in ``targets`` locales and render their
    audio, committing each.

    Up to the chat engine's ``bulk_concurrency`` scripts are asked for at once (it paces
    them, and vLLM batches them), while this thread stores and voices those that are done;
    the voicing yields to live calls (``engines().bulk_tts``). ``waiting`` is told what the
    scripts wait for, if anything (the text model starting)."""
    chat = chat or engines().chat

    def synthesizer() -> Synthesizer:  # ModelNotPrepared before `models prepare`: each
        return tts if tts is not None else engines().bulk_tts  # audio step says so

    render = plugin_resources("narration").render_prompt
    words, slug = settings.word_range(), session.merchant.slug
    report = Report()
    total = len(chosen) * len(targets)
    pairs = [(listing, locale) for listing in chosen for locale in targets]
    window = max(1, chat.bulk_concurrency)
    pool = ThreadPoolExecutor(window, thread_name_prefix="narrate")

    def finish(item: _Item, outcome: str) -> None:
        row = _find(session, item.listing.id, item.locale)
        assert row is not None  # written, or found current or kept
        voiced = voice(session, synthesizer, item.listing, row, item.told.price)
        _checked(session, row.id, item.read_at)
        report.audio[voiced.value] += 1
        report.narrations.append(
            {
                "listing_id": item.listing.id,
                "locale": item.locale,
                "outcome": outcome,
                "audio": voiced.value,
                "audio_error": row.audio_error or None,
            }
        )
        session.commit()
        if progress is not None:
            progress(len(report.narrations), total)

    def plan(listing: Listing, locale: str) -> None:
        """Start writing the script, or voice the one that stands (current or kept)."""
        read_at, listing_id = utcnow() - CHECK_MARGIN, listing.id
        try:
            session.refresh(listing)  # as it is now, not as the run found it
        except InvalidRequestError:  # deleted since: nothing to narrate
            log.info("listing %d is gone: not narrated in %s", listing_id, locale)
            return
        told = facts(session, listing, locale)
        item = _Item(listing, locale, told, told.fingerprint(words), read_at)
        kept = _unchanged(_find(session, listing.id, locale), item.digest, overwrite_edits)
        if kept is None:
            session.commit()  # no transaction (nor SQLite's lock) while the model writes
            future = pool.submit(
                write,
                chat,
                render,
                told,
                words,
                merchant=slug,
                retries=settings.retries,
                on_wait=waiting,
            )
            writing[future] = item
            return
        if kept == "kept":
            report.kept_edits += 1
            report.held += _review(session, item, words)
        else:
            report.current += 1
        finish(item, kept)

    writing: dict[Future[Written], _Item] = {}
    queued = iter(pairs)
    try:
        while True:
            while len(writing) < window and (pair := next(queued, None)) is not None:
                plan(*pair)
            if not writing:
                break
            done, _ = wait(writing, return_when=FIRST_COMPLETED)
            for future in done:
                item = writing.pop(future)
                outcome = _store(session, chat, item, future.result(), overwrite_edits, report)
                finish(item, outcome)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return report


def _store(
    session: TenantSession,
    chat: ChatEngine,
    item: _Item,
    written: Written,
    overwrite_edits: bool,
    report: Report,
) -> str:
    """Keep a script the model wrote (a row only with its script), unless a person edited
    the row while the model wrote; commits."""
    session.commit()
    session.writes_first()
    row = _find(session, item.listing.id, item.locale, fresh=True)
    if row is not None and row.status in KEPT and not overwrite_edits:
        report.kept_edits += 1
        return "kept"
    if row is None:
        row = Narration(listing_id=item.listing.id, locale=item.locale)
        session.add(row)
    row.script, row.flags = written.script, written.flags
    row.status = (ScriptStatus.FLAGGED if written.flags else ScriptStatus.MACHINE).value
    row.source_hash, row.source_locale = item.digest, item.told.told_from
    row.model = chat.model_for(session.merchant.slug, WORKLOAD)
    session.commit()
    report.tokens += written.tokens
    if written.flags:
        report.flagged += 1
        return "flagged"
    report.written += 1
    return "written"


def _unchanged(row: Narration | None, digest: str, overwrite_edits: bool) -> str | None:
    """ "kept" (a person's script) or "current" (the model's, its facts unchanged) when the
    row needs no new script; None when it does."""
    if row is None:
        return None
    if row.status in KEPT and row.script and not overwrite_edits:
        return "kept"
    if row.source_hash == digest and row.status == ScriptStatus.MACHINE:
        return "current"
    return None


def _review(session: TenantSession, item: _Item, words: tuple[int, int]) -> bool:
    """Hold a person's script for review when the listing changed since they saw it and
    the script now says numbers the listing does not have (an old price); commits.
    Whether it was held."""
    row = _find(session, item.listing.id, item.locale)
    held = False
    if row is not None and _wrong_now(row, item):
        session.commit()
        session.writes_first()
        row = _find(session, item.listing.id, item.locale, fresh=True)
        if row is not None and _wrong_now(row, item):  # as it is now: edited meanwhile?
            row.status = ScriptStatus.REVIEW.value
            row.flags = problems(row.script, item.told, words)
            held = True
    session.commit()
    return held


def _wrong_now(row: Narration, item: _Item) -> bool:
    """Whether a person's script, written for the listing as it was, now says a number the
    listing does not have (that it did not say when they wrote or approved it)."""
    if row.status not in KEPT or row.status == ScriptStatus.REVIEW:
        return False
    return row.source_hash != item.digest and no_longer_so(row.script, item.told, row.flags)


def _checked(session: TenantSession, narration_id: int, read_at: datetime) -> None:
    session.commit()
    session.writes_first()
    checked = (
        update(Narration)
        .where(Narration.id == narration_id)
        .values(checked_at=read_at, updated_at=Narration.updated_at)  # not a change of it
    )
    session.execute(checked.execution_options(synchronize_session=False))


def _find(
    session: TenantSession, listing_id: int, locale: str, fresh: bool = False
) -> Narration | None:
    """The narration; ``fresh``: as the database has it now, not as this session saw it."""
    query = select(Narration).where(Narration.listing_id == listing_id, Narration.locale == locale)
    return session.scalar(query.execution_options(populate_existing=fresh))
