"""What every catalog importer produces, and the cell readers they share.

Importers never stop at a bad row: they report it (row number, column, reason)
and keep every good one. Row numbers are those a spreadsheet shows: the
header is row 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError, with_config

from plugins.catalog.importers.csvfile import EXTRA_CELLS, CsvFile

# Strict, and checked again on every check_types(): a platform's payload may hold anything.
STRICT = ConfigDict(strict=True, revalidate_instances="always")


@with_config(STRICT)
@dataclass
class ParsedVariant:
    sku: str | None
    title: str
    options: dict[str, str]
    price: Decimal | None
    row: int
    in_stock: bool | None = None  # None: the source does not say
    stock_quantity: int | None = None  # None: stock is not tracked
    external_id: str | None = None  # the platform's variant id, "woocommerce:76"


@with_config(STRICT)
@dataclass
class ParsedListing:
    handle: str
    title: str
    row: int
    external_id: str | None = None
    sku: str | None = None
    description_html: str = ""
    bullet_points: list[str] = field(default_factory=list)
    attributes: dict[str, list[str]] = field(default_factory=dict)
    price: Decimal | None = None
    in_stock: bool | None = None  # None: the source does not say
    stock_quantity: int | None = None  # None: stock is not tracked
    image_urls: list[str] = field(default_factory=list)
    variants: list[ParsedVariant] = field(default_factory=list)
    variants_listed: bool = True  # False: the source does not list them (kept as they are)
    extra: dict[str, Any] = field(default_factory=dict)


_SHAPES: dict[type, TypeAdapter[Any]] = {
    ParsedListing: TypeAdapter(ParsedListing),
    ParsedVariant: TypeAdapter(ParsedVariant),
}


def check_types(item: ParsedListing | ParsedVariant) -> None:
    """Every value of the type its column holds, or the first that is not, named."""
    try:
        _SHAPES[type(item)].validate_python(item)
    except ValidationError as exc:
        error = exc.errors()[0]
        column = ".".join(str(part) for part in error["loc"])
        raise RowRejected(column, error["msg"][0].lower() + error["msg"][1:]) from None


def stock(value: str | int | None, column: str) -> int | None:
    """A stock quantity: a whole number, or empty when stock is not tracked."""
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    try:
        quantity = int(text)
    except ValueError:
        raise RowRejected(column, f"{text[:40]!r} is not a whole number") from None
    if not -1_000_000 <= quantity <= 1_000_000_000:
        raise RowRejected(column, f"{quantity} is out of range")
    return quantity


def left(quantity: int | None) -> int | None:
    """A variant's quantity left: an oversold variant (below 0) has none."""
    return None if quantity is None else max(quantity, 0)


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column!r}: {self.reason}"


@dataclass
class Parsed:
    """A catalog source's listings, as they are read, and its rejected rows, filled in
    as the listings are read (a file's listings are built one pass over it at a time)."""

    format: str
    rows: int  # the source's data rows
    listings: Iterable[ParsedListing] = ()
    errors: list[RowError] = field(default_factory=list)
    source: CsvFile | None = None

    @property
    def rows_read(self) -> int:
        """How many of the source's rows the listings read so far come from."""
        return self.source.position - 1 if self.source is not None else self.rows


class RowRejected(Exception):
    """One row cannot be used; carries the column and the reason."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


MAX_PRICE = Decimal("1e10")  # what a Numeric(12, 2) column holds
LIMITS = {"handle": 255, "title": 500, "sku": 100}


def check_shape(row: dict[str, str]) -> None:
    """A row with more cells than the header has lost its alignment: refuse it."""
    if EXTRA_CELLS in row:
        raise RowRejected(
            "(whole row)", f"{row[EXTRA_CELLS]} more cells than the header has columns"
        )


def price(value: str, column: str) -> Decimal | None:
    if not value:
        return None
    try:
        amount = Decimal(value)
        if not amount.is_finite() or amount < 0 or amount >= MAX_PRICE:
            raise InvalidOperation
        return amount.quantize(Decimal("0.01"))
    except InvalidOperation:
        raise RowRejected(
            column, f"{value!r} is not a price (digits, a dot for decimals)"
        ) from None


def check_lengths(listing: ParsedListing) -> None:
    """Refuse values longer than the catalog stores (the row is reported, not truncated)."""
    _check_lengths(("handle", listing.handle), ("title", listing.title), ("sku", listing.sku))
    for variant in listing.variants:
        check_variant_lengths(variant)


def check_variant_lengths(variant: ParsedVariant) -> None:
    _check_lengths(("sku", variant.sku), ("title", variant.title))


def _check_lengths(*values: tuple[str, str | None]) -> None:
    for field_name, value in values:
        if len(value or "") > LIMITS[field_name]:
            raise RowRejected(field_name, f"longer than {LIMITS[field_name]} characters")


def split_list(value: str, separator: str = ",") -> list[str]:
    return [item.strip() for item in value.split(separator) if item.strip()]
