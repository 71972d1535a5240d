"""What the job, the CLI, the API and the benchmark share: settings, runs, views."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal

from flask import current_app
from pydantic import AfterValidator, Field
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from merchant_voice import extensions
from merchant_voice.errors import NotFound
from merchant_voice.plugin_api import PluginSettings
from merchant_voice.tenancy import TenantSession
from plugins.catalog.models import Listing
from plugins.translation import memory
from plugins.translation.document import build, source_hashes
from plugins.translation.locales import display_name, language, normalize, parse_locales
from plugins.translation.memory import CHUNK
from plugins.translation.models import GlossaryEntry, ListingTranslation
from plugins.translation.protect import glossary_for
from plugins.translation.translator import Report, Translator

LimitedField = Literal["title", "description_html", "bullet_points"]


def _limit_key(value: str) -> str:
    return value if value == "*" else normalize(value)


def _source_locale(value: str) -> str:
    return value and normalize(value)


def _default_limits() -> dict[str, dict[LimitedField, int]]:
    return {"*": {"title": 255}}


class TranslationSettings(PluginSettings):
    """Per merchant: ``flask --app app plugins configure MERCHANT translation KEY=VALUE``."""

    source_locale: str = Field(
        "", description="The listings' locale; empty: the merchant's default"
    )
    max_lengths: dict[
        Annotated[str, AfterValidator(_limit_key)], dict[LimitedField, Annotated[int, Field(gt=0)]]
    ] = Field(
        default_factory=_default_limits,
        description='Characters per field, by locale, language or "*": {"de": {"title": 150}}',
    )
    retries: int = Field(2, ge=0, le=5, description="Retries of a segment that fails a check")

    def limits_for(self, locale: str) -> dict[str, int]:
        """``*``, then the language's, then the locale's own limits."""
        limits: dict[str, int] = {}
        for key in ("*", language(locale), locale):
            limits.update({str(name): n for name, n in self.max_lengths.get(key, {}).items()})
        return limits


def settings(session: TenantSession) -> TranslationSettings:
    from plugins.translation.plugin import plugin

    value = plugin.merchant_settings(session)
    assert isinstance(value, TranslationSettings)
    return value


def source_locale(session: TenantSession) -> str:
    return settings(session).source_locale or session.merchant.default_locale


def target_locales(session: TenantSession, requested: Sequence[str] | None) -> list[str]:
    """The requested locales (or the merchant's market locales), checked by Babel."""
    source = source_locale(session)
    if requested:
        return parse_locales(requested, source)
    return parse_locales([m for m in session.merchant.market_locales if m != source], source)


def listing_ids(session: TenantSession, wanted: Sequence[int] | None) -> list[int]:
    """The ids of the merchant's listings (all, or ``wanted``); NotFound names missing ones."""
    query = select(Listing.id).order_by(Listing.id)
    if wanted is None:
        return list(session.scalars(query))
    ids = sorted(set(wanted))
    found = [
        listing_id
        for start in range(0, len(ids), CHUNK)
        for listing_id in session.scalars(query.where(Listing.id.in_(ids[start : start + CHUNK])))
    ]
    missing = sorted(set(ids) - set(found))
    if missing:
        raise NotFound(f"no listing {', '.join(map(str, missing))}")
    return found


def listings(session: TenantSession, wanted: Sequence[int] | None) -> list[Listing]:
    """The merchant's listings (all, or ``wanted``), variants loaded; NotFound names missing ids."""
    ids = listing_ids(session, wanted)
    query = select(Listing).options(selectinload(Listing.variants)).order_by(Listing.id)
    if wanted is None:
        return list(session.scalars(query))
    return [
        listing
        for start in range(0, len(ids), CHUNK)
        for listing in session.scalars(query.where(Listing.id.in_(ids[start : start + CHUNK])))
    ]


def translator(session: TenantSession) -> Translator:
    chosen = settings(session)
    engines = current_app.extensions["engines"]
    resources = extensions.plugin_manager().get("translation").resources
    return Translator(
        engines.chat,
        session,
        resources.render_prompt,
        source_locale=source_locale(session),
        limits=chosen.limits_for,
        retries=chosen.retries,
        concurrency=extensions.settings().chat.bulk_concurrency,
    )


def run(
    session: TenantSession,
    wanted: Sequence[int] | None,
    locales: Sequence[str] | None,
    *,
    overwrite_edits: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Translate the listings (None: all) into the locales (None: the market locales)."""
    targets = target_locales(session, locales)
    return translator(session).translate(
        listings(session, wanted), targets, overwrite_edits=overwrite_edits, progress=progress
    )


def remember_edits(
    session: TenantSession, listing: Listing, locale: str, edits: Mapping[str, Any]
) -> int:
    """Put a person's edits of ``listing`` in ``locale`` in translation memory."""
    glossary = glossary_for(GlossaryEntry.rows(session), locale)
    return memory.remember_edits(
        session, build(listing, locale, language(locale), glossary, {}), edits
    )


def view(
    row: ListingTranslation,
    listing: Listing,
    glossary: Sequence[tuple[str, str, str | None]],
    requested: str | None = None,
) -> dict[str, Any]:
    """A translation as the API shows it, with what changed in its source since."""
    current = source_hashes(listing, glossary_for(glossary, row.locale))
    outdated = sorted(
        name for name, digest in current.items() if row.source_hashes.get(name) != digest
    )
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
