"""Orders, as the shop platform or the merchant's system reports them.

The ``order_status`` call tool reads them to tell a verified caller where an
order is; ``postcode_key`` and ``phone_key`` are the normalised forms it matches.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from merchant_voice.plugin_api import Base, DeliveryRecord, MerchantOwned, UTCDateTime, utcnow


def postcode_key(value: str | None) -> str:
    """``"sw1a 1aa"`` -> ``"SW1A1AA"``: how callers' postcodes are compared."""
    return re.sub(r"[^0-9A-Z]", "", (value or "").upper())


class Order(MerchantOwned, Base):
    __tablename__ = "orders_orders"
    __table_args__ = (UniqueConstraint("merchant_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64))  # as the customer sees it, without "#"
    external_id: Mapped[str | None] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(20), default="api")
    status: Mapped[str] = mapped_column(String(30))
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    phone_key: Mapped[str] = mapped_column(String(16), default="", index=True)
    postcode: Mapped[str] = mapped_column(String(20), default="")
    postcode_key: Mapped[str] = mapped_column(String(20), default="")
    total: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    carrier: Mapped[str] = mapped_column(String(100), default="")
    tracking_numbers: Mapped[list[str]] = mapped_column(JSON, default=list)
    tracking_urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    estimated_delivery: Mapped[date | None] = mapped_column(Date)  # the day it should arrive
    # The platform's own last-modified time: a late, older webhook never overwrites a newer one.
    source_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WebhookDelivery(DeliveryRecord, MerchantOwned, Base):
    """An order webhook delivery, kept so that a repeat is recognised and skipped."""

    __tablename__ = "orders_webhook_deliveries"
