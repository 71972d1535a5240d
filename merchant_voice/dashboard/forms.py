"""Forms the dashboard builds: a plugin's settings form from its schema, and the host's
rules' verdicts (``ValidationFailed``) shown beside the fields they name."""

from __future__ import annotations

import json
import types
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from flask_wtf import FlaskForm
from pydantic import ValidationError
from pydantic.fields import FieldInfo
from wtforms import (
    BooleanField,
    Field,
    FloatField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # newer than its stubs
from wtforms.validators import InputRequired, Optional

from merchant_voice.errors import ValidationFailed
from merchant_voice.plugin_declaration import PluginSettings

T = TypeVar("T")

LONG_TEXT = 500  # a text setting allowed more characters than this gets a text area
STRUCTURED = (dict, list)  # settings edited as JSON


def attach(form: FlaskForm, error: ValidationFailed) -> list[str]:
    """Put each of ``error``'s messages on the form field it names (``market_locales.1``
    names ``market_locales``); the messages no field takes, for the top of the form."""
    left = []
    for problem in error.errors or [{"field": "", "message": error.detail}]:
        name = problem.get("field", "").split(".")[0]
        field = form._fields.get(name) if name else None
        if field is None:
            left.append(problem["message"] if not name else f"{name}: {problem['message']}")
        else:
            field.errors = [*field.errors, problem["message"]]
    return left


def text_table(text: str, columns: int, build: Callable[[list[str]], T]) -> list[T]:
    """A text area's lines (a short table a person edits in one field: a glossary, a
    lexicon) as rows of ``columns`` cells split at ``|``, stripped, missing ones empty,
    each made a row by ``build``; blank lines left out. ``ValidationFailed`` names the
    first line ``build`` refuses (``ValueError``, pydantic's ``ValidationError``)."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = [cell.strip() for cell in line.split("|", columns - 1)]
        cells += [""] * (columns - len(cells))
        try:
            rows.append(build(cells))
        except ValidationError as exc:
            problems = (e["msg"].removeprefix("Value error, ") for e in exc.errors())
            _refuse_line(number, cells[0], "; ".join(problems))
        except ValueError as exc:
            _refuse_line(number, cells[0], str(exc))
    return rows


def _refuse_line(number: int, first: str, problem: str) -> None:
    message = f"line {number} ({first or 'empty'}): {problem}"
    raise ValidationFailed(message, [{"field": "lines", "message": message}])


def text_line(*cells: str) -> str:
    """Cells as one line of such a text area (:func:`text_table`), empty last cells left out."""
    shown = list(cells)
    while len(shown) > 1 and not shown[-1]:
        shown.pop()
    return " | ".join(shown)


def _kind(annotation: Any) -> Any:
    """The annotation without its ``None`` (``str | None`` is ``str``)."""
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def _field(name: str, info: FieldInfo) -> Field:
    kind = _kind(info.annotation)
    origin = get_origin(kind) or kind
    label = name.replace("_", " ").capitalize()
    help_text = info.description or ""
    if "secret" in name:  # never shown back; left empty, it is kept
        return PasswordField(label, [Optional()], description=help_text)
    if kind is bool:
        return BooleanField(label, description=help_text)
    if kind is int:
        return IntegerField(label, [InputRequired()], description=help_text)
    if kind is float:
        return FloatField(label, [InputRequired()], description=help_text)
    if origin is Literal:
        choices = [SelectChoice(str(v), str(v)) for v in get_args(kind)]
        return SelectField(label, choices=choices, description=help_text)
    if origin in STRUCTURED:
        return TextAreaField(label, [Optional()], description=help_text, render_kw={"rows": 4})
    longest = max((m.max_length for m in info.metadata if hasattr(m, "max_length")), default=0)
    if longest and longest > LONG_TEXT:
        return TextAreaField(label, description=help_text, render_kw={"rows": 6})
    return StringField(label, description=help_text)


def settings_form(
    schema: type[PluginSettings],
    values: PluginSettings,
    fields: Sequence[str] | None = None,
    formdata: Any = None,
    prefix: str = "",
) -> FlaskForm:
    """A form of ``schema``'s settings (or ``fields`` of them), filled with ``values``: a
    text box, number, check box or list per setting, its description as help, and a JSON
    text area for a structured one. The schema, not the form, judges what is sent
    (:func:`settings_values` and ``plugin_state.configure``)."""
    chosen = [n for n in schema.model_fields if fields is None or n in fields]
    form_class = type(
        f"{schema.__name__}Form",
        (FlaskForm,),
        {name: _field(name, schema.model_fields[name]) for name in chosen},
    )
    data = {}
    for name in chosen:
        if "secret" in name:
            continue
        value = getattr(values, name)
        structured = get_origin(_kind(schema.model_fields[name].annotation)) in STRUCTURED
        data[name] = json.dumps(value, indent=2, ensure_ascii=False) if structured else value
    return form_class(formdata=formdata, data=data, prefix=prefix)


def settings_values(form: FlaskForm, schema: type[PluginSettings]) -> dict[str, Any]:
    """What the form says, for the schema to judge: JSON parsed for structured settings
    (``ValidationFailed`` naming the field when it is not JSON)."""
    values: dict[str, Any] = {}
    for name, field in form._fields.items():
        if name not in schema.model_fields or ("secret" in name and not field.data):
            continue  # the CSRF token; a secret left empty, kept
        structured = get_origin(_kind(schema.model_fields[name].annotation)) in STRUCTURED
        if structured:
            try:
                values[name] = json.loads(field.data or "null")
            except json.JSONDecodeError as exc:
                message = f"not valid JSON: {exc.msg} (line {exc.lineno})"
                raise ValidationFailed(
                    f"{name}: {message}", [{"field": name, "message": message}]
                ) from None
        else:
            values[name] = field.data
    return values
