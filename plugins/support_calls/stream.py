"""The media WebSocket of a call: ``/hooks/twilio/<merchant>/stream/<token>``.

The token comes from the voice webhook's TwiML; it is good for one stream,
within a minute. A wrong, used or expired token is refused with 403 before
the upgrade, and logged. The call then runs in this request's thread
(:class:`~plugins.support_calls.live_call.LiveCall`) until it ends.
"""

from __future__ import annotations

import hashlib
import logging

from flask import Blueprint, Response
from sqlalchemy import update

from merchant_voice.plugin_api import (
    Forbidden,
    TenantSession,
    current_settings,
    engines,
    merchant_session,
    merchant_sessions,
    plugin_resources,
    retry_when_busy,
    utcnow,
    websocket,
)
from plugins.support_calls import tools
from plugins.support_calls.context import CallDeps
from plugins.support_calls.live_call import LiveCall
from plugins.support_calls.models import Call
from plugins.support_calls.records import CallRef, recordings_dir
from plugins.support_calls.settings import SupportCallsSettings
from plugins.support_calls.telephony.media import MAX_MESSAGE_BYTES

log = logging.getLogger(__name__)

bp = Blueprint("support_calls_stream", __name__, url_prefix="/hooks/twilio")


def _claim(session: TenantSession, token: str) -> Call:
    """The call this token admits, marked as streaming so the token works only once."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    now = utcnow()
    session.rollback()  # write first (SQLite): the claim is one conditional update

    def claim() -> int | None:
        claimed = session.scalar(
            update(Call)
            .where(Call.stream_token_hash == digest, Call.stream_token_expires_at >= now)
            .values(stream_token_hash=None, stream_started_at=now)
            .returning(Call.id)
        )
        session.commit()
        return claimed

    call_id = retry_when_busy(claim)
    call = session.get(Call, call_id) if call_id is not None else None
    if call is None:
        log.warning(
            "refused a media stream for %s: unknown, used or expired token", session.merchant.slug
        )
        raise Forbidden("this stream token is unknown, used or expired")
    return call


@bp.route("/<merchant>/stream/<token>", websocket=True)
def stream(merchant: str, token: str) -> Response:
    with merchant_session(merchant, "support_calls") as session:
        call = _claim(session, token)
        deps = CallDeps(
            merchant=session.merchant,
            settings=current_settings(SupportCallsSettings),
            tools=tools.gather(session),
            chat=engines().chat,
            sessions=merchant_sessions(session.merchant),
            resources=plugin_resources("support_calls"),
        )
        ref = CallRef(call.id, call.call_sid, call.caller)
        session.commit()
    speech = engines()
    ws = websocket.accept(MAX_MESSAGE_BYTES)
    log.info("call %s for %s: media stream connected", ref.sid, merchant)
    with speech.live.hold():  # calls come first: bulk work on this machine yields meanwhile
        asr, tts = speech.call_asr, speech.tts
        LiveCall(ws, deps, ref, asr, tts, recordings_dir(), at_work=speech.live.turn).run()
    log.info("call %s for %s: media stream closed", ref.sid, merchant)
    return websocket.finished(ws)
