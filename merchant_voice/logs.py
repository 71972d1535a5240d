"""Structured logs that carry the request, call and job they belong to.

Every record gets ``request_id``, ``job_id`` and ``call_id`` from context
variables, set by the host (each HTTP request, each job attempt) and by
plugins (``log_context(call_id=...)`` around a phone call). ``[logging]
format = "json"`` writes one JSON object per line; ``"text"`` appends the ids.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import Flask, Response, g, request

CONTEXT_FIELDS = ("request_id", "job_id", "call_id")
_context: dict[str, ContextVar[str | None]] = {
    name: ContextVar(name, default=None) for name in CONTEXT_FIELDS
}
REQUEST_ID_HEADER = "X-Request-ID"


@contextmanager
def log_context(**ids: str) -> Iterator[None]:
    """Tag every log record written inside the block, e.g. ``log_context(call_id=sid)``."""
    tokens = [(_context[name], _context[name].set(value)) for name, value in ids.items()]
    try:
        yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name, variable in _context.items():
            setattr(record, name, variable.get())
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ids = " ".join(
            f"{name}={getattr(record, name)}"
            for name in CONTEXT_FIELDS
            if getattr(record, name, None)
        )
        return f"{text} [{ids}]" if ids else text


def configure(level: str, style: str) -> None:
    """Install the formatter and context filter on a root handler (once)."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_merchant_voice", False)), None)
    if handler is None:
        if root.handlers:  # someone else (pytest, gunicorn) owns the output: just add the ids
            for existing in root.handlers:
                if not any(isinstance(f, ContextFilter) for f in existing.filters):
                    existing.addFilter(ContextFilter())
        else:
            handler = logging.StreamHandler()
            handler._merchant_voice = True  # type: ignore[attr-defined]
            handler.addFilter(ContextFilter())
            root.addHandler(handler)
    if handler is not None:
        handler.setFormatter(JsonFormatter() if style == "json" else TextFormatter())
    for name in ("merchant_voice", "engines", "plugins"):  # the host's, and built-in plugins'
        logging.getLogger(name).setLevel(level)


def init_app(app: Flask) -> None:
    """Give each request an id (the caller's ``X-Request-ID``, or a new one) and echo it."""

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if 0 < len(incoming) <= 128 else uuid.uuid4().hex
        g.log_context = log_context(request_id=request_id)
        g.log_context.__enter__()
        g.request_id = request_id

    @app.after_request
    def _echo(response: Response) -> Response:
        if "request_id" in g:
            response.headers[REQUEST_ID_HEADER] = g.request_id
        return response

    @app.teardown_request
    def _end(_exc: BaseException | None) -> None:
        context = g.pop("log_context", None)
        if context is not None:
            context.__exit__(None, None, None)
