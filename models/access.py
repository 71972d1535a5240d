"""Who may act for a merchant: dashboard users and API keys."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from merchant_voice.orm import Base, UTCDateTime, utcnow
from merchant_voice.tenancy import MerchantOwned


class Role(enum.StrEnum):
    OWNER = "owner"  # everything
    AGENT = "agent"  # calls and catalog only


class User(MerchantOwned, Base):
    """A dashboard user. The password is only ever stored hashed."""

    __tablename__ = "users"
    __host_only__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(10), default=Role.OWNER.value)
    locale: Mapped[str | None] = mapped_column(
        String(35)
    )  # the dashboard's language; None: the browser's
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(MerchantOwned, Base):
    """An API key: only its prefix (to recognise it) and its SHA-256 are kept."""

    __tablename__ = "api_keys"
    __host_only__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def active(self) -> bool:
        return self.revoked_at is None
