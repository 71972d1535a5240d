"""What other plugins may use of the catalog (declaring ``requires=("catalog",)``):
the merchant's listings and their variants, read through the merchant's session, and
a listing's dashboard page (for a plugin whose panel's form was sent back to it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from merchant_voice.plugin_api import NotFound, TenantSession, ValidationFailed
from plugins.catalog.dashboard import listing_page
from plugins.catalog.models import Listing, Variant

__all__ = [
    "Listing",
    "Variant",
    "chosen_ids",
    "chosen_listings",
    "ids_for_handles",
    "listing_page",
    "listings_for_command",
]

CHUNK = 500  # ids per IN (...): under any database's limit on bound values


def chosen_ids(session: TenantSession, ids: Sequence[int] | None) -> list[int]:
    """The ids of the merchant's listings (all, or ``ids``) in order; NotFound names the
    ids that are not the merchant's."""
    return _chosen(session, select(Listing.id), ids, lambda listing_id: listing_id)


def chosen_listings(session: TenantSession, ids: Sequence[int] | None) -> list[Listing]:
    """The merchant's listings (all, or ``ids``) by id, variants loaded; NotFound names
    the ids that are not the merchant's."""
    query = select(Listing).options(selectinload(Listing.variants))
    return _chosen(session, query, ids, lambda listing: listing.id)


def _chosen(
    session: TenantSession,
    query: Select[Any],
    ids: Sequence[int] | None,
    key: Callable[[Any], int],
) -> list[Any]:
    query = query.order_by(Listing.id)
    if ids is None:
        return list(session.scalars(query))
    wanted = sorted(set(ids))
    found = [
        row
        for start in range(0, len(wanted), CHUNK)
        for row in session.scalars(query.where(Listing.id.in_(wanted[start : start + CHUNK])))
    ]
    missing = sorted(set(wanted) - {key(row) for row in found})
    if missing:
        raise NotFound(f"no listing {', '.join(map(str, missing))}")
    return found


def ids_for_handles(
    session: TenantSession, handles: Sequence[str], field: str = "--listing"
) -> list[int]:
    """The ids of the listings with ``handles``, in their order; ValidationFailed names
    ``field`` and the handles no listing has."""
    query = select(Listing.handle, Listing.id).where(Listing.handle.in_(handles))
    found = {handle: listing_id for handle, listing_id in session.execute(query)}
    missing = [handle for handle in handles if handle not in found]
    if missing:
        message = f"no listing with handle {', '.join(missing)}"
        raise ValidationFailed(message, [{"field": field, "message": message}])
    return [found[handle] for handle in handles]


def listings_for_command(
    session: TenantSession, all_listings: bool, handles: Sequence[str]
) -> list[Listing]:
    """A command's choice of listings: every one (``--all``) or those with ``--listing
    HANDLE``; exactly one of the two, or ValidationFailed says so."""
    if all_listings == bool(handles):
        message = "give either --all or one or more --listing HANDLE"
        raise ValidationFailed(message, [{"field": "--all", "message": message}])
    return chosen_listings(session, ids_for_handles(session, handles) if handles else None)
