"""WooCommerce product CSV (the core exporter's layout).

Simple, variable, grouped and external products become listings; ``variation``
rows become variants of the product their ``Parent`` column names (by SKU, or
``id:NN``), each with its own stock (``In stock?``, ``Stock``). Attribute
columns come in numbered groups (``Attribute 1 name``, ``Attribute 1 value(s)``...).
"""

from __future__ import annotations

import re
from collections import deque
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

REQUIRED = ("ID", "Type", "SKU", "Name")
_ATTRIBUTE = re.compile(r"^Attribute (\d+) name$")
_LIST_ITEM = re.compile(r"<li[^>]*>(.*?)</li>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def matches(header: list[str]) -> bool:
    return all(column in header for column in REQUIRED)


def _attributes(row: dict[str, str], header: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for column in header:
        match = _ATTRIBUTE.match(column)
        if match and row.get(column):
            values = split_list(row.get(f"Attribute {match[1]} value(s)", ""))
            if values:
                found[row[column]] = values
    return found


def bullet_points(html: str) -> list[str]:
    """The items of the lists in ``html``, as plain text (Woo's short description)."""
    items = (_TAG.sub("", item).strip() for item in _LIST_ITEM.findall(html))
    return [item for item in items if item]


def _text(value: str) -> str:
    """Woo writes line breaks inside cells as a literal backslash-n."""
    return value.replace("\\n", "\n")


def _listing(row: dict[str, str], header: list[str], number: int) -> ParsedListing:
    name = row.get("Name", "")
    if not name:
        raise RowRejected("Name", "a product needs a name")
    sku = row.get("SKU") or None
    short = _text(row.get("Short description", ""))
    return ParsedListing(
        handle=sku or f"woo-{row['ID']}",
        title=name,
        row=number,
        external_id=f"woocommerce:{row['ID']}",
        sku=sku,
        description_html=_text(row.get("Description", "")),
        bullet_points=bullet_points(short),
        attributes=_attributes(row, header),
        price=price(row.get("Regular price", ""), "Regular price"),
        in_stock=_in_stock(row),
        stock_quantity=stock(row.get("Stock", ""), "Stock"),
        image_urls=split_list(row.get("Images", "")),
        extra={
            "woocommerce_id": row["ID"],
            "type": row["Type"],
            "short_description": short,
            "categories": split_list(row.get("Categories", "")),
            "sale_price": row.get("Sale price") or None,
        },
    )


def parse(file: CsvFile) -> Iterator[ParsedListing | RowError]:
    """Each product once the last variation naming it is read, and each rejected row, in
    two passes: the first, now, finds each parent's last variation (in any order)."""
    last_variation = {
        parent: number
        for number, (kinds, parent) in file.columns("Type", "Parent")
        if parent and "variation" in split_list(kinds)
    }
    return _products(file, last_variation)


def _products(file: CsvFile, last_variation: dict[str, int]) -> Iterator[ParsedListing | RowError]:
    header = file.header
    by_key: dict[str, ParsedListing] = {}  # the products whose variations are still to come
    # In the file's order (as checked() expects: the first of two equal handles wins), each
    # once its last variation is read: (that row, the product).
    due: deque[tuple[int, ParsedListing]] = deque()
    orphans: dict[str, list[ParsedVariant]] = {}  # variations read before their parent
    for number, row in file.numbered():
        try:
            listing = _read_row(row, header, number, by_key, orphans)
        except RowRejected as exc:
            yield RowError(number, exc.column, exc.reason)
        else:
            if listing is not None:
                keys = _keys(listing)
                for key in keys:
                    listing.variants.extend(orphans.pop(key, []))
                    by_key[key] = listing
                listing.variants.sort(key=lambda variant: variant.row)
                due.append((max([number] + [last_variation.get(key, 0) for key in keys]), listing))
        while due and due[0][0] <= number:
            done = due.popleft()[1]
            for key in _keys(done):
                if by_key.get(key) is done:
                    del by_key[key]
            yield done
    for parent, variants in orphans.items():
        for variant in variants:
            yield RowError(variant.row, "Parent", f"no product {parent!r} in this file")


def _keys(listing: ParsedListing) -> list[str]:
    """What a variation's Parent column may name the product by: ``id:NN`` or its SKU."""
    return [f"id:{listing.extra['woocommerce_id']}", *([listing.sku] if listing.sku else [])]


def _read_row(
    row: dict[str, str],
    header: list[str],
    number: int,
    by_key: dict[str, ParsedListing],
    orphans: dict[str, list[ParsedVariant]],
) -> ParsedListing | None:
    """The row's product, or None for a variation (added to its parent, or kept for it)."""
    check_shape(row)
    kinds = split_list(row.get("Type", ""))
    if not row.get("ID"):
        raise RowRejected("ID", "every row needs the product ID")
    if "variation" not in kinds:
        if not kinds:
            raise RowRejected("Type", "the product type is missing")
        return _listing(row, header, number)
    parent = row.get("Parent", "")
    if not parent:
        raise RowRejected("Parent", "a variation needs its parent product")
    variant = _variant(row, header, number)
    if parent in by_key:
        by_key[parent].variants.append(variant)
    else:
        orphans.setdefault(parent, []).append(variant)
    return None


def _variant(row: dict[str, str], header: list[str], number: int) -> ParsedVariant:
    options = {name: values[0] for name, values in _attributes(row, header).items()}
    return ParsedVariant(
        row.get("SKU") or None,
        row.get("Name", ""),
        options,
        price(row.get("Regular price", ""), "Regular price"),
        number,
        in_stock=_in_stock(row),
        stock_quantity=left(stock(row.get("Stock", ""), "Stock")),
        external_id=f"woocommerce:{row['ID']}",
    )


def _in_stock(row: dict[str, str]) -> bool | None:
    return {"1": True, "0": False}.get(row.get("In stock?", "").strip())
