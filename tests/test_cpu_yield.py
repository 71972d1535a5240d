"""A bulk server yields the CPU to live calls (engines.cpu_yield), on real process groups."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engines import cpu_yield
from engines.cpu_yield import CpuYield
from engines.live import LiveWork
from engines.vllm_server import ServerSpec, VllmSupervisor
from tests.busy_group import (
    busy_group,
    cpu_ticks,
    following,
    free_port,
    nice_values,
    state,
    wait_for,
    yielding,
)


@pytest.fixture
def server() -> Iterator[subprocess.Popen[bytes]]:
    with busy_group(nice=10) as process:
        yield process


@pytest.fixture
def live(tmp_path: Path) -> LiveWork:
    return LiveWork(tmp_path / "live")


def test_every_thread_goes_to_nice_19_while_a_call_is_live(
    server: subprocess.Popen[bytes], live: LiveWork
) -> None:
    """... and back to its own nice after (where this process may raise a priority again:
    as root; else it stays at 19, said once)."""
    yielder = CpuYield("bulk", live, own_nice=10, pause=True)
    yielder.attach(server.pid, nice=10)
    yielder._follow(calls=False)
    assert nice_values(server.pid) == {10}
    yielder._follow(calls=True)
    assert nice_values(server.pid) == {19}
    yielder._follow(calls=False)
    if os.geteuid() == 0:
        assert nice_values(server.pid) == {10}
    else:
        assert not yielder.renice


def test_the_server_stops_during_a_turn_and_runs_again_after(
    server: subprocess.Popen[bytes], live: LiveWork
) -> None:
    with yielding(server.pid, live), live.hold():
        assert wait_for(lambda: nice_values(server.pid) == {19})  # the call is seen
        assert state(server.pid) != "T", "stopped with no turn at work"
        with live.turn():
            assert wait_for(lambda: state(server.pid) == "T", timeout=0.2)
            ticks = cpu_ticks(server.pid)
            time.sleep(0.3)
            assert cpu_ticks(server.pid) == ticks, "it ran while stopped"
        assert wait_for(lambda: state(server.pid) != "T", timeout=0.2)
        ticks = cpu_ticks(server.pid)
        assert wait_for(lambda: cpu_ticks(server.pid) > ticks)


@pytest.fixture
def short_pauses(
    server: subprocess.Popen[bytes], live: LiveWork, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """The server followed by a yielder whose pauses add up to 0.3 s before 0.3 s of rest,
    with a call live (and seen)."""
    monkeypatch.setattr(cpu_yield, "MAX_PAUSE_S", 0.3)
    monkeypatch.setattr(cpu_yield, "REST_S", 0.3)
    with yielding(server.pid, live), live.hold():
        assert wait_for(lambda: nice_values(server.pid) == {19})  # the call is seen
        yield


def _states(pid: int, seconds: float) -> list[str]:
    """The process's state every 10 ms for ``seconds``."""
    seen, until = [], time.monotonic() + seconds
    while time.monotonic() < until:
        seen.append(state(pid))
        time.sleep(0.01)
    return seen


@pytest.mark.usefixtures("short_pauses")
def test_a_long_turn_never_starves_the_server(
    server: subprocess.Popen[bytes], live: LiveWork
) -> None:
    """Pauses add up to at most MAX_PAUSE_S, and the server then runs REST_S."""
    with live.turn():
        seen = _states(server.pid, 1.5)
    stopped = seen.count("T") / len(seen)
    assert 0.3 < stopped < 0.8, f"stopped {stopped:.0%} of a long turn"
    assert wait_for(lambda: state(server.pid) != "T", timeout=0.2), "left stopped"


@pytest.mark.usefixtures("short_pauses")
def test_turns_that_follow_each_other_never_starve_the_server(
    server: subprocess.Popen[bytes], live: LiveWork
) -> None:
    """A chain of turns with short gaps between them (calls at once) stops the server no
    longer in all than one long turn would."""
    seen: list[str] = []
    until = time.monotonic() + 2.0
    while time.monotonic() < until:
        with live.turn():
            seen += _states(server.pid, 0.15)
        time.sleep(0.05)  # the caller speaks again: the server runs a moment
    stopped = seen.count("T") / len(seen)
    assert 0.25 < stopped < 0.75, f"stopped {stopped:.0%} of a chain of turns"


def test_on_a_gpu_host_the_server_is_only_reniced(
    server: subprocess.Popen[bytes], live: LiveWork
) -> None:
    with yielding(server.pid, live, pause=False), live.hold(), live.turn():
        assert wait_for(lambda: nice_values(server.pid) == {19}, timeout=1.0)
        time.sleep(0.2)
        assert state(server.pid) != "T"


def test_a_server_stopped_for_a_turn_still_stops_at_sigterm(
    server: subprocess.Popen[bytes], live: LiveWork, tmp_path: Path
) -> None:
    """The supervisor continues a paused server before SIGTERM: a stopped process would
    not act on it, and the stop would end in SIGKILL."""
    spec = ServerSpec("bulk", tmp_path, 8099, nice=10)
    supervisor = VllmSupervisor(spec, Path(sys.executable), tmp_path / "log", yield_to=live)
    assert supervisor.cpu_yield is not None
    supervisor._process = server
    supervisor.cpu_yield.attach(server.pid, nice=10)
    supervisor._yielder, supervisor._stopping = following(supervisor.cpu_yield)
    with live.hold():
        assert wait_for(lambda: nice_values(server.pid) == {19})  # the call is seen
        with live.turn():
            assert wait_for(lambda: state(server.pid) == "T", timeout=0.2)
            supervisor.stop(timeout_s=5)
    assert server.returncode == -15  # SIGTERM, not SIGKILL


def test_a_server_stopped_for_a_turn_is_not_taken_for_unhealthy(
    server: subprocess.Popen[bytes], live: LiveWork, tmp_path: Path
) -> None:
    """A health check it could not answer while stopped says nothing of its health: jobs
    would show "starting the text model" for every turn of a call."""
    spec = ServerSpec("bulk", tmp_path, free_port(), nice=10)  # every health check fails
    supervisor = VllmSupervisor(spec, Path(sys.executable), tmp_path / "log", yield_to=live)
    assert supervisor.cpu_yield is not None
    supervisor._process = server
    supervisor.cpu_yield.attach(server.pid, nice=10)
    yielder, supervisor._stopping = following(supervisor.cpu_yield)
    supervisor.ready.set()  # it answered before the call
    watcher = threading.Thread(target=supervisor._watch, daemon=True)
    try:
        with live.hold():
            assert wait_for(lambda: nice_values(server.pid) == {19})
            with live.turn():
                assert wait_for(lambda: state(server.pid) == "T", timeout=0.2)
                watcher.start()
                time.sleep(1.5)
                assert supervisor.ready.is_set(), "taken for unhealthy while stopped"
        assert wait_for(lambda: not supervisor.ready.is_set()), "no answer once running: unhealthy"
    finally:
        supervisor._stopping.set()
        watcher.join(timeout=5)
        yielder.join()
