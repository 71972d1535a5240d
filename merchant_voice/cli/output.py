"""How commands print results and errors."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from engines.errors import EngineError
from merchant_voice.errors import EngineProblem, MerchantVoiceError, ValidationFailed

F = TypeVar("F", bound=Callable[..., Any])

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def emit(data: Any, as_json: bool, text: str | Callable[[], str]) -> None:
    """Print ``data`` as JSON, or ``text`` for people."""
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        click.echo(text() if callable(text) else text)


def tell_waiting(why: str) -> None:
    """A long command's ``waiting``: says on stderr what it waits for (e.g. "starting the
    text model NAME"), on a line of its own, so a progress bar does not look stuck."""
    if why:
        click.echo(f"\n{why} ...", err=True)


def handle_errors(fields: Mapping[str, str] | None = None) -> Callable[[F], F]:
    """Turn host and engine errors into ``Error: <field>: <reason>`` and exit status 1.

    ``fields`` renames model fields to the command's own options, e.g.
    ``{"default_locale": "--locale"}``, so the message names what the user typed.
    """
    names = dict(fields or {})

    def decorator(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return command(*args, **kwargs)
            except ValidationFailed as exc:
                lines = [f"{_option(e['field'], names)}: {e['message']}" for e in exc.errors]
                _fail("\n  ".join(lines) or exc.detail, exc, kwargs)
            except MerchantVoiceError as exc:
                _fail(exc.detail, exc, kwargs)
            except EngineError as exc:
                _fail(exc.detail, EngineProblem(exc), kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def _option(field: str, names: Mapping[str, str]) -> str:
    """``market_locales.1`` -> ``--markets`` where the command names its option so."""
    head = field.split(".", 1)[0]
    return names.get(head, field)


def _fail(message: str, exc: MerchantVoiceError, kwargs: Mapping[str, Any]) -> None:
    if kwargs.get("as_json"):
        click.echo(json.dumps({"error": exc.to_problem()}, indent=2))
    raise click.ClickException(message)
