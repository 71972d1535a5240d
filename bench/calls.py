"""Call benchmark: voice-to-voice latency of whole calls over Twilio's protocol.

    .venv/bin/python bench/calls.py [--calls 1,4,10] [--turns 4] [--call-model tiny.en]
        [--streaming-off] [--show-turns] [--url http://host:port --model NAME]
        [--dtype float32] [--model-answers all|small_talk]
    .venv/bin/python bench/calls.py --compare [--dtype float32] [--show-turns]

It serves the host on a local port (its real HTTP and WebSocket server),
places signed calls the way Twilio does, and plays, as 8 kHz µ-law in real
time, questions a tool answers (the catalog, the store's policies; in the
bundled voice) in turn with real speech the model answers (the Open Speech
Repository recording, 8 kHz, cut into its sentences). Latency is measured
from the end of the caller's speech (the last frame carrying speech) to the
first frame of the reply, as the caller receives it; the stages come from the
host's Turn rows. It prints p50 and p95 by stage for each number of calls at
once in ``--calls``, voice-to-voice for tool- and model-answered turns apart,
and the turns answered against those spoken (every one must be);
``--streaming-off`` adds one call with the whole reply synthesized at once.
Without --url it starts the embedded vLLM server with the bundled model. The model
answers every turn no tool does (``--model-answers all``): the recording's sentences
are no small talk, and a merchant's default (``small_talk``) would answer them with
the pre-rendered unsure line; the benchmark times the model's path, the slower one,
unless told ``--model-answers small_talk``.

``--compare`` runs the call-correctness set (bench/call_set.py: 60 scripted turns
across the tools, policies, small talk, off-topic and adversarial requests) through
each prepared bundled chat model as the calls model, one embedded server at a time
(bench/call_correctness.py), and prints each one's share of right answers and its
first-audio times, and the fastest model right on at least 95% of the turns.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import numpy.typing as npt
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from app import create_app
from bench.call_correctness import report as report_set
from bench.call_correctness import run_set, seed
from bench.translation import CHAT_MODELS
from engines import Engines
from engines.audio import Audio, decode_file, resample, to_mulaw
from engines.provision import prepare, verify
from engines.tts import Synthesizer
from merchant_voice import accounts
from merchant_voice.config import build_settings
from merchant_voice.migrate import Migrations
from merchant_voice.tenancy import MerchantInfo
from plugins.support_calls.models import Call, Turn
from plugins.support_calls.telephony.caller import TwilioCaller, call_sid, place_call
from plugins.support_calls.vad import Endpointer, VadEvent
from tests.support_calls_host import trail_backpack

ROOT = Path(__file__).resolve().parent.parent
SPEECH = ROOT.parent / "shared" / "data" / "speech" / "OSR_us_000_0034_8k.wav"
TOKEN = "bench-auth-token-0123456789abcdef"
PORT = 8041
STAGES = ("endpoint_ms", "asr_ms", "llm_first_token_ms", "reply_ready_ms", "first_audio_ms")


# Questions a tool answers (the catalog, the store's policies), in the bundled voice.
TOOL_QUESTIONS = (
    "How much is the trail backpack?",
    "What is your return policy?",
    "What are your opening hours?",
    "Is the trail backpack in stock?",
    "How long does shipping take?",
    "Can I return a pair of boots?",
)
POLICIES = {
    "returns": "Unworn items can be returned within 30 days for a full refund.",
    "shipping": "Orders ship within one business day and arrive in three to five days.",
    "opening_hours": "Our team answers calls from 9 to 5, Monday to Friday.",
}


def sentences() -> list[bytes]:
    """The recording cut at each end of speech found by the host's own endpointer."""
    return _cut(resample(decode_file(SPEECH.read_bytes()), 8000).samples)


def questions(tts: Synthesizer) -> list[bytes]:
    """:data:`TOOL_QUESTIONS` in the bundled voice, each cut where its speech ends."""
    clips = []
    for text in TOOL_QUESTIONS:
        chunks = list(tts.synthesize(text, "en_US"))
        audio = Audio(np.concatenate([c.audio.samples for c in chunks]), chunks[0].audio.rate)
        samples = np.concatenate([resample(audio, 8000).samples, np.zeros(8000, np.float32)])
        clips.extend(_cut(samples))
    return clips


def _cut(audio: npt.NDArray[np.float32]) -> list[bytes]:
    """Utterances ending with their last speech, as the host's endpointer finds them."""
    endpointer, clips = Endpointer(), []
    for start in range(0, len(audio), 160):
        for event in endpointer.feed(audio[start : start + 160]):
            if event is VadEvent.EAGER_END:
                utterance = endpointer.utterance().samples
                trailing = int((endpointer.received_s - endpointer.speech_end_s) * 8000)
                clips.append(to_mulaw(utterance[: len(utterance) - trailing]))
            if event is VadEvent.END:
                endpointer.reset()
    return clips


@dataclass
class Measured:
    heard_ms: list[float]  # voice-to-voice at the caller
    by_answer: dict[str, list[float]]  # the same, for turns a tool answered and the model did
    stages: dict[str, list[int]]
    spoken: int  # caller utterances
    answered: int  # speech turns with a reply
    unanswered: dict[str, int]  # the others, by reason
    turns: list[str]  # one line per answered turn, for --show-turns


