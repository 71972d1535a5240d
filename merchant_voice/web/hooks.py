"""What every incoming webhook (shop platforms, telephony) and plugin command starts with."""

from __future__ import annotations

from flask import g, has_request_context, request

from merchant_voice import accounts, extensions
from merchant_voice.errors import NotFound
from merchant_voice.tenancy import TenantSession
from merchant_voice.web.api import WRITE_METHODS


def merchant_session(slug: str, plugin: str | None = None) -> TenantSession:
    """A session for merchant ``slug``; 404 if it does not exist or has ``plugin`` disabled
    (None: any merchant). The merchant and this session become the current ones
    (``current_merchant()``, ``tenant_session()``, ``current_settings()``) for the rest of
    the webhook or command.

    The caller closes it (``with merchant_session(...) as session``).
    """
    db = extensions.database()
    with db.host_session() as session:
        merchant = accounts.merchant_by_slug(session, slug).info()
    writer = has_request_context() and request.method in WRITE_METHODS  # webhooks, not commands
    tenant: TenantSession = db.tenant_session(merchant, writer=writer)
    if plugin is not None:
        try:
            enabled = extensions.plugin_manager().is_enabled(tenant, plugin)
            tenant.rollback()  # a read: a writer takes the lock once the signature is checked
        except Exception:
            tenant.close()
            raise
        if not enabled:
            tenant.close()
            raise NotFound(f"the {plugin} plugin is not enabled for {slug!r}")
    g.merchant, g.tenant_session = merchant, tenant
    return tenant
