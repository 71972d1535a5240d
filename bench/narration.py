"""Narration benchmark: the whole pipeline (script, voice, loudness, encoding), synthesis
alone, and a re-run served from what is stored.

    .venv/bin/python bench/narration.py [--listings 10] [--locales en_US]
        [--model qwen2.5-coder-1.5b]

It imports the real WooCommerce sample catalog, narrates N listings in the locales with
the model the ``narration`` workload uses (the embedded vLLM server, started and warmed
before the clock starts; scripts written up to ``[chat] bulk_concurrency`` at once), then
renders the same scripts again with the voice alone, then re-runs the catalog, which
finds every script and every rendering current. Every figure comes from this one run;
ratios compare figures of the same run.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask
from sqlalchemy import select

from app import create_app
from engines import Engines
from engines.chat import ChatRequest
from engines.provision import prepare
from merchant_voice import accounts
from merchant_voice.config import build_settings
from merchant_voice.migrate import Migrations
from merchant_voice.tenancy import MerchantInfo
from plugins.catalog.importers import parse, store
from plugins.catalog.models import Listing
from plugins.narration import render, service, voicing
from plugins.narration.facts import facts
from plugins.narration.models import Narration
from plugins.narration.service import Report
from plugins.narration.settings import NarrationSettings

ROOT = Path(__file__).resolve().parent.parent
WOO_SAMPLE = ROOT.parent / "shared" / "data" / "catalogs" / "woocommerce_sample_products.csv"
PORT = 8033


def _narrate(app: Flask, merchant: MerchantInfo, ids: list[int], locales: list[str]) -> Report:
    with app.app_context(), app.extensions["db"].tenant_session(merchant) as session:
        chosen = session.scalars(select(Listing).where(Listing.id.in_(ids))).all()
        return service.narrate(session, NarrationSettings(), chosen, locales)


def _seconds_of_audio(app: Flask, merchant: MerchantInfo) -> float:
    with app.extensions["db"].tenant_session(merchant) as session:
        rendered = select(Narration.audio_seconds).where(Narration.audio_seconds.is_not(None))
        return float(sum(session.scalars(rendered)))


def _synthesis_alone(app: Flask, merchant: MerchantInfo, engines: Engines) -> tuple[float, float]:
    """Render every stored script again with the voice: (audio seconds, wall seconds)."""
    audio = wall = 0.0
    with app.app_context(), app.extensions["db"].tenant_session(merchant) as session:
        for row in session.scalars(select(Narration).where(Narration.audio_hash != "")).all():
            listing = session.get(Listing, row.listing_id)
            assert listing is not None
            price = facts(session, listing, row.locale).price
            planned = voicing.plan(session, engines.tts, listing, row, price)
            started = time.perf_counter()
            rendering = render.render(engines.tts, planned)
            wall += time.perf_counter() - started
            audio += rendering.seconds
    return audio, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listings", type=int, default=10)
    parser.add_argument("--locales", default="en_US", help="locales with a voice installed")
    parser.add_argument("--model", help="the chat model (default: the narration workload's)")
    arguments = parser.parse_args()
    locales = arguments.locales.split(",")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    with tempfile.TemporaryDirectory() as tmp:
        chat: dict[str, Any] = {"port": PORT, "timeout_s": 600.0}
        if arguments.model:
            chat["workloads"] = {"narration": arguments.model}
        config = {
            "host": {"instance_path": tmp},
            "models": {"cache_dir": str(ROOT / "instance" / "models")},
            "database": {"url": f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"},
            "chat": chat,
        }
        settings = build_settings(config, environ={})
        prepare(settings.engines)
        app = create_app(settings)
        Migrations(app.extensions["db"], app.extensions["plugins"]).upgrade()
        engines: Engines = app.extensions["engines"]
        with app.app_context():
            merchant = accounts.onboard_merchant(
                app.extensions["db"],
                app.extensions["plugins"],
                slug="bench",
                name="Bench",
                default_locale=locales[0],
                market_locales=locales,
            )
        with app.extensions["db"].tenant_session(merchant) as session:
            store(session, parse(WOO_SAMPLE.read_bytes(), "woocommerce"))
            session.commit()
            query = select(Listing.id).order_by(Listing.id).limit(arguments.listings)
            ids = list(session.scalars(query))
        engines.tts.warm()
        print(f"chat model: {engines.chat.model_for('bench', 'narration')}")
        print(f"voice: {', '.join(engines.tts.voice_name(locale) for locale in locales)}")
        print(f"catalog: {len(ids)} WooCommerce sample listings x {len(locales)} locales")
        with engines.chat_running():
            hello = [{"role": "user", "content": "Hello"}]  # starts the narration model
            engines.chat.complete(ChatRequest(hello, 1, merchant="bench", workload="narration"))
            runs: list[tuple[Report, float]] = []
            for _ in range(3):  # the first; one that retries the flagged; one with all current
                started = time.perf_counter()
                report = _narrate(app, merchant, ids, locales)
                runs.append((report, time.perf_counter() - started))
                if len(runs) == 1:
                    audio_s = _seconds_of_audio(app, merchant)  # what the first run made
        synth_audio_s, synth_s = _synthesis_alone(app, merchant, engines)
        app.extensions["db"].dispose()
    (first, first_s), (retried, retried_s), (cached, cached_s) = runs
    print(
        f"\nfirst run: {first_s:.1f} s; scripts written {first.written}, flagged"
        f" {first.flagged}; audio {first.audio_counts()}; {first.tokens} tokens"
    )
    print(f"  audio produced: {audio_s:.1f} s")
    print(f"  pipeline: {audio_s / first_s:.2f} audio s per wall s")
    print(f"  listings per minute: {len(ids) / (first_s / 60):.2f}")
    print(f"synthesis alone: {synth_audio_s / max(synth_s, 1e-9):.2f} audio s per wall s")
    print(
        f"second run: {retried_s:.1f} s; flagged scripts tried again: written"
        f" {retried.written}, flagged {retried.flagged}; audio {retried.audio_counts()}"
    )
    print(f"third run: {cached_s:.2f} s; audio {cached.audio_counts()}; {cached.tokens} tokens")
    print(f"  cached re-run / first run: {cached_s / first_s:.4f}")


if __name__ == "__main__":
    main()
