"""Stock: what a listing's or a variant's figures say, and a listing's stock from its variants'.

A quantity, when known, gives the in-stock flag: 0 or less is out of stock
(:func:`settle` sets the flag so, for the listing and each variant; the listings API
refuses a flag that disagrees with its quantity). Where any variant's stock is
known, the listing's own is derived from its variants': ``stock_quantity`` is the
sum of their known quantities (an oversold variant, below 0, counts as 0) and
``in_stock`` says whether any variant is in stock. Imports and webhooks set it so;
the listings API refuses a listing figure that disagrees (leave it out and it is
derived).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from plugins.catalog.models import Listing


class Stocked(Protocol):
    @property
    def in_stock(self) -> bool | None: ...

    @property
    def stock_quantity(self) -> int | None: ...


def available(item: Stocked) -> bool | None:
    """In stock, out of stock, or None when nothing is known."""
    if item.stock_quantity is not None:
        return item.stock_quantity > 0
    return item.in_stock


def from_variants(variants: Sequence[Stocked]) -> tuple[int | None, bool] | None:
    """The listing's ``(stock_quantity, in_stock)`` from its variants'; None when no
    variant's stock is known (the listing keeps its own figures)."""
    known = [variant for variant in variants if available(variant) is not None]
    if not known:
        return None
    quantities = [max(v.stock_quantity, 0) for v in known if v.stock_quantity is not None]
    return (sum(quantities) if quantities else None), any(available(v) for v in known)


def settle(listing: Listing) -> None:
    """Each variant's in-stock flag from its quantity, where it has one; then the
    listing's stock from its variants' where theirs is known, else its own flag from its
    own quantity."""
    for variant in listing.variants:
        variant.in_stock = available(variant)
    derived = from_variants(listing.variants)
    if derived is not None:
        listing.stock_quantity, listing.in_stock = derived
    else:
        listing.in_stock = available(listing)
