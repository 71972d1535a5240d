"""Pacing bulk work (engines.pacing) and marks of live calls (engines.live)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from engines import live as live_module
from engines.errors import EngineCancelled
from engines.live import LIVE_SHARE, SPEECH_SHARE, LiveWork
from engines.pacing import START, BulkPacer


def _hold_slots(pacer: BulkPacer, count: int, release: threading.Event) -> list[threading.Thread]:
    def hold() -> None:
        with pacer.admit(bulk=True):
            release.wait(10)

    threads = [threading.Thread(target=hold) for _ in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while pacer.in_flight < min(count, pacer.limit) and time.monotonic() < deadline:
        time.sleep(0.01)
    return threads


def test_interactive_requests_skip_the_line_and_bulk_ones_wait_without_deadline() -> None:
    pacer = BulkPacer("m", ceiling=1, adaptive=False)
    release = threading.Event()
    holders = _hold_slots(pacer, 1, release)
    with pacer.admit(bulk=False):
        pass  # admitted at once while every bulk slot is taken
    admitted = threading.Event()

    def second() -> None:
        with pacer.admit(bulk=True):
            admitted.set()

    waiter = threading.Thread(target=second)
    waiter.start()
    assert not admitted.wait(1.0), "admitted past the limit"
    release.set()
    assert admitted.wait(5), "a waiting bulk request was never admitted"
    for thread in [*holders, waiter]:
        thread.join()


def test_a_waiting_bulk_request_can_be_cancelled() -> None:
    pacer = BulkPacer("m", ceiling=1, adaptive=False)
    release = threading.Event()
    holders = _hold_slots(pacer, 1, release)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(EngineCancelled), pacer.admit(bulk=True, cancel=cancel):
        pass
    release.set()
    for thread in holders:
        thread.join()
    assert pacer.in_flight == 0


def test_the_limit_grows_while_batching_is_free_and_shrinks_when_answers_crawl() -> None:
    pacer = BulkPacer("m", ceiling=16)
    assert pacer.limit == START
    for _ in range(6):
        pacer._waited = True  # requests were waiting for a slot
        pacer.observe(tokens=50, writing_s=49 * 0.05)  # as fast as the baseline
    assert pacer.limit == START + 6
    pacer.observe(tokens=50, writing_s=49 * 0.05)
    assert pacer.limit == START + 6, "grew although nobody waited"
    grown = pacer.limit
    for _ in range(20):
        pacer.observe(tokens=50, writing_s=49 * 0.5)  # ten times slower per token
    assert 1 <= pacer.limit < grown * 0.75
    for _ in range(40):
        pacer.observe(tokens=50, writing_s=49 * 5.0)
    assert pacer.limit == 1, "never below one request"


def test_short_answers_and_a_fixed_limit_leave_the_limit_alone() -> None:
    fixed = BulkPacer("m", ceiling=8, adaptive=False)
    fixed.observe(tokens=50, writing_s=100.0)
    assert fixed.limit == 8
    adaptive = BulkPacer("m", ceiling=8)
    adaptive.observe(tokens=3, writing_s=100.0)
    assert adaptive.state()["baseline_ms"] == 0


def test_bulk_work_gets_a_share_while_a_call_is_live(tmp_path: Path) -> None:
    live = LiveWork(tmp_path / "live")
    pacer = BulkPacer("m", ceiling=8, adaptive=False, live=live)
    assert pacer.limit == 8
    with live.hold():
        assert live.active()
        assert pacer.limit == int(8 * LIVE_SHARE)
    assert not live.active()
    assert pacer.limit == 8


def test_a_call_in_another_process_is_seen(tmp_path: Path) -> None:
    folder = tmp_path / "live"
    ready, done = os.pipe(), os.pipe()
    child = os.fork()
    if child == 0:  # the web worker holding a call
        try:
            with LiveWork(folder).hold():
                os.write(ready[1], b"x")
                os.read(done[0], 1)
        finally:
            os._exit(0)
    try:
        os.read(ready[0], 1)
        watcher = LiveWork(folder)
        assert watcher.count() == 1
        os.write(done[1], b"x")
        os.waitpid(child, 0)
        time.sleep(live_module.CACHE_S)
        assert watcher.count() == 0
    finally:
        for fd in (*ready, *done):
            os.close(fd)


def test_a_dead_processs_mark_stops_counting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "live"
    (folder / "calls").mkdir(parents=True)
    mark = folder / "calls" / "999999-1-1"
    mark.touch()
    assert LiveWork(folder).count() == 1
    old = time.time() - live_module.STALE_AFTER_S - 1
    os.utime(mark, (old, old))
    assert LiveWork(folder).count() == 0


def test_bulk_synthesis_pauses_only_while_a_call_is_live(tmp_path: Path) -> None:
    live = LiveWork(tmp_path / "live")
    started = time.monotonic()
    live.yield_after(0.2)
    assert time.monotonic() - started < 0.1, "paused with no call live"
    with live.hold():
        started = time.monotonic()
        live.yield_after(0.1)
        paused = time.monotonic() - started
    assert paused >= 0.1 * (1 - SPEECH_SHARE) / SPEECH_SHARE * 0.9


def test_a_turn_is_seen_at_once_and_counts_at_most_so_long(tmp_path: Path) -> None:
    live = LiveWork(tmp_path / "live")
    watcher = LiveWork(tmp_path / "live")  # another process's view: the same folder
    assert not watcher.in_turn()
    with live.hold(), live.turn():
        time.sleep(live_module.TURN_CACHE_S)
        assert watcher.in_turn() and watcher.active()
        mark = next((tmp_path / "live" / "turns").iterdir())
        old = time.time() - live_module.TURN_AT_MOST_S - 1
        os.utime(mark, (old, old))  # a turn at work too long (or a dead process's)
        time.sleep(live_module.TURN_CACHE_S)
        assert not watcher.in_turn() and not live.in_turn()
    time.sleep(live_module.TURN_CACHE_S)
    assert not watcher.in_turn()


def test_bulk_synthesis_waits_out_a_turn_at_work(tmp_path: Path) -> None:
    live = LiveWork(tmp_path / "live")
    began, ended = threading.Event(), threading.Event()

    def turn() -> None:
        with live.turn():
            began.set()
            time.sleep(0.4)
        ended.set()

    with live.hold():
        worker = threading.Thread(target=turn)
        worker.start()
        assert began.wait(5)
        live.yield_after(0.0)
        assert ended.is_set(), "bulk synthesis went on during the turn"
        worker.join()
        started = time.monotonic()
        live.yield_after(0.0)
        assert time.monotonic() - started < 0.1, "paused with no turn at work"
