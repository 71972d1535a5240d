"""The system prompt of a call: ``prompts/system.j2``, or the merchant's own template.

A merchant's template (setting ``system_prompt``) runs in Jinja2's sandbox with
the same variables as the built-in one: ``store``, ``language``, ``policies``
and ``facts`` (the tool results of this turn, each with ``tool`` and
``data``). If it fails to render, the built-in template is used and the
failure is logged.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from merchant_voice.plugin_api import PluginResources

log = logging.getLogger(__name__)


@cache
def sandbox() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


def system_prompt(resources: PluginResources, override: str, **context: Any) -> str:
    if override.strip():
        try:
            return sandbox().from_string(override).render(**context)
        except TemplateError as exc:
            log.warning("the merchant's system prompt failed (%s); using the built-in one", exc)
    return resources.render_prompt("system.j2", **context)
