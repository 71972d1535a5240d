"""Call benchmark: voice-to-voice latency of whole calls over Twilio's protocol.

    .venv/bin/python bench/calls.py [--concurrent 10] [--turns 3] [--call-model tiny.en]
        [--url http://host:port --model NAME]

It serves the host on a local port (its real HTTP and WebSocket server),
places signed calls the way Twilio does, and plays real speech - the Open
Speech Repository recording, 8 kHz, cut into its sentences - as 8 kHz µ-law in
real time. Latency is measured from the end of the caller's speech (the last
frame carrying speech) to the first frame of the reply, as the caller
receives it; the stages come from the host's Turn rows. It prints p50 and p95
for one call, for ``--concurrent`` calls at once, and for one call with
streaming off (the whole reply, then speech synthesis), with the ratio.
Without --url it starts the embedded vLLM server with the bundled model.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from app import create_app
from engines import Engines
from engines.audio import decode_file, resample, to_mulaw
from engines.provision import prepare
from merchant_voice import accounts
from merchant_voice.config import build_settings
from merchant_voice.migrate import Migrations
from merchant_voice.tenancy import MerchantInfo
from plugins.support_calls.models import Call
from plugins.support_calls.telephony.caller import TwilioCaller, call_sid, place_call
from plugins.support_calls.vad import Endpointer, VadEvent

ROOT = Path(__file__).resolve().parent.parent
SPEECH = ROOT.parent / "shared" / "data" / "speech" / "OSR_us_000_0034_8k.wav"
TOKEN = "bench-auth-token-0123456789abcdef"
PORT = 8041
STAGES = ("endpoint_ms", "asr_ms", "llm_first_token_ms", "first_audio_ms")


def sentences() -> list[bytes]:
    """The recording cut at each end of speech found by the host's own endpointer."""
    audio = resample(decode_file(SPEECH.read_bytes()), 8000).samples
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
    stages: dict[str, list[int]]


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
    merchant = _merchant_info(app)
    with app.extensions["db"].tenant_session(merchant) as session:
        sids = [sid for sid, _ in results]
        for call in session.scalars(select(Call).where(Call.call_sid.in_(sids))):
            for turn in call.turns:
                if turn.source != "speech":
                    continue
                for stage in STAGES:
                    value = getattr(turn, stage)
                    if value is not None:
                        stages[stage].append(value)
    return Measured([ms for _, heard in results for ms in heard], stages)


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
        "first_audio_ms": "first reply frame (host)",
    }
    for stage, values in measured.stages.items():
        p50, p95 = percentile(values, 50), percentile(values, 95)
        print(f"  {names[stage]:<28}{p50:>9.0f}{p95:>9.0f}")
    p50 = percentile(heard, 50)
    print(f"  {'voice-to-voice (caller)':<28}{p50:>9.0f}{percentile(heard, 95):>9.0f}")
    return p50


def configure(app: Flask, **values: Any) -> None:
    merchant = _merchant_info(app)
    with app.extensions["db"].tenant_session(merchant) as session:
        app.extensions["plugins"].configure(session, "support_calls", values)
        session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="an existing vLLM server (default: start the embedded one)")
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--concurrent", type=int, default=10)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--call-model", default="", help='e.g. "tiny.en"; default: [speech] model')
    arguments = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp)
        chat: dict[str, Any] = {"port": PORT}
        if arguments.url:
            chat.update(url=arguments.url, model=arguments.model)
        config = {
            "host": {"instance_path": str(instance)},
            "models": {"cache_dir": str(ROOT / "instance" / "models")},
            "database": {"url": f"sqlite:///{instance / 'bench.sqlite3'}"},
            "chat": chat,
            "speech": {"call_model": arguments.call_model},
        }
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
        clips = sentences()
        seconds = [len(c) / 8000 for c in clips]
        print(
            f"caller speech: {len(clips)} sentences of {statistics.mean(seconds):.1f} s on average"
        )
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}"
        with engines.chat_running():
            speech = settings.speech
            print(
                f"chat: {engines.chat.model}; calls hear with {speech.call_model or speech.model}"
            )
            run(app, url, 1, 1, clips, 900)  # warm-up, not counted
            streamed = report("1 call, streaming", run(app, url, 1, arguments.turns, clips, 0))
            many = run(app, url, arguments.concurrent, arguments.turns, clips, 100)
            report(f"{arguments.concurrent} concurrent calls, streaming", many)
            configure(app, stream_replies=False)
            whole = report("1 call, streaming off", run(app, url, 1, arguments.turns, clips, 50))
            print(f"\nstreaming off / on, voice-to-voice p50: {whole / streamed:.2f}x")
        server.shutdown()
        app.extensions["db"].dispose()


if __name__ == "__main__":
    main()
