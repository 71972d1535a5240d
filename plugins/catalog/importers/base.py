"""What every catalog importer produces, and the CSV reading they share.

Importers never stop at a bad row: they report it (row number, column, reason)
and keep every good one. Row numbers are those a spreadsheet shows: the
header is row 1.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError, with_config

from merchant_voice.plugin_api import BadRequest, read_cell

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
    format: str
    rows: int
    listings: list[ParsedListing] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


class RowRejected(Exception):
    """One row cannot be used; carries the column and the reason."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def read_rows(data: bytes) -> tuple[list[str], Iterator[dict[str, str]]]:
    """The CSV's header, and its rows as they are read (a file of any size is never held
    as rows at once); a file that is not UTF-8 CSV is refused whole, here or mid-way."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest(
            f"the file is not UTF-8 (invalid byte at offset {exc.start}); export it as UTF-8 CSV"
        ) from None
    if "\x00" in text:  # not text at all; nor can PostgreSQL store it
        offset = text.index("\x00")
        raise BadRequest(f"the file holds a NUL character (at offset {offset}): not a text CSV")
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey=EXTRA_CELLS, restval="")
    try:
        header = [name.strip() for name in reader.fieldnames or []]
    except csv.Error as exc:
        raise BadRequest(f"the file is not valid CSV: {exc}") from None
    if not header:
        raise BadRequest("the file is empty: a CSV header row is needed")
    reader.fieldnames = header

    def rows() -> Iterator[dict[str, str]]:
        try:
            for row in reader:
                yield {
                    k: _cell(v) if isinstance(v, str) else str(len(v or [])) for k, v in row.items()
                }
        except csv.Error as exc:
            raise BadRequest(f"the file is not valid CSV: {exc}") from None

    return header, rows()


def _cell(value: str) -> str:
    """A cell without its outer spaces, or the spreadsheet-safe quote the host's exports add."""
    return read_cell(value.strip()).strip()


EXTRA_CELLS = "\x00extra"
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
