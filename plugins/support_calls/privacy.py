"""Callers' data: redaction on request, and retention.

    POST /api/v1/calls/redactions                    {"phone": "+1 555 0100"}: delete that
                                                     caller's calls, turns and recordings
    hook customer_redacted                           Shopify's customers/redact: the same,
                                                     for the customer's and their orders' phones
    job support_calls.retention                      daily: calls older than retention_days

Callers are matched on ``phone_key`` (the last nine digits of their number), as orders are.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from merchant_voice.plugin_api import (
    ApiBlueprint,
    JobContext,
    TenantSession,
    ValidationFailed,
    phone_key,
    tenant_session,
    utcnow,
)
from plugins.support_calls.models import Call
from plugins.support_calls.records import recording_file
from plugins.support_calls.settings import SupportCallsSettings

log = logging.getLogger(__name__)

api = ApiBlueprint("support_calls_privacy", __name__, plugin="support_calls")


def delete_calls(session: TenantSession, calls: list[Call]) -> int:
    """Delete ``calls`` with their turns and recording files (the caller commits)."""
    for call in calls:
        path = recording_file(call)
        if path is not None:
            path.unlink(missing_ok=True)
        session.delete(call)
    return len(calls)


def redact_phones(session: TenantSession, phones: list[str]) -> int:
    keys = sorted({key for key in (phone_key(p) for p in phones) if key})
    if not keys:
        return 0
    calls = list(session.scalars(select(Call).where(Call.caller_key.in_(keys))))
    deleted = delete_calls(session, calls)
    log.info("redacted %d calls of %d caller numbers", deleted, len(keys))
    return deleted


class RedactionIn(BaseModel):
    phone: str = Field(min_length=6, max_length=40, pattern=r"^[0-9+() ./-]+$")


class RedactionOut(BaseModel):
    deleted_calls: int


@api.operation(
    "/calls/redactions",
    "POST",
    summary="Delete one caller's calls, turns and recordings, found by phone number",
    body=RedactionIn,
    response=RedactionOut,
)
def redact(body: RedactionIn) -> RedactionOut:
    if not phone_key(body.phone):
        message = "needs at least 6 digits"
        raise ValidationFailed(f"phone: {message}", [{"field": "phone", "message": message}])
    session = tenant_session()
    deleted = redact_phones(session, [body.phone])
    session.commit()
    return RedactionOut(deleted_calls=deleted)


def purge_expired(context: JobContext[SupportCallsSettings]) -> dict[str, Any]:
    """Job ``support_calls.retention``: calls older than the merchant's ``retention_days``."""
    session = context.session
    cutoff = utcnow() - timedelta(days=context.settings.retention_days)
    expired = list(session.scalars(select(Call).where(Call.started_at < cutoff)))
    deleted = delete_calls(session, expired)
    session.commit()
    return {"deleted_calls": deleted, "older_than": cutoff.isoformat()}
