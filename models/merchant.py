"""Merchants: the tenants. Every merchant-owned row points here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from merchant_voice.orm import Base, UTCDateTime, utcnow
from merchant_voice.tenancy import MerchantInfo


class Merchant(Base):
    __tablename__ = "merchants"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    default_locale: Mapped[str] = mapped_column(String(35))
    market_locales: Mapped[list[str]] = mapped_column(JSON, default=list)
    currency: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(String(64))
    storage_mb: Mapped[int | None] = mapped_column(Integer)  # None: [host] merchant_storage_mb
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def info(self) -> MerchantInfo:
        """A read-only snapshot, the form in which plugins see their merchant."""
        return MerchantInfo(
            id=self.id,
            slug=self.slug,
            name=self.name,
            default_locale=self.default_locale,
            market_locales=tuple(self.market_locales),
            currency=self.currency,
            timezone=self.timezone,
            storage_mb=self.storage_mb,
        )
