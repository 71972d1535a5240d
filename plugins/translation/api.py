"""The translation API: start runs, read, review and edit translations, export, glossary."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from flask import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from merchant_voice.plugin_api import (
    MAX_ID,
    ApiBlueprint,
    NotFound,
    ValidationFailed,
    current_settings,
    enqueue_job,
    get_or_404,
    safe_cell,
    tenant_session,
)
from plugins.catalog.public import Listing
from plugins.translation import glossary, review, service
from plugins.translation.document import FIELDS, build
from plugins.translation.glossary import GlossaryTermIn
from plugins.translation.locales import fallbacks, language, parse_locales
from plugins.translation.models import GlossaryEntry, ListingTranslation
from plugins.translation.protect import Glossary
from plugins.translation.settings import TranslationSettings

bp = ApiBlueprint("translation", __name__, plugin="translation")


class TranslateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    locales: list[str] | None = Field(None, description="Default: the merchant's market locales")
    overwrite_edits: bool = False


ListingId = Annotated[int, Field(ge=1, le=MAX_ID)]


class CatalogTranslateIn(TranslateIn):
    listing_ids: list[ListingId] | None = Field(
        None, max_length=100_000, description="Default: every listing"
    )


class JobQueued(BaseModel):
    job_id: str
    locales: list[str]
    listings: int


class TranslationOut(BaseModel):
    listing_id: int
    locale: str
    locale_name: str
    fields: dict[str, Any]
    flags: list[dict[str, str]]
    review: str
    outdated: bool
    outdated_fields: list[str]
    model: str
    translated_at: datetime
    updated_at: datetime
    fallback_from: str | None = None


class TranslationList(BaseModel):
    listing_id: int
    source_locale: str
    translations: list[TranslationOut]


class FieldsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=500)
    description_html: str | None = Field(None, max_length=200_000)
    bullet_points: list[Annotated[str, Field(min_length=1)]] | None = None
    attributes: dict[Annotated[str, Field(min_length=1)], list[str]] | None = None


class TranslationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    review: Literal["reviewed"] | None = Field(None, description="Approve as it stands")
    fields: FieldsIn | None = Field(None, description="Human edits; the translation becomes edited")


def _locale(value: str) -> str:
    return parse_locales([value], source_locale="", field="locale")[0]


class GlossaryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    terms: list[GlossaryTermIn]


def _listing(listing_id: int) -> Listing:
    return get_or_404(Listing, listing_id, "listing")


def _enqueue(payload: dict[str, Any]) -> str:
    session = tenant_session()
    job = enqueue_job(session, service.JOB_KIND, payload)
    session.commit()
    return str(job.id)


@bp.operation(
    "/listings/<int:listing_id>/translations",
    "POST",
    summary="Translate one listing into locales in a background job",
    body=TranslateIn,
    response=JobQueued,
    status=202,
)
def translate_listing(listing_id: int, body: TranslateIn) -> JobQueued:
    session = tenant_session()
    listing = _listing(listing_id)
    locales = service.target_locales(session, current_settings(TranslationSettings), body.locales)
    doc = build(listing, locales[0], language(locales[0]), Glossary(), {})
    if "description_html" in doc.flags:
        reason = doc.flags["description_html"]
        raise ValidationFailed(
            f"description_html: {reason}", [{"field": "description_html", "message": reason}]
        )
    payload = {
        "listing_ids": [listing_id],
        "locales": locales,
        "overwrite_edits": body.overwrite_edits,
    }
    return JobQueued(job_id=_enqueue(payload), locales=locales, listings=1)


@bp.operation(
    "/translations/jobs",
    "POST",
    summary="Translate the catalog (or some listings) into locales in a background job",
    body=CatalogTranslateIn,
    response=JobQueued,
    status=202,
)
def translate_catalog(body: CatalogTranslateIn) -> JobQueued:
    session = tenant_session()
    locales = service.target_locales(session, current_settings(TranslationSettings), body.locales)
    count = len(service.listing_ids(session, body.listing_ids))
    payload = {
        "listing_ids": body.listing_ids,
        "locales": locales,
        "overwrite_edits": body.overwrite_edits,
    }
    return JobQueued(job_id=_enqueue(payload), locales=locales, listings=count)


@bp.operation(
    "/listings/<int:listing_id>/translations",
    "GET",
    summary="A listing's translations",
    response=TranslationList,
)
def list_translations(listing_id: int) -> TranslationList:
    session = tenant_session()
    listing = _listing(listing_id)
    glossary = GlossaryEntry.rows(session)
    rows = service.rows_by_locale(session, listing_id)
    return TranslationList(
        listing_id=listing_id,
        source_locale=service.source_locale(session, current_settings(TranslationSettings)),
        translations=[
            TranslationOut.model_validate(service.view(rows[locale], listing, glossary))
            for locale in sorted(rows)
        ],
    )


def _translation(
    listing_id: int, locale: str, fallback: bool
) -> tuple[Listing, ListingTranslation]:
    listing = _listing(listing_id)
    rows = service.rows_by_locale(tenant_session(), listing_id)
    chain = fallbacks(locale, rows) if fallback else [locale] if locale in rows else []
    if not chain:
        raise NotFound(f"listing {listing_id} has no translation into {locale}")
    return listing, rows[chain[0]]


@bp.operation(
    "/listings/<int:listing_id>/translations/<locale>",
    "GET",
    summary="One translation; de_AT falls back to de, then to another German locale",
    response=TranslationOut,
)
def get_translation(listing_id: int, locale: str) -> TranslationOut:
    wanted = _locale(locale)
    listing, row = _translation(listing_id, wanted, fallback=True)
    glossary = GlossaryEntry.rows(tenant_session())
    return TranslationOut.model_validate(service.view(row, listing, glossary, requested=wanted))


@bp.operation(
    "/listings/<int:listing_id>/translations/<locale>",
    "PATCH",
    summary="Review a translation, or edit its fields",
    body=TranslationPatch,
    response=TranslationOut,
)
def patch_translation(listing_id: int, locale: str, body: TranslationPatch) -> TranslationOut:
    session = tenant_session()
    listing, row = _translation(listing_id, _locale(locale), fallback=False)
    edits = body.fields.model_dump(exclude_none=True) if body.fields else {}
    settings = current_settings(TranslationSettings)
    review.apply(session, listing, row, edits, approve=body.review is not None, settings=settings)
    session.commit()
    glossary = GlossaryEntry.rows(session)
    return TranslationOut.model_validate(service.view(row, listing, glossary))


@bp.operation(
    "/translations/<locale>/export.csv",
    "GET",
    summary="Every translation into one locale, as CSV (handle, sku, fields, review, flags)",
)
def export_csv(locale: str) -> Response:
    wanted = _locale(locale)
    session = tenant_session()
    glossary = GlossaryEntry.rows(session)
    query = (
        select(ListingTranslation, Listing)
        .join(Listing, Listing.id == ListingTranslation.listing_id)
        .where(ListingTranslation.locale == wanted)
        .order_by(Listing.id)
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["handle", "sku", *FIELDS, "review", "outdated", "flags"])
    for row, listing in session.execute(query):
        view = service.view(row, listing, glossary)
        fields = row.fields
        cells = [
            listing.handle,
            listing.sku or "",
            fields.get("title", ""),
            fields.get("description_html", ""),
            json.dumps(fields.get("bullet_points", []), ensure_ascii=False),
            json.dumps(fields.get("attributes", {}), ensure_ascii=False),
            row.review,
            "yes" if view["outdated"] else "no",
            "; ".join(f"{f['field']}: {f['reason']}" for f in row.flags),
        ]
        writer.writerow([safe_cell(cell) for cell in cells])
    filename = f"translations-{wanted}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.operation(
    "/translation/glossary", "GET", summary="The merchant's glossary", response=GlossaryIn
)
def get_glossary() -> GlossaryIn:
    return GlossaryIn(terms=glossary.terms(tenant_session()))


@bp.operation(
    "/translation/glossary",
    "PUT",
    summary="Replace the glossary: terms kept as written, or forced per locale",
    body=GlossaryIn,
    response=GlossaryIn,
)
def put_glossary(body: GlossaryIn) -> GlossaryIn:
    session = tenant_session()
    glossary.replace(session, body.terms)
    session.commit()
    return body
