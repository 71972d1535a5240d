"""The plugin contract: every hook a plugin may implement.

Implement a hook with a function of the same name, decorated with
``hookimpl``, in the plugin's ``plugin.py`` or its ``hooks`` module. A hook
may take any subset of the arguments listed here, by name.

The host calls hooks through :meth:`PluginManager.call`, which contains
failures: a plugin that raises is logged and reported, and the others - and
the request, call or job that triggered the hook - carry on. Implementations
run in load order (a plugin after those it requires); ``tryfirst=True`` and
``trylast=True`` move one to the front or the back.

Hooks that take a ``session`` are merchant hooks: they run only for plugins
the merchant has enabled, ``session`` is that merchant's
:class:`~merchant_voice.tenancy.TenantSession`, and ``settings`` is the
implementing plugin's own settings for that merchant, validated.

Every hook is documented in ``docs/plugins.md`` and tested in
``tests/test_hooks.py``; a meta-test keeps those in step with this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from flask import Flask

    from merchant_voice.call_tools import CallTool
    from merchant_voice.customers import CustomerContacts, RedactedCustomer
    from merchant_voice.dashboard_page import DashboardPage, DashboardPanel
    from merchant_voice.job_kinds import JobRegistry
    from merchant_voice.plugin_declaration import PluginSettings
    from merchant_voice.tenancy import MerchantInfo, TenantSession
    from models.job import Job

PROJECT_NAME = "merchant_voice"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin's hook implementation: ``@hookimpl`` or ``@hookimpl(tryfirst=True)``."""


@hookspec
def startup(app: Flask) -> None:
    """Called once per application, after every plugin is loaded and registered.

    Use it to prepare process-wide resources (caches, clients). Do not start
    long work here: the host must start in seconds.
    """


@hookspec
def register_jobs(registry: JobRegistry) -> None:
    """Register background job kinds with ``registry.add(kind, handler)``.

    Kinds are named ``<plugin>.<action>`` after the registering plugin. The
    handler receives a :class:`~merchant_voice.job_kinds.JobContext`, whose
    ``settings`` are that plugin's for the job's merchant, and returns a
    JSON-serialisable dict, stored as the job's result.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to ``flask --app app ...``, e.g. ``cli.add_command(my_command)``."""


@hookspec
def merchant_created(session: TenantSession, settings: PluginSettings) -> None:
    """A merchant was just created; seed its data with ``session``.

    ``session.merchant`` describes the merchant. The host commits the session
    afterwards; if the hook raises, its writes are rolled back, the merchant
    is still created.
    """


@hookspec
def merchant_deleted(merchant: MerchantInfo) -> None:
    """Merchant ``merchant`` was deleted (``merchants delete``), with every row it owned:
    each merchant-owned table's foreign key cascades.

    Delete what the plugin keeps for it outside the database (files under
    ``data_dir``). Called for every loaded plugin, after the deletion committed.
    """


@hookspec
def merchant_details(session: TenantSession, settings: PluginSettings) -> dict[str, Any] | None:
    """Contribute a section to ``GET /api/v1/merchant``, under ``plugins.<name>``.

    Return a small JSON-serialisable dict (counts, status), or None to add
    nothing. Keep it cheap: it runs on every such request.
    """


@hookspec
def job_finished(session: TenantSession, settings: PluginSettings, job: Job) -> None:
    """A job of the merchant reached a final state: succeeded, or failed for good.

    ``job.status``, ``job.result`` and ``job.error`` tell how it ended. Called
    for every enabled plugin, whichever plugin owns the job's kind.
    """


@hookspec
def dashboard_pages(session: TenantSession, settings: PluginSettings) -> list[DashboardPage] | None:
    """Pages the plugin adds to the merchant's dashboard navigation.

    Return :class:`~merchant_voice.dashboard_page.DashboardPage` objects: the endpoint of
    a view of the plugin's own blueprint (``/dashboard/<plugin>/...``) decorated with
    ``dashboard_view`` (whose roles see the entry), a translated title and its order.
    Called for each request of a signed-in page: keep it cheap.
    """


@hookspec
def dashboard_panels(
    session: TenantSession, settings: PluginSettings, place: str, subject: int | None
) -> list[DashboardPanel] | None:
    """Panels the plugin adds to a dashboard page: ``place`` is ``"overview"`` (the
    overview; ``subject`` is None), ``"listing"`` (the catalog's page of one listing;
    ``subject`` is its id) or ``"settings"`` (the owners' settings page; None). Return
    :class:`~merchant_voice.dashboard_page.DashboardPanel` objects: a title, the plugin's
    template that draws the panel, the values it needs, the roles that see it. Read what
    the panel shows here, in the merchant's ``session``: the template only draws it.
    """


@hookspec
def call_tools(session: TenantSession, settings: PluginSettings) -> list[CallTool[Any]] | None:
    """Tools the phone agent may use in this merchant's calls (the support-calls plugin).

    Return :class:`~merchant_voice.call_tools.CallTool` objects: a name, a
    description, a JSON schema of the arguments, ``keywords`` that select it
    from the caller's words, and ``run(context)``. ``run`` gets a
    :class:`~merchant_voice.call_tools.ToolContext` whose ``session`` is the
    calling merchant's session - the only data it may touch - and whose
    ``settings`` and ``gettext`` are the implementing plugin's; it returns a
    :class:`~merchant_voice.call_tools.ToolResult` (``say`` is spoken word for
    word). Without an ``extract`` function, the model fills in the arguments
    under the schema. A name already taken by an earlier plugin's tool is skipped.
    """


@hookspec
def customer_contacts(
    session: TenantSession, settings: PluginSettings, customer: RedactedCustomer
) -> CustomerContacts | None:
    """The phone numbers and e-mail addresses the plugin knows for ``customer``, who is
    about to be forgotten (e.g. the numbers on their orders).

    Called before ``customer_redacted`` for every loaded plugin, even one the merchant
    switched off (its data is still there). ``customer_redacted`` then gets the customer
    with every plugin's contacts in ``customer.known``, so that each plugin finds what it
    keeps about them, whatever the others are about to erase.
    """


@hookspec
def customer_redacted(
    session: TenantSession, settings: PluginSettings, customer: RedactedCustomer
) -> dict[str, Any] | None:
    """A shop platform asked the merchant to erase a customer's personal data.

    ``customer`` holds the phone numbers, e-mail addresses and order ids
    (``shopify:450789469``) the platform gave, and in ``known`` the contacts plugins
    keep for them (``customer_contacts``). Delete or blank what the plugin keeps about them with
    ``session``, which the host commits, and return a small summary, e.g.
    ``{"deleted_calls": 2}``. Requests repeat: finding nothing is a normal answer.
    """
