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

from merchant_voice import extensions
from merchant_voice.db import retry_when_busy, utcnow
from merchant_voice.errors import Forbidden
from merchant_voice.tenancy import TenantSession
from merchant_voice.web import websocket
from merchant_voice.web.hooks import merchant_session
from plugins.support_calls.conversation import CallDeps
from plugins.support_calls.live_call import LiveCall
from plugins.support_calls.models import Call
from plugins.support_calls.records import CallRef, recordings_dir
from plugins.support_calls.telephony.media import MAX_MESSAGE_BYTES
from plugins.support_calls.tools import CallTool
from plugins.support_calls.tools.service import builtin_tools

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


def call_tools(session: TenantSession, settings: object) -> list[CallTool]:
    """The built-in tools, then those other plugins add for this merchant (``call_tools``)."""
    tools = builtin_tools(settings)
    names = {tool.name for tool in tools}
    for plugin, added in extensions.plugin_manager().call("call_tools", session=session).items():
        for tool in added or []:
            if not isinstance(tool, CallTool) or tool.name in names:
                log.warning(
                    "plugin %s: call tool %r ignored (not a CallTool, or a taken name)",
                    plugin,
                    tool,
                )
                continue
            names.add(tool.name)
            tools.append(tool)
    return tools


@bp.route("/<merchant>/stream/<token>", websocket=True)
def stream(merchant: str, token: str) -> Response:
    from plugins.support_calls.plugin import plugin

    manager = extensions.plugin_manager()
    with merchant_session(merchant, "support_calls") as session:
        call = _claim(session, token)
        settings = plugin.merchant_settings(session)
        deps = CallDeps(
            merchant=session.merchant,
            settings=settings,
            tools=call_tools(session, settings),
            chat=extensions.engines().chat,
            db=extensions.database(),
            resources=manager.get("support_calls").resources,
        )
        ref = CallRef(call.id, call.call_sid, call.caller)
        session.commit()
    engines = extensions.engines()
    ws = websocket.accept(MAX_MESSAGE_BYTES)
    log.info("call %s for %s: media stream connected", ref.sid, merchant)
    LiveCall(ws, deps, ref, engines.call_asr, engines.tts, recordings_dir()).run()
    log.info("call %s for %s: media stream closed", ref.sid, merchant)
    return websocket.finished(ws)
