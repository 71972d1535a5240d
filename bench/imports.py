"""Catalog import benchmark: a file just under the body limit, time and peak memory.

    .venv/bin/python bench/imports.py [--bytes 16000000] [--variants 1]

Against a fresh instance (SQLite, the embedded default), it writes a Shopify product
CSV of about --bytes (products with --variants rows each), imports it with
``flask --app app catalog import``, and prints rows and listings per second and the
command's peak RSS, beside the peak RSS of the same command importing a one-row
file: their difference, per byte of the file, is what the import itself holds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.engines_fixtures import MODELS_CACHE  # noqa: E402

HEADER = "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price\n"


def catalog(size: int, variants: int) -> tuple[bytes, int]:
    """A Shopify CSV of about ``size`` bytes, and its number of products."""
    lines, total, product = [HEADER], len(HEADER), 0
    while total < size:
        for v in range(variants):
            title = f"Item {product}" if v == 0 else ""
            option = ("Size", f"S{v}") if variants > 1 else ("", "")
            line = f"item-{product},{title},{option[0]},{option[1]},SKU-{product}-{v},{v + 9}.90\n"
            lines.append(line)
            total += len(line)
        product += 1
    return "".join(lines).encode(), product


def flask(env: dict[str, str], *args: str) -> tuple[str, float, int]:
    """A ``flask --app app`` command's output, seconds and peak RSS in bytes."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed ({process.returncode})")
    return output, time.perf_counter() - started, usage.ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bytes", type=int, default=16_000_000)
    parser.add_argument("--variants", type=int, default=1)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "MV_HOST_INSTANCE_PATH": tmp,
            "MV_MODELS_CACHE_DIR": str(MODELS_CACHE),
        }
        flask(env, "db", "upgrade")
        flask(env, "merchants", "create", "acme", "--name", "Acme")
        small, big = Path(tmp, "one.csv"), Path(tmp, "catalog.csv")
        small.write_bytes(catalog(1, 1)[0])
        data, products = catalog(arguments.bytes, arguments.variants)
        big.write_bytes(data)
        _, _, baseline = flask(env, "catalog", "import", "acme", str(small), "--json")
        output, seconds, peak = flask(env, "catalog", "import", "acme", str(big), "--json")
        report = json.loads(output)
    rows = report["rows"]
    mib = 1024 * 1024
    print(f"File: {len(data) / mib:.1f} MiB, {rows} rows, {products} products")
    print(f"Imported: {report['created']} created, {len(report['errors'])} errors")
    rates = f"{rows / seconds:.0f} rows/s, {products / seconds:.0f} listings/s"
    print(f"Time: {seconds:.1f} s, {rates}")
    print(f"Peak RSS: {peak / mib:.0f} MiB (a one-row import: {baseline / mib:.0f} MiB)")
    print(f"Held by the import: {(peak - baseline) / len(data):.1f} bytes per byte of file")


if __name__ == "__main__":
    main()
