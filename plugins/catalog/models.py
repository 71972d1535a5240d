"""Listings and variants. Other plugins (translation, calls, narration) read these."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from merchant_voice.plugin_api import Base, DeliveryRecord, MerchantOwned, UTCDateTime, utcnow


class Listing(MerchantOwned, Base):
    """One product as the merchant sells it, in the merchant's default locale."""

    __tablename__ = "catalog_listings"
    __table_args__ = (UniqueConstraint("merchant_id", "handle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    handle: Mapped[str] = mapped_column(String(255))
    external_id: Mapped[str | None] = mapped_column(String(64), index=True)
    sku: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(500))
    description_html: Mapped[str] = mapped_column(Text, default="")
    bullet_points: Mapped[list[str]] = mapped_column(JSON, default=list)
    attributes: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    in_stock: Mapped[bool | None] = mapped_column()  # None: unknown
    stock_quantity: Mapped[int | None] = mapped_column()  # None: not tracked
    image_urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(20))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    variants: Mapped[list[Variant]] = relationship(
        back_populates="listing", cascade="all, delete-orphan", order_by="Variant.position"
    )


class Variant(MerchantOwned, Base):
    """A purchasable version of a listing: its options (Color: Red), price and own stock."""

    __tablename__ = "catalog_variants"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_listings.id", ondelete="CASCADE"), index=True
    )
    external_id: Mapped[str | None] = mapped_column(String(64))  # the platform's, "woocommerce:76"
    sku: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(500), default="")
    options: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    in_stock: Mapped[bool | None] = mapped_column()  # None: unknown
    stock_quantity: Mapped[int | None] = mapped_column()  # None: not tracked
    position: Mapped[int] = mapped_column(default=0)
    listing: Mapped[Listing] = relationship(back_populates="variants")


class CatalogImport(MerchantOwned, Base):
    """An uploaded catalog file, kept until its import job has run (any worker can read it)."""

    __tablename__ = "catalog_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    format: Mapped[str | None] = mapped_column(String(20))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(DeliveryRecord, MerchantOwned, Base):
    """A shop platform's webhook delivery, kept so that a repeat is recognised and skipped."""

    __tablename__ = "catalog_webhook_deliveries"


@event.listens_for(Session, "before_flush")
def _variants_date_their_listing(session: Session, _context: Any, _instances: Any) -> None:
    """A listing's ``updated_at`` says when it or any of its variants last changed (the
    other plugins ask what changed since: narration's refresh)."""
    now = utcnow()
    with session.no_autoflush:
        for changed in (*session.new, *session.dirty, *session.deleted):
            if isinstance(changed, Variant):
                listing = changed.listing
            elif (
                isinstance(changed, Listing)
                and inspect(changed).attrs.variants.history.has_changes()
            ):
                listing = changed
            else:
                continue
            if listing is not None and listing not in session.new:
                listing.updated_at = now
