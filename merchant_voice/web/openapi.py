"""The OpenAPI 3.1 document of ``/api/v1``, built from every :class:`ApiBlueprint`."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from pydantic import BaseModel

from merchant_voice import __version__
from merchant_voice.web.api import API_PREFIX, ApiBlueprint, Operation

_CONVERTER = re.compile(r"<(?:(?P<converter>[a-z]+):)?(?P<name>\w+)>")
_PARAM_TYPES = {"int": "integer", "float": "number"}
_STATUS_TEXT = {
    400: "Unreadable body (e.g. malformed JSON)",
    401: "No, bad or revoked API key",
    404: "Not found for this merchant",
    413: "Body over the configured limit",
    415: "Body is not application/json",
    422: "Fields failed validation",
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "required": ["type", "title", "status"],
}


def build_openapi(app: Flask) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for blueprint in app.blueprints.values():
        if isinstance(blueprint, ApiBlueprint):
            for operation in blueprint.operations:
                path = _CONVERTER.sub(r"{\g<name>}", operation.rule.removeprefix(API_PREFIX))
                paths.setdefault(path or "/", {})[operation.method.lower()] = _operation(
                    operation, schemas
                )
    return {
        "openapi": "3.1.0",
        "info": {"title": "Merchant Voice API", "version": __version__},
        "servers": [{"url": API_PREFIX}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
    }


def _ref(model: type[BaseModel], schemas: dict[str, Any], tag: str) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schema.pop("$defs", {}))
    name = model.__name__
    if schemas.get(name, schema) != schema:  # two blueprints use the same class name
        name = f"{tag}_{name}"
    schemas[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


def _operation(operation: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "operationId": operation.endpoint.replace(".", "_"),
        "summary": operation.summary,
        "tags": [operation.tag],
        "parameters": [
            {
                "name": match["name"],
                "in": "path",
                "required": True,
                "schema": {"type": _PARAM_TYPES.get(match["converter"] or "", "string")},
            }
            for match in _CONVERTER.finditer(operation.rule)
        ],
        "responses": {},
    }
    if operation.auth:
        spec["security"] = [{"apiKey": []}]
    if operation.body is not None:
        spec["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": _ref(operation.body, schemas, operation.tag)}
            },
        }
    ok: dict[str, Any] = {"description": "Success"}
    if operation.response is not None:
        ok["content"] = {
            "application/json": {"schema": _ref(operation.response, schemas, operation.tag)}
        }
    spec["responses"][str(operation.status)] = ok
    for status in operation.errors:
        spec["responses"][str(status)] = {
            "description": _STATUS_TEXT[status],
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
    return spec
