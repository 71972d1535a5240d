"""Narrating listings: a script per listing and locale, written once and kept current.

A re-run writes again only what changed: a script whose facts (the listing as told
in that locale, the length asked for) are as they were is *current* and skipped; one
a person edited or approved is kept unless ``overwrite_edits`` is asked for.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from merchant_voice.plugin_api import (
    ChatEngine,
    Synthesizer,
    TenantSession,
    ValidationFailed,
    engines,
    normalize_locale,
    plugin_resources,
)
from plugins.catalog.public import Listing
from plugins.narration.facts import facts
from plugins.narration.models import KEPT, Narration, ScriptStatus
from plugins.narration.settings import NarrationSettings
from plugins.narration.voicing import Voiced, voice
from plugins.narration.writer import WORKLOAD, write

log = logging.getLogger(__name__)

JOB_KIND = "narration.narrate"


@dataclass
class Report:
    written: int = 0
    current: int = 0
    kept_edits: int = 0
    flagged: int = 0
    tokens: int = 0
    audio: Counter[str] = field(default_factory=Counter)  # Voiced outcome -> narrations
    narrations: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "written": self.written,
            "current": self.current,
            "kept_edits": self.kept_edits,
            "flagged": self.flagged,
            "tokens": self.tokens,
            "audio": {outcome.value: self.audio[outcome.value] for outcome in Voiced},
            "narrations": self.narrations,
        }


def locales(session: TenantSession, requested: Sequence[str] | None) -> list[str]:
    """The requested locales (default: the merchant's own and market locales), each one
    the merchant sells in; ValidationFailed names any other."""
    merchant = session.merchant
    selling = list(dict.fromkeys([merchant.default_locale, *merchant.market_locales]))
    if not requested:
        return selling
    chosen = []
    for value in requested:
        try:
            locale = normalize_locale(value.strip())
        except ValueError as exc:
            problem = [{"field": "locales", "message": str(exc)}]
            raise ValidationFailed(f"locales: {exc}", problem) from None
        if locale not in selling:
            message = f"{locale} is not one of the merchant's locales ({', '.join(selling)})"
            raise ValidationFailed(
                f"locales: {message}", [{"field": "locales", "message": message}]
            )
        chosen.append(locale)
    return list(dict.fromkeys(chosen))


def narrate(
    session: TenantSession,
    settings: NarrationSettings,
    chosen: Sequence[Listing],
    targets: Sequence[str],
    *,
    overwrite_edits: bool = False,
    progress: Callable[[int, int], None] | None = None,
    chat: ChatEngine | None = None,
    tts: Synthesizer | None = None,
) -> Report:
    """Write the scripts of ``chosen`` listings in ``targets`` locales and render their
    audio, committing each."""
    chat = chat or engines().chat

    def synthesizer() -> Synthesizer:  # ModelNotPrepared before `models prepare`: each
        return tts if tts is not None else engines().tts  # audio step says so

    render = plugin_resources("narration").render_prompt
    words = settings.word_range()
    report = Report()
    total, done = len(chosen) * len(targets), 0
    for listing in chosen:
        for locale in targets:
            told = facts(session, listing, locale)
            digest = told.fingerprint(words)
            outcome = _unchanged(_find(session, listing.id, locale), digest, overwrite_edits)
            if outcome == "kept":
                report.kept_edits += 1
            elif outcome == "current":
                report.current += 1
            else:
                outcome = "written"
                session.commit()  # no transaction (nor SQLite's lock) while the model writes
                written = write(
                    chat,
                    render,
                    told,
                    words,
                    merchant=session.merchant.slug,
                    retries=settings.retries,
                )
                row = _find(session, listing.id, locale)  # a row only with its script
                if row is None:
                    row = Narration(listing_id=listing.id, locale=locale)
                    session.add(row)
                row.script, row.flags = written.script, written.flags
                row.status = (ScriptStatus.FLAGGED if written.flags else ScriptStatus.MACHINE).value
                row.source_hash, row.source_locale = digest, told.told_from
                row.model = chat.model_for(session.merchant.slug, WORKLOAD)
                report.tokens += written.tokens
                if written.flags:
                    outcome = "flagged"
                    report.flagged += 1
                else:
                    report.written += 1
            session.commit()
            row = _find(session, listing.id, locale)
            assert row is not None  # written, or found current or kept
            voiced = voice(session, synthesizer, listing, row, told.price)
            report.audio[voiced.value] += 1
            report.narrations.append(
                {
                    "listing_id": listing.id,
                    "locale": locale,
                    "outcome": outcome,
                    "audio": voiced.value,
                    "audio_error": row.audio_error or None,
                }
            )
            done += 1
            if progress is not None:
                progress(done, total)
    return report


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


def _find(session: TenantSession, listing_id: int, locale: str) -> Narration | None:
    return session.scalar(
        select(Narration).where(Narration.listing_id == listing_id, Narration.locale == locale)
    )
