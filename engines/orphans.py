"""An embedded server whose supervisor died: found through the port's lock file, ended.

The supervisor of a port's server holds a lock on a file named after the port
(:meth:`engines.vllm_server.VllmSupervisor.claim`) and writes the pid of each
server it starts into it. Killed outright (SIGKILL, the OOM killer), it leaves its
server running without a supervisor, or stopped for good if a call's turn had
paused it (:mod:`engines.cpu_yield`), and holding the port, so that no new server
can start on it. Whoever claims the port next ends that server first: holding
the lock proves its supervisor is gone. A pid is trusted only while its command
line is a vLLM server on this port (pids are reused).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from pathlib import Path
from typing import TextIO

log = logging.getLogger(__name__)

SERVER_MODULE = "vllm.entrypoints.openai.api_server"
END_WAIT_S = 20.0  # how long an orphan has to exit on SIGTERM before SIGKILL


def record(lock: TextIO, pid: int) -> None:
    """Write the pid of the server just started into the held lock file."""
    os.ftruncate(lock.fileno(), 0)
    lock.write(f"{pid}\n")
    lock.flush()


def end_orphan(lock: TextIO, port: int) -> int | None:
    """End the server the lock file names, if it still runs on ``port``; its pid."""
    with open(lock.name) as recorded:
        text = recorded.read().strip()
    if not text.isdigit() or not _serves(int(text), port):
        return None
    pid = int(text)
    log.warning("ending vLLM server %d on port %d: its supervisor is gone", pid, port)
    _signal(pid, signal.SIGCONT)  # a stopped process does not act on SIGTERM
    _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + END_WAIT_S
    while _serves(pid, port):  # not merely alive: its pid may be another's once it exits
        if time.monotonic() >= deadline:
            _signal(pid, signal.SIGKILL)
            break
        time.sleep(0.1)
    return pid


def _serves(pid: int, port: int) -> bool:
    """Whether ``pid`` is a vLLM server on ``port`` (not once it has exited: a zombie's
    command line is empty)."""
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:  # gone, or not this host's to read
        return False
    if SERVER_MODULE.encode() not in arguments or b"--port" not in arguments:
        return False
    at = arguments.index(b"--port")
    return at + 1 < len(arguments) and arguments[at + 1] == str(port).encode()


def _signal(pid: int, number: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, number)  # its own process group: its engine processes too
