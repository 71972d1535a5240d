"""The narration API: a listing's scripts per locale, written in a job, edited and
approved by the merchant (``/api/v1/listings/<id>/narrations``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select

from merchant_voice.plugin_api import (
    ApiBlueprint,
    NotFound,
    current_settings,
    enqueue_job,
    get_or_404,
    tenant_session,
)
from plugins.catalog.public import Listing
from plugins.narration import lexicon, service
from plugins.narration.checks import problems
from plugins.narration.facts import facts
from plugins.narration.models import Narration, ScriptStatus
from plugins.narration.settings import NarrationSettings

bp = ApiBlueprint("narration", __name__, plugin="narration")


class NarrateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    locale: str = Field(min_length=2, max_length=35)
    overwrite_edits: bool = False  # also replace a script a person edited or approved


class NarrationQueued(BaseModel):
    job_id: str
    listing_id: int
    locale: str


class NarrationOut(BaseModel):
    listing_id: int
    locale: str
    script: str
    status: str  # machine, flagged, edited, approved
    flags: list[str]  # why the script failed a check (flagged), or what an edit breaks
    outdated: bool  # the listing changed since the script was written
    source_locale: str  # the locale of the facts it was written from
    model: str
    updated_at: datetime


class NarrationList(BaseModel):
    listing_id: int
    narrations: list[NarrationOut]


class NarrationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    script: str | None = Field(None, min_length=1, max_length=20_000)
    approved: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> NarrationPatch:
        if self.script is None and self.approved is None:
            raise ValueError("give a script, approved, or both")
        return self


def _out(listing: Listing, row: Narration) -> NarrationOut:
    settings = current_settings(NarrationSettings)
    return NarrationOut(
        listing_id=listing.id,
        locale=row.locale,
        script=row.script,
        status=row.status,
        flags=row.flags,
        outdated=service.outdated(tenant_session(), settings, listing, row),
        source_locale=row.source_locale,
        model=row.model,
        updated_at=row.updated_at,
    )


def _narration(listing_id: int, locale: str) -> tuple[Listing, Narration]:
    listing = get_or_404(Listing, listing_id, "listing")
    chosen = service.locales(tenant_session(), [locale])[0]
    row = tenant_session().scalar(
        select(Narration).where(Narration.listing_id == listing_id, Narration.locale == chosen)
    )
    if row is None:
        raise NotFound(f"listing {listing_id} has no narration in {chosen} yet")
    return listing, row


@bp.operation(
    "/listings/<int:listing_id>/narrations",
    "POST",
    summary="Write a listing's narration in a locale, in a background job",
    body=NarrateIn,
    response=NarrationQueued,
    status=202,
)
def narrate_listing(listing_id: int, body: NarrateIn) -> NarrationQueued:
    get_or_404(Listing, listing_id, "listing")
    session = tenant_session()
    locale = service.locales(session, [body.locale])[0]
    payload = {
        "listing_ids": [listing_id],
        "locales": [locale],
        "overwrite_edits": body.overwrite_edits,
    }
    job = enqueue_job(session, service.JOB_KIND, payload)
    session.commit()
    return NarrationQueued(job_id=str(job.id), listing_id=listing_id, locale=locale)


@bp.operation(
    "/listings/<int:listing_id>/narrations",
    "GET",
    summary="A listing's narrations",
    response=NarrationList,
)
def list_narrations(listing_id: int) -> NarrationList:
    listing = get_or_404(Listing, listing_id, "listing")
    rows = (
        tenant_session()
        .scalars(
            select(Narration).where(Narration.listing_id == listing_id).order_by(Narration.locale)
        )
        .all()
    )  # read whole: each row's view reads the listing's facts
    return NarrationList(listing_id=listing_id, narrations=[_out(listing, row) for row in rows])


@bp.operation(
    "/listings/<int:listing_id>/narrations/<locale>",
    "GET",
    summary="A listing's narration in a locale",
    response=NarrationOut,
)
def get_narration(listing_id: int, locale: str) -> NarrationOut:
    return _out(*_narration(listing_id, locale))


@bp.operation(
    "/listings/<int:listing_id>/narrations/<locale>",
    "PATCH",
    summary="Edit or approve a listing's narration script",
    body=NarrationPatch,
    response=NarrationOut,
)
def edit_narration(listing_id: int, locale: str, body: NarrationPatch) -> NarrationOut:
    listing, row = _narration(listing_id, locale)
    if body.script is not None:  # a person's script stands; what it breaks is shown
        settings = current_settings(NarrationSettings)
        row.script = " ".join(body.script.split())
        told = facts(tenant_session(), listing, row.locale)
        row.flags = problems(row.script, told, settings.word_range())
        row.status = ScriptStatus.EDITED.value
    if body.approved:
        row.status = ScriptStatus.APPROVED.value
    elif body.approved is False and row.status == ScriptStatus.APPROVED.value:
        row.status = ScriptStatus.EDITED.value
    tenant_session().commit()
    return _out(listing, row)


class Lexicon(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[lexicon.Entry] = Field(max_length=5000)


@bp.operation(
    "/narration/lexicon", "GET", summary="The merchant's pronunciation lexicon", response=Lexicon
)
def get_lexicon() -> Lexicon:
    return Lexicon(entries=lexicon.entries(tenant_session()))


@bp.operation(
    "/narration/lexicon",
    "PUT",
    summary="Replace the merchant's pronunciation lexicon",
    body=Lexicon,
    response=Lexicon,
)
def put_lexicon(body: Lexicon) -> Lexicon:
    session = tenant_session()
    lexicon.replace(session, body.entries)
    session.commit()
    return Lexicon(entries=lexicon.entries(session))
