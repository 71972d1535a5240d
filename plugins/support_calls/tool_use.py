"""A turn's tool: chosen on the caller's words, its arguments read from them (or filled
in by the model under the tool's JSON schema), run with the merchant's session."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from merchant_voice.plugin_api import CallState, ChatRequest, EngineError, Priority, ToolResult
from plugins.support_calls.context import WORKLOAD, CallDeps, TurnRecord
from plugins.support_calls.tools import BoundTool, choose, named, schema_for_arguments
from plugins.support_calls.tools.service import is_yes

log = logging.getLogger(__name__)


def use_tool(
    deps: CallDeps, state: CallState, text: str, record: TurnRecord, tool: BoundTool | None
) -> ToolResult | None:
    """Run the tool for ``text`` (``tool``, or the one chosen on the words; "yes" to an
    offered colleague hands over) with the merchant's session; None when none applies
    or it failed. ``record`` keeps the call, its arguments and result."""
    if state.scratch.pop("offered_handoff", False) and is_yes(text):
        tool = named(deps.tools, "handoff")
    elif tool is None:
        tool = choose(deps.tools, text, state)
    if tool is None:
        return None
    arguments = tool.extract(text, state)
    if arguments is None:
        arguments = _arguments(deps, tool, text)
    started = time.monotonic()
    try:
        with deps.sessions() as session:
            result = tool.run(session, state, arguments, text)
            session.commit()
    except Exception:
        log.exception("call tool %s failed", tool.name)
        record.tool_calls.append({"name": tool.name, "arguments": arguments, "error": True})
        return None
    record.tool_calls.append(
        {
            "name": tool.name,
            "arguments": arguments,
            "result": result.data,
            "ms": round((time.monotonic() - started) * 1000),
        }
    )
    return result


def _arguments(deps: CallDeps, tool: BoundTool, text: str) -> dict[str, Any]:
    """A plugin tool's arguments, filled in by the model under the tool's JSON schema."""
    request = ChatRequest(
        messages=[
            {
                "role": "system",
                "content": f"Fill in the arguments of the function {tool.name}: "
                f"{tool.tool.description} Use only what the caller said.",
            },
            {"role": "user", "content": text},
        ],
        max_tokens=120,
        temperature=0.0,
        json_schema=schema_for_arguments(tool.tool),
        priority=Priority.INTERACTIVE,
        workload=WORKLOAD,
        merchant=deps.merchant.slug,
        timeout_s=deps.llm_timeout_s,
    )
    try:
        text_out = "".join(deps.chat.stream(request))
        value = json.loads(text_out)
    except (EngineError, json.JSONDecodeError) as exc:
        log.warning("could not fill in the arguments of %s: %s", tool.name, exc)
        return {}
    return value if isinstance(value, dict) else {}
