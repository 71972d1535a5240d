"""A stand-in bulk server for tests of CPU yielding: busy threads in a process group of
their own, and what /proc says of them."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from engines.cpu_yield import CpuYield
from engines.live import LiveWork

BUSY = """
import threading
def spin():
    while True:
        pass
threading.Thread(target=spin).start()
spin()
"""


@contextmanager
def busy_group(nice: int = 0) -> Iterator[subprocess.Popen[bytes]]:
    """Two spinning threads in a new process group (its leader's pid), at ``nice``."""
    process = subprocess.Popen(
        ["nice", "-n", str(nice), sys.executable, "-c", BUSY], start_new_session=True
    )
    try:
        assert wait_for(lambda: len(list(Path(f"/proc/{process.pid}/task").iterdir())) == 2)
        yield process
    finally:
        process.kill()
        process.wait()


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def state(pid: int) -> str:
    """'T' while stopped; 'R' or 'S' while it runs."""
    return _stat(pid)[0]


def cpu_ticks(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[11]) + int(fields[12])  # utime + stime


def nice_values(pid: int) -> set[int]:
    tasks = Path(f"/proc/{pid}/task").iterdir()
    return {int((task / "stat").read_text().rsplit(")", 1)[1].split()[16]) for task in tasks}


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def following(yielder: CpuYield) -> tuple[threading.Thread, threading.Event]:
    """``yielder`` following the calls in a thread, as a supervisor runs it (and the event
    that stops it)."""
    stopping = threading.Event()
    thread = threading.Thread(target=yielder.run, args=(stopping,), daemon=True)
    thread.start()
    return thread, stopping


@contextmanager
def yielding(pid: int, live: LiveWork, pause: bool = True, nice: int = 10) -> Iterator[CpuYield]:
    """A yielder for the process group ``pid`` (at its own ``nice``) following ``live`` in
    a thread for as long as the block runs."""
    yielder = CpuYield("bulk", live, own_nice=nice, pause=pause)
    yielder.attach(pid, nice=nice)
    thread, stopping = following(yielder)
    try:
        yield yielder
    finally:
        stopping.set()
        thread.join()


def free_port() -> int:
    """A loopback port nothing listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
