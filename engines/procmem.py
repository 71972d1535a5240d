"""Memory of a local server and its helper processes, read from Linux's /proc.

An embedded vLLM server is a process group (the API server, its engine core
and its workers); whichever process asks - the host that started it, or
``engines status`` in another - finds the group by the port it listens on.

The figure is the group's proportional set size (PSS): each resident page
counted once, a page shared by several processes split between them. Summing
resident sizes (RSS) would count torch's libraries once per process, three
times a server. Where a process's ``smaps_rollup`` cannot be read, its RSS is
used. Elsewhere than Linux the figures are unknown (None).
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def server_memory_bytes(port: int) -> int | None:
    """Memory of the process group listening on loopback ``port`` (PSS), or None."""
    pid = listening_pid(port)
    if pid is None:
        return None
    try:
        return group_memory_bytes(os.getpgid(pid))
    except OSError:  # it exited meanwhile
        return None


def listening_pid(port: int) -> int | None:
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    for process in PROC.iterdir():
        if not process.name.isdigit():
            continue
        try:
            for fd in (process / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return int(process.name)
        except OSError:  # gone, or not ours to read
            continue
    return None


def group_memory_bytes(pgid: int) -> int:
    total = 0
    for process in PROC.iterdir():
        if not process.name.isdigit():
            continue
        try:
            stat = (process / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) != pgid:  # state, ppid, pgrp
                continue
            total += _pss_bytes(process) or int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    return total


def _pss_bytes(process: Path) -> int | None:
    try:
        for line in (process / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    return None


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(inode)
    return inodes
