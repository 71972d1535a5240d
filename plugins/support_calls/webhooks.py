"""Twilio's call webhooks, one URL pair per merchant, every request signature-checked.

    POST /hooks/twilio/<merchant>/voice   a call comes in: TwiML <Connect><Stream>
    POST /hooks/twilio/<merchant>/status  status callbacks: completed, busy, failed...
    POST /hooks/twilio/<merchant>/next    the stream ended (<Connect action>): transfer or hang up

The voice answer points Twilio's media stream at a WebSocket URL carrying a
one-time token (only its SHA-256 is stored; it expires within a minute and
admits one stream). A request whose ``X-Twilio-Signature`` does not verify
with the merchant's auth token (credential ``support_calls.twilio_auth_token``)
gets 403.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from flask import Blueprint, Response, request
from sqlalchemy import select

from merchant_voice.plugin_api import (
    Conflict,
    Forbidden,
    TenantSession,
    ValidationFailed,
    credential,
    current_settings,
    external_url,
    merchant_session,
    phone_key,
    utcnow,
)
from plugins.support_calls.models import FINAL_STATUSES, Call, CallStatus
from plugins.support_calls.plugin import plugin
from plugins.support_calls.settings import SupportCallsSettings
from plugins.support_calls.telephony import twilio

log = logging.getLogger(__name__)

bp = Blueprint("support_calls_hooks", __name__, url_prefix="/hooks/twilio")

STREAM_TOKEN_TTL = timedelta(seconds=60)


def _websocket_url(url: str) -> str:
    """https://host/... -> wss://host/... (http -> ws)."""
    scheme, _, rest = url.partition("://")
    return ("wss" if scheme == "https" else "ws") + "://" + rest


def _verify(session: TenantSession, slug: str) -> None:
    token = credential(session, plugin, "twilio_auth_token")
    if not token:
        raise Forbidden(
            f"no Twilio auth token is set for {slug!r}: PUT /api/v1/credentials/"
            "support_calls.twilio_auth_token"
        )
    query = request.query_string.decode()
    url = external_url(request.path + (f"?{query}" if query else ""))
    params = list(request.form.items(multi=True))
    if not twilio.valid(token, url, params, request.headers.get("X-Twilio-Signature", "")):
        log.warning("refused a Twilio request for %s: bad signature (url %s)", slug, url)
        raise Forbidden("the X-Twilio-Signature does not match this request")


def _required(name: str) -> str:
    value = request.form.get(name, "").strip()
    if not value:
        message = "is required"
        raise ValidationFailed(f"{name}: {message}", [{"field": name, "message": message}])
    return value[:64]


def _call(session: TenantSession, call_sid: str) -> Call | None:
    return session.scalars(
        select(Call).where(Call.provider == "twilio", Call.call_sid == call_sid)
    ).first()


@bp.post("/<merchant>/voice")
def voice(merchant: str) -> Response:
    with merchant_session(merchant, "support_calls") as session:
        _verify(session, merchant)
        call_sid = _required("CallSid")
        call = _call(session, call_sid)
        if call is not None and (
            call.stream_started_at is not None or call.status in FINAL_STATUSES
        ):
            log.warning("refused a replayed voice webhook for call %s", call_sid)
            raise Conflict(f"call {call_sid} is already connected or over")
        if call is None:
            call = Call(call_sid=call_sid, provider="twilio")
            session.add(call)
        call.caller = request.form.get("From", "")[:32]
        call.caller_key = phone_key(call.caller)
        call.callee = request.form.get("To", "")[:32]
        call.status = CallStatus.IN_PROGRESS.value
        token = secrets.token_urlsafe(32)
        call.stream_token_hash = hashlib.sha256(token.encode()).hexdigest()
        call.stream_token_expires_at = utcnow() + STREAM_TOKEN_TTL
        session.commit()
        log.info("call %s for %s: connecting its media stream", call_sid, merchant)
    stream_url = _websocket_url(external_url(f"/hooks/twilio/{merchant}/stream/{token}"))
    action_url = external_url(f"/hooks/twilio/{merchant}/next")
    twiml = twilio.connect_stream(stream_url, {"call_sid": call_sid}, action=action_url)
    return Response(twiml, mimetype="text/xml")


MAX_CALL_S = 7 * 24 * 3600  # longer than any call Twilio connects (24 hours at most)


def _duration(value: str) -> int | None:
    """``CallDuration``: whole seconds, or None when Twilio leaves it out."""
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 7) or int(value) > MAX_CALL_S:
        message = f"must be a whole number of seconds up to {MAX_CALL_S}"
        raise ValidationFailed(
            f"CallDuration: {message}", [{"field": "CallDuration", "message": message}]
        )
    return int(value)


@bp.post("/<merchant>/status")
def status(merchant: str) -> Response:
    with merchant_session(merchant, "support_calls") as session:
        _verify(session, merchant)
        call_sid = _required("CallSid")
        try:
            new_status = CallStatus(_required("CallStatus"))
        except ValueError:
            known = ", ".join(s.value for s in CallStatus)
            message = f"must be one of {known}"
            raise ValidationFailed(
                f"CallStatus: {message}", [{"field": "CallStatus", "message": message}]
            ) from None
        call = _call(session, call_sid)
        if call is None:  # a call that failed before its voice webhook
            caller = request.form.get("From", "")[:32]
            call = Call(
                call_sid=call_sid, provider="twilio", caller=caller, caller_key=phone_key(caller)
            )
            session.add(call)
        if call.status not in FINAL_STATUSES:
            call.status = new_status.value
            if new_status in FINAL_STATUSES:
                call.ended_at = utcnow()
                call.stream_token_hash = None
                call.duration_s = _duration(request.form.get("CallDuration", ""))
                if new_status is not CallStatus.COMPLETED and call.outcome is None:
                    call.outcome = "abandoned"
        session.commit()
    return Response(status=204)


@bp.post("/<merchant>/next")
def next_step(merchant: str) -> Response:
    """What Twilio does once our media stream has closed: the call's ``next_action``."""
    with merchant_session(merchant, "support_calls") as session:
        _verify(session, merchant)
        call = _call(session, _required("CallSid"))
        number = current_settings(SupportCallsSettings).handoff_number
        action = call.next_action if call is not None else None
        if call is not None:
            call.next_action = None
            session.commit()
    if action == "transfer" and number:
        log.info("transferring a call for %s to the hand-off number", merchant)
        return Response(twilio.dial(number), mimetype="text/xml")
    if action == "hang_up":
        return Response(twilio.hang_up(), mimetype="text/xml")
    log.warning("the media stream of a call for %s ended unexpectedly", merchant)
    return Response(
        twilio.say_and_hang_up("Sorry, something went wrong. Please call again."),
        mimetype="text/xml",
    )