def one_call(
    url: str, number: int, first_clip: int, clips: list[bytes], turns: int
) -> tuple[str, list[float]]:
    sid = call_sid(number)
    answer = place_call(url, "bench", TOKEN, sid, "+15550100", "+15550000")
    caller = TwilioCaller(answer.stream_url, sid)
    caller.wait_reply(0, timeout=60)
    heard = []
    for turn in range(turns):
        said_at = caller.say(clips[(first_clip + turn) % len(clips)])
        caller.wait_reply(said_at, timeout=120)
        first = caller.first_audio_after(said_at)
        if first is not None:
            heard.append((first - said_at) * 1000)
    caller.hang_up()
    return sid, heard


def run(app: Flask, url: str, calls: int, turns: int, clips: list[bytes], offset: int) -> Measured:
    results: list[tuple[str, list[float]]] = []
    threads = [
        threading.Thread(
            target=lambda n=n: results.append(one_call(url, offset + n, n, clips, turns))
        )
        for n in range(calls)
    ]
    for thread in threads:
        thread.start()
        time.sleep(0.3)  # calls ring a moment apart, as they do
    for thread in threads:
        thread.join()
    time.sleep(1.0)  # the last turns are written as their calls close
    stages: dict[str, list[int]] = {stage: [] for stage in STAGES}
    by_answer: dict[str, list[float]] = {"tool": [], "model": []}
    heard_by_call = dict(results)
    answered, unanswered = 0, Counter[str]()
    lines: list[str] = []
    merchant = _merchant_info(app)
    with app.extensions["db"].tenant_session(merchant) as session:
        sids = [sid for sid, _ in results]
        for call in session.scalars(select(Call).where(Call.call_sid.in_(sids))):
            heard = iter(heard_by_call[call.call_sid])
            for turn in call.turns:
                if turn.source != "speech":
                    continue
                if turn.unanswered:
                    unanswered[turn.unanswered] += 1
                    continue
                answered += bool(turn.reply)
                kind = "model" if turn.llm_first_token_ms is not None else "tool"
                this = list(itertools.islice(heard, 1))
                by_answer[kind].extend(this)
                lines.append(_turn_line(turn, kind, this[0] if this else float("nan")))
                for stage in STAGES:
                    value = getattr(turn, stage)
                    if value is not None:
                        stages[stage].append(value)
    heard = [ms for _, call_heard in results for ms in call_heard]
    return Measured(heard, by_answer, stages, calls * turns, answered, dict(unanswered), lines)


def _turn_line(turn: Turn, kind: str, heard_ms: float) -> str:
    stages = " ".join(f"{getattr(turn, stage)!s:>5}" for stage in STAGES)
    withheld = f" WITHHELD {turn.withheld}" if turn.withheld else ""
    return (
        f"{kind:<5} {heard_ms:6.0f} ms [{stages}] {turn.transcript!r} -> {turn.reply!r}{withheld}"
    )


def _merchant_info(app: Flask) -> MerchantInfo:
    with app.extensions["db"].host_session() as session:
        return accounts.merchant_by_slug(session, "bench").info()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def report(label: str, measured: Measured) -> float:
    heard = measured.heard_ms
    print(f"\n{label}: {len(heard)} turns")
    print(f"  {'stage':<28}{'p50 ms':>9}{'p95 ms':>9}")
    names = {
        "endpoint_ms": "end of turn detected",
        "asr_ms": "speech recognition",
        "llm_first_token_ms": "LLM first token",
        "reply_ready_ms": "reply's first audio made",
        "first_audio_ms": "first reply frame (host)",
    }
    for stage, values in measured.stages.items():
        p50, p95 = percentile(values, 50), percentile(values, 95)
        print(f"  {names[stage]:<28}{p50:>9.0f}{p95:>9.0f}")
    p50 = percentile(heard, 50)
    print(f"  {'voice-to-voice (caller)':<28}{p50:>9.0f}{percentile(heard, 95):>9.0f}")
    for kind, values in measured.by_answer.items():
        label = f"  ... answered by {'the model' if kind == 'model' else 'a tool or line'}"
        print(f"{label:<30}{percentile(values, 50):>9.0f}{percentile(values, 95):>9.0f}")
    print(f"  answered {measured.answered} of {measured.spoken} turns spoken", end="")
    print(f"; unanswered: {measured.unanswered}" if measured.unanswered else "")
    return p50


def _add_backpack(app: Flask) -> None:
    with app.extensions["db"].tenant_session(_merchant_info(app)) as session:
        session.add(trail_backpack())
        session.commit()


def configure(app: Flask, **values: Any) -> None:
    merchant = _merchant_info(app)
    with app.extensions["db"].tenant_session(merchant) as session:
        app.extensions["plugins"].configure(session, "support_calls", values)
        session.commit()


