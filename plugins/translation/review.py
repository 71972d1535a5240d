"""A person's review of a translation: approving it, or editing its fields (the API's
``PATCH`` and the dashboard's listing page)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from merchant_voice.plugin_api import TenantSession, ValidationFailed
from plugins.catalog.public import Listing
from plugins.translation import service
from plugins.translation.checks import check_field
from plugins.translation.document import FIELDS
from plugins.translation.markup import InvalidHtml, tag_signature
from plugins.translation.models import ListingTranslation, Review
from plugins.translation.settings import TranslationSettings


def apply(
    session: TenantSession,
    listing: Listing,
    row: ListingTranslation,
    edits: Mapping[str, Any],
    *,
    approve: bool,
    settings: TranslationSettings,
) -> None:
    """Edit ``row``'s fields (it becomes *edited*; the edits go to translation memory)
    and/or approve it as it stands (*reviewed*): either way, what the person saw is
    confirmed against today's source. ``ValidationFailed`` names the field an edit breaks,
    or the flagged fields an approval needs edited first. The caller commits."""
    if not edits and not approve:
        message = "send review: reviewed, or fields to edit"
        raise ValidationFailed(message, [{"field": "body", "message": message}])
    limits = settings.limits_for(row.locale)
    for name, value in edits.items():
        reason = edit_problem(name, value, listing, limits.get(name))
        if reason is not None:
            raise ValidationFailed(
                f"fields.{name}: {reason}", [{"field": f"fields.{name}", "message": reason}]
            )
    flagged = [flag["field"] for flag in row.flags if flag["field"] not in edits]
    if approve and flagged:
        message = (
            f"flagged fields ({', '.join(flagged)}) need an edit before the translation can be"
            " approved"
        )
        raise ValidationFailed(message, [{"field": "review", "message": message}])
    if edits:  # an edit is made against the current source: those fields are up to date
        service.remember_edits(session, listing, row.locale, edits)
        row.fields = {**row.fields, **edits}
        row.flags = [flag for flag in row.flags if flag["field"] not in edits]
        row.review = Review.EDITED.value
        service.confirm(session, row, listing, list(edits))
    if approve:  # approved as it stands: every field, against today's source
        row.review = Review.REVIEWED.value if row.review == Review.MACHINE else row.review
        service.confirm(session, row, listing, FIELDS)


def edit_problem(name: str, value: Any, listing: Listing, limit: int | None) -> str | None:
    """What a person's edit breaks: the field checks, plus the source's shape."""
    source = getattr(listing, name)
    if name == "description_html":
        try:
            tag_signature(source)
        except InvalidHtml as exc:
            return f"the listing's own description is invalid HTML ({exc.reason}): fix it first"
        if not value.strip() and source.strip():
            return "must not be empty: the source has a description"
    if name == "bullet_points" and len(value) != len(source):
        return f"must have {len(source)} bullet points, as the source does"
    if name == "attributes":
        shape = [len(values) for values in source.values()]
        if [len(values) for values in value.values()] != shape:
            return f"must have the source's attributes in its order, with as many values: {shape}"
    return check_field(name, source, value, limit)
