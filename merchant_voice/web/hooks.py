"""What every incoming webhook (shop platforms, telephony) starts with."""

from __future__ import annotations

from merchant_voice import accounts, extensions, plugin_state
from merchant_voice.errors import NotFound
from merchant_voice.tenancy import TenantSession


def merchant_session(slug: str, plugin: str | None) -> TenantSession:
    """A session for merchant ``slug``; 404 if it does not exist or has ``plugin`` disabled
    (None: a host endpoint, for any merchant).

    The caller closes it (``with merchant_session(...) as session``).
    """
    db = extensions.database()
    with db.host_session() as session:
        try:
            merchant = accounts.merchant_by_slug(session, slug).info()
        except NotFound:
            raise NotFound(f"no merchant {slug!r}") from None
    tenant: TenantSession = db.tenant_session(merchant)
    if plugin is None:
        return tenant
    try:
        enabled = plugin_state.is_enabled(extensions.plugin_manager(), tenant, plugin)
    except Exception:
        tenant.close()
        raise
    if not enabled:
        tenant.close()
        raise NotFound(f"the {plugin} plugin is not enabled for {slug!r}")
    return tenant
