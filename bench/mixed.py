"""Mixed benchmark: one host, every job at once, on the default configuration.

    .venv/bin/python bench/mixed.py [--listings 60] [--locales de_DE,fr_FR,es_ES]
        [--narrations 10] [--turns 3] [--dtype float32]

It serves the host on a local port (its real HTTP and WebSocket server, its job
workers in-process, the default chat routes: SmolLM2 for calls, the default text
model on demand for translation and narration), imports the WooCommerce sample
catalog, and then:

1. quiet: places 1 call, then 4 at once, over Twilio's protocol (bench/calls.py's
   callers: questions a tool answers in turn with real recorded speech), in
   ``--rounds`` rounds;
2. busy: queues, through the API as a shop platform would, translation jobs
   (``--listings`` listings into ``--locales``) and a narration job (``--narrations``
   listings, en_US); once the text model writes, places the same calls, 1 then 4 at
   once, in ``--rounds`` rounds ``--gap`` seconds apart (calls come and go, as they do),
   and waits for both jobs to finish.

The sample catalog makes 18 listings (its 25 rows include variations); with the
trail backpack the calls ask about, a merchant has 19. So 60 listings are four
merchants' catalogs (19, 19, 19 and 3), one translation job each, all at once:
translation memory is per merchant, so one catalog copied under new SKUs would
be translated once and read from memory after, which is not the work asked for.

``--dtype float32`` runs the embedded servers as a CPU without native bfloat16
does (``[chat] dtype``), which also makes the default text model the 0.5B: that
machine's configuration, on this machine's cores.

It prints each job's first-attempt success (succeeded, in one attempt) and its
throughput, and call voice-to-voice p50/p95, quiet and busy, with the ratios the
issue aims at; and the CPU's flags (native bfloat16 or not), which choose the
default text model and its dtype.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from app import create_app
from bench.calls import (
    POLICIES,
    TOKEN,
    Measured,
    configure,
    percentile,
    questions,
    report,
    run,
    sentences,
)
from engines import Engines
from engines.hardware import cpu_dtype
from engines.provision import prepare
from merchant_voice import accounts
from merchant_voice.config import build_settings
from merchant_voice.migrate import Migrations
from models import Job
from plugins.catalog.importers import parse, store
from plugins.catalog.models import Listing
from tests.support_calls_host import trail_backpack

ROOT = Path(__file__).resolve().parent.parent
WOO_SAMPLE = ROOT.parent / "shared" / "data" / "catalogs" / "woocommerce_sample_products.csv"
PAUSE_S = 3.0  # how often the jobs are looked at


def _setup(app: Flask, locales: list[str], slug: str = "bench") -> tuple[str, list[int]]:
    """A merchant with its catalog: its API key and its listings' ids."""
    db, plugins = app.extensions["db"], app.extensions["plugins"]
    with app.app_context():
        merchant = accounts.onboard_merchant(
            db,
            plugins,
            slug=slug,
            name=f"{slug.title()} Outdoor",
            default_locale="en_US",
            market_locales=locales,
        )
    app.extensions["credentials"].set(merchant.id, "support_calls.twilio_auth_token", TOKEN)
    with db.host_transaction() as session:
        _, key = accounts.create_api_key(session, accounts.merchant_by_slug(session, slug))
    with db.tenant_session(merchant) as session:
        session.add(trail_backpack())
        store(session, parse(WOO_SAMPLE.read_bytes(), "woocommerce"))
        session.commit()
        ids = list(session.scalars(select(Listing.id).order_by(Listing.id)))
    return key, ids


def _merged(rounds: list[Measured]) -> Measured:
    merged = Measured([], {"tool": [], "model": []}, {}, 0, 0, {}, [])
    for measured in rounds:
        merged.heard_ms += measured.heard_ms
        for kind, values in measured.by_answer.items():
            merged.by_answer[kind] += values
        for stage, stage_values in measured.stages.items():
            merged.stages.setdefault(stage, []).extend(stage_values)
        merged.turns += measured.turns
        merged.spoken += measured.spoken
        merged.answered += measured.answered
        for reason, count in measured.unanswered.items():
            merged.unanswered[reason] = merged.unanswered.get(reason, 0) + count
    return merged


def _jobs(app: Flask, ids: list[str]) -> list[Job]:
    with app.extensions["db"].host_session() as session:
        return list(session.scalars(select(Job).where(Job.id.in_(ids))))


