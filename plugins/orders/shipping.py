"""Shipping details in the platforms' order payloads: carrier, tracking, dates.

Shopify: the order's ``fulfillments``, cancelled or failed ones aside. The
latest gives the carrier (``tracking_company``), the tracking numbers and links
(``tracking_numbers`` / ``tracking_urls``, or the older single
``tracking_number`` / ``tracking_url``); the first one's ``created_at`` is when
it shipped; the latest ``estimated_delivery_at`` any of them carries (where the
payload has it) is when it should arrive.

WooCommerce core has no shipment fields; common extensions keep them in the
order's ``meta_data``, which the webhook carries:

- ``_wc_shipment_tracking_items`` (WooCommerce Shipment Tracking, and Advanced
  Shipment Tracking, which writes the same key): a list of
  ``{tracking_provider, custom_tracking_provider, tracking_number,
  custom_tracking_link, date_shipped}``, ``date_shipped`` a Unix timestamp of the
  day; the provider is a slug (``ups``, ``royal-mail``) unless custom.
- ``shipment_status`` (TrackShip, with those): per tracking item,
  ``est_delivery_date`` as ``YYYY-MM-DD``.
- ``_orddd_timestamp`` / ``_orddd_lite_timestamp`` (Order Delivery Date): the
  delivery day the customer chose, a Unix timestamp of that day.

A day given as a timestamp is a midnight in the site's time zone: the nearest
UTC midnight's date is that day. A shipping day without a time is kept at noon
UTC, which is the same date in the merchant's time zone almost everywhere.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

DEFAULT = {"carrier": "", "tracking_numbers": [], "tracking_urls": []}
_VOID = ("cancelled", "error", "failure")  # fulfillments that shipped nothing


def shopify_shipping(order: dict[str, Any]) -> dict[str, Any]:
    fulfillments = [
        f
        for f in order.get("fulfillments") or []
        if isinstance(f, dict) and f.get("status") not in _VOID
    ]
    if not fulfillments:
        return {**DEFAULT, "shipped_at": None, "estimated_delivery": None}
    last = fulfillments[-1]
    numbers = last.get("tracking_numbers") or [last.get("tracking_number")]
    urls = last.get("tracking_urls") or [last.get("tracking_url")]
    etas = [f.get("estimated_delivery_at") for f in fulfillments]
    return {
        "carrier": last.get("tracking_company") or "",
        "tracking_numbers": [number for number in numbers if number],
        "tracking_urls": [url for url in urls if url],
        "shipped_at": fulfillments[0].get("created_at"),
        "estimated_delivery": next((eta for eta in reversed(etas) if eta), None),
    }


def _meta(order: dict[str, Any], key: str) -> Any:
    for entry in order.get("meta_data") or []:
        if isinstance(entry, dict) and entry.get("key") == key:
            return entry.get("value")
    return None


def _entries(value: Any) -> list[dict[str, Any]]:
    """A PHP array of records, as JSON: a list, or an object keyed by index."""
    records = list(value.values()) if isinstance(value, dict) else value
    return [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []


def _day(timestamp: Any) -> date | None:
    """A Unix timestamp's day; None for anything else (an extension's odd value never
    holds up the order's update)."""
    try:
        stamp = int(str(timestamp).strip())
        return (datetime.fromtimestamp(stamp, UTC) + timedelta(hours=12)).date()
    except (ValueError, OverflowError, OSError):
        return None


def _iso_day(value: Any) -> str | None:
    """``2026-11-25`` (or a longer ISO timestamp's date); None when it is not one."""
    try:
        return date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError:
        return None


def _provider(item: dict[str, Any]) -> str:
    custom = str(item.get("custom_tracking_provider") or "").strip()
    if custom:
        return custom
    words = str(item.get("tracking_provider") or "").replace("_", "-").split("-")
    return " ".join(w.upper() if len(w) <= 3 or w == "usps" else w.capitalize() for w in words if w)


def woocommerce_shipping(order: dict[str, Any]) -> dict[str, Any]:
    """The extensions' shipping details; ``shipped_at`` None where no tracking item has a
    shipping day."""
    items = _entries(_meta(order, "_wc_shipment_tracking_items"))
    shipped = sorted(day for day in (_day(i.get("date_shipped")) for i in items) if day)
    etas = [s.get("est_delivery_date") for s in _entries(_meta(order, "shipment_status"))]
    eta: str | None = next((iso for e in reversed(etas) if e and (iso := _iso_day(e))), None)
    chosen = _meta(order, "_orddd_timestamp") or _meta(order, "_orddd_lite_timestamp")
    if eta is None and chosen and (day := _day(chosen)):
        eta = day.isoformat()
    links = [str(i.get("custom_tracking_link") or "") for i in items]
    return {
        "carrier": next((p for p in map(_provider, reversed(items)) if p), "")[:100],
        "tracking_numbers": [str(i["tracking_number"]) for i in items if i.get("tracking_number")],
        "tracking_urls": [link for link in links if link.startswith(("http://", "https://"))],
        "shipped_at": datetime.combine(shipped[0], time(12), UTC).isoformat() if shipped else None,
        "estimated_delivery": eta,
    }
