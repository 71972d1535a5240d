"""The plugin contract: every hook a plugin may implement.

Implement a hook with a function of the same name, decorated with
``merchant_voice.plugin_api.hookimpl``, in the plugin's ``plugin.py``. A hook
may take any subset of the arguments listed here, by name.

The host calls hooks through :meth:`PluginManager.call`, which contains
failures: a plugin that raises is logged and reported, and the others - and
the request, call or job that triggered the hook - carry on.

Hooks that take a ``session`` are merchant hooks: they run only for plugins
the merchant has enabled, and ``session`` is that merchant's
:class:`~merchant_voice.tenancy.TenantSession`.

Every hook is documented in ``docs/plugins.md`` and tested in
``tests/test_hooks.py``; a meta-test keeps those in step with this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from flask import Flask

    from merchant_voice.jobs.registry import JobRegistry
    from merchant_voice.tenancy import TenantSession
    from merchant_voice.web.shop_hooks import RedactedCustomer
    from models.job import Job
    from plugins.support_calls.tools import CallTool

PROJECT_NAME = "merchant_voice"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


@hookspec
def startup(app: Flask) -> None:
    """Called once per application, after every plugin is loaded and registered.

    Use it to prepare process-wide resources (caches, clients). Do not start
    long work here: the host must start in seconds.
    """


@hookspec
def register_jobs(registry: JobRegistry) -> None:
    """Register background job kinds with ``registry.add(kind, handler)``.

    Kinds are named ``<plugin>.<action>``. The handler receives a
    :class:`~merchant_voice.jobs.registry.JobContext` and returns a
    JSON-serialisable dict, stored as the job's result.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to ``flask --app app ...``, e.g. ``cli.add_command(my_command)``."""


@hookspec
def merchant_created(session: TenantSession) -> None:
    """A merchant was just created; seed its data with ``session``.

    ``session.merchant`` describes the merchant. The host commits the session
    afterwards; if the hook raises, its writes are rolled back, the merchant
    is still created.
    """


@hookspec
def merchant_details(session: TenantSession) -> dict[str, Any] | None:
    """Contribute a section to ``GET /api/v1/merchant``, under ``plugins.<name>``.

    Return a small JSON-serialisable dict (counts, status), or None to add
    nothing. Keep it cheap: it runs on every such request.
    """


@hookspec
def job_finished(session: TenantSession, job: Job) -> None:
    """A job of the merchant reached a final state: succeeded, or failed for good.

    ``job.status``, ``job.result`` and ``job.error`` tell how it ended. Called
    for every enabled plugin, whichever plugin owns the job's kind.
    """


@hookspec
def call_tools(session: TenantSession) -> list[CallTool] | None:
    """Tools the phone agent may use in this merchant's calls (the support-calls plugin).

    Return :class:`~plugins.support_calls.tools.CallTool` objects: a name, a
    description, a JSON schema of the arguments, ``keywords`` that select it
    from the caller's words, and ``run(context)``. ``run`` gets a
    :class:`~plugins.support_calls.tools.ToolContext` whose ``session`` is the
    calling merchant's session - the only data it may touch - and returns a
    :class:`~plugins.support_calls.tools.ToolResult` (``say`` is spoken word
    for word). Without an ``extract`` function, the model fills in the
    arguments under the schema. Names must not clash with the built-in tools
    (``handoff``, ``end_call``, ``order_status``, ``product_info``, ``store_policy``).
    """


@hookspec
def customer_redacted(session: TenantSession, customer: RedactedCustomer) -> dict[str, Any] | None:
    """A shop platform asked the merchant to erase a customer's personal data.

    ``customer`` holds their phone numbers, e-mail addresses and platform order ids
    (``shopify:450789469``). Delete or blank what the plugin keeps about them with
    ``session``, which the host commits, and return a small summary, e.g.
    ``{"deleted_calls": 2}``. Requests repeat: finding nothing is a normal answer.
    Implementations that need data another plugin blanks (an order's phone) run
    first with ``@hookimpl(tryfirst=True)``.
    """
