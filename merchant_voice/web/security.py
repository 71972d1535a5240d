"""What every response carries for its safety, set here only.

- Flask-Talisman's headers: ``Content-Security-Policy`` (nothing may load, nothing may
  frame the host: ``default-src 'none'; frame-ancestors 'none'``), ``X-Frame-Options:
  DENY``, ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``, and
  HSTS on requests that came over HTTPS. TLS is the front proxy's (docs: "Serving"),
  so the host redirects nothing to HTTPS itself.
- ``Cache-Control: no-store`` on API answers and dashboard pages: merchants' data stays
  out of caches (the dashboard's stylesheet and script may be cached).
- Path ids are ASCII digits: Werkzeug's ``int`` converter would also take ``\uff11``
  (a full-width digit), making one resource reachable under many URLs.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_talisman import Talisman
from werkzeug.routing import IntegerConverter

POLICY = {
    "default-src": "'none'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "form-action": "'none'",
}
NO_STORE_PREFIXES = ("/api/", "/dashboard/")  # merchants' data: never in a cache
CACHEABLE_PREFIXES = ("/dashboard/static/",)


class AsciiIntegerConverter(IntegerConverter):
    """``<int:id>`` matching ASCII digits only."""

    regex = r"[0-9]+"


def init_app(app: Flask) -> None:
    """Call before any blueprint is registered (the converter applies to rules added later)."""
    app.url_map.converters["int"] = AsciiIntegerConverter
    app.extensions["talisman"] = Talisman(
        app,
        force_https=False,
        frame_options="DENY",
        content_security_policy=POLICY,
        referrer_policy="no-referrer",
        session_cookie_secure=False,  # the dashboard sets its own cookie flags and policy
    )
    app.after_request(_no_store)


def _no_store(response: Response) -> Response:
    if request.path.startswith(NO_STORE_PREFIXES) and not request.path.startswith(
        CACHEABLE_PREFIXES
    ):
        response.headers["Cache-Control"] = "no-store"
    return response
