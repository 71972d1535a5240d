"""The catalog's API: ``/api/v1/listings`` (JSON CRUD) and ``/api/v1/catalog/imports``.

Variants carry their own stock; where theirs is known, the listing's is derived
from it, and a listing figure that disagrees is refused (:mod:`plugins.catalog.stock`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from flask import request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from merchant_voice.plugin_api import (
    ApiBlueprint,
    Conflict,
    ValidationFailed,
    get_or_404,
    normalize_currency,
    query_int,
    tenant_session,
)
from plugins.catalog.imports import queue_import
from plugins.catalog.models import Listing, Variant
from plugins.catalog.stock import available, from_variants, settle

bp = ApiBlueprint("catalog", __name__, plugin="catalog")

Price = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
Quantity = Annotated[int, Field(strict=True, ge=0, le=1_000_000_000)]


class VariantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str | None = Field(None, max_length=100)
    title: str = Field("", max_length=500)
    options: dict[str, str] = {}
    price: Price | None = None
    in_stock: bool | None = None  # null: unknown
    stock_quantity: Quantity | None = None  # null: not tracked


class ListingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handle: str = Field(min_length=1, max_length=255, pattern=r"^\S+$")
    title: str = Field(min_length=1, max_length=500)
    sku: str | None = Field(None, max_length=100)
    description_html: str = Field("", max_length=200_000)
    bullet_points: list[str] = []
    attributes: dict[str, list[str]] = {}
    price: Price | None = None
    currency: Annotated[str, AfterValidator(normalize_currency)] | None = None
    in_stock: bool | None = None
    stock_quantity: int | None = Field(None, ge=-1_000_000, le=1_000_000_000)
    image_urls: list[Annotated[str, Field(pattern=r"^https?://\S+$")]] = []
    variants: list[VariantIn] = []


class VariantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sku: str | None
    title: str
    options: dict[str, str]
    price: Decimal | None
    in_stock: bool | None
    stock_quantity: int | None


class ListingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    handle: str
    title: str
    sku: str | None
    description_html: str
    bullet_points: list[str]
    attributes: dict[str, list[str]]
    price: Decimal | None
    currency: str
    in_stock: bool | None
    stock_quantity: int | None
    image_urls: list[str]
    source: str
    variants: list[VariantOut]


# A page's columns as rows, not tracked objects (a page is read, never written), with the
# count of all; one query for its variants, not one a listing. Built once.
PAGE = select(
    *(getattr(Listing, name) for name in ListingOut.model_fields if name != "variants"),
    func.count().over().label("total"),  # of all the listings, on every row of the page
).order_by(Listing.id)
PAGE_VARIANTS = (
    select(Variant.listing_id, *(getattr(Variant, name) for name in VariantOut.model_fields))
    .where(Variant.listing_id.in_(bindparam("ids", expanding=True)))
    .order_by(Variant.position)
)
COUNT = select(func.count(Listing.id))


class ListingPage(BaseModel):
    listings: list[ListingOut]
    total: int
    limit: int
    offset: int


def _listing(listing_id: int) -> Listing:
    return get_or_404(Listing, listing_id, "listing")


def _check_stock(body: ListingIn) -> None:
    """A flag must agree with its quantity; where the variants' stock is known, the
    listing's must agree with it, or be left out."""
    flagged: list[tuple[str, ListingIn | VariantIn]] = [("in_stock", body)]
    flagged += [(f"variants.{n}.in_stock", variant) for n, variant in enumerate(body.variants)]
    errors = [
        {"field": field, "message": f"stock_quantity {item.stock_quantity} says otherwise"}
        for field, item in flagged
        if item.in_stock is not None and available(item) not in (None, item.in_stock)
    ]
    derived = from_variants(body.variants)
    if derived is None:
        _refuse(errors)
        return
    quantity, in_stock = derived
    if body.stock_quantity is not None and body.stock_quantity != quantity:
        total = f"their total, {quantity}" if quantity is not None else "none"
        message = f"the variants' stock gives the listing's ({total}): leave it out"
        errors.append({"field": "stock_quantity", "message": message})
    if body.in_stock is not None and body.in_stock != in_stock:
        message = f"the variants' stock says {str(in_stock).lower()}: leave it out"
        errors.append({"field": "in_stock", "message": message})
    _refuse(errors)


def _refuse(errors: list[dict[str, str]]) -> None:
    if errors:
        raise ValidationFailed("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors)


def _apply(listing: Listing, body: ListingIn) -> None:
    _check_stock(body)
    values: dict[str, Any] = body.model_dump(exclude={"variants", "currency"})
    for key, value in values.items():
        setattr(listing, key, value)
    listing.currency = body.currency or tenant_session().merchant.currency
    listing.variants = [
        Variant(**variant.model_dump(), position=position)
        for position, variant in enumerate(body.variants)
    ]
    settle(listing)


def _commit(handle: str) -> None:
    try:
        tenant_session().commit()
    except IntegrityError:
        tenant_session().rollback()
        raise Conflict(f"a listing with handle {handle!r} already exists") from None


@bp.operation("/listings", "GET", summary="List the merchant's listings", response=ListingPage)
def list_listings() -> ListingPage:
    limit = query_int("limit", 50, 1, 500)
    offset = query_int("offset", 0, 0, 10**9)
    session = tenant_session()
    rows = session.execute(PAGE.limit(limit).offset(offset)).mappings().all()
    variants: dict[int, list[dict[str, Any]]] = {row["id"]: [] for row in rows}
    if variants:
        for variant in session.execute(PAGE_VARIANTS, {"ids": list(variants)}).mappings():
            variants[variant["listing_id"]].append(dict(variant))
    total = rows[0]["total"] if rows else session.scalar(COUNT) or 0
    return ListingPage(
        listings=[
            ListingOut.model_validate({**row, "variants": variants[row["id"]]}) for row in rows
        ],
        total=total,
        limit=limit,
        offset=offset,
    )


@bp.operation(
    "/listings", "POST", summary="Add a listing", body=ListingIn, response=ListingOut, status=201
)
def create_listing(body: ListingIn) -> ListingOut:
    listing = Listing(handle=body.handle, source="api")
    _apply(listing, body)
    tenant_session().add(listing)
    _commit(body.handle)
    return ListingOut.model_validate(listing)


@bp.operation("/listings/<int:listing_id>", "GET", summary="One listing", response=ListingOut)
def get_listing(listing_id: int) -> ListingOut:
    return ListingOut.model_validate(_listing(listing_id))


@bp.operation(
    "/listings/<int:listing_id>",
    "PUT",
    summary="Replace a listing",
    body=ListingIn,
    response=ListingOut,
)
def replace_listing(listing_id: int, body: ListingIn) -> ListingOut:
    listing = _listing(listing_id)
    _apply(listing, body)
    _commit(body.handle)
    return ListingOut.model_validate(listing)


@bp.operation("/listings/<int:listing_id>", "DELETE", summary="Delete a listing", status=204)
def delete_listing(listing_id: int) -> None:
    session = tenant_session()
    session.delete(_listing(listing_id))
    session.commit()


class ImportQueued(BaseModel):
    import_id: int
    job_id: str
    format: str
    rows: int


@bp.operation(
    "/catalog/imports",
    "POST",
    status=202,
    response=ImportQueued,
    summary="Import a catalog file (multipart: file, optional format) in a background job",
)
def create_import() -> ImportQueued:
    format_ = request.form.get("format") or None
    record, job, rows = queue_import(tenant_session(), request.files.get("file"), format_)
    return ImportQueued(import_id=record.id, job_id=job.id, format=record.format or "", rows=rows)
