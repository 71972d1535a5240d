"""``/api/v1/calls``: the merchant's calls, newest first; one call with its turns; its recording."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, send_file
from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select

from merchant_voice.plugin_api import ApiBlueprint, NotFound, get_or_404, query_int, tenant_session
from plugins.support_calls.models import Call
from plugins.support_calls.records import recording_file

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
    message: str | None
    started_at: datetime
    ended_at: datetime | None
    duration_s: int | None
    has_recording: bool = False


class TurnOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    index: int
    source: str
    transcript: str
    language: str | None
    reply: str
    reply_locale: str | None
    tool_calls: list[dict[str, Any]]
    withheld: list[dict[str, Any]]
    interrupted: bool
    fallback: bool
    unanswered: str | None
    endpoint_ms: int | None
    asr_ms: int | None
    llm_first_token_ms: int | None
    reply_ready_ms: int | None
    first_audio_ms: int | None
    started_at: datetime


class CallDetail(CallOut):
    turns: list[TurnOut]


class CallPage(BaseModel):
    calls: list[CallOut]
    total: int


def _out(call: Call) -> CallOut:
    return CallOut.model_validate(call).model_copy(
        update={"has_recording": call.recording_path is not None}
    )


@bp.operation("/calls", "GET", summary="The merchant's calls, newest first", response=CallPage)
def list_calls() -> CallPage:
    session = tenant_session()
    rows = session.scalars(
        select(Call).order_by(Call.id.desc()).limit(query_int("limit", 50, 1, 500))
    )
    return CallPage(
        calls=[_out(row) for row in rows],
        total=session.scalar(select(func.count(Call.id))) or 0,
    )


@bp.operation(
    "/calls/<int:call_id>", "GET", summary="One call, with its turns", response=CallDetail
)
def get_call(call_id: int) -> CallDetail:
    call = get_or_404(Call, call_id, "call")
    return CallDetail(
        **_out(call).model_dump(), turns=[TurnOut.model_validate(turn) for turn in call.turns]
    )


@bp.operation("/calls/<int:call_id>/recording", "GET", summary="The call's recording (WAV, stereo)")
def get_recording(call_id: int) -> Response:
    call = get_or_404(Call, call_id, "call")
    path = recording_file(call)
    if path is None or not path.is_file():
        raise NotFound(f"call {call_id} has no recording")
    return send_file(path, mimetype="audio/wav", download_name=f"call-{call_id}.wav")
