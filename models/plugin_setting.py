"""Which plugins each merchant uses, and with which settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from merchant_voice.orm import Base, UTCDateTime, utcnow
from merchant_voice.tenancy import MerchantOwned


class MerchantPlugin(MerchantOwned, Base):
    """A merchant's choice for one plugin. No row: the plugin's defaults apply."""

    __tablename__ = "merchant_plugins"
    __tenant_readonly__ = True  # written only through merchant_voice.plugin_state
    __table_args__ = (UniqueConstraint("merchant_id", "plugin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plugin: Mapped[str] = mapped_column(String(63))
    enabled: Mapped[bool]
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