def _job_line(job: Job, work: int, unit: str) -> str:
    seconds = 0.0
    if job.finished_at is not None and job.started_at is not None:
        seconds = (job.finished_at - job.started_at).total_seconds()
    first = job.status.value == "succeeded" and job.attempts == 1
    result = job.result or {}
    return (
        f"  {job.kind:<26} {job.status.value:<10} attempts {job.attempts}"
        f"  first-attempt success: {'yes' if first else 'NO'}"
        f"  {seconds:7.0f} s  {work / max(seconds, 1e-9) * 60:6.2f} {unit}/min"
        f"  {('error: ' + job.error) if job.error else ''}"
        f"  { ({k: v for k, v in result.items() if isinstance(v, int | float)}) }"
    )


def _wait_generating(engines: Engines, model: str, timeout_s: float = 300) -> None:
    """Until the text model answers: busy calls are measured beside its generation."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not engines.chat.clients[model].healthy():
        time.sleep(1)


def _progress(jobs: list[tuple[httpx.Client, str]], started: float) -> None:
    for api, job_id in jobs:
        shown = api.get(f"/api/v1/jobs/{job_id}").json()
        print(
            f"  ... {time.monotonic() - started:5.0f} s: {shown['kind']} {shown['progress']:.0%}"
            f" ({shown['progress_message']}), expected finish {shown['expected_finish_at']}",
            flush=True,
        )


def _ratio(busy: float, quiet: float) -> str:
    return f"{busy / quiet:.2f}x" if quiet else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listings", type=int, default=60)
    parser.add_argument("--locales", default="de_DE,fr_FR,es_ES")
    parser.add_argument("--narrations", type=int, default=10)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of calls beside the jobs")
    parser.add_argument("--gap", type=float, default=20.0, help="seconds between two rounds")
    parser.add_argument(
        "--dtype",
        choices=["auto", "float32"],
        default="auto",
        help="[chat] dtype: float32 runs as a CPU without native bfloat16 does",
    )
    arguments = parser.parse_args()
    locales = arguments.locales.split(",")
    flags = set(Path("/proc/cpuinfo").read_text().split())
    native = sorted(flags & {"avx512_bf16", "amx_bf16", "avx512f", "avx2"})
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    dtype = cpu_dtype() if arguments.dtype == "auto" else arguments.dtype
    print(f"CPU flags: {', '.join(native)}; embedded servers' dtype: {dtype}")
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp)
        config = {
            "host": {"instance_path": str(instance)},
            "models": {"cache_dir": str(ROOT / "instance" / "models")},
            "database": {"url": f"sqlite:///{instance / 'bench.sqlite3'}"},
            "chat": {"dtype": arguments.dtype},
        }
        settings = build_settings(config, environ={})  # the default configuration otherwise
        prepare(settings.engines)
        text_model = settings.chat.route("translation")
        print(f"calls: {settings.chat.route('calls')}; translation, narration: {text_model}")
        app = create_app(settings)
        Migrations(app.extensions["db"], app.extensions["plugins"]).upgrade()
        key, ids = _setup(app, locales)
        catalogs = [(key, ids[: arguments.listings])]  # each merchant's listings to translate
        while (more := arguments.listings - sum(len(listed) for _, listed in catalogs)) > 0:
            other_key, other_ids = _setup(app, locales, f"bench-{len(catalogs) + 1}")
            catalogs.append((other_key, other_ids[:more]))
        engines: Engines = app.extensions["engines"]
        engines.call_asr.load()
        engines.tts.warm()
        configure(app, policies=POLICIES, model_answers="all")  # bench/calls.py: the model's path
        spoken, asked = sentences(), questions(engines.tts)
        clips = [clip for pair in itertools.zip_longest(asked, spoken) for clip in pair if clip]
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
        app.extensions["jobs"].start_workers()  # in this process, as `serve` runs them
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}"
        apis = [
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {k}"}, timeout=60)
            for k, _ in catalogs
        ]
        api = apis[0]  # the merchant "bench": its calls, its narration
        with engines.chat_running():
            run(app, url, 1, 1, clips, 900)  # warm-up, not counted
            quiet_rounds: dict[int, list[Measured]] = {1: [], 4: []}
            for round_number in range(arguments.rounds):  # as many calls as in the busy rounds
                for calls in (1, 4):
                    offset = 10 + round_number * 5 + (calls > 1)
                    quiet_rounds[calls].append(run(app, url, calls, arguments.turns, clips, offset))
            quiet = {n: _merged(quiet_rounds[n]) for n in (1, 4)}

            started = time.monotonic()
            queued = [
                (merchant_api, "/api/v1/translations/jobs", listed, locales)
                for merchant_api, (_, listed) in zip(apis, catalogs, strict=True)
            ]
            queued.append((api, "/api/v1/narrations/jobs", ids[: arguments.narrations], ["en_US"]))
            watched: list[tuple[httpx.Client, str]] = []
            for merchant_api, path, listed, job_locales in queued:
                response = merchant_api.post(
                    path, json={"listing_ids": listed, "locales": job_locales}
                )
                assert response.status_code == 202, response.text
                watched.append((merchant_api, response.json()["job_id"]))
            job_ids = [job_id for _, job_id in watched]
            busy: dict[int, list[Measured]] = {1: [], 4: []}
            _wait_generating(engines, text_model)
            offset = 100
            for _ in range(arguments.rounds):
                if all(job.status.finished for job in _jobs(app, job_ids)):
                    break
                for calls in (1, 4):
                    busy[calls].append(run(app, url, calls, arguments.turns, clips, offset))
                    offset += calls
                _progress(watched, started)
                time.sleep(arguments.gap)
            while not all(job.status.finished for job in _jobs(app, job_ids)):
                time.sleep(PAUSE_S * 10)
                _progress(watched, started)
        server.shutdown()
        app.extensions["jobs"].stop_workers()

        print(f"\nJobs, at once, beside the calls ({time.monotonic() - started:.0f} s):")
        done = {job.id: job for job in _jobs(app, job_ids)}
        for job_id, (_, listed) in zip(job_ids, catalogs, strict=False):
            print(_job_line(done[job_id], len(listed) * len(locales), "translations"))
        print(_job_line(done[job_ids[-1]], arguments.narrations, "narrations"))
        translations = [done[job_id] for job_id in job_ids[:-1]]
        last = max(job.finished_at or job.created_at for job in translations)
        first = min(job.created_at for job in translations)
        seconds = (last - first).total_seconds()
        work = sum(len(listed) for _, listed in catalogs) * len(locales)
        print(
            f"  translation, all {len(translations)} jobs: {work} translations"
            f" ({len(catalogs)} merchants) in {seconds:.0f} s,"
            f" {work / max(seconds, 1e-9) * 60:.2f}/min"
        )

        quiet_p = {n: report(f"quiet, {n} call(s) at once", quiet[n]) for n in (1, 4)}
        busy_merged = {n: _merged(busy[n]) for n in (1, 4)}
        busy_p = {
            n: report(f"during the jobs, {n} call(s) at once", busy_merged[n]) for n in (1, 4)
        }
        q1, b1 = quiet[1].heard_ms, busy_merged[1].heard_ms
        q4, b4 = quiet[4].heard_ms, busy_merged[4].heard_ms
        print("\nAims (issue 24) on this CPU:")
        print(
            f"  1 call, busy p50 / quiet p50: {_ratio(busy_p[1], quiet_p[1])} (aim <= 1.3x);"
            f" busy p95 {percentile(b1, 95):.0f} ms (aim <= 2000)"
        )
        print(
            f"  4 calls, quiet: p50 {percentile(q4, 50):.0f} ms (aim <= 1200),"
            f" p95 {percentile(q4, 95):.0f} ms (aim <= 2000);"
            f" busy: p50 {percentile(b4, 50):.0f}, p95 {percentile(b4, 95):.0f} ms"
        )
        print(f"  quiet 1 call: p50 {percentile(q1, 50):.0f}, p95 {percentile(q1, 95):.0f} ms")
        for phase, measured_rounds in (("quiet", quiet_rounds[4]), ("busy", busy[4])):
            each = "; ".join(
                f"{percentile(m.heard_ms, 50):.0f} / {percentile(m.heard_ms, 95):.0f}"
                for m in measured_rounds
            )
            print(f"  4 calls {phase}, each round's p50 / p95 ms: {each}")
        rounds = len(busy[1])
        mean = statistics.mean(q1) if q1 else float("nan")
        print(f"  rounds of calls during the jobs: {rounds}; quiet 1-call mean {mean:.0f} ms")
        app.extensions["db"].dispose()


if __name__ == "__main__":
    main()
