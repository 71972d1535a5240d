"""Hostile traffic against the real served host (``flask serve``) on a loopback port:
slow clients, stalled bodies, write bursts on the embedded default (SQLite) and media
streams bridged from the event loop, bounded in count and time."""

from __future__ import annotations

import concurrent.futures
import json
import socket
import stat
import time
from collections.abc import Iterator

import httpx
import pytest
from simple_websocket import Client, ConnectionClosed
from simple_websocket import ConnectionError as Refused

from plugins.support_calls.telephony.caller import TwilioCaller, call_sid, place_call
from tests.served_host import TOKEN, Served, served_host
from tests.slow_clients import SlowClients
from tests.test_orders import ORDER

BURST = 50
SLOW_CLIENTS = 500


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served_host(tmp_path_factory.mktemp("served")) as host:
        yield host


def test_a_burst_of_concurrent_order_writes_all_succeed(served: Served) -> None:
    def create(number: int) -> int:
        order = {**ORDER, "number": f"B-{number}"}
        response = httpx.post(
            f"{served.url}/api/v1/orders", json=order, headers=served.headers, timeout=60
        )
        return response.status_code

    with concurrent.futures.ThreadPoolExecutor(BURST) as pool:
        statuses = list(pool.map(create, range(BURST)))
    assert statuses == [201] * BURST, statuses
    listed = httpx.get(
        f"{served.url}/api/v1/orders?limit=100", headers=served.headers, timeout=30
    ).json()
    assert listed["total"] == BURST


def test_the_host_keeps_answering_with_500_slow_clients_open(served: Served) -> None:
    with SlowClients("127.0.0.1", served.port, SLOW_CLIENTS) as slow:
        time.sleep(3)  # a few header lines each: every one of them is still sending
        answers = [httpx.get(f"{served.url}/healthz", timeout=5) for _ in range(10)]
        listing = httpx.get(f"{served.url}/api/v1/merchant", headers=served.headers, timeout=5)
        assert len(slow.sockets) == SLOW_CLIENTS, slow.dropped
    assert [answer.status_code for answer in answers] == [200] * 10
    assert listing.status_code == 200


def test_a_body_that_stops_arriving_holds_no_thread(served: Served) -> None:
    stalled = []
    for _ in range(40):  # more than the host's threads
        connection = socket.create_connection(("127.0.0.1", served.port))
        connection.sendall(
            b"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"number": '
        )
        stalled.append(connection)
    try:
        answers = [httpx.get(f"{served.url}/healthz", timeout=5) for _ in range(5)]
        assert [answer.status_code for answer in answers] == [200] * 5
    finally:
        for connection in stalled:
            connection.close()


def test_media_streams_under_the_event_loop_refuse_and_close_as_they_should(
    served: Served,
) -> None:
    answer = place_call(served.url, "acme", TOKEN, call_sid(7), "+15550100", "+15550000")
    with pytest.raises(Refused) as refused:  # a wrong token: refused before the upgrade
        Client.connect(answer.stream_url[:-4] + "AAAA")
    assert refused.value.status_code == 403
    ws = Client.connect(answer.stream_url)  # never sends start: closed within 5 s
    opened = time.monotonic()
    with pytest.raises(ConnectionClosed):
        while time.monotonic() - opened < 15:
            ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            time.sleep(0.5)
    assert time.monotonic() - opened < 10

    answer = place_call(served.url, "acme", TOKEN, call_sid(8), "+15550100", "+15550000")
    caller = TwilioCaller(answer.stream_url, call_sid(8))
    caller.send_raw("x" * 20_000)  # over the 16 KiB a media message may be: closed (1009)
    assert caller.closed.wait(10)


def test_gunicorns_control_socket_is_in_the_instance_folder(served: Served) -> None:
    control = served.log.parent / "gunicorn.ctl"  # the instance folder holds the log too
    assert control.is_socket()
    assert stat.S_IMODE(control.stat().st_mode) == 0o600


def test_a_job_beside_a_write_burst_succeeds_in_its_first_attempt(served: Served) -> None:
    rows = "".join(f"burst-{n},Burst item {n}\n" for n in range(3_000))
    upload = httpx.post(
        f"{served.url}/api/v1/catalog/imports",
        headers=served.headers,
        files={"file": ("products.csv", f"Handle,Title\n{rows}".encode(), "text/csv")},
        timeout=30,
    )
    assert upload.status_code == 202, upload.text
    job_url = f"{served.url}/api/v1/jobs/{upload.json()['job_id']}"

    def create(number: int) -> int:
        order = {**ORDER, "number": f"J-{number}"}
        response = httpx.post(
            f"{served.url}/api/v1/orders", json=order, headers=served.headers, timeout=60
        )
        return response.status_code

    with concurrent.futures.ThreadPoolExecutor(BURST) as pool:  # while the job imports
        statuses = list(pool.map(create, range(4 * BURST)))
    assert statuses == [201] * (4 * BURST)
    deadline = time.monotonic() + 120
    while (job := httpx.get(job_url, headers=served.headers).json())["status"] in (
        "queued",
        "running",
    ):
        assert time.monotonic() < deadline, job
        time.sleep(0.5)
    assert (job["status"], job["attempts"]) == ("succeeded", 1), job
    assert job["result"]["created"] == 3_000
