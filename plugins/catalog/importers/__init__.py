"""Catalog import: detect the file's format, parse it, store the good listings.

Formats: Shopify product CSV (current and legacy column names) and WooCommerce
product CSV. A re-import updates listings in place, matched by handle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from sqlalchemy import select

from merchant_voice.plugin_api import BadRequest, TenantSession
from plugins.catalog.importers import shopify, woocommerce
from plugins.catalog.importers.base import (
    Parsed,
    ParsedListing,
    ParsedVariant,
    RowError,
    RowRejected,
    check_lengths,
    read_rows,
)
from plugins.catalog.models import Listing, Variant
from plugins.catalog.stock import settle

Format = Literal["shopify", "woocommerce"]


class Parser(Protocol):
    def matches(self, header: list[str]) -> bool: ...

    def parse(self, header: list[str], rows: list[dict[str, str]]) -> Parsed: ...


PARSERS: dict[str, Parser] = {"shopify": shopify, "woocommerce": woocommerce}


@dataclass
class ImportReport:
    format: str
    rows: int
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "format": self.format,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "errors": [{"row": e.row, "column": e.column, "reason": e.reason} for e in self.errors],
        }


def parse(data: bytes, format: str | None = None) -> Parsed:
    """Parse a catalog file; ``format`` is detected from the header when not given."""
    header, rows = read_rows(data)
    if format is None:
        detected = [name for name, module in PARSERS.items() if module.matches(header)]
        if len(detected) != 1:
            raise BadRequest(
                "cannot tell the file's format from its header: expected a Shopify product CSV"
                " (Handle or URL handle column) or a WooCommerce one (ID, Type, SKU, Name)"
            )
        format = detected[0]
    if format not in PARSERS:
        raise BadRequest(f"unknown format {format!r}: use one of {', '.join(sorted(PARSERS))}")
    module = PARSERS[format]
    if not module.matches(header):
        raise BadRequest(f"the header is not that of a {format} product CSV")
    return checked(module.parse(header, rows))


def checked(parsed: Parsed) -> Parsed:
    """Move listings with over-long values or a handle seen before into the errors."""
    kept: list[ParsedListing] = []
    first_row: dict[str, int] = {}
    for listing in parsed.listings:
        try:
            check_lengths(listing)
        except RowRejected as exc:
            parsed.errors.append(RowError(listing.row, exc.column, exc.reason))
            continue
        if listing.handle in first_row:
            parsed.errors.append(
                RowError(
                    listing.row,
                    "handle",
                    f"{listing.handle!r} repeats row {first_row[listing.handle]}",
                )
            )
            continue
        first_row[listing.handle] = listing.row
        kept.append(listing)
    parsed.listings = kept
    parsed.errors.sort(key=lambda error: error.row)
    return parsed


def store(
    session: TenantSession,
    parsed: Parsed,
    progress: Callable[[int], None] | None = None,
    batch: int = 100,
) -> ImportReport:
    """Create or update one listing per parsed product, committing in batches."""
    report = ImportReport(parsed.format, parsed.rows, errors=list(parsed.errors))
    handles = [p.handle for p in parsed.listings]
    external = [p.external_id for p in parsed.listings if p.external_id]
    found = session.scalars(
        select(Listing).where(Listing.handle.in_(handles) | Listing.external_id.in_(external))
    ).all()
    by_handle = {listing.handle: listing for listing in found}
    by_external = {listing.external_id: listing for listing in found if listing.external_id}
    for done, item in enumerate(parsed.listings, start=1):
        # The platform's own id wins: a product whose handle changed is still the same one.
        listing = by_external.get(item.external_id or "") or by_handle.get(item.handle)
        if listing is None:
            listing = Listing(handle=item.handle, currency=session.merchant.currency)
            session.add(listing)
            by_handle[item.handle] = listing
            report.created += 1
        else:
            report.updated += 1
        _apply(listing, item, parsed.format)
        if done % batch == 0:
            session.commit()
        if progress is not None:
            progress(1)
    session.commit()
    return report


def _apply(listing: Listing, item: ParsedListing, source: str) -> None:
    listing.handle = item.handle
    listing.title = item.title
    listing.external_id = item.external_id
    listing.sku = item.sku
    listing.description_html = item.description_html
    listing.bullet_points = item.bullet_points
    listing.attributes = item.attributes
    listing.price = item.price
    listing.in_stock = item.in_stock
    listing.stock_quantity = item.stock_quantity
    listing.image_urls = item.image_urls
    listing.source = source
    listing.extra = item.extra
    if item.variants_listed:
        listing.variants = [variant(v, position) for position, v in enumerate(item.variants)]
    settle(listing)


VARIANT_FIELDS = ("external_id", "sku", "title", "options", "price", "in_stock", "stock_quantity")


def variant(item: ParsedVariant, position: int) -> Variant:
    return fill(Variant(position=position), item)


def fill(target: Variant, item: ParsedVariant) -> Variant:
    """Write a parsed variant onto a stored one."""
    for key in VARIANT_FIELDS:
        setattr(target, key, getattr(item, key))
    return target
