"""Translation benchmark: concurrency, translation memory, and quality (chrF) of the model.

    .venv/bin/python bench/translation.py [--listings 12] [--locales de_DE,fr_FR]
        [--sentences 30] [--url http://host:port --model NAME]
    .venv/bin/python bench/translation.py --compare [--sentences 200]

It imports the real WooCommerce sample catalog, translates N listings into K
locales one request at a time and then with many requests in flight (each on
a fresh merchant, so memory gives neither run a head start), re-runs the
catalog after editing one listing to show what translation memory saves, and
scores the model on NTREX-128 references with chrF. Without --url it starts
the embedded vLLM server with the bundled model. Every figure comes from this
one run; ratios compare figures of the same run.

``--compare`` runs the same NTREX lines (en -> de, fr, es, ja, zh) and the
same catalog through each prepared bundled chat model in turn, one embedded
server at a time, and prints per model: chrF with refusals counted as empty,
chrF of the accepted answers, the share accepted, segments per minute, tokens
per second with 1 and with --concurrency requests in flight, and the server's
memory (PSS, all its processes).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask
from sqlalchemy import select

from app import create_app
from engines import Engines
from engines.procmem import server_memory_bytes
from engines.provision import prepare, verify
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
CHAT_MODELS = (
    "smollm2-135m-instruct",
    "qwen2.5-coder-0.5b-instruct",
    "qwen2.5-coder-1.5b-instruct",
)


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


@dataclass
class Quality:
    locale: str
    chrf: float  # refusals counted as empty
    chrf_accepted: float
    accepted: int
    total: int
    segments_per_min: float


def bench_quality(
    app: Flask, sentences: int, locales: list[str], concurrency: int, quiet: bool = False
) -> list[Quality]:
    source = NTREX.joinpath("newstest2019-src.eng.txt").read_text().splitlines()[:sentences]
    if not quiet:
        print(f"\nQuality: chrF on the first {sentences} NTREX-128 sentences (newstest2019)")
    results = []
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
        report = _run(app, merchant, ids, [locale], concurrency)
        with app.extensions["db"].tenant_session(merchant) as session:
            rows = {
                row.listing_id: row.fields.get("description_html")
                for row in session.scalars(select(ListingTranslation))
            }
        outputs = [rows.get(listing_id) for listing_id in ids]
        accepted = [(o, r) for o, r in zip(outputs, references, strict=True) if o]
        quality = Quality(
            locale,
            chrf([o or "" for o in outputs], references),
            chrf([o for o, _ in accepted], [r for _, r in accepted]) if accepted else 0.0,
            len(accepted),
            len(outputs),
            report.segments / max(report.seconds / 60, 1e-9),
        )
        results.append(quality)
        if not quiet:
            print(
                f"  en -> {locale}: chrF {quality.chrf:5.1f} (refusals as empty),"
                f" {quality.chrf_accepted:5.1f} on the {quality.accepted} of {quality.total}"
                " accepted"
            )
    return results


def throughput(
    app: Flask, listings: int, locales: list[str], concurrency: int
) -> tuple[float, float]:
    """Tokens per second translating the catalog one request at a time, and many at once."""
    rates = []
    for slots in (1, concurrency):
        merchant = _merchant(app, f"throughput-{slots}", locales)
        report = _run(app, merchant, _import(app, merchant, listings), locales, slots)
        rates.append(report.tokens / max(report.seconds, 1e-9))
    return rates[0], rates[1]


def compare(arguments: argparse.Namespace) -> None:
    """Each prepared bundled chat model in turn, on the same lines and catalog."""
    locales = list(NTREX_FILES)
    print(
        f"\nCompare: the first {arguments.sentences} NTREX-128 lines into"
        f" {', '.join(locales)}; {arguments.listings} catalog listings into de_DE"
    )
    header = (
        f"  {'model':<28} {'pair':<6} {'chrF':>5} {'acc.chrF':>8} {'accepted':>9} {'seg/min':>8}"
    )
    for name in CHAT_MODELS:
        with _app(arguments, model=name) as (app, _engines):
            if app is None:
                print(f"  {name}: not prepared (flask --app app models prepare {name})")
                continue
            print(header)
            for q in bench_quality(app, arguments.sentences, locales, arguments.concurrency, True):
                print(
                    f"  {name:<28} {q.locale[:2]:<6} {q.chrf:5.1f} {q.chrf_accepted:8.1f}"
                    f" {q.accepted / q.total:9.0%} {q.segments_per_min:8.1f}"
                )
            one, many = throughput(app, arguments.listings, ["de_DE"], arguments.concurrency)
            memory = server_memory_bytes(PORT)
            resident = f"{memory / 2**30:.1f} GiB" if memory else "unknown"
            print(
                f"  {name}: {one:.1f} tok/s one at a time, {many:.1f} tok/s with"
                f" {arguments.concurrency} in flight ({many / max(one, 1e-9):.1f}x);"
                f" server memory (PSS) {resident}"
            )


@contextmanager
def _app(
    arguments: argparse.Namespace, model: str | None = None
) -> Iterator[tuple[Flask | None, Engines | None]]:
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp)
        chat: dict[str, Any] = {"port": PORT, "timeout_s": 600.0, "bulk_concurrency": 1024}
        if arguments.url:
            chat.update(url=arguments.url, model=arguments.model)
        models_dir = ROOT / "instance" / "models"
        if model is not None:
            if not verify(models_dir / model):
                yield None, None
                return
            chat.update(model=model, model_path=str(models_dir / model), models={}, workloads={})
        config = {
            "host": {"instance_path": str(instance)},
            "models": {"cache_dir": str(models_dir)},
            "database": {"url": f"sqlite:///{instance / 'bench.sqlite3'}"},
            "chat": chat,
        }
        settings = build_settings(config, environ={})
        if model is None:
            prepare(settings.engines)
        app = create_app(settings)
        Migrations(app.extensions["db"], app.extensions["plugins"]).upgrade()
        engines: Engines = app.extensions["engines"]
        try:
            with engines.chat_running():
                yield app, engines
        finally:
            app.extensions["db"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="an existing vLLM server (default: start the embedded one)")
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--listings", type=int, default=12)
    parser.add_argument("--locales", default="de_DE,fr_FR")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--sentences", type=int, default=30)
    parser.add_argument("--quality-locales", default="de_DE,fr_FR,es_ES")
    parser.add_argument("--compare", action="store_true", help="every prepared chat model")
    arguments = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    if arguments.compare:
        compare(arguments)
        return
    with _app(arguments) as (app, engines):
        assert app is not None and engines is not None
        print(f"chat model: {engines.chat.model_for(None, 'translation')}")
        locales = arguments.locales.split(",")
        bench_concurrency(app, arguments.listings, locales, arguments.concurrency)
        quality = arguments.quality_locales.split(",")
        bench_quality(app, arguments.sentences, quality, arguments.concurrency)


if __name__ == "__main__":
    main()
