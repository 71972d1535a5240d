"""WooCommerce product CSV (the core exporter's layout).

Simple, variable, grouped and external products become listings; ``variation``
rows become variants of the product their ``Parent`` column names (by SKU, or
``id:NN``), each with its own stock (``In stock?``, ``Stock``). Attribute
columns come in numbered groups (``Attribute 1 name``, ``Attribute 1 value(s)``...).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from plugins.catalog.importers.base import (
    Parsed,
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


def parse(header: list[str], rows: Iterable[dict[str, str]]) -> Parsed:
    result = Parsed("woocommerce", 0)
    by_key: dict[str, ParsedListing] = {}
    variations: list[tuple[int, dict[str, str]]] = []
    for number, row in enumerate(rows, start=2):
        result.rows = number - 1
        kinds = split_list(row.get("Type", ""))
        try:
            check_shape(row)
        except RowRejected as exc:
            result.errors.append(RowError(number, exc.column, exc.reason))
            continue
        if not row.get("ID"):
            result.errors.append(RowError(number, "ID", "every row needs the product ID"))
        elif "variation" in kinds:
            variations.append((number, row))
        elif not kinds:
            result.errors.append(RowError(number, "Type", "the product type is missing"))
        else:
            try:
                listing = _listing(row, header, number)
            except RowRejected as exc:
                result.errors.append(RowError(number, exc.column, exc.reason))
                continue
            result.listings.append(listing)
            by_key[f"id:{row['ID']}"] = listing
            if listing.sku:
                by_key[listing.sku] = listing
    for number, row in variations:
        parent = by_key.get(row.get("Parent", ""))
        if parent is None:
            reason = (
                f"no product {row.get('Parent')!r} in this file"
                if row.get("Parent")
                else ("a variation needs its parent product")
            )
            result.errors.append(RowError(number, "Parent", reason))
            continue
        try:
            parent.variants.append(_variant(row, header, number))
        except RowRejected as exc:
            result.errors.append(RowError(number, exc.column, exc.reason))
    return result


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
