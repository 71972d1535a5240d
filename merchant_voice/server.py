"""The production server: gunicorn's event-loop (asgi) workers in front of the Flask host
(:mod:`merchant_voice.web.asgi`), job workers in each web worker.

Slow and idle clients wait in the event loop; a thread is taken only by a request
whose headers and body have arrived (``[server] threads`` of them per worker), and
by each live call's media stream (a thread of its own).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from merchant_voice import extensions
from merchant_voice.web.asgi import HostASGI

log = logging.getLogger(__name__)


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app  # what the hooks below reach: worker.app.application
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> HostASGI:
        settings = extensions.settings(self.application)
        return HostASGI(self.application, settings.server.threads, settings.host.max_body_bytes)


def _post_fork(_server: Any, worker: Any) -> None:
    app: Flask = worker.app.application
    extensions.database(app).engine.dispose(close=False)  # never share the parent's connections
    extensions.job_service(app).start_workers()
    extensions.engines(app).warm_speech()


def _worker_exit(_server: Any, worker: Any) -> None:
    extensions.job_service(worker.app.application).stop_workers()


def run_server(app: Flask, bind: str | None = None) -> None:
    settings = extensions.settings(app)
    options = {
        "bind": bind or settings.server.bind,
        "workers": settings.server.worker_count(),
        "worker_class": "asgi",
        "worker_connections": settings.server.connections,
        "control_socket": str(settings.instance_dir / "gunicorn.ctl"),
        "post_fork": _post_fork,
        "worker_exit": _worker_exit,
        "accesslog": "-",
        "graceful_timeout": 30,
        "timeout": 120,
    }
    engines = extensions.engines(app)
    engines.start_chat_server()  # the host serves at once; /readyz turns ready with the engines
    options["on_exit"] = lambda _server: engines.stop()
    log.info("serving on http://%s", options["bind"])
    _Gunicorn(app, options).run()
