"""What the job, the CLI, the API and the benchmark share: locales, runs, views."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import select

from merchant_voice.plugin_api import TenantSession, engines, plugin_resources
from plugins.catalog.public import Listing, chosen_ids, chosen_listings
from plugins.translation import memory
from plugins.translation.document import build, outdated_fields, source_hashes
from plugins.translation.locales import display_name, language, parse_locales
from plugins.translation.models import GlossaryEntry, ListingTranslation
from plugins.translation.protect import glossary_for
from plugins.translation.settings import TranslationSettings
from plugins.translation.translator import Report, Translator

JOB_KIND = "translation.translate"


def source_locale(session: TenantSession, settings: TranslationSettings) -> str:
    return settings.source_locale or session.merchant.default_locale


def target_locales(
    session: TenantSession, settings: TranslationSettings, requested: Sequence[str] | None
) -> list[str]:
    """The requested locales (or the merchant's market locales), checked by Babel."""
    source = source_locale(session, settings)
    if requested:
        return parse_locales(requested, source)
    return parse_locales([m for m in session.merchant.market_locales if m != source], source)


def listing_ids(session: TenantSession, wanted: Sequence[int] | None) -> list[int]:
    """The ids of the merchant's listings (all, or ``wanted``); NotFound names missing ones."""
    return chosen_ids(session, wanted)


def translator(
    session: TenantSession,
    settings: TranslationSettings,
    waiting: Callable[[str], None] | None = None,
) -> Translator:
    """``waiting`` is told what its requests wait for, if anything (the model starting)."""
    chat = engines().chat
    return Translator(
        chat,
        session,
        plugin_resources("translation").render_prompt,
        source_locale=source_locale(session, settings),
        limits=settings.limits_for,
        retries=settings.retries,
        concurrency=chat.bulk_concurrency,
        waiting=waiting,
    )


def run(
    session: TenantSession,
    settings: TranslationSettings,
    wanted: Sequence[int] | None,
    locales: Sequence[str] | None,
    *,
    overwrite_edits: bool = False,
    progress: Callable[[int, int, float], None] | None = None,
    waiting: Callable[[str], None] | None = None,
) -> Report:
    """Translate the listings (None: all) into the locales (None: the market locales)."""
    targets = target_locales(session, settings, locales)
    return translator(session, settings, waiting).translate(
        chosen_listings(session, wanted),
        targets,
        overwrite_edits=overwrite_edits,
        progress=progress,
    )


def remember_edits(
    session: TenantSession, listing: Listing, locale: str, edits: Mapping[str, Any]
) -> int:
    """Put a person's edits of ``listing`` in ``locale`` in translation memory."""
    glossary = glossary_for(GlossaryEntry.rows(session), locale)
    return memory.remember_edits(
        session, build(listing, locale, language(locale), glossary, {}), edits
    )


def confirm(
    session: TenantSession, row: ListingTranslation, listing: Listing, names: Sequence[str]
) -> None:
    """A person has seen the listing's current source for these fields: not outdated."""
    glossary = glossary_for(GlossaryEntry.rows(session), row.locale)
    current = source_hashes(listing, glossary)
    row.source_hashes = {**row.source_hashes, **{name: current[name] for name in names}}


def view(
    row: ListingTranslation,
    listing: Listing,
    glossary: Sequence[tuple[str, str, str | None]],
    requested: str | None = None,
) -> dict[str, Any]:
    """A translation as the API shows it, with what changed in its source since."""
    outdated = outdated_fields(row.source_hashes, listing, glossary_for(glossary, row.locale))
    result: dict[str, Any] = {
        "listing_id": row.listing_id,
        "locale": row.locale,
        "locale_name": display_name(row.locale),
        "fields": row.fields,
        "flags": row.flags,
        "review": row.review,
        "outdated": bool(outdated),
        "outdated_fields": outdated,
        "model": row.model,
        "translated_at": row.translated_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }
    if requested is not None and requested != row.locale:
        result["fallback_from"] = requested
    return result


def rows_by_locale(session: TenantSession, listing_id: int) -> Mapping[str, ListingTranslation]:
    return {
        row.locale: row
        for row in session.scalars(
            select(ListingTranslation).where(ListingTranslation.listing_id == listing_id)
        )
    }
