"""``/api/v1/calls``: the merchant's calls, newest first, and one call."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select

from merchant_voice.web.api import ApiBlueprint, get_or_404, query_int, tenant_session
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


@bp.operation("/calls", "GET", summary="The merchant's calls, newest first", response=CallPage)
def list_calls() -> CallPage:
    session = tenant_session()
    rows = session.scalars(
        select(Call).order_by(Call.id.desc()).limit(query_int("limit", 50, 1, 500))
    )
    return CallPage(
        calls=[CallOut.model_validate(row) for row in rows],
        total=session.scalar(select(func.count(Call.id))) or 0,
    )


@bp.operation("/calls/<int:call_id>", "GET", summary="One call", response=CallOut)
def get_call(call_id: int) -> CallOut:
    return CallOut.model_validate(get_or_404(Call, call_id, "call"))
