"""``/api/v1/calls``: the merchant's calls, newest first, and one call."""

from __future__ import annotations

from datetime import datetime

from flask import request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select

from merchant_voice.errors import NotFound, ValidationFailed
from merchant_voice.web.api import ApiBlueprint, tenant_session
from plugins.support_calls.models import Call

bp = ApiBlueprint("support_calls", __name__, plugin="support_calls")


class CallOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    provider: str
    call_sid: str
    caller: str
    callee: str
    status: str
    language: str | None
    outcome: str | None
    started_at: datetime
    ended_at: datetime | None
    duration_s: int | None


class CallPage(BaseModel):
    calls: list[CallOut]
    total: int


def _limit() -> int:
    raw = request.args.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        message = "must be a whole number from 1 to 500"
        raise ValidationFailed(f"limit: {message}", [{"field": "limit", "message": message}])
    return int(raw)


@bp.operation("/calls", "GET", summary="The merchant's calls, newest first", response=CallPage)
def list_calls() -> CallPage:
    session = tenant_session()
    rows = session.scalars(select(Call).order_by(Call.id.desc()).limit(_limit()))
    return CallPage(
        calls=[CallOut.model_validate(row) for row in rows],
        total=session.scalar(select(func.count(Call.id))) or 0,
    )


@bp.operation("/calls/<int:call_id>", "GET", summary="One call", response=CallOut)
def get_call(call_id: int) -> CallOut:
    call = tenant_session().get(Call, call_id) if call_id < 2**63 else None
    if call is None:
        raise NotFound(f"no call {call_id}")
    return CallOut.model_validate(call)
