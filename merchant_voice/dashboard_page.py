"""A page a plugin adds to the merchants' dashboard (the ``dashboard_pages`` hook)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models import Role

EVERYONE = (Role.OWNER.value, Role.AGENT.value)


@dataclass(frozen=True)
class DashboardPage:
    """A page in the dashboard's navigation: its view's endpoint, its title (translated:
    ``lazy_gettext``), the roles that see it, and its place (lower first)."""

    endpoint: str
    title: Any
    roles: tuple[str, ...] = EVERYONE
    order: int = 100
