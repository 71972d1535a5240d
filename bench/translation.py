"""Translation benchmark: concurrency, translation memory, and quality (chrF) of the model.

    .venv/bin/python bench/translation.py [--listings 12] [--locales de_DE,fr_FR]
        [--sentences 30] [--url http://host:port --model NAME]

It imports the real WooCommerce sample catalog, translates N listings into K
locales one request at a time and then with many requests in flight (each on
a fresh merchant, so memory gives neither run a head start), re-runs the
catalog after editing one listing to show what translation memory saves, and
scores the model on NTREX-128 references with chrF. Without --url it starts
the embedded vLLM server with the bundled model. Every figure comes from this
one run; ratios compare figures of the same run.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask
from sqlalchemy import select

from app import create_app
from engines import Engines
from engines.provision import prepare
from merchant_voice import accounts
from merchant_voice.config import build_settings
from merchant_voice.migrate import Migrations
from merchant_voice.tenancy import MerchantInfo
from plugins.catalog.importers import parse, store
from plugins.catalog.models import Listing
from plugins.translation import service
from plugins.translation.models import ListingTranslation
from plugins.translation.settings import TranslationSettings
from plugins.translation.translator import Report

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
WOO_SAMPLE = DATA / "catalogs" / "woocommerce_sample_products.csv"
NTREX = DATA / "translation" / "ntrex128"
NTREX_FILES = {"de_DE": "deu", "fr_FR": "fra", "es_ES": "spa", "ja_JP": "jpn", "zh_CN": "zho-CN"}
PORT = 8032


def chrf(hypotheses: list[str], references: list[str], order: int = 6, beta: float = 2.0) -> float:
    """Corpus chrF (Popovic 2015; sacreBLEU's defaults: character 6-grams, beta 2, no spaces)."""
    matches, hyp_total, ref_total = [0] * order, [0] * order, [0] * order
    for hypothesis, reference in zip(hypotheses, references, strict=True):
        hyp, ref = "".join(hypothesis.split()), "".join(reference.split())
        for n in range(1, order + 1):
            hyp_grams = Counter(hyp[i : i + n] for i in range(len(hyp) - n + 1))
            ref_grams = Counter(ref[i : i + n] for i in range(len(ref) - n + 1))
            matches[n - 1] += sum((hyp_grams & ref_grams).values())
            hyp_total[n - 1] += sum(hyp_grams.values())
            ref_total[n - 1] += sum(ref_grams.values())
    precision = sum(m / h for m, h in zip(matches, hyp_total, strict=True) if h) / order
    recall = sum(m / r for m, r in zip(matches, ref_total, strict=True) if r) / order
    if precision + recall == 0:
        return 0.0
    return 100 * (1 + beta**2) * precision * recall / (beta**2 * precision + recall)


def _merchant(app: Flask, slug: str, locales: list[str]) -> MerchantInfo:
    db, plugins = app.extensions["db"], app.extensions["plugins"]
    with app.app_context():
        return accounts.onboard_merchant(
            db, plugins, slug=slug, name=slug, default_locale="en_US", market_locales=locales
        )


def _import(app: Flask, merchant: MerchantInfo, limit: int) -> list[int]:
    with app.extensions["db"].tenant_session(merchant) as session:
        store(session, parse(WOO_SAMPLE.read_bytes(), "woocommerce"))
        session.commit()
        ids = list(session.scalars(select(Listing.id).order_by(Listing.id).limit(limit)))
    return ids


def _run(
    app: Flask, merchant: MerchantInfo, ids: list[int], locales: list[str], concurrency: int
) -> Report:
    with app.app_context(), app.extensions["db"].tenant_session(merchant) as session:
        settings = app.extensions["plugins"].settings_for(session, "translation")
        assert isinstance(settings, TranslationSettings)
        translator = service.translator(session, settings)
        translator.concurrency = concurrency
        return translator.translate(service.listings(session, ids), locales)


def _line(label: str, report: Report, listings: int) -> str:
    minutes = report.seconds / 60
    return (
        f"  {label:<22} {report.seconds:7.1f} s  {listings / minutes:6.2f} listings/min"
        f"  {report.translations / minutes:6.2f} translations/min"
        f"  {report.tokens / report.seconds:6.1f} tok/s  requests {report.requests:4d}"
        f"  sent {report.sent:4d}  memory {report.memory_hits:4d}  shared {report.shared:4d}"
        f"  flagged fields {report.flagged_fields}"
    )


def bench_concurrency(app: Flask, listings: int, locales: list[str], concurrency: int) -> None:
    print(f"\nCatalog: {listings} WooCommerce sample listings x {len(locales)} locales")
    results = {}
    for label, slots in (("one at a time", 1), (f"{concurrency} in flight", concurrency)):
        merchant = _merchant(app, f"bench-{slots}", locales)
        ids = _import(app, merchant, listings)
        results[slots] = report = _run(app, merchant, ids, locales, slots)
        print(_line(label, report, len(ids)))
    one, many = results[1], results[concurrency]
    print(
        f"  concurrent / sequential: {one.seconds / many.seconds:.1f}x listings per minute,"
        f" {(many.tokens / many.seconds) / (one.tokens / one.seconds):.1f}x tokens per second"
    )

    merchant = _merchant(app, "bench-memory", locales)
    ids = _import(app, merchant, listings)
    first = _run(app, merchant, ids, locales, concurrency)
    with app.extensions["db"].tenant_session(merchant) as session:
        listing = session.get(Listing, ids[0])
        assert listing is not None
        listing.title = f"{listing.title} (new season)"
        session.commit()
    again = _run(app, merchant, ids, locales, concurrency)
    print("\nTranslation memory: the same catalog again after editing one listing's title")
    print(_line("first run", first, len(ids)))
    print(_line("after one edit", again, len(ids)))
    saved = 1 - again.sent / first.sent if first.sent else 0.0
    print(
        f"  segments sent to the model: {first.sent} -> {again.sent} ({saved:.0%} saved);"
        f" time {first.seconds:.1f} s -> {again.seconds:.1f} s"
        f" ({first.seconds / max(again.seconds, 1e-9):.1f}x faster)"
    )


def bench_quality(app: Flask, sentences: int, locales: list[str], concurrency: int) -> None:
    source = NTREX.joinpath("newstest2019-src.eng.txt").read_text().splitlines()[:sentences]
    print(f"\nQuality: chrF on the first {sentences} NTREX-128 sentences (newstest2019)")
    for locale in locales:
        if locale not in NTREX_FILES:
            continue
        refs = NTREX.joinpath(f"newstest2019-ref.{NTREX_FILES[locale]}.txt").read_text()
        references = refs.splitlines()[:sentences]
        merchant = _merchant(app, f"quality-{locale.lower().replace('_', '-')}", [locale])
        with app.extensions["db"].tenant_session(merchant) as session:
            for n, sentence in enumerate(source):
                session.add(
                    Listing(
                        handle=f"s{n}",
                        title=f"Sentence {n}",
                        description_html=sentence,
                        currency="EUR",
                        source="api",
                    )
                )
            session.commit()
            ids = list(session.scalars(select(Listing.id).order_by(Listing.id)))
        _run(app, merchant, ids, [locale], concurrency)
        with app.extensions["db"].tenant_session(merchant) as session:
            rows = {
                row.listing_id: row.fields.get("description_html")
                for row in session.scalars(select(ListingTranslation))
            }
        outputs = [rows.get(listing_id) for listing_id in ids]
        accepted = [(o, r) for o, r in zip(outputs, references, strict=True) if o]
        with_refusals = chrf([o or "" for o in outputs], references)
        kept = chrf([o for o, _ in accepted], [r for _, r in accepted]) if accepted else 0.0
        print(
            f"  en -> {locale}: chrF {with_refusals:5.1f} (refusals as empty),"
            f" {kept:5.1f} on the {len(accepted)} of {len(outputs)} accepted"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="an existing vLLM server (default: start the embedded one)")
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--listings", type=int, default=12)
    parser.add_argument("--locales", default="de_DE,fr_FR")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--sentences", type=int, default=30)
    parser.add_argument("--quality-locales", default="de_DE,fr_FR,es_ES")
    arguments = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp)
        chat: dict[str, Any] = {"port": PORT, "timeout_s": 600.0, "bulk_concurrency": 1024}
        if arguments.url:
            chat.update(url=arguments.url, model=arguments.model)
        config = {
            "host": {"instance_path": str(instance)},
            "models": {"cache_dir": str(ROOT / "instance" / "models")},
            "database": {"url": f"sqlite:///{instance / 'bench.sqlite3'}"},
            "chat": chat,
        }
        settings = build_settings(config, environ={})
        prepare(settings.engines, ["smollm2-135m-instruct"])
        app = create_app(settings)
        Migrations(app.extensions["db"], app.extensions["plugins"]).upgrade()
        engines: Engines = app.extensions["engines"]
        with engines.chat_running():
            print(f"chat model: {settings.chat.model} at {engines.chat_url}")
            locales = arguments.locales.split(",")
            bench_concurrency(app, arguments.listings, locales, arguments.concurrency)
            quality = arguments.quality_locales.split(",")
            bench_quality(app, arguments.sentences, quality, arguments.concurrency)
        app.extensions["db"].dispose()


if __name__ == "__main__":
    main()
