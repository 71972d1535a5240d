"""The narration API: a listing's scripts per locale, written and rendered in a job,
edited and approved by the merchant; the audio and captions, and signed links to them
(``/api/v1/listings/<id>/narrations``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from flask import Response, send_file, url_for
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import select

from merchant_voice.plugin_api import (
    MAX_ID,
    ApiBlueprint,
    Conflict,
    EngineError,
    NotFound,
    current_merchant,
    current_settings,
    engines,
    get_or_404,
    tenant_session,
)
from plugins.catalog.public import Listing, chosen_ids
from plugins.narration import editing, lexicon, links, service, voicing
from plugins.narration.facts import Facts, facts
from plugins.narration.models import Narration
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


class CatalogNarrateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    listing_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        None, max_length=100_000, description="Default: every listing"
    )
    locales: list[Annotated[str, Field(min_length=2, max_length=35)]] | None = Field(
        None, min_length=1, max_length=50, description="Default: every locale the merchant sells in"
    )
    overwrite_edits: bool = False


class CatalogQueued(BaseModel):
    job_id: str
    locales: list[str]
    listings: int


class SignedLinks(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ogg: str
    mp3: str
    captions: str
    expires_at: datetime


class AudioOut(BaseModel):
    current: bool  # it says the script as it is now, with today's voice, lexicon and price
    seconds: float
    voice: str
    sample_rate: int  # the voice's (the Ogg Opus file plays at 48 kHz, the MP3 at 44.1)
    loudness_lufs: float  # integrated, EBU R128
    bytes: int  # the three files together
    rendered_at: datetime
    ogg: str  # these three with the API key
    mp3: str
    captions: str
    signed: SignedLinks  # these without, for a storefront, until they expire
    embed: str  # <audio> with its caption <track>, on the signed links


class NarrationOut(BaseModel):
    listing_id: int
    locale: str
    script: str
    status: str  # machine, flagged, edited, approved, review
    flags: list[str]  # why the script failed a check (flagged, review), or what an edit breaks
    outdated: bool  # the listing changed since the script was written
    source_locale: str  # the locale of the facts it was written from
    model: str
    updated_at: datetime
    audio: AudioOut | None  # None until rendered
    audio_error: str | None  # why the last rendering failed: no voice, the quota...
    rendering_job_id: str | None = None  # an edit's: the job that renders its audio


class NarrationList(BaseModel):
    listing_id: int
    narrations: list[NarrationOut]


class NarrationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    script: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] | None = Field(
        None, max_length=20_000
    )
    approved: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> NarrationPatch:
        if self.script is None and self.approved is None:
            raise ValueError("give a script, approved, or both")
        return self


def _out(listing: Listing, row: Narration, settings: NarrationSettings) -> NarrationOut:
    told = facts(tenant_session(), listing, row.locale)
    return NarrationOut(
        listing_id=listing.id,
        locale=row.locale,
        script=row.script,
        status=row.status,
        flags=row.flags,
        outdated=row.source_hash != told.fingerprint(settings.word_range()),
        source_locale=row.source_locale,
        model=row.model,
        updated_at=row.updated_at,
        audio=_audio(listing, row, told, settings) if row.audio_hash else None,
        audio_error=row.audio_error or None,
    )


def _audio(listing: Listing, row: Narration, told: Facts, settings: NarrationSettings) -> AudioOut:
    try:
        planned = voicing.plan(tenant_session(), engines().tts, listing, row, told.price)
        current = voicing.is_current(row, planned)
    except EngineError:  # no voice (any more) for the locale, no models
        current = False
    signed = links.links(current_merchant().slug, row, settings.link_lifetime())

    def url(name: str) -> str:
        return url_for(".narration_media", listing_id=listing.id, locale=row.locale, name=name)

    return AudioOut(
        current=current,
        seconds=row.audio_seconds or 0.0,
        voice=row.voice,
        sample_rate=row.sample_rate or 0,
        loudness_lufs=row.loudness_lufs or 0.0,
        bytes=row.audio_bytes,
        rendered_at=row.audio_at or row.updated_at,
        ogg=url("audio.ogg"),
        mp3=url("audio.mp3"),
        captions=url("captions.vtt"),
        signed=SignedLinks.model_validate(signed),
        embed=signed.embed(listing.title, row.locale),
    )


def _narration(listing_id: int, locale: str) -> tuple[Listing, Narration]:
    """The listing's narration in ``locale``: one the merchant sells in now, or one it
    did when the narration was made (it can still be read, edited and deleted)."""
    listing = get_or_404(Listing, listing_id, "listing")
    chosen = service.locale_named(locale, "locale")
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
    job = editing.queue(session, [listing_id], [locale], overwrite_edits=body.overwrite_edits)
    session.commit()
    return NarrationQueued(job_id=str(job.id), listing_id=listing_id, locale=locale)


@bp.operation(
    "/narrations/jobs",
    "POST",
    summary="Narrate the catalog (or some listings) in locales, in a background job",
    body=CatalogNarrateIn,
    response=CatalogQueued,
    status=202,
)
def narrate_catalog(body: CatalogNarrateIn) -> CatalogQueued:
    session = tenant_session()
    locales = service.locales(session, body.locales)
    count = len(chosen_ids(session, body.listing_ids))
    job = editing.queue(session, body.listing_ids, locales, overwrite_edits=body.overwrite_edits)
    session.commit()
    return CatalogQueued(job_id=str(job.id), locales=locales, listings=count)


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
    settings = current_settings(NarrationSettings)
    return NarrationList(
        listing_id=listing_id, narrations=[_out(listing, row, settings) for row in rows]
    )


@bp.operation(
    "/listings/<int:listing_id>/narrations/<locale>",
    "GET",
    summary="A listing's narration in a locale",
    response=NarrationOut,
)
def get_narration(listing_id: int, locale: str) -> NarrationOut:
    return _out(*_narration(listing_id, locale), current_settings(NarrationSettings))


@bp.operation(
    "/listings/<int:listing_id>/narrations/<locale>/<name>",
    "GET",
    summary="A narration's audio (Ogg Opus or MP3) or its WebVTT captions",
)
def narration_media(listing_id: int, locale: str, name: str) -> Response:
    _, row = _narration(listing_id, locale)
    path, content_type = editing.stored_medium(row, name)
    if path is None:
        if row.audio_error:
            raise Conflict(f"listing {listing_id} has no audio in {row.locale}: {row.audio_error}")
        raise NotFound(f"listing {listing_id} has no audio in {row.locale} yet")
    return send_file(path, mimetype=content_type, conditional=True)


@bp.operation(
    "/listings/<int:listing_id>/narrations/<locale>",
    "PATCH",
    summary="Edit or approve a listing's narration script",
    body=NarrationPatch,
    response=NarrationOut,
)
def edit_narration(listing_id: int, locale: str, body: NarrationPatch) -> NarrationOut:
    listing, row = _narration(listing_id, locale)
    settings = current_settings(NarrationSettings)
    session = tenant_session()
    job_id = editing.edit(
        session, listing, row, settings, script=body.script, approved=body.approved
    )
    tenant_session().commit()
    return _out(listing, row, settings).model_copy(update={"rendering_job_id": job_id})


@bp.operation(
    "/listings/<int:listing_id>/narrations/<locale>",
    "DELETE",
    summary="Delete a listing's narration in a locale, its script and its audio",
    status=204,
)
def delete_narration(listing_id: int, locale: str) -> None:
    _, row = _narration(listing_id, locale)
    editing.delete(tenant_session(), row)


class Lexicon(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[lexicon.Entry] = Field(max_length=5000)


class LexiconSaved(Lexicon):
    refresh_job_id: str  # the job that renders again the narrations it changes


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
    response=LexiconSaved,
)
def put_lexicon(body: Lexicon) -> LexiconSaved:
    session = tenant_session()
    job_id = editing.save_lexicon(session, body.entries)
    session.commit()
    return LexiconSaved(entries=lexicon.entries(session), refresh_job_id=job_id)
