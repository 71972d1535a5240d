"""The production server: gunicorn with threads, job workers in each web worker."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

log = logging.getLogger(__name__)


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def _post_fork(_server: Any, worker: Any) -> None:
    app: Flask = worker.app.application
    app.extensions["db"].engine.dispose(close=False)  # never share the parent's connections
    app.extensions["jobs"].start_workers()


def _worker_exit(_server: Any, worker: Any) -> None:
    worker.app.application.extensions["jobs"].stop_workers()


def run_server(app: Flask, bind: str | None = None) -> None:
    settings = app.extensions["settings"]
    options = {
        "bind": bind or settings.server.bind,
        "workers": settings.server.workers,
        "threads": settings.server.threads,
        "worker_class": "gthread",
        "post_fork": _post_fork,
        "worker_exit": _worker_exit,
        "accesslog": "-",
        "graceful_timeout": 30,
        "timeout": 120,
    }
    log.info("serving on http://%s", options["bind"])
    _Gunicorn(app, options).run()
