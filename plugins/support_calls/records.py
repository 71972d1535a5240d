"""What a live call writes, each in its own short transaction of the merchant's session.

Turns are written as each ends, so a crash loses at most the turn in flight.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, update

from merchant_voice.plugin_api import Action, CallState, data_dir, retry_when_busy
from plugins.support_calls.context import CallDeps, TurnRecord
from plugins.support_calls.models import Call, Outcome, Turn
from plugins.support_calls.recording import Recorder


@dataclass(frozen=True)
class CallRef:
    id: int
    sid: str
    caller: str


def _ms(value: int | None) -> int | None:
    return value if value is not None and value >= 0 else None


def recordings_dir() -> Path:
    """Where call recordings are kept: ``recordings/<merchant id>/<call id>.wav`` in the
    plugin's data folder (``<instance>/plugins/support_calls``)."""
    return data_dir("support_calls") / "recordings"


def adopt_recordings(legacy: Path) -> int:
    """Move the recordings an earlier version kept in ``legacy`` (``<instance>/recordings``)
    into :func:`recordings_dir`, file by file, so that an interrupted move completes on the
    next start. Returns how many moved."""
    if not legacy.is_dir():
        return 0
    target, moved = recordings_dir(), 0
    for path in sorted(legacy.rglob("*.wav")):
        destination = target / path.relative_to(legacy)
        if not destination.exists():
            destination.parent.mkdir(parents=True, exist_ok=True)
            path.replace(destination)
            moved += 1
    for folder in sorted(legacy.rglob("*"), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    if not any(legacy.iterdir()):
        legacy.rmdir()
    return moved


def recording_file(call: Call) -> Path | None:
    """The call's recording, if it has one inside the recordings folder."""
    if not call.recording_path:
        return None
    folder = recordings_dir().resolve()
    path = (folder / call.recording_path).resolve()
    return path if folder in path.parents else None


def _update(deps: CallDeps, call: CallRef, *conditions: Any, **values: Any) -> int:
    def write() -> int:
        with deps.sessions() as session:
            result = session.execute(
                update(Call).where(Call.id == call.id, *conditions).values(**values)
            )
            session.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

    return retry_when_busy(write)


def stream_started(deps: CallDeps, call: CallRef, stream_sid: str) -> None:
    _update(deps, call, stream_sid=stream_sid)


def save_turn(
    deps: CallDeps, call: CallRef, index: int, record: TurnRecord, language: str | None
) -> None:
    retry_when_busy(lambda: _save_turn(deps, call, index, record, language))


def _save_turn(
    deps: CallDeps, call: CallRef, index: int, record: TurnRecord, language: str | None
) -> None:
    timings = record.timings
    with deps.sessions() as session:
        session.add(
            Turn(
                call_id=call.id,
                index=index,
                source=record.source,
                transcript=record.transcript,
                language=record.language,
                reply=record.reply,
                reply_locale=record.reply_locale,
                tool_calls=record.tool_calls,
                withheld=record.withheld,
                interrupted=record.interrupted,
                fallback=record.fallback,
                unanswered=record.unanswered,
                endpoint_ms=_ms(timings.get("endpoint_ms")),
                asr_ms=_ms(timings.get("asr_ms")),
                llm_first_token_ms=_ms(timings.get("llm_first_token_ms")),
                reply_ready_ms=_ms(timings.get("reply_ready_ms")),
                first_audio_ms=_ms(timings.get("first_audio_ms")),
            )
        )
        session.flush()
        if language:
            session.execute(
                update(Call)
                .where(Call.id == call.id, Call.language.is_(None))
                .values(language=language)
            )
        session.commit()


def set_next_action(deps: CallDeps, call: CallRef, action: Action) -> None:
    _update(deps, call, next_action=action.value)


def call_ended(
    deps: CallDeps,
    call: CallRef,
    state: CallState,
    replied: bool,
    heard: bool,
    recorder: Recorder | None,
    recordings: Path,
) -> None:
    """One write: the recording's path, the message left, and the outcome (unless the status
    callback already told it). ``heard``: audio reached the caller; a call that sent none is
    ``silent``, whatever its turns say."""
    values: dict[str, Any] = {"message": state.message} if state.message else {}
    path = None
    if recorder is not None:
        folder = recordings / str(deps.merchant.id)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{call.id}.wav"
        path.write_bytes(recorder.wav())
        values["recording_path"] = str(path.relative_to(recordings))
    if state.handed_off:
        values["outcome"] = Outcome.HANDED_OFF.value
    elif not heard:
        values["outcome"] = Outcome.SILENT.value
    else:
        outcome = Outcome.RESOLVED if replied else Outcome.ABANDONED
        values["outcome"] = func.coalesce(Call.outcome, outcome.value)
    if not _update(deps, call, **values) and path is not None:
        path.unlink(missing_ok=True)  # the call was redacted while it went on: keep nothing
