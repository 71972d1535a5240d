"""Every error becomes an RFC 9457 ``application/problem+json`` response, here only:
the host's :class:`MerchantVoiceError`, the engines' errors (as :class:`EngineProblem`),
Werkzeug's HTTP errors, a busy SQLite database, and anything unexpected (logged).

A value the database refuses (too long, out of range: :class:`DataError`) or a
change that clashes with a stored record (:class:`IntegrityError`) that the view did
not turn into a clearer error is still the request's fault: 422 or 409, logged with
the statement for the operator, never shown to the client."""

from __future__ import annotations

import logging

from flask import Flask, Response, json, request
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from engines.errors import EngineError
from merchant_voice.db import is_busy
from merchant_voice.errors import (
    PROBLEM_TYPE_PREFIX,
    Conflict,
    DatabaseBusy,
    EngineProblem,
    MerchantVoiceError,
    PayloadTooLarge,
    TenancyViolation,
    Unauthorized,
    ValidationFailed,
)

log = logging.getLogger(__name__)

PROBLEM_MIMETYPE = "application/problem+json"
KEPT_HEADERS = ("Allow", "Retry-After")


def problem_response(error: MerchantVoiceError) -> Response:
    body = json.dumps(error.to_problem(instance=request.path))
    response = Response(body, status=error.status, mimetype=PROBLEM_MIMETYPE)
    if isinstance(error, Unauthorized):
        response.headers["WWW-Authenticate"] = 'Bearer realm="merchant-voice"'
    return response


def _from_http(exc: HTTPException) -> Response:
    if isinstance(exc, RequestEntityTooLarge):
        limit = request.max_content_length
        return problem_response(
            PayloadTooLarge(f"the request body is over the limit of {limit} bytes", limit=limit)
        )
    code = exc.code or 500
    problem = {
        "type": PROBLEM_TYPE_PREFIX + (exc.name or "error").lower().replace(" ", "-"),
        "title": exc.name,
        "status": code,
        "detail": exc.description,
        "instance": request.path,
    }
    response = Response(json.dumps(problem), status=code, mimetype=PROBLEM_MIMETYPE)
    for name, value in exc.get_headers():
        if name in KEPT_HEADERS:
            response.headers[name] = value
    return response


def _from_merchant_voice(exc: MerchantVoiceError) -> Response:
    if isinstance(exc, TenancyViolation):
        log.error("tenancy violation on %s %s: %s", request.method, request.path, exc.detail)
    elif exc.status >= 500:
        log.error("%s on %s %s: %s", type(exc).__name__, request.method, request.path, exc.detail)
    return problem_response(exc)


def _from_engine(exc: EngineError) -> Response:
    return _from_merchant_voice(EngineProblem(exc))


def _database(exc: OperationalError) -> Response:
    if not is_busy(exc):
        return _unexpected(exc)
    log.warning("SQLite busy on %s %s: %s", request.method, request.path, exc.orig)
    response = problem_response(DatabaseBusy("the database is busy; retry in a moment"))
    response.headers["Retry-After"] = "1"
    return response


def _refused_value(exc: DataError) -> Response:
    log.warning("database refused a value on %s %s: %s", request.method, request.path, exc)
    return problem_response(
        ValidationFailed("a value in the request does not fit the field it is stored in")
    )


def _clash(exc: IntegrityError) -> Response:
    log.warning("database refused a change on %s %s: %s", request.method, request.path, exc)
    return problem_response(Conflict("the change clashes with a record that exists; retry it"))


def _unexpected(exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
    return problem_response(MerchantVoiceError("an unexpected error occurred; it has been logged"))


def init_app(app: Flask) -> None:
    app.register_error_handler(MerchantVoiceError, _from_merchant_voice)
    app.register_error_handler(EngineError, _from_engine)
    app.register_error_handler(HTTPException, _from_http)
    app.register_error_handler(OperationalError, _database)
    app.register_error_handler(DataError, _refused_value)
    app.register_error_handler(IntegrityError, _clash)
    app.register_error_handler(Exception, _unexpected)
