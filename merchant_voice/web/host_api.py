"""The host's own ``/api/v1`` endpoints: the merchant, its plugins' settings, its jobs,
the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict, Field, RootModel

from merchant_voice import extensions, plugin_state
from merchant_voice.errors import NotFound
from merchant_voice.web.api import ApiBlueprint, current_merchant, tenant_session
from merchant_voice.web.openapi import build_openapi
from models.job import Job, JobStatus

bp = ApiBlueprint("host_api", __name__)


class PluginEntry(BaseModel):
    version: str
    enabled: bool
    details: dict[str, Any] | None = None


class MerchantOut(BaseModel):
    id: int
    slug: str
    name: str
    default_locale: str
    market_locales: list[str]
    currency: str
    timezone: str
    plugins: dict[str, PluginEntry]


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    status: JobStatus
    progress: float
    progress_message: str
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    max_attempts: int
    created_at: datetime
    started_at: datetime | None
    expected_finish_at: datetime | None = Field(
        description="A running job's expected finish, at its pace so far (null: not running,"
        " or too early to say)."
    )
    finished_at: datetime | None


@bp.operation(
    "/merchant", "GET", summary="The merchant the API key belongs to", response=MerchantOut
)
def get_merchant() -> MerchantOut:
    merchant = current_merchant()
    session = tenant_session()
    manager = extensions.plugin_manager()
    details = manager.call("merchant_details", session=session)
    session.commit()
    plugins = {
        entry["name"]: PluginEntry(
            version=entry["version"], enabled=entry["enabled"], details=details.get(entry["name"])
        )
        for entry in plugin_state.describe(manager.declarations, session)
    }
    return MerchantOut(
        id=merchant.id,
        slug=merchant.slug,
        name=merchant.name,
        default_locale=merchant.default_locale,
        market_locales=list(merchant.market_locales),
        currency=merchant.currency,
        timezone=merchant.timezone,
        plugins=plugins,
    )


class PluginSettingsIn(RootModel[dict[str, Any]]):
    """A plugin's settings: every field the plugin's schema has; left out, its default."""


class PluginSettingsOut(BaseModel):
    plugin: str
    enabled: bool
    settings: dict[str, Any]


def _plugin_settings(name: str) -> PluginSettingsOut:
    manager = extensions.plugin_manager()
    manager.get(name)  # 404 for a plugin that is not loaded
    shown = plugin_state.entry(manager.states(tenant_session())[name])
    return PluginSettingsOut(plugin=name, enabled=shown["enabled"], settings=shown["settings"])


@bp.operation(
    "/plugins/<plugin>/settings",
    "GET",
    summary="The merchant's settings of a plugin (also while it is disabled)",
    response=PluginSettingsOut,
)
def get_plugin_settings(plugin: str) -> PluginSettingsOut:
    return _plugin_settings(plugin)


@bp.operation(
    "/plugins/<plugin>/settings",
    "PUT",
    summary="Replace the merchant's settings of a plugin, validated by the plugin's schema",
    body=PluginSettingsIn,
    response=PluginSettingsOut,
)
def put_plugin_settings(plugin: str, body: PluginSettingsIn) -> PluginSettingsOut:
    session = tenant_session()
    extensions.plugin_manager().configure(session, plugin, body.root, merge=False)
    session.commit()
    return _plugin_settings(plugin)


@bp.operation("/jobs/<job_id>", "GET", summary="A background job and its progress", response=JobOut)
def get_job(job_id: str) -> JobOut:
    job = tenant_session().get(Job, job_id)
    if job is None:
        raise NotFound(f"no job {job_id!r}")
    return JobOut.model_validate(job)


@bp.operation("/openapi.json", "GET", summary="This OpenAPI document", auth=False)
def openapi() -> ResponseReturnValue:
    return jsonify(build_openapi(current_app))
