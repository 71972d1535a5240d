"""Load benchmark of the served host (``flask serve``, the embedded default: SQLite).

    .venv/bin/python bench/load.py [--listings 200] [--requests 400] [--slow 500]

In one run, against a fresh instance on a loopback port:

- ``GET /api/v1/listings`` (50 listings a page) with 1, 50 and 200 clients at once:
  requests per second and p95 latency;
- 50 clients writing orders at once (``POST /api/v1/orders``): orders written per
  second, and how many of them succeeded;
- ``/healthz`` p95 while --slow clients hold connections open, sending their
  headers one line a second.

The clients run in this process, on the same machine: they share its cores with the
host, as a proxy in front of it would. Ratios compare figures of this one run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from merchant_voice.config import ServerSettings
from tests.served_host import Served, served_host
from tests.slow_clients import SlowClients
from tests.test_orders import ORDER


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def _timed(client: httpx.Client, method: str, url: str, **kwargs: object) -> tuple[int, float]:
    started = time.perf_counter()
    status = client.request(method, url, **kwargs).status_code  # type: ignore[arg-type]
    return status, time.perf_counter() - started


def reads(served: Served, clients: int, requests: int) -> tuple[float, float, int]:
    """Requests per second, p95 seconds, and the number of non-200 answers.

    The clients are coroutines in one thread, on aiohttp: at 200 connections httpx's
    async pool spends more CPU per request than the host does, and would measure itself."""
    per_client = max(requests // clients, 1)
    return asyncio.run(_reads(served, clients, per_client))


async def _reads(served: Served, clients: int, per_client: int) -> tuple[float, float, int]:
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(
        headers=served.headers, connector=connector, timeout=timeout
    ) as client:

        async def one_client() -> list[tuple[int, float]]:
            results = []
            for _ in range(per_client):
                started = time.perf_counter()
                async with client.get(f"{served.url}/api/v1/listings") as response:
                    await response.read()
                results.append((response.status, time.perf_counter() - started))
            return results

        started = time.perf_counter()
        batches = await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    results = [result for batch in batches for result in batch]
    latencies = [seconds for _, seconds in results]
    failed = sum(status != 200 for status, _ in results)
    return len(results) / elapsed, p95(latencies), failed


def writes(served: Served, clients: int, each: int) -> tuple[float, int, int]:
    """Orders written per second, orders written, and orders attempted."""

    def client_run(n: int) -> list[int]:
        with httpx.Client(headers=served.headers, timeout=60) as client:
            return [
                client.post(
                    f"{served.url}/api/v1/orders", json={**ORDER, "number": f"L-{n}-{k}"}
                ).status_code
                for k in range(each)
            ]

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        statuses = [s for batch in pool.map(client_run, range(clients)) for s in batch]
    elapsed = time.perf_counter() - started
    written = sum(status == 201 for status in statuses)
    return written / elapsed, written, len(statuses)


def healthz_with_slow_clients(served: Served, slow: int, requests: int) -> tuple[float, int]:
    """/healthz p95 seconds with ``slow`` slowloris connections open; failed answers."""
    with SlowClients("127.0.0.1", served.port, slow) as clients:
        time.sleep(3)
        results = []
        with httpx.Client(timeout=10) as client:
            for _ in range(requests):
                try:
                    results.append(_timed(client, "GET", f"{served.url}/healthz"))
                except httpx.HTTPError:
                    results.append((0, 10.0))
                time.sleep(0.05)
        still_open = len(clients.sockets)
    print(f"  slow clients still open at the end: {still_open} of {slow}")
    return p95([seconds for _, seconds in results]), sum(s != 200 for s, _ in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listings", type=int, default=200)
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument("--slow", type=int, default=500)
    parser.add_argument("--threads", type=int, help="[server] threads (default: the setting's)")
    parser.add_argument("--workers", help="[server] workers (default: the setting's, auto)")
    arguments = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    environ = {"MV_SERVER_THREADS": str(arguments.threads)} if arguments.threads else {}
    environ["MV_SERVER_WORKERS"] = arguments.workers or "auto"  # the tests' host has one
    threads = arguments.threads or ServerSettings.model_fields["threads"].default
    print(f"[server] workers {environ['MV_SERVER_WORKERS']}, threads {threads}")
    with tempfile.TemporaryDirectory() as tmp, served_host(Path(tmp), **environ) as served:
        with httpx.Client(headers=served.headers, timeout=30) as client:
            for n in range(arguments.listings):
                listing = {"handle": f"item-{n}", "title": f"Item {n}", "price": "9.90"}
                client.post(f"{served.url}/api/v1/listings", json=listing).raise_for_status()
        print(f"\nGET /api/v1/listings ({arguments.listings} listings, 50 a page)")
        single = None
        for clients in (1, 50, 200):
            rate, tail, failed = reads(served, clients, arguments.requests)
            single = single or rate
            print(
                f"  {clients:3d} clients: {rate:7.1f} requests/s ({rate / single:.1f}x one),"
                f" p95 {tail * 1000:7.1f} ms, {failed} failed"
            )
        rate, written, attempted = writes(served, 50, 4)
        print(f"\nPOST /api/v1/orders, 50 clients at once: {rate:.1f} orders/s,")
        print(f"  {written} of {attempted} written")
        print(f"\n/healthz with {arguments.slow} slow clients open")
        tail, failed = healthz_with_slow_clients(served, arguments.slow, 50)
        print(f"  p95 {tail * 1000:.1f} ms, {failed} of 50 failed")


if __name__ == "__main__":
    main()
