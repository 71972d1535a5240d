"""Slow clients, as an attacker opens them: connections that send a request's headers
one line at a time and never finish, all driven from one thread."""

from __future__ import annotations

import itertools
import socket
import threading
import time


class SlowClients:
    """``count`` connections to ``host:port``, each sending one more header line every
    ``interval_s`` (a "slowloris"), until :meth:`stop`."""

    def __init__(self, host: str, port: int, count: int, interval_s: float = 1.0) -> None:
        self.address = (host, port)
        self.count = count
        self.interval_s = interval_s
        self.sockets: list[socket.socket] = []
        self.dropped = 0  # connections the server closed on them
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drip, daemon=True)

    def __enter__(self) -> SlowClients:
        for _ in range(self.count):
            connection = socket.create_connection(self.address, timeout=5)
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: slow.example\r\n")
            connection.setblocking(False)
            self.sockets.append(connection)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for connection in self.sockets:
            connection.close()

    def _drip(self) -> None:
        for n in itertools.count():
            if self._stop.wait(self.interval_s):
                return
            for connection in list(self.sockets):
                try:
                    connection.send(f"X-Slow-{n}: {time.monotonic():.0f}\r\n".encode())
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    self.sockets.remove(connection)
                    connection.close()
                    self.dropped += 1
