"""Catalog import: detect the file's format, parse it, store the good listings.

Formats: Shopify product CSV (current and legacy column names) and WooCommerce
product CSV. A re-import updates listings in place, matched by handle.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

from sqlalchemy import select

from merchant_voice.plugin_api import BadRequest, TenantSession
from plugins.catalog.importers import shopify, woocommerce
from plugins.catalog.importers.base import (
    LIMITS,
    Parsed,
    ParsedListing,
    ParsedVariant,
    RowError,
    RowRejected,
    check_lengths,
    check_types,
)
from plugins.catalog.importers.csvfile import CsvFile
from plugins.catalog.models import Listing, Variant
from plugins.catalog.stock import settle

log = logging.getLogger(__name__)

Format = Literal["shopify", "woocommerce"]


class Parser(Protocol):
    def matches(self, header: list[str]) -> bool: ...

    def parse(self, file: CsvFile) -> Iterator[ParsedListing | RowError]:
        """Read the whole file once now (which counts its rows), then yield its listings
        and rejected rows as a second pass reads them."""
        ...


PARSERS: dict[str, Parser] = {"shopify": shopify, "woocommerce": woocommerce}


@dataclass
class ImportReport:
    format: str
    rows: int
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    clashes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "format": self.format,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "errors": [{"row": e.row, "column": e.column, "reason": e.reason} for e in self.errors],
            "clashes": self.clashes,
        }


def parse(data: bytes, format: str | None = None) -> Parsed:
    """A catalog file's listings, built as they are read (``format`` is detected from the
    header when not given); the file is refused whole if it cannot be read as one."""
    file = CsvFile(data)
    found = _format(file.header, format)
    items = PARSERS[found].parse(file)  # its first pass counts the rows
    parsed = Parsed(found, file.rows, source=file)
    parsed.listings = checked(_listings(items, parsed.errors), parsed.errors)
    return parsed


def _listings(
    items: Iterable[ParsedListing | RowError], errors: list[RowError]
) -> Iterator[ParsedListing]:
    for item in items:
        if isinstance(item, RowError):
            errors.append(item)
        else:
            yield item


def inspect(data: bytes, format: str | None = None) -> tuple[str, int]:
    """The file's format and number of rows, or why it cannot be read: what an upload
    is checked for before its job parses it (cheaply: no listings are built)."""
    file = CsvFile(data)
    return _format(file.header, format), file.count()


def _format(header: list[str], format: str | None) -> str:
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
    if not PARSERS[format].matches(header):
        raise BadRequest(f"the header is not that of a {format} product CSV")
    return format


def checked(listings: Iterable[ParsedListing], errors: list[RowError]) -> Iterator[ParsedListing]:
    """The listings, less those with a value of the wrong type or too long, or a handle
    seen before: those become ``errors``."""
    first_row: dict[str, int] = {}
    for listing in listings:
        try:
            check(listing)
        except RowRejected as exc:
            errors.append(RowError(listing.row, exc.column, exc.reason))
            continue
        if listing.handle in first_row:
            repeated = f"{listing.handle!r} repeats row {first_row[listing.handle]}"
            errors.append(RowError(listing.row, "handle", repeated))
            continue
        first_row[listing.handle] = listing.row
        yield listing


def check(listing: ParsedListing) -> None:
    """Raise :class:`RowRejected` for a value of the wrong type, or one too long to store."""
    check_types(listing)
    check_lengths(listing)


def store(
    session: TenantSession,
    parsed: Parsed,
    progress: Callable[[int], None] | None = None,
    batch: int = 500,
) -> ImportReport:
    """Create or update one listing per parsed product, committing in batches.

    A product is matched on the platform's id, then on its handle. When it takes a
    handle another listing holds (a product renamed on the platform onto a handle
    made here), the product wins the handle, the other listing is given a free one,
    and the report names the clash.
    """
    report = ImportReport(parsed.format, parsed.rows)
    listings = iter(parsed.listings)
    read = 0
    while chunk := list(itertools.islice(listings, batch)):
        if not session.in_transaction():  # read, then write, beside the API's writes
            session.writes_first()
        by_handle, by_external = _existing(session, chunk)
        for item in chunk:
            # The platform's own id wins: a product whose handle changed is still the same one.
            listing = by_external.get(item.external_id or "")
            holder = by_handle.get(item.handle)
            if listing is None and holder is not None and _same_product(holder, item):
                listing = holder
            if holder is not None and holder is not listing:
                report.clashes.append(_make_way(session, holder, item))
                by_handle[holder.handle] = holder
            if listing is None:
                listing = Listing(handle=item.handle, currency=session.merchant.currency)
                session.add(listing)
                report.created += 1
            else:
                report.updated += 1
            renamed = listing.handle is not None and listing.handle != item.handle
            if renamed and by_handle.get(listing.handle) is listing:
                del by_handle[listing.handle]  # its old handle is free for a later product
            by_handle[item.handle] = listing
            _apply(listing, item, parsed.format)
            if renamed:
                session.flush()  # before a later product takes the old handle
        session.commit()
        if progress is not None:
            progress(parsed.rows_read - read)
        read = parsed.rows_read
    if progress is not None and parsed.rows > read:  # rows after the last listing stored
        progress(parsed.rows - read)
    report.errors = sorted(parsed.errors, key=lambda error: error.row)
    return report


def _existing(
    session: TenantSession, items: list[ParsedListing]
) -> tuple[dict[str, Listing], dict[str, Listing]]:
    """The listings ``items`` may update, by handle and by the platform's id."""
    handles = [item.handle for item in items]
    external = [item.external_id for item in items if item.external_id]
    found = session.scalars(
        select(Listing).where(Listing.handle.in_(handles) | Listing.external_id.in_(external))
    ).all()
    by_handle = {listing.handle: listing for listing in found}
    by_external = {listing.external_id: listing for listing in found if listing.external_id}
    return by_handle, by_external


def _same_product(listing: Listing, item: ParsedListing) -> bool:
    """Whether a listing found by ``item``'s handle is that product: never a listing that
    stands for another of the platform's products."""
    return not (
        item.external_id and listing.external_id and listing.external_id != item.external_id
    )


def _make_way(session: TenantSession, holder: Listing, item: ParsedListing) -> str:
    """Give ``holder`` a free handle, so that ``item`` can take its own; what happened."""
    session.flush()  # the holder has an id, and the renaming is written before the taking
    base = f"{item.handle[: LIMITS['handle'] - 12]}-{holder.id}"
    handle, n = base, 1
    while session.scalar(select(Listing.id).where(Listing.handle == handle)) is not None:
        n += 1
        handle = f"{base}-{n}"
    holder.handle = handle
    session.flush()
    clash = (
        f"handle {item.handle!r} now names the {item.external_id or 'imported'} product;"
        f" listing {holder.id}, which had it, is now {handle!r}"
    )
    log.warning("catalog of %s: %s", session.merchant.slug, clash)
    return clash


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
