"""A server whose supervisor died is ended by the next claimant of its port (engines.orphans),
on real processes; anything else the lock file names is left alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engines import orphans
from engines.vllm_server import ServerSpec, VllmSupervisor
from tests.busy_group import free_port, state, wait_for


def stand_in(*arguments: str) -> subprocess.Popen[bytes]:
    """A process in a group of its own whose command line carries ``arguments``."""
    code = "import time; time.sleep(120)"
    return subprocess.Popen([sys.executable, "-c", code, *arguments], start_new_session=True)


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[VllmSupervisor]:
    spec = ServerSpec("text", tmp_path, free_port())
    supervisor = VllmSupervisor(spec, Path(sys.executable), tmp_path / "log")
    yield supervisor
    supervisor._release()


def _orphaned_by(supervisor: VllmSupervisor, server: subprocess.Popen[bytes]) -> None:
    """As if ``supervisor``'s process had started ``server`` and then been killed."""
    assert supervisor.claim()
    assert supervisor._claimed is not None
    orphans.record(supervisor._claimed[1], server.pid)
    supervisor._release()  # the lock goes with the dead process


def test_a_server_left_stopped_by_a_dead_supervisor_is_ended_by_the_next(
    supervisor: VllmSupervisor,
) -> None:
    port = str(supervisor.spec.port)
    server = stand_in("vllm.entrypoints.openai.api_server", "--port", port)
    try:
        _orphaned_by(supervisor, server)
        os.killpg(server.pid, signal.SIGSTOP)  # paused for a call's turn when it died
        assert wait_for(lambda: state(server.pid) == "T")
        assert supervisor.claim()
        assert server.wait(timeout=5) == -signal.SIGTERM  # continued, then ended
    finally:
        server.kill()
        server.wait()


def test_a_pid_that_is_no_server_on_this_port_is_left_alone(
    supervisor: VllmSupervisor,
) -> None:
    other_port = stand_in("vllm.entrypoints.openai.api_server", "--port", "1")
    unrelated = stand_in()
    try:
        for process in (other_port, unrelated):
            _orphaned_by(supervisor, process)
            assert supervisor.claim()
            supervisor._release()
            assert process.poll() is None, "a process that is not this port's server was ended"
    finally:
        for process in (other_port, unrelated):
            process.kill()
            process.wait()
