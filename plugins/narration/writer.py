"""A script for a listing in a locale, written by the shared LLM and checked, retried, or
flagged for review when every try fails a check (as translation does)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from babel import Locale

from merchant_voice.plugin_api import (
    ChatEngine,
    ChatRequest,
    EngineCancelled,
    EngineError,
    EngineTimeout,
    EngineUnavailable,
    ModelNotPrepared,
    Priority,
)
from plugins.narration.checks import problems
from plugins.narration.facts import Facts

log = logging.getLogger(__name__)

WORKLOAD = "narration"  # [chat] workloads: the served model that writes scripts
SCHEMA = {
    "type": "object",
    "properties": {"script": {"type": "string"}},
    "required": ["script"],
    "additionalProperties": False,
}


@dataclass
class Written:
    script: str
    flags: list[str] = field(default_factory=list)  # empty: every check passed
    tokens: int = 0
    tries: int = 0


def write(
    chat: ChatEngine,
    render_prompt: Callable[..., str],
    facts: Facts,
    words: tuple[int, int],
    *,
    merchant: str,
    retries: int,
    on_wait: Callable[[str], None] | None = None,
) -> Written:
    """The first script that passes every check, or the last one tried with its flags.

    Engine outages (unavailable, timed out, cancelled, not prepared) propagate: the job
    is retried later. Anything else the engine refuses is a flag."""
    written = Written("")
    feedback: str | None = None
    for attempt in range(retries + 1):
        written.tries = attempt + 1
        request = replace(
            _request(render_prompt, facts, words, feedback, merchant), on_wait=on_wait
        )
        try:
            result = chat.complete(request)
        except (EngineUnavailable, EngineTimeout, EngineCancelled, ModelNotPrepared):
            raise
        except EngineError as exc:
            written.flags = [f"was refused by the chat engine ({exc.detail[:200]})"]
            continue
        written.tokens += result.tokens
        script = _script(result.text)
        if script is None:
            written.flags = ["was not a JSON object with a script"]
            feedback = "was not a JSON object with a script"
            continue
        written.script = " ".join(script.split())
        written.flags = problems(written.script, facts, words)
        if not written.flags:
            return written
        feedback = "; it ".join(written.flags)
    log.info("script of %s in %s flagged: %s", facts.title, facts.locale, written.flags)
    return written


def _request(
    render_prompt: Callable[..., str],
    facts: Facts,
    words: tuple[int, int],
    feedback: str | None,
    merchant: str,
) -> ChatRequest:
    fewest, most = words
    system = render_prompt(
        "script.j2",
        language=Locale.parse(facts.locale.replace("-", "_")).get_display_name("en"),
        title=facts.title,
        price=facts.price,
        fewest=fewest,
        most=most,
        feedback=feedback,
    )
    described = {
        "name": facts.title,
        "description": facts.description[:4000],
        "highlights": facts.bullet_points,
        "options": facts.attributes,
        "price": facts.price,
    }
    return ChatRequest(
        messages=[
            {"role": "system", "content": system},
            {"role": "user", "content": json.dumps(described, ensure_ascii=False)},
        ],
        max_tokens=most * 3 + 32,
        temperature=0.3 if feedback is None else 0.7,
        json_schema=SCHEMA,
        priority=Priority.BULK,
        merchant=merchant,
        workload=WORKLOAD,
    )


def _script(text: str) -> str | None:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    script = data.get("script") if isinstance(data, dict) else None
    return script if isinstance(script, str) else None
