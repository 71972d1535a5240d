"""The prompts of a call: the system prompt and the facts of a turn.

The system prompt (``prompts/system.j2``, or the merchant's own template) is
the same for every turn of a call, and for every call of the merchant in one
language, so the chat engine's prefix cache serves it and the conversation so
far: a turn's new tokens are only the caller's words and the facts of its tools
(``prompts/facts.j2``), sent as a message of their own just before the words.

A merchant's template (setting ``system_prompt``) runs in Jinja2's sandbox with
the variables of :data:`VARIABLES`; a template naming any other is refused when
the setting is written. If it fails to render, the built-in template is used
and the failure is logged.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from merchant_voice.plugin_api import PluginResources

log = logging.getLogger(__name__)

VARIABLES = ("store", "language", "policies", "facts")
"""What a system prompt template may use: the store's name, the language to answer in
(its English name) and the store's policies (topic -> text). ``facts`` is kept for
templates written before the facts moved to their own message: it is always empty."""


@cache
def sandbox() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


def system_prompt(resources: PluginResources, override: str, **context: Any) -> str:
    context.setdefault("facts", [])  # see VARIABLES
    if override.strip():
        try:
            return sandbox().from_string(override).render(**context)
        except TemplateError as exc:
            log.warning("the merchant's system prompt failed (%s); using the built-in one", exc)
    return resources.render_prompt("system.j2", **context)


def facts_message(resources: PluginResources, facts: list[dict[str, Any]]) -> dict[str, str]:
    """The tool results of a turn (each ``tool`` and ``data``), as a system message."""
    return {"role": "system", "content": resources.render_prompt("facts.j2", facts=facts)}
