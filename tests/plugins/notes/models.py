from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from merchant_voice.plugin_api import Base, MerchantOwned


class Note(MerchantOwned, Base):
    __tablename__ = "notes_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(500))
    tags: Mapped[list[Tag]] = relationship(back_populates="note", cascade="all, delete-orphan")


class Tag(MerchantOwned, Base):
    __tablename__ = "notes_tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("notes_notes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(50))
    note: Mapped[Note] = relationship(back_populates="tags")
