"""The kit for ``/api/v1`` endpoints, used by the host and by plugins alike.

An :class:`ApiBlueprint` endpoint is declared with its body and response
models; the kit authenticates the caller (``Authorization: Bearer <key>``),
checks that the owning plugin is enabled for the merchant, parses and
validates the JSON body, renders the response model, and records the
operation for the OpenAPI document::

    bp = ApiBlueprint("notes", __name__, "/notes", plugin="notes")

    @bp.operation("/<int:note_id>", "GET", summary="One note", response=NoteOut)
    def get_note(note_id: int) -> NoteOut:
        note = tenant_session().get(Note, note_id)   # another merchant's: None
        if note is None:
            raise NotFound(f"no note {note_id}")
        return NoteOut.model_validate(note, from_attributes=True)
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint, Flask, Response, g, request
from pydantic import BaseModel, ValidationError
from sqlalchemy import BigInteger
from sqlalchemy import inspect as sa_inspect

from merchant_voice import accounts, extensions
from merchant_voice.errors import (
    BadRequest,
    NotFound,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from merchant_voice.plugin_declaration import PluginSettings
from merchant_voice.tenancy import MerchantInfo, TenantSession

API_PREFIX = "/api/v1"
F = TypeVar("F", bound=Callable[..., Any])
S = TypeVar("S", bound=PluginSettings)


@dataclass(frozen=True)
class Operation:
    """One endpoint, as the OpenAPI document describes it."""

    rule: str
    method: str
    endpoint: str
    summary: str
    tag: str
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    auth: bool
    errors: tuple[int, ...]


class ApiBlueprint(Blueprint):
    """A blueprint under ``/api/v1`` whose endpoints are typed and documented."""

    def __init__(
        self,
        name: str,
        import_name: str,
        path: str = "",
        *,
        plugin: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, import_name, url_prefix=API_PREFIX + path, **kwargs)
        self.plugin = plugin
        self.tag = plugin or name
        self.operations: list[Operation] = []

    def operation(
        self,
        rule: str,
        method: str = "GET",
        *,
        summary: str,
        body: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        auth: bool = True,
    ) -> Callable[[F], F]:
        """Register ``view`` for ``method rule``. A ``body`` model is passed as ``body=``."""

        def decorator(view: F) -> F:
            wants_body = "body" in inspect.signature(view).parameters
            if body is not None and not wants_body:
                raise TypeError(f"{view.__name__} must take a `body` argument")

            @functools.wraps(view)
            def endpoint(**url_args: Any) -> Response:
                if auth:
                    _authenticate(self.plugin)
                if body is not None:
                    url_args["body"] = parse_body(body)
                result = view(**url_args)
                return render(result, status)

            self.add_url_rule(rule, view.__name__, endpoint, methods=[method])
            errors: tuple[int, ...] = (401, 404) if auth else ()
            if body is not None:
                errors += (400, 413, 415, 422)
            self.operations.append(
                Operation(
                    (self.url_prefix or "") + rule,
                    method,
                    f"{self.name}.{view.__name__}",
                    summary,
                    self.tag,
                    body,
                    response,
                    status,
                    auth,
                    errors,
                )
            )
            return view

        return decorator


def _authenticate(plugin: str | None) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send an API key as `Authorization: Bearer <key>`")
    db = extensions.database()
    with db.host_session() as session:
        merchant, stale = accounts.authenticate(session, token.strip())
    if stale:  # a write at most once a minute per key, not on every request
        with db.host_transaction() as session:
            accounts.touch_api_key(session, token.strip())
    g.merchant = merchant
    if plugin is not None:
        session = tenant_session()
        enabled = extensions.plugin_manager().is_enabled(session, plugin)
        if request.method in WRITE_METHODS:  # a writer takes SQLite's lock at the view's first
            session.rollback()  # statement, not for this read (a reader reads on in it)
        if not enabled:
            raise NotFound(f"the {plugin} plugin is not enabled for this merchant")


def current_merchant() -> MerchantInfo:
    """The merchant the current request acts for."""
    merchant: MerchantInfo | None = g.get("merchant")
    if merchant is None:
        raise Unauthorized("this endpoint needs an authenticated merchant")
    return merchant


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def tenant_session() -> TenantSession:
    """The request's merchant-scoped session, opened on first use, closed at teardown; a
    writer (:meth:`Database.tenant_session`) in a request that writes."""
    session: TenantSession | None = g.get("tenant_session")
    if session is None:
        writer = request.method in WRITE_METHODS
        session = extensions.database().tenant_session(current_merchant(), writer=writer)
        g.tenant_session = session
    return session


def current_settings(schema: type[S]) -> S:
    """The current merchant's settings of the plugin whose settings class is ``schema``,
    validated: ``current_settings(TranslationSettings)``, read through the request's session.
    For request handlers, and for webhooks and commands once ``merchant_session`` has named
    the merchant."""
    manager = extensions.plugin_manager()
    owners = [p.name for p in manager.plugins.values() if p.declaration.settings is schema]
    if len(owners) != 1:
        raise TypeError(f"{schema.__name__} is the settings class of no one loaded plugin")
    settings = manager.settings_for(tenant_session(), owners[0])
    if not isinstance(settings, schema):
        raise TypeError(f"{owners[0]}'s settings are not a {schema.__name__}")
    return settings


def _close_tenant_session(_exc: BaseException | None) -> None:
    session: TenantSession | None = g.pop("tenant_session", None)
    if session is not None:
        session.close()


MAX_ID = 2**63 - 1
"""The largest primary key a database stores; a larger id in a URL cannot exist."""
MAX_INTEGER_ID = 2**31 - 1  # PostgreSQL's ``integer``, an ``Integer`` key's type

M = TypeVar("M")


def _largest_id(model: type[Any]) -> int:
    [key] = sa_inspect(model).primary_key
    return MAX_ID if isinstance(key.type, BigInteger) else MAX_INTEGER_ID


def get_or_404(model: type[M], ident: int, what: str) -> M:
    """The merchant's ``model`` row ``ident``; NotFound (``no <what> <ident>``) otherwise,
    also for an id beyond what the key's column holds."""
    row = tenant_session().get(model, ident) if 0 < ident <= _largest_id(model) else None
    if row is None:
        raise NotFound(f"no {what} {ident}")
    return row


def query_int(name: str, default: int, low: int, high: int) -> int:
    """Query parameter ``name`` as a whole number within [low, high]; 422 naming it otherwise."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        message = f"must be a whole number from {low} to {high}"
        raise ValidationFailed(f"{name}: {message}", [{"field": name, "message": message}])
    return int(raw)


def parse_body(model: type[BaseModel]) -> BaseModel:
    """The request's JSON body validated as ``model``; 400/415/422 problems otherwise."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType(
            f"send the body as application/json (got {request.mimetype or 'no content type'})"
        )
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise BadRequest("the JSON body is not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"malformed JSON body: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise BadRequest("the JSON body is nested too deeply") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed.from_pydantic(exc) from None


def render(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status=204)
    payload = result.model_dump_json() if isinstance(result, BaseModel) else json.dumps(result)
    return Response(payload, status=status, mimetype="application/json")


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_close_tenant_session)
