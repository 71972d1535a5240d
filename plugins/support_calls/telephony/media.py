"""Twilio Media Streams: the JSON messages of a ``<Connect><Stream>`` WebSocket.

In (Twilio to us): ``connected``, ``start``, ``media``, ``mark``, ``dtmf``, ``stop``.
Out (us to Twilio): ``media`` (base64 µ-law, 8 kHz), ``mark``, ``clear``.

:func:`parse` turns one text message into a typed event or raises
:class:`StreamProtocolError` naming what is wrong; the builders make the
outbound messages; :class:`Liveness` says when a stream has stopped being a call.
Nothing here touches a socket.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass, field
from typing import Any

from merchant_voice.plugin_api import StreamProtocolError

SAMPLE_RATE = 8_000
FRAME_MS = 20
FRAME_BYTES = SAMPLE_RATE * FRAME_MS // 1000  # 160 bytes of µ-law per 20 ms
MAX_MESSAGE_BYTES = 16 * 1024  # a 20 ms frame is ~300 bytes of JSON; Twilio never sends more
MAX_MEDIA_BYTES = 8 * 1024  # decoded audio in one media message (~1 s)
DTMF_DIGITS = frozenset("0123456789*#ABCD")
START_TIMEOUT_S = 5.0  # Twilio sends "start" at once: a stream without it by then is not a call
IDLE_TIMEOUT_S = 15.0  # Twilio sends a frame every 20 ms: this long without one, the call is gone


@dataclass(frozen=True)
class Connected:
    protocol: str


@dataclass(frozen=True)
class Start:
    stream_sid: str
    call_sid: str
    encoding: str
    sample_rate: int
    custom_parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Media:
    payload: bytes  # µ-law bytes


@dataclass(frozen=True)
class Mark:
    name: str


@dataclass(frozen=True)
class Dtmf:
    digit: str


@dataclass(frozen=True)
class Stop:
    call_sid: str


Event = Connected | Start | Media | Mark | Dtmf | Stop


@dataclass
class Liveness:
    """Whether a stream is still a call: ``start`` within START_TIMEOUT_S of opening, then
    audio at least every IDLE_TIMEOUT_S. Other messages, however many, do not count."""

    opened: float = field(default_factory=time.monotonic)
    heard: float = field(default_factory=time.monotonic)
    started: bool = False

    def saw(self, event: Event) -> None:
        if isinstance(event, Start):
            self.started = True
        elif isinstance(event, Media):
            self.heard = time.monotonic()

    def ended(self) -> str | None:
        """Why the stream is no longer a call, or None."""
        now = time.monotonic()
        if not self.started and now - self.opened > START_TIMEOUT_S:
            return f"no start in {START_TIMEOUT_S}s"
        if self.started and now - self.heard > IDLE_TIMEOUT_S:
            return f"no media for {IDLE_TIMEOUT_S}s"
        return None


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise StreamProtocolError(f"{where}: expected an object")
    return value


def _text(container: dict[str, Any], key: str, where: str, limit: int = 128) -> str:
    value = container.get(key)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise StreamProtocolError(f"{where}.{key}: expected a string of 1-{limit} characters")
    return value


def parse(message: str | bytes) -> Event:
    """One message from Twilio, checked: anything wrong is a :class:`StreamProtocolError`."""
    try:
        return _parse(message)
    except StreamProtocolError:
        raise
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise StreamProtocolError(f"message: {type(exc).__name__}: {str(exc)[:100]}") from None


def _parse(message: str | bytes) -> Event:
    if isinstance(message, bytes):
        raise StreamProtocolError("binary messages are not part of the protocol")
    if len(message) > MAX_MESSAGE_BYTES:
        raise StreamProtocolError(f"message of {len(message)} bytes is over {MAX_MESSAGE_BYTES}")
    try:
        data = _object(json.loads(message), "message")
    except json.JSONDecodeError as exc:
        raise StreamProtocolError(f"message is not JSON: {exc}") from None
    kind = data.get("event")
    if kind == "connected":
        return Connected(str(data.get("protocol", "")))
    if kind == "start":
        start = _object(data.get("start"), "start")
        media_format = _object(start.get("mediaFormat", {}), "start.mediaFormat")
        parameters = _object(start.get("customParameters", {}), "start.customParameters")
        return Start(
            stream_sid=_text(start, "streamSid", "start"),
            call_sid=_text(start, "callSid", "start"),
            encoding=str(media_format.get("encoding", "audio/x-mulaw")),
            sample_rate=int(media_format.get("sampleRate", SAMPLE_RATE) or 0),
            custom_parameters={str(k)[:64]: str(v)[:256] for k, v in parameters.items()},
        )
    if kind == "media":
        media = _object(data.get("media"), "media")
        payload = media.get("payload")
        if not isinstance(payload, str):
            raise StreamProtocolError("media.payload: expected a base64 string")
        try:
            audio = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise StreamProtocolError("media.payload: not valid base64") from None
        if not 0 < len(audio) <= MAX_MEDIA_BYTES:
            raise StreamProtocolError(f"media.payload: {len(audio)} bytes, not 1-{MAX_MEDIA_BYTES}")
        if media.get("track", "inbound") not in ("inbound", "inbound_track"):
            raise StreamProtocolError("media.track: only the inbound track is accepted")
        return Media(audio)
    if kind == "mark":
        return Mark(_text(_object(data.get("mark"), "mark"), "name", "mark"))
    if kind == "dtmf":
        digit = _text(_object(data.get("dtmf"), "dtmf"), "digit", "dtmf", limit=1)
        if digit not in DTMF_DIGITS:
            raise StreamProtocolError(f"dtmf.digit: {digit!r} is not a keypad digit")
        return Dtmf(digit)
    if kind == "stop":
        stop = data.get("stop") or {}
        return Stop(str(_object(stop, "stop").get("callSid", ""))[:64])
    raise StreamProtocolError(f"event: unknown event {str(kind)[:32]!r}")


def media_message(stream_sid: str, mulaw: bytes) -> str:
    payload = base64.b64encode(mulaw).decode()
    return json.dumps({"event": "media", "streamSid": stream_sid, "media": {"payload": payload}})


def mark_message(stream_sid: str, name: str) -> str:
    return json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear_message(stream_sid: str) -> str:
    return json.dumps({"event": "clear", "streamSid": stream_sid})