def compare(arguments: argparse.Namespace) -> None:
    """bench/call_set.py through each prepared bundled chat model as the calls model."""
    models_dir = ROOT / "instance" / "models"
    results: list[tuple[str, str, float, float]] = []
    for name in CHAT_MODELS:
        if not verify(models_dir / name):
            print(f"\n{name}: not prepared (flask --app app models prepare {name})")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            chat = {"port": PORT, "dtype": arguments.dtype, "model": name}
            chat["model_path"] = str(models_dir / name)
            app = create_app(build_settings(_config(Path(tmp), chat, ""), environ={}))
            Migrations(app.extensions["db"], app.extensions["plugins"]).upgrade()
            seed(app)
            engines: Engines = app.extensions["engines"]
            engines.tts.warm()
            with engines.chat_running():
                run_set(app, "all")  # warm-up: the server's first requests compile; not counted
                for answers in ("small_talk", "all"):
                    label = f"{name}, model_answers = {answers}"
                    share, p50 = report_set(label, run_set(app, answers), arguments.show_turns)
                    results.append((name, answers, share, p50))
            app.extensions["db"].dispose()
    print(f"\n  {'model':<30}{'answers':<12}{'right':>7}{'model-answered first audio p50':>34}")
    for name, answers, share, p50 in results:
        print(f"  {name:<30}{answers:<12}{share:>7.0%}{p50:>31.0f} ms")
    good = [(p50, name, answers) for name, answers, share, p50 in results if share >= 0.95]
    fastest = f"{min(good)[1]} ({min(good)[2]})" if good else "none"
    print(f"\nthe fastest right on 95% of turns: {fastest}")


def _config(instance: Path, chat: dict[str, Any], call_model: str) -> dict[str, Any]:
    return {
        "host": {"instance_path": str(instance)},
        "models": {"cache_dir": str(ROOT / "instance" / "models")},
        "database": {"url": f"sqlite:///{instance / 'bench.sqlite3'}"},
        "chat": chat,
        "speech": {"call_model": call_model},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="an existing vLLM server (default: start the embedded one)")
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--calls", default="1,4,10", help="calls at once, one run each")
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--streaming-off", action="store_true", help="also one call without")
    parser.add_argument(
        "--show-turns", action="store_true", help="print each turn: its stages, words, reply"
    )
    parser.add_argument("--call-model", default="", help='e.g. "tiny.en"; default: [speech] model')
    parser.add_argument(
        "--dtype",
        choices=["auto", "float32"],
        default="auto",
        help="[chat] dtype: float32 runs as a CPU without native bfloat16 does",
    )
    parser.add_argument(
        "--model-answers",
        choices=["all", "small_talk"],
        default="all",
        help="what the model answers when no tool does (the merchant's default: small_talk)",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="the call-correctness set (bench/call_set.py) through each bundled chat model",
    )
    arguments = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    if arguments.compare:
        compare(arguments)
        return
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp)
        chat: dict[str, Any] = {"port": PORT, "dtype": arguments.dtype}
        if arguments.url:
            chat.update(url=arguments.url, model=arguments.model)
        config = _config(instance, chat, arguments.call_model)
        settings = build_settings(config, environ={})
        prepare(settings.engines)
        app = create_app(settings)
        Migrations(app.extensions["db"], app.extensions["plugins"]).upgrade()
        merchant = accounts.onboard_merchant(
            app.extensions["db"], app.extensions["plugins"], slug="bench", name="Bench Outdoor"
        )
        app.extensions["credentials"].set(merchant.id, "support_calls.twilio_auth_token", TOKEN)
        engines: Engines = app.extensions["engines"]
        engines.call_asr.load()
        engines.tts.warm()
        configure(app, policies=POLICIES, model_answers=arguments.model_answers)
        _add_backpack(app)
        spoken, asked = sentences(), questions(engines.tts)
        clips = [clip for pair in itertools.zip_longest(asked, spoken) for clip in pair if clip]
        seconds = [len(c) / 8000 for c in clips]
        print(
            f"caller speech: {len(clips)} utterances, {statistics.mean(seconds):.1f} s on average:"
            f" {len(asked)} questions a tool answers, in turn with {len(spoken)} for the model"
        )
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}"
        with engines.chat_running():
            speech = settings.speech
            print(
                f"chat: {engines.chat.model_for(None, 'calls')}; calls hear with"
                f" {speech.call_model or speech.model}"
            )
            run(app, url, 1, 1, clips, 900)  # warm-up, not counted
            p50s = {}
            for offset, calls in enumerate(int(n) for n in arguments.calls.split(",")):
                measured = run(app, url, calls, arguments.turns, clips, offset * 100)
                p50s[calls] = report(f"{calls} call(s) at once", measured)
                if arguments.show_turns:
                    print(f"  kind   heard    [{' '.join(STAGES)}]", *measured.turns, sep="\n  ")
            if arguments.streaming_off:
                configure(app, stream_replies=False)
                measured = run(app, url, 1, arguments.turns, clips, 50)
                whole = report("1 call, streaming off", measured)
                if 1 in p50s:
                    print(f"\nstreaming off / on, voice-to-voice p50: {whole / p50s[1]:.2f}x")
        server.shutdown()
        app.extensions["db"].dispose()


if __name__ == "__main__":
    main()
