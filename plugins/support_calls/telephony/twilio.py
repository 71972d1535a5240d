"""Twilio's webhook protocol: request signatures and TwiML answers.

Twilio signs each webhook request with ``X-Twilio-Signature``: the base64
HMAC-SHA1, keyed with the account's auth token, of the full URL it requested
followed by every POST parameter, sorted by name, as name then value. The
URL is the one Twilio was given, so behind a proxy it is the host's
``public_url`` plus the path; Twilio may or may not include a default port,
so both forms are tried, as its own validators do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit
from xml.sax.saxutils import escape, quoteattr

DEFAULT_PORTS = {"https": 443, "http": 80}
_XML = '<?xml version="1.0" encoding="UTF-8"?>'


def signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The ``X-Twilio-Signature`` for a POST of ``params`` to ``url``."""
    payload = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def valid(auth_token: str, url: str, params: Iterable[tuple[str, str]], given: str) -> bool:
    """Whether ``given`` is Twilio's signature of this request (with or without the port)."""
    pairs = list(params)
    return bool(given) and any(
        hmac.compare_digest(signature(auth_token, candidate, pairs), given)
        for candidate in _url_forms(url)
    )


def _url_forms(url: str) -> list[str]:
    parts = urlsplit(url)
    port = DEFAULT_PORTS.get(parts.scheme)
    host = parts.hostname or ""
    if port is None or not host:
        return [url]
    bare = urlunsplit(parts._replace(netloc=_netloc(parts.username, parts.password, host)))
    with_port = urlunsplit(
        parts._replace(
            netloc=_netloc(parts.username, parts.password, f"{host}:{parts.port or port}")
        )
    )
    return list(dict.fromkeys([url, bare, with_port]))


def _netloc(user: str | None, password: str | None, host: str) -> str:
    if user is None:
        return host
    return f"{user}:{password}@{host}" if password is not None else f"{user}@{host}"


def connect_stream(stream_url: str, parameters: dict[str, str], action: str | None = None) -> str:
    """TwiML that connects the call's audio to our media WebSocket.

    With ``action``, Twilio requests that URL when the stream ends, for what to do next.
    """
    params = "".join(
        f"<Parameter name={quoteattr(name)} value={quoteattr(value)}/>"
        for name, value in parameters.items()
    )
    stream = f"<Stream url={quoteattr(stream_url)}>{params}</Stream>"
    attributes = f" action={quoteattr(action)}" if action else ""
    return f"{_XML}<Response><Connect{attributes}>{stream}</Connect></Response>"


def dial(number: str) -> str:
    """TwiML transferring the call to ``number``."""
    return f"{_XML}<Response><Dial>{escape(number)}</Dial></Response>"


def hang_up() -> str:
    return f"{_XML}<Response><Hangup/></Response>"


def say_and_hang_up(text: str) -> str:
    """TwiML for a call we cannot take: a short sentence, then hang up."""
    return f"{_XML}<Response><Say>{escape(text)}</Say><Hangup/></Response>"
