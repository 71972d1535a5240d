"""What other plugins may use of translation (declaring ``requires=("translation",))``):
a listing's translated fields, read through the merchant's session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, exists, select

from merchant_voice.plugin_api import TenantSession
from plugins.translation.models import ListingTranslation

__all__ = ["translated_fields", "translation_changed_after"]


def translated_fields(session: TenantSession, listing_id: int, locale: str) -> dict[str, Any]:
    """The listing's fields as translated into ``locale`` (reviewed, edited or machine):
    only those that passed every check; empty when it has no translation there."""
    row = session.scalar(
        select(ListingTranslation).where(
            ListingTranslation.listing_id == listing_id, ListingTranslation.locale == locale
        )
    )
    return dict(row.fields) if row is not None else {}


def translation_changed_after(
    listing_id: SQLColumnExpression[int],
    locale: SQLColumnExpression[str],
    when: SQLColumnExpression[datetime | None],
) -> ColumnElement[bool]:
    """SQL: whether the listing's translation into the locale changed after ``when`` (for
    a query of another plugin's rows that name a listing and a locale)."""
    return exists().where(
        ListingTranslation.listing_id == listing_id,
        ListingTranslation.locale == locale,
        ListingTranslation.updated_at > when,
    )
