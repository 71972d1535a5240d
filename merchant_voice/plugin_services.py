"""The running host as plugins reach it: its engines, jobs, files and hooks.

These are typed accessors over ``app.extensions`` for a plugin's entry points
(request handlers, webhooks, commands). What is particular to a merchant - its
session and the plugin's settings - comes in through the entry point's
context instead (``JobContext``, ``ToolContext``, hook arguments,
``current_settings()``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from flask import current_app, request
from itsdangerous import URLSafeSerializer

from merchant_voice import extensions
from merchant_voice.plugin_declaration import Plugin
from merchant_voice.plugin_manager import Contribution
from merchant_voice.plugin_resources import PluginResources
from merchant_voice.tenancy import MerchantInfo, TenantSession
from models.job import Job


def plugin_resources(plugin: str) -> PluginResources:
    """The files of loaded plugin ``plugin``: prompts, translations, templates."""
    return extensions.plugin_manager().get(plugin).resources


def enqueue_job(session: TenantSession, kind: str, payload: dict[str, Any] | None = None) -> Job:
    """Queue a job of ``kind`` for the session's merchant; it is delivered when the session
    commits (a rolled-back request leaves no job behind)."""
    return extensions.job_service().enqueue(session, kind, payload)


def contributions(hook: str, session: TenantSession, **arguments: Any) -> list[Contribution]:
    """Call merchant hook ``hook`` on every plugin the merchant enabled, in call order: what
    each returned, with its settings and files (for plugins that consume a hook)."""
    return extensions.plugin_manager().contributions(hook, session, **arguments)


def credential(session: TenantSession, plugin: Plugin, name: str) -> str | None:
    """The session's merchant's credential ``name`` of ``plugin`` (one its declaration lists
    in ``credentials``), or None when it is unset. A plugin reads its own secrets only."""
    if name not in plugin.credentials:
        raise KeyError(f"plugin {plugin.name} declares no credential {name!r}")
    return extensions.credentials().get(session.merchant.id, f"{plugin.name}.{name}")


def merchant_sessions(merchant: MerchantInfo) -> Callable[[], TenantSession]:
    """A factory of new sessions for ``merchant``, usable from any thread (a call's workers)."""
    return partial(extensions.database().tenant_session, merchant)


def external_url(path: str) -> str:
    """The URL the world reaches ``path`` at: ``[host] public_url`` + path, else the
    current request's own host."""
    base = extensions.settings().host.public_url
    return (base.rstrip("/") if base else request.host_url.rstrip("/")) + path


def data_dir(plugin: str) -> Path:
    """``<instance>/plugins/<plugin>``: a folder for the plugin's files (recordings, say)."""
    name = extensions.plugin_manager().get(plugin).name
    folder = extensions.settings().instance_dir / "plugins" / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def storage_quota(merchant: MerchantInfo | None = None) -> int:
    """The bytes ``merchant``'s files may take on disk: its own quota where the operator
    set one (``merchants quota``), else ``[host] merchant_storage_mb``, as for every
    merchant when none is given."""
    if merchant is not None and merchant.storage_mb is not None:
        return merchant.storage_mb * 1_000_000
    return extensions.settings().host.merchant_storage_mb * 1_000_000


def signer(plugin: str, purpose: str) -> URLSafeSerializer:
    """Signs and verifies values (itsdangerous) with the host's secret key, for ``purpose``
    of ``plugin`` only: a value signed for one purpose never verifies for another. Put an
    expiry in what you sign, and check it, where a signed value must expire."""
    name = extensions.plugin_manager().get(plugin).name
    return URLSafeSerializer(str(current_app.secret_key), salt=f"{name}:{purpose}")
