"""Shopify product CSV, in both the current and the legacy column names.

Rows that share a handle are one product, wherever they are in the file (a
first pass finds each product's last row, so each is handed on as soon as it is
whole): the first carries the product
(title, description...), every row may carry a variant (its option values,
SKU, price and inventory quantity) and an image. ``Default Title`` is Shopify's
option value for a product without variants. An inventory quantity counts where
the file has no tracker column, or the row's tracker is set.
"""

from __future__ import annotations

from collections.abc import Iterator

from plugins.catalog.importers.base import (
    ParsedListing,
    ParsedVariant,
    RowError,
    RowRejected,
    check_shape,
    left,
    price,
    split_list,
    stock,
)
from plugins.catalog.importers.csvfile import CsvFile

# field -> (current name, legacy name)
COLUMNS = {
    "handle": ("URL handle", "Handle"),
    "title": ("Title", "Title"),
    "description": ("Description", "Body (HTML)"),
    "vendor": ("Vendor", "Vendor"),
    "type": ("Type", "Type"),
    "tags": ("Tags", "Tags"),
    "sku": ("SKU", "Variant SKU"),
    "price": ("Price", "Variant Price"),
    "stock": ("Inventory quantity", "Variant Inventory Qty"),
    "tracker": ("Inventory tracker", "Variant Inventory Tracker"),  # blank: not tracked
    "image": ("Product image URL", "Image Src"),
    "variant_image": ("Variant image URL", "Variant Image"),
}
OPTION_NAME = ("Option{} name", "Option{} Name")
OPTION_VALUE = ("Option{} value", "Option{} Value")
DEFAULT_TITLE = "Default Title"


def matches(header: list[str]) -> bool:
    return "URL handle" in header or "Handle" in header


class _Columns:
    """Reads fields by meaning, whichever layout the file uses."""

    def __init__(self, header: list[str]) -> None:
        self.legacy = "Handle" in header and "URL handle" not in header
        self.index = 1 if self.legacy else 0
        self.has_tracker = self.name("tracker") in header

    def name(self, field: str) -> str:
        return COLUMNS[field][self.index]

    def get(self, row: dict[str, str], field: str) -> str:
        return row.get(self.name(field), "")

    def stock(self, row: dict[str, str]) -> int | None:
        """The row's inventory quantity; None where it is not tracked."""
        if self.has_tracker and not self.get(row, "tracker"):
            return None
        return stock(self.get(row, "stock"), self.name("stock"))

    def options(self, row: dict[str, str], names: list[str]) -> dict[str, str]:
        """Option values by name; Shopify names the options only on a product's first row."""
        found = {}
        for n in (1, 2, 3):
            name = row.get(OPTION_NAME[self.index].format(n), "")
            if len(names) < n:
                names.append(name or f"Option {n}")
            elif name:
                names[n - 1] = name
            value = row.get(OPTION_VALUE[self.index].format(n), "")
            if value and value != DEFAULT_TITLE:
                found[names[n - 1]] = value
        return found


def parse(file: CsvFile) -> Iterator[ParsedListing | RowError]:
    """Each product once its last row is read, and each rejected row, in two passes: the
    first, now, finds where each handle's rows end (rows need not be grouped)."""
    columns = _Columns(file.header)
    last_row = {handle: number for number, (handle,) in file.columns(columns.name("handle"))}
    return _products(file, columns, last_row)


def _products(
    file: CsvFile, columns: _Columns, last_row: dict[str, int]
) -> Iterator[ParsedListing | RowError]:
    products: dict[str, ParsedListing] = {}
    rejected: dict[str, int] = {}
    option_names: dict[str, list[str]] = {}
    for number, row in file.numbered():
        handle = columns.get(row, "handle")
        try:
            check_shape(row)
            if not handle:
                raise RowRejected(columns.name("handle"), "the handle is missing")
            if handle in rejected:
                raise RowRejected(
                    columns.name("handle"),
                    f"skipped: the first row of {handle!r} (row {rejected[handle]}) was rejected",
                )
        except RowRejected as exc:
            yield RowError(number, exc.column, exc.reason)
        else:
            try:
                _read_row(row, number, handle, columns, products, option_names)
            except RowRejected as exc:
                yield RowError(number, exc.column, exc.reason)
                if handle not in products:
                    rejected[handle] = number
        if handle and last_row.get(handle) == number:  # the product's rows are all read
            del last_row[handle]
            rejected.pop(handle, None)
            option_names.pop(handle, None)
            listing = products.pop(handle, None)
            if listing is not None:
                yield _finished(listing)


def _read_row(
    row: dict[str, str],
    number: int,
    handle: str,
    columns: _Columns,
    products: dict[str, ParsedListing],
    option_names: dict[str, list[str]],
) -> None:
    listing = products.get(handle)
    first = listing is None
    if listing is None:
        listing = _product(row, columns, handle, number)
    _add_row(listing, row, columns, number, option_names.setdefault(handle, []))
    if first:  # kept only once its first row is wholly good
        products[handle] = listing


def _finished(listing: ParsedListing) -> ParsedListing:
    """The product's option values as attributes, and its lowest variant price."""
    for variant in listing.variants:
        for name in list(variant.options):
            if name not in listing.attributes:
                listing.attributes[name] = []
            if variant.options[name] not in listing.attributes[name]:
                listing.attributes[name].append(variant.options[name])
    if listing.variants and listing.price is None:
        prices = [v.price for v in listing.variants if v.price is not None]
        listing.price = min(prices) if prices else None
    return listing


def _product(row: dict[str, str], columns: _Columns, handle: str, number: int) -> ParsedListing:
    title = columns.get(row, "title")
    if not title:
        raise RowRejected(columns.name("title"), "the first row of a product needs its title")
    return ParsedListing(
        handle=handle,
        title=title,
        row=number,
        description_html=columns.get(row, "description"),
        extra={
            "vendor": columns.get(row, "vendor"),
            "type": columns.get(row, "type"),
            "tags": split_list(columns.get(row, "tags")),
            "layout": "legacy" if columns.legacy else "current",
        },
    )


def _add_row(
    listing: ParsedListing,
    row: dict[str, str],
    columns: _Columns,
    number: int,
    option_names: list[str],
) -> None:
    image = columns.get(row, "image") or columns.get(row, "variant_image")
    if image and image not in listing.image_urls:
        listing.image_urls.append(image)
    options = columns.options(row, option_names)
    sku = columns.get(row, "sku") or None
    variant_price = price(columns.get(row, "price"), columns.name("price"))
    quantity = columns.stock(row)
    if not options and not sku and variant_price is None:
        return  # an image-only row
    if not options and not listing.variants:  # a product without variants
        listing.sku = sku
        listing.price = variant_price
        listing.stock_quantity = quantity
        listing.in_stock = None if quantity is None else quantity > 0
        return
    title = " / ".join(options.values())
    listing.variants.append(
        ParsedVariant(sku, title, options, variant_price, number, stock_quantity=left(quantity))
    )
