"""Callers' data: redaction on request, and retention.

    POST /api/v1/calls/redactions                    {"phone": "+1 555 0100"}: delete that
                                                     caller's calls, turns and recordings
    hook customer_redacted                           Shopify's customers/redact: the same,
                                                     for the customer's and their orders' phones
    job support_calls.retention                      daily: calls older than retention_days

Callers are matched on the last nine digits of their number, as orders are.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from merchant_voice.db import utcnow
from merchant_voice.errors import ValidationFailed
from merchant_voice.jobs import JobContext
from merchant_voice.tenancy import TenantSession
from merchant_voice.web.api import ApiBlueprint, tenant_session
from merchant_voice.web.shop_hooks import RedactedCustomer
from plugins.orders.models import Order, phone_key
from plugins.support_calls.models import Call
from plugins.support_calls.records import recording_file

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


def redact_customer(session: TenantSession, customer: RedactedCustomer) -> dict[str, Any]:
    """The ``customer_redacted`` hook: their calls, by their phones and their orders' phones
    (read before the orders plugin blanks them: this runs first)."""
    phones = list(customer.phones)
    if customer.order_ids:
        phones += session.scalars(
            select(Order.phone).where(Order.external_id.in_(customer.order_ids))
        )
    return {"deleted_calls": redact_phones(session, phones)}


def purge_expired(context: JobContext) -> dict[str, Any]:
    """Job ``support_calls.retention``: calls older than the merchant's ``retention_days``."""
    from plugins.support_calls.plugin import SupportCallsSettings, plugin

    session = context.session
    settings = plugin.merchant_settings(session)
    assert isinstance(settings, SupportCallsSettings)
    cutoff = utcnow() - timedelta(days=settings.retention_days)
    expired = list(session.scalars(select(Call).where(Call.started_at < cutoff)))
    deleted = delete_calls(session, expired)
    session.commit()
    return {"deleted_calls": deleted, "older_than": cutoff.isoformat()}
