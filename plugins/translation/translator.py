"""Translate listings into locales: translation memory first, then the shared chat engine.

1. Each (listing, locale) becomes a :class:`~plugins.translation.document.Document`
   of masked segments. Human edits are skipped unless ``overwrite_edits``.
2. Segments already in translation memory (same masked source, same locale)
   are reused; a segment that occurs in several listings is sent once.
3. The rest go to the chat engine in batches (one JSON key per segment,
   JSON-schema output), at bulk priority and many at once, so that vLLM
   batches them. A segment that fails a check is asked again on its own,
   told why; after ``retries`` it is flagged with its reason.
4. Each document is assembled, checked as whole fields, stored and committed
   as soon as its last segment is in, so a long run keeps its progress.

No database transaction is open while the model works: reads are committed
before the first request, and each batch's answers are written and committed
at once, so heartbeats and other writers are never locked out (or locking out).
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from merchant_voice.plugin_api import (
    ChatEngine,
    ChatRequest,
    EngineCancelled,
    EngineError,
    EngineTimeout,
    EngineUnavailable,
    ModelNotPrepared,
    Priority,
    TenantSession,
    utcnow,
)
from plugins.catalog.public import Listing
from plugins.translation import memory
from plugins.translation.checks import check_segment
from plugins.translation.document import Document, build
from plugins.translation.locales import display_name, language
from plugins.translation.memory import Key
from plugins.translation.models import GlossaryEntry, ListingTranslation, Review
from plugins.translation.protect import Segment, glossary_for

log = logging.getLogger(__name__)

WORKLOAD = "translation"  # [chat] workloads: the served model that translates
BATCH_SEGMENTS = 16
BATCH_CHARS = 1200
MAX_ANSWER_TOKENS = 3000  # with the prompt, within the bundled model's 4096


@dataclass
class Report:
    """What a run did, for the job result, the CLI and the benchmark."""

    listings: int = 0
    locales: list[str] = field(default_factory=list)
    translations: int = 0  # (listing, locale) pairs processed
    written: int = 0  # translations created or changed
    unchanged: int = 0  # translations that came out as already stored
    kept_edits: int = 0  # human edits left alone
    flagged_fields: int = 0
    segments: int = 0
    memory_hits: int = 0  # segments found in translation memory
    shared: int = 0  # segments translated once for several listings in this run
    sent: int = 0  # distinct segments sent to the model
    requests: int = 0
    retries: int = 0
    tokens: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Batch:
    locale: str
    segments: tuple[Segment, ...]
    attempt: int = 0  # retries are batches of one segment, told why the last answer failed
    feedback: str | None = None


@dataclass
class Outcome:
    answers: dict[str, str] = field(default_factory=dict)  # digest -> masked translation
    failures: dict[str, str] = field(default_factory=dict)  # digest -> reason
    tokens: int = 0


class Translator:
    """One merchant's translation run, in the calling thread's :class:`TenantSession`."""

    def __init__(
        self,
        chat: ChatEngine,
        session: TenantSession,
        render_prompt: Callable[..., str],
        *,
        source_locale: str,
        limits: Callable[[str], Mapping[str, int]],
        retries: int = 2,
        concurrency: int = 16,
        waiting: Callable[[str], None] | None = None,
    ) -> None:
        self.chat = chat
        self.session = session
        self.render_prompt = render_prompt
        self.source_locale = source_locale
        self.limits = limits
        self.retries = retries
        self.concurrency = max(1, concurrency)
        self.waiting = waiting  # told what the requests wait for (the model starting)
        self.merchant = session.merchant.slug
        self.overwrite_edits = False

    def translate(
        self,
        listings: Sequence[Listing],
        locales: Sequence[str],
        *,
        overwrite_edits: bool = False,
        progress: Callable[[int, int, float], None] | None = None,
    ) -> Report:
        """Translate ``listings`` into ``locales``. ``progress`` is told, as the run goes,
        the translations stored, their number, and the share of the run's text settled, by
        its segments' length (a long run's translations finish late together: segments are
        batched across them; and a title settles sooner than a description)."""
        started = time.monotonic()
        self.overwrite_edits = overwrite_edits
        report = Report(listings=len(listings), locales=list(locales))
        glossary = GlossaryEntry.rows(self.session)
        existing = self._existing([listing.id for listing in listings])
        docs: list[Document] = []
        for listing in listings:
            for locale in locales:
                row = existing.get((listing.id, locale))
                if row is not None and row.review == Review.EDITED and not overwrite_edits:
                    report.kept_edits += 1
                    continue
                docs.append(
                    build(
                        listing,
                        locale,
                        language(locale),
                        glossary_for(glossary, locale),
                        self.limits(locale),
                    )
                )
        report.translations = len(docs)
        report.segments = sum(len(doc.segments) for doc in docs)
        wanted: dict[str, set[str]] = defaultdict(set)
        for doc in docs:
            wanted[doc.locale].update(segment.digest for segment in doc.segments)
        results = memory.lookup(self.session, wanted)
        failures: dict[Key, str] = {}
        batches, waiting_on = self._plan(docs, results, report)
        done = 0
        pending = {
            id(doc): {(doc.locale, s.digest) for s in doc.segments} - results.keys() for doc in docs
        }
        sizes = {  # the text each segment to settle holds: the run's work, roughly
            (doc.locale, s.digest): len(s.source) + 1
            for doc in docs
            for s in doc.segments
            if (doc.locale, s.digest) not in results
        }
        asked, settled_size = sum(sizes.values()), 0
        settled_keys: set[Key] = set()

        def tell() -> None:
            if progress is not None:
                work = settled_size / asked if asked else 1.0
                progress(done, len(docs), max(work, done / max(len(docs), 1)))

        def finish(doc: Document) -> None:
            nonlocal done
            self._store(doc, results, failures, report)
            done += 1
            tell()

        # No transaction stays open while the model writes: on SQLite a snapshot held across
        # the wait could not write afterwards, once a heartbeat had committed meanwhile.
        # Each write below begins its own transaction as a writer (writes_first).
        self.session.commit()
        for doc in docs:
            if not pending[id(doc)]:
                finish(doc)
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="translate")
        try:
            futures = {pool.submit(self._run, batch): batch for batch in batches}
            while futures:
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in finished:
                    batch, outcome = futures.pop(future), future.result()
                    report.requests += 1
                    report.tokens += outcome.tokens
                    by_digest = {segment.digest: segment for segment in batch.segments}
                    self.session.writes_first()  # read, then write, beside heartbeats
                    memory.remember(
                        self.session,
                        batch.locale,
                        ((by_digest[d], target) for d, target in outcome.answers.items()),
                    )
                    self.session.commit()  # a short write, before waiting on the model again
                    settled = set(outcome.answers)
                    results.update({(batch.locale, d): t for d, t in outcome.answers.items()})
                    for segment in batch.segments:
                        reason = outcome.failures.get(segment.digest)
                        if reason is None:
                            continue
                        if batch.attempt < self.retries:  # ask again, in parallel with the rest
                            retry = Batch(batch.locale, (segment,), batch.attempt + 1, reason)
                            futures[pool.submit(self._run, retry)] = retry
                            report.retries += 1
                        else:
                            failures[(batch.locale, segment.digest)] = reason
                            settled.add(segment.digest)
                    for key in ((batch.locale, digest) for digest in settled):
                        if key not in settled_keys:
                            settled_size += sizes.get(key, 0)
                        settled_keys.add(key)
                        for doc in waiting_on.pop(key, []):
                            pending[id(doc)].discard(key)
                            if not pending[id(doc)]:
                                finish(doc)
                    tell()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        report.seconds = round(time.monotonic() - started, 3)
        return report

    # -- planning and storage (calling thread only: the session is not thread-safe) --

    def _existing(self, listing_ids: list[int]) -> dict[tuple[int, str], ListingTranslation]:
        rows: dict[tuple[int, str], ListingTranslation] = {}
        for start in range(0, len(listing_ids), memory.CHUNK):
            chunk = listing_ids[start : start + memory.CHUNK]
            for row in self.session.scalars(
                select(ListingTranslation).where(ListingTranslation.listing_id.in_(chunk))
            ):
                rows[(row.listing_id, row.locale)] = row
        return rows

    def _plan(
        self, docs: list[Document], known: Mapping[Key, str], report: Report
    ) -> tuple[list[Batch], dict[Key, list[Document]]]:
        batches: list[Batch] = []
        waiting_on: dict[Key, list[Document]] = defaultdict(list)
        for doc in docs:
            fresh: list[Segment] = []
            for segment in doc.segments:
                key = (doc.locale, segment.digest)
                if key in known:
                    report.memory_hits += 1
                    continue
                if key in waiting_on:
                    report.shared += 1
                else:
                    fresh.append(segment)
                if not waiting_on[key] or waiting_on[key][-1] is not doc:
                    waiting_on[key].append(doc)
            batches += _batches(doc.locale, fresh)
        report.sent = sum(len(batch.segments) for batch in batches)
        return batches, waiting_on

    def _store(
        self,
        doc: Document,
        results: Mapping[Key, str],
        failures: Mapping[Key, str],
        report: Report,
    ) -> None:
        answers = {
            s.key: results[k] for s in doc.segments if (k := (doc.locale, s.digest)) in results
        }
        failed = {
            s.key: failures[k] for s in doc.segments if (k := (doc.locale, s.digest)) in failures
        }
        fields, flags = doc.assemble(answers, failed)
        self.session.writes_first()
        row = self._row(doc)  # as it is now: a person may have edited it during the run
        if row is not None and row.review == Review.EDITED and not self.overwrite_edits:
            report.kept_edits += 1
        elif row is not None and (row.fields, row.flags, row.source_hashes) == (
            fields,
            flags,
            doc.hashes,
        ):
            report.unchanged += 1
        else:
            try:
                with self.session.begin_nested():
                    self._write(row or self._new_row(doc), doc, fields, flags)
            except IntegrityError:  # another run created it meanwhile: update that one
                row = self._row(doc)
                assert row is not None
                self._write(row, doc, fields, flags)
            report.written += 1
            report.flagged_fields += len(flags)
        self.session.commit()

    def _row(self, doc: Document) -> ListingTranslation | None:
        query = select(ListingTranslation).where(
            ListingTranslation.listing_id == doc.listing_id, ListingTranslation.locale == doc.locale
        )
        return self.session.scalars(query.execution_options(populate_existing=True)).first()

    def _new_row(self, doc: Document) -> ListingTranslation:
        row = ListingTranslation(listing_id=doc.listing_id, locale=doc.locale)
        self.session.add(row)
        return row

    def _write(
        self,
        row: ListingTranslation,
        doc: Document,
        fields: dict[str, Any],
        flags: list[dict[str, str]],
    ) -> None:
        row.fields, row.flags, row.source_hashes = fields, flags, doc.hashes
        row.review = Review.MACHINE.value
        row.model = self.chat.model_for(self.merchant, WORKLOAD)
        row.translated_at = utcnow()
        self.session.flush()

    # -- the model (worker threads: no session here) ------------------------------------

    def _run(self, batch: Batch) -> Outcome:
        """One request for the batch; each segment's answer accepted or refused with a reason."""
        outcome = Outcome()
        answer = self._ask(batch, outcome)
        target, source = language(batch.locale), language(self.source_locale)
        for segment in batch.segments:
            value, reason = _judge(segment, answer, target, source)
            if reason is None:
                outcome.answers[segment.digest] = value
            else:
                outcome.failures[segment.digest] = reason
        return outcome

    def _ask(self, batch: Batch, outcome: Outcome) -> dict[str, Any] | str:
        """The model's JSON answer for the batch, or why there is none."""
        segments, locale, feedback = batch.segments, batch.locale, batch.feedback
        if feedback is not None:  # name markers, never the tags or values behind them
            for marker in segments[0].markers:
                feedback = feedback.replace(marker.label, f"the marker {marker.name}")
        payload = {segment.key: segment.source for segment in segments}
        text = json.dumps(payload, ensure_ascii=False)
        system = self.render_prompt(
            "translate.j2",
            source_language=display_name(self.source_locale),
            target_language=display_name(locale),
            limits=[(s.key, s.max_chars) for s in segments if s.max_chars],
            feedback=feedback,
        )
        request = ChatRequest(
            messages=[{"role": "system", "content": system}, {"role": "user", "content": text}],
            max_tokens=min(MAX_ANSWER_TOKENS, len(text) + 64),  # ~3x the source in characters
            temperature=0.1 if feedback is None else 0.6,
            json_schema={
                "type": "object",
                "properties": {key: {"type": "string"} for key in payload},
                "required": list(payload),
                "additionalProperties": False,
            },
            priority=Priority.BULK,
            merchant=self.merchant,
            workload=WORKLOAD,
            on_wait=self.waiting,
        )
        try:
            result = self.chat.complete(request)
        except (EngineUnavailable, EngineTimeout, EngineCancelled, ModelNotPrepared):
            raise  # the whole run stops; the job is retried later
        except EngineError as exc:
            return f"was refused by the chat engine ({exc.detail[:200]})"
        outcome.tokens += result.tokens
        try:
            data = json.loads(result.text)
        except json.JSONDecodeError:
            return "was not valid JSON (cut off or malformed)"
        return data if isinstance(data, dict) else "was not a JSON object"


def _judge(
    segment: Segment, answer: dict[str, Any] | str, lang: str, source_lang: str
) -> tuple[str, str | None]:
    """The segment's translation in ``answer``, and why it is refused (None: accepted)."""
    if isinstance(answer, str):
        return "", answer
    value = answer.get(segment.key)
    if not isinstance(value, str):
        return "", "was missing from the model's answer"
    return value, check_segment(segment, value, lang, source_lang)


def _batches(locale: str, segments: list[Segment]) -> list[Batch]:
    batches: list[Batch] = []
    current: list[Segment] = []
    size = 0
    for segment in segments:
        if current and (len(current) >= BATCH_SEGMENTS or size + len(segment.source) > BATCH_CHARS):
            batches.append(Batch(locale, tuple(current)))
            current, size = [], 0
        current.append(segment)
        size += len(segment.source)
    if current:
        batches.append(Batch(locale, tuple(current)))
    return batches
