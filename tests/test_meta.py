"""The plugin contract stays documented and tested: every hook, both places."""

from __future__ import annotations

import inspect
from pathlib import Path

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
