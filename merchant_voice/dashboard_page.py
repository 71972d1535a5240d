"""What a plugin adds to the merchants' dashboard: pages in its navigation (the
``dashboard_pages`` hook) and panels on the host's and other plugins' pages (the
``dashboard_panels`` hook)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from models import Role

EVERYONE = (Role.OWNER.value, Role.AGENT.value)

OVERVIEW = "overview"  # the overview page; its panels' subject is None
LISTING = "listing"  # the catalog's page of one listing; the subject is the listing's id
SETTINGS = "settings"  # the owners' settings page; the subject is None
PLACES = frozenset({OVERVIEW, LISTING, SETTINGS})


@dataclass(frozen=True)
class DashboardPage:
    """A page in the dashboard's navigation: its view's endpoint, its title (translated:
    ``lazy_gettext``) and its place (lower first). The roles that see the entry are the
    view's own (``dashboard_view(roles=...)``)."""

    endpoint: str
    title: Any
    order: int = 100


@dataclass(frozen=True)
class DashboardPanel:
    """A section of a dashboard page: its title (translated), the plugin's template that
    draws it (rendered with the page's context and ``values``), and its place (lower
    first). Shown to every role that sees the page, unless ``roles`` narrows them."""

    title: Any
    template: str
    values: Mapping[str, Any] = field(default_factory=dict)
    order: int = 100
    roles: tuple[str, ...] = EVERYONE
