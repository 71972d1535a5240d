"""Merchants' credentials: webhook secrets, telephony tokens. Out of plugins' sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from merchant_voice.orm import Base, UTCDateTime, utcnow
from merchant_voice.tenancy import MerchantOwned


class Credential(MerchantOwned, Base):
    """One named secret (``<plugin>.<name>``): Fernet ciphertext, or an ``env:`` reference."""

    __tablename__ = "credentials"
    __host_only__ = True
    __table_args__ = (UniqueConstraint("merchant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    env_ref: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
