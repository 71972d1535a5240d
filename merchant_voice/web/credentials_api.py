"""``/api/v1/credentials``: a merchant sets or removes its secrets; values never come back.

Only literal values are accepted here: environment references (``env:NAME``)
point into the host's environment, so only an operator sets them, with
``flask --app app credentials set``.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from merchant_voice import extensions
from merchant_voice.credentials import MAX_VALUE, check_declared, declared
from merchant_voice.web.api import ApiBlueprint, current_merchant

bp = ApiBlueprint("credentials_api", __name__, "/credentials")


class CredentialIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str = Field(min_length=1, max_length=MAX_VALUE, description="Stored encrypted")


class CredentialOut(BaseModel):
    name: str
    kind: str
    updated_at: datetime


class CredentialList(BaseModel):
    credentials: list[CredentialOut]
    declared: list[str]


def _listed(name: str | None = None) -> list[CredentialOut]:
    rows = extensions.credentials().describe(current_merchant().id)
    return [
        CredentialOut(name=row["name"], kind=row["kind"], updated_at=row["updated_at"])
        for row in rows
        if name is None or row["name"] == name
    ]


@bp.operation("", "GET", summary="The merchant's credentials: names only", response=CredentialList)
def list_credentials() -> CredentialList:
    return CredentialList(
        credentials=_listed(), declared=declared(extensions.plugin_manager().declarations)
    )


@bp.operation(
    "/<name>",
    "PUT",
    summary="Set a credential (e.g. shopify.webhook_secret); it is stored encrypted",
    body=CredentialIn,
    response=CredentialOut,
)
def put_credential(name: str, body: CredentialIn) -> CredentialOut:
    check_declared(extensions.plugin_manager().declarations, name)
    extensions.credentials().set(current_merchant().id, name, body.value)
    return _listed(name)[0]


@bp.operation("/<name>", "DELETE", summary="Remove a credential", status=204)
def delete_credential(name: str) -> None:
    extensions.credentials().delete(current_merchant().id, name)
