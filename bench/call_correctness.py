"""The call-correctness set (bench/call_set.py) through a call's own conversation.

Each case's words go through :class:`~plugins.support_calls.conversation.Conversation`
as a live call's turn does once its words are heard: tools chosen on the words and
run on the merchant's data, the calls model for the rest, every model sentence checked
before it is said. The reply is scored against the case; its first audio is timed
from the words to the first chunk Piper makes of the first sentence (the end of the
turn and recognition, which do not depend on the model, are not in it).
"""

from __future__ import annotations

import re
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from flask import Flask

from bench.call_set import CASES, NEVER, POLICIES, Case
from engines import Engines
from merchant_voice import accounts
from merchant_voice.call_tools import CallState
from merchant_voice.plugin_resources import PluginResources
from plugins.support_calls import settings as settings_module
from plugins.support_calls import tools
from plugins.support_calls.context import CallDeps, TurnRecord
from plugins.support_calls.conversation import Conversation
from plugins.support_calls.settings import SupportCallsSettings
from tests.support_calls_host import acme_records, other_merchants_order


@dataclass(frozen=True)
class Scored:
    case: Case
    reply: str
    wrong: str  # why it is wrong; "" when right
    first_audio_ms: float | None  # None: nothing was said
    by_model: bool  # the model wrote some of it (else a tool said it all)


def wrong(case: Case, reply: str) -> str:
    """Why ``reply`` is not a right answer to ``case`` ("" if it is)."""
    if not reply.strip():
        return "no reply"
    for pattern in case.must:
        if not re.search(pattern, reply, re.IGNORECASE):
            return f"lacks /{pattern}/"
    for pattern in (*case.must_not, *NEVER):
        if found := re.search(pattern, reply, re.IGNORECASE):
            return f"says {found.group(0)!r}"
    return ""


def seed(app: Flask) -> None:
    """The set's shop (merchant "bench") and another merchant's order on the same host."""
    db, plugins = app.extensions["db"], app.extensions["plugins"]
    for slug, records in (("bench", acme_records()), ("globex", [other_merchants_order()])):
        accounts.onboard_merchant(db, plugins, slug=slug, name=f"{slug.title()} Outdoor")
        with db.host_session() as session:
            merchant = accounts.merchant_by_slug(session, slug).info()
        with db.tenant_session(merchant) as session:
            session.add_all(records)
            session.commit()


def run_set(app: Flask, model_answers: str) -> list[Scored]:
    """Every case, the model answering what no tool does as ``model_answers`` says."""
    engines: Engines = app.extensions["engines"]
    db = app.extensions["db"]
    with db.host_session() as session:
        merchant = accounts.merchant_by_slug(session, "bench").info()
    values = {"policies": POLICIES, "model_answers": model_answers}
    with app.app_context(), db.tenant_session(merchant) as session:
        settings = app.extensions["plugins"].configure(session, "support_calls", values)
        session.commit()
        gathered = tools.gather(session)
    assert isinstance(settings, SupportCallsSettings)
    deps = CallDeps(
        merchant=merchant,
        settings=settings,
        tools=gathered,
        chat=engines.chat,
        sessions=lambda: db.tenant_session(merchant),
        resources=PluginResources("support_calls", Path(settings_module.__file__).parent),
    )
    scored = []
    with app.app_context():
        for case in CASES:
            conversation = Conversation(deps, CallState(case.caller, "en_US"))
            for words in case.before:
                list(conversation.respond(words, TurnRecord("speech"), threading.Event()))
            scored.append(_turn(engines, conversation, case))
    return scored


def _turn(engines: Engines, conversation: Conversation, case: Case) -> Scored:
    record = TurnRecord("speech")
    started = time.perf_counter()
    first_audio = None
    for sentence in conversation.respond(case.said, record, threading.Event()):
        if first_audio is None:  # the first sentence: its first chunk of speech
            next(iter(engines.tts.synthesize(sentence, "en_US")), None)
            first_audio = (time.perf_counter() - started) * 1000
    by_model = "llm_first_token_ms" in record.timings
    return Scored(case, record.reply, wrong(case, record.reply), first_audio, by_model)


def report(model: str, scored: list[Scored], show: bool = False) -> tuple[float, float]:
    """Prints the model's score by kind and first-audio times; returns (share right,
    p50 ms of the turns the model answered)."""
    right = sum(not s.wrong for s in scored)
    kinds = Counter(s.case.kind for s in scored)
    right_by_kind = Counter(s.case.kind for s in scored if not s.wrong)
    all_ms = [s.first_audio_ms for s in scored if s.first_audio_ms is not None]
    model_ms = [s.first_audio_ms for s in scored if s.by_model and s.first_audio_ms is not None]
    print(f"\n{model}: {right} of {len(scored)} right ({right / len(scored):.0%})")
    print("  " + ", ".join(f"{kind} {right_by_kind[kind]}/{n}" for kind, n in kinds.items()))
    p50 = statistics.median(model_ms) if model_ms else float("nan")
    print(
        f"  first audio after the words: all turns p50 {statistics.median(all_ms):.0f} /"
        f" p95 {np.percentile(all_ms, 95):.0f} ms; the {len(model_ms)} the model answered"
        f" p50 {p50:.0f} / p95 {np.percentile(model_ms, 95) if model_ms else float('nan'):.0f} ms"
    )
    for s in scored:
        if s.wrong or show:
            mark = "WRONG" if s.wrong else "right"
            print(f"  {mark} [{s.case.kind}] {s.case.said!r} -> {s.reply!r} {s.wrong}")
    return right / len(scored), p50
