"""The ``notes`` test plugin: implements every hook of the contract."""

from __future__ import annotations

import time
from typing import Any

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import func, select

from merchant_voice.errors import BadRequest
from merchant_voice.jobs import JobContext, JobRegistry
from merchant_voice.plugin_api import Plugin, PluginSettings, hookimpl
from merchant_voice.tenancy import TenantSession
from models.job import Job
from plugins.support_calls.tools import CallTool, ToolContext, ToolResult


class NotesSettings(PluginSettings):
    max_length: int = 200
    greeting: str = "Hello"
    welcome_note: bool = True


plugin = Plugin(
    name="notes",
    version="1.2.0",
    host_api=">=1.0,<2",
    description="Merchant notes (test plugin)",
    settings=NotesSettings,
    models=".models",
    blueprints=(".views:bp",),
)


def _count(context: JobContext) -> dict[str, Any]:
    from tests.plugins.notes.models import Note

    context.progress(0.5, "counting")
    return {"notes": context.session.scalar(select(func.count(Note.id)))}


def _fail_once(context: JobContext) -> dict[str, Any]:
    from tests.plugins.notes.models import Note

    context.session.add(Note(text=f"attempt {context.attempt}"))  # rolled back when it fails
    if context.attempt == 1:
        raise RuntimeError("first attempt fails")
    return {"attempt": context.attempt}


def _always_fail(context: JobContext) -> dict[str, Any]:
    raise ValueError(f"attempt {context.attempt} failed")


def _write_then_progress(context: JobContext) -> dict[str, Any]:
    from tests.plugins.notes.models import Note

    context.session.add(Note(text="written before progress"))
    context.session.flush()  # holds SQLite's write lock until the job commits
    context.progress(0.5, "half way")
    return {"ok": True}


def _bad_input(context: JobContext) -> dict[str, Any]:
    raise BadRequest("the uploaded file is not a notes file")


def _slow(context: JobContext) -> dict[str, Any]:
    deadline = time.monotonic() + float(context.payload.get("seconds", 5))
    while time.monotonic() < deadline:
        context.progress(0.1, "sleeping")
        time.sleep(0.1)
    return {"slept": context.payload.get("seconds", 5), "attempt": context.attempt}


@hookimpl
def startup(app: Flask) -> None:
    app.extensions["notes.started"] = True


@hookimpl
def register_jobs(registry: JobRegistry) -> None:
    registry.add("notes.count", _count)
    registry.add("notes.fail_once", _fail_once)
    registry.add("notes.always_fail", _always_fail, max_attempts=2)
    registry.add("notes.slow", _slow)
    registry.add("notes.write_then_progress", _write_then_progress)
    registry.add("notes.bad_input", _bad_input)


@click.command("notes-count")
@with_appcontext
@click.argument("slug")
def notes_count(slug: str) -> None:
    """Print merchant SLUG's number of notes."""
    from flask import current_app

    from merchant_voice.accounts import merchant_by_slug
    from tests.plugins.notes.models import Note

    db = current_app.extensions["db"]
    with db.host_session() as session:
        merchant = merchant_by_slug(session, slug).info()
    with db.tenant_session(merchant) as tenant:
        click.echo(str(tenant.scalar(select(func.count(Note.id)))))


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(notes_count)


@hookimpl
def merchant_created(session: TenantSession) -> None:
    from tests.plugins.notes.models import Note

    settings = plugin.merchant_settings(session)
    assert isinstance(settings, NotesSettings)
    if settings.welcome_note:
        session.add(Note(text=f"Welcome, {session.merchant.name}!"))


@hookimpl
def merchant_details(session: TenantSession) -> dict[str, Any]:
    from tests.plugins.notes.models import Note

    return {"notes": session.scalar(select(func.count(Note.id)))}


@hookimpl
def job_finished(session: TenantSession, job: Job) -> None:
    from tests.plugins.notes.models import Note

    session.add(Note(text=f"job {job.kind} {job.status.value}"))


def _latest_note(context: ToolContext) -> ToolResult:
    from tests.plugins.notes.models import Note

    note = context.session.scalars(select(Note).order_by(Note.id.desc())).first()
    text = note.text if note else "no notes"
    return ToolResult({"note": text, "topic": context.arguments.get("topic")}, say=text)


@hookimpl
def call_tools(session: TenantSession) -> list[CallTool]:
    return [
        CallTool(
            name="latest_note",
            description="The merchant's latest note",
            parameters={"type": "object", "properties": {"topic": {"type": "string"}}},
            run=_latest_note,
            keywords=("note", "notice"),
            extract=lambda words, _state: {"topic": words},
        )
    ]
