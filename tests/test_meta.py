"""The docs stay true: every hook documented and tested, every endpoint they name served."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from flask import Flask
from werkzeug.exceptions import MethodNotAllowed, NotFound

from merchant_voice import hookspecs

ROOT = Path(__file__).resolve().parent.parent
SPEC_MARK = f"{hookspecs.PROJECT_NAME}_spec"


def _hooks() -> list[str]:
    return sorted(
        name
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(function, SPEC_MARK)
    )


def test_there_are_hooks() -> None:
    assert "startup" in _hooks() and len(_hooks()) >= 6


def test_every_hook_has_a_test() -> None:
    tests = (ROOT / "tests" / "test_hooks.py").read_text()
    missing = [hook for hook in _hooks() if f"def test_hook_{hook}(" not in tests]
    assert not missing, f"hooks without test_hook_<name> in tests/test_hooks.py: {missing}"


def test_every_hook_is_documented() -> None:
    docs = (ROOT / "docs" / "plugins.md").read_text()
    missing = [hook for hook in _hooks() if f"### `{hook}`" not in docs]
    assert not missing, f"hooks without a '### `name`' section in docs/plugins.md: {missing}"


def test_every_hook_has_a_docstring() -> None:
    for hook in _hooks():
        assert (getattr(hookspecs, hook).__doc__ or "").strip(), hook


METHODS = "GET|POST|PUT|PATCH|DELETE"
ENDPOINT = re.compile(
    rf"(?:((?:{METHODS})(?:\|(?:{METHODS}))*)\s+)?"  # GET, or GET|PUT
    r"(?<![\w/])(/(?:api/v1|hooks|dashboard|media)/[^\s`\"'),;]+)"  # to the code span's end
)


def test_every_endpoint_the_docs_name_is_served(app: Flask) -> None:
    """Each ``METHOD /path`` (or bare path) in README.md and docs/*.md against the URL map,
    ``<placeholders>`` and ``[/optional]`` parts filled in."""
    adapter = app.url_map.bind("localhost")
    missing = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for methods, path in ENDPOINT.findall(doc.read_text()):
            if path.endswith("..."):
                continue
            for variant in {re.sub(r"\[[^\]]*\]", "", path), re.sub(r"[\[\]]", "", path)}:
                concrete = re.sub(r"<[^>]*>", "1", variant).rstrip(".:")
                for method in (methods or "GET").split("|"):
                    try:
                        adapter.match(concrete, method=method)
                    except MethodNotAllowed:
                        if methods:  # the path exists, but not for the method the docs name
                            missing.append(f"{doc.name}: {method} {path}")
                    except NotFound:
                        missing.append(f"{doc.name}: {method} {path}")
    assert not missing, f"endpoints the docs name that the app does not serve: {missing}"
