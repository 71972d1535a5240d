"""The ``notes`` test plugin's hooks: one implementation of every hook of the contract."""

from __future__ import annotations

import shutil
import time
from typing import Any

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import func, select

from merchant_voice.plugin_api import (
    OVERVIEW,
    BadRequest,
    CallTool,
    DashboardPage,
    DashboardPanel,
    Job,
    JobContext,
    JobRegistry,
    MerchantInfo,
    TenantSession,
    ToolContext,
    ToolResult,
    data_dir,
    hookimpl,
    merchant_session,
)
from tests.plugins.notes.models import Note
from tests.plugins.notes.plugin import NotesSettings

Context = JobContext[NotesSettings]


def _count(context: Context) -> dict[str, Any]:
    context.progress(0.5, "counting")
    return {"notes": context.session.scalar(select(func.count(Note.id)))}


def _fail_once(context: Context) -> dict[str, Any]:
    context.session.add(Note(text=f"attempt {context.attempt}"))  # rolled back when it fails
    if context.attempt == 1:
        raise RuntimeError("first attempt fails")
    return {"attempt": context.attempt}


def _always_fail(context: Context) -> dict[str, Any]:
    raise ValueError(f"attempt {context.attempt} failed")


def _write_then_progress(context: Context) -> dict[str, Any]:
    context.session.add(Note(text="written before progress"))
    context.session.flush()  # holds SQLite's write lock until the job commits
    context.progress(0.5, "half way")
    return {"ok": True}


def _bad_input(context: Context) -> dict[str, Any]:
    raise BadRequest("the uploaded file is not a notes file")


def _slow(context: Context) -> dict[str, Any]:
    """Sleeps ``seconds`` at 10% progress; the first ``waits`` seconds it says it waits."""
    started = time.monotonic()
    deadline = started + float(context.payload.get("seconds", 5))
    context.progress(0.1, "sleeping")
    waits = float(context.payload.get("waits", 0))
    if waits:
        context.waiting("waiting for the tea to brew")
        time.sleep(waits)
        context.waiting("")
    while time.monotonic() < deadline:
        context.progress(0.1, "sleeping")
        time.sleep(0.1)
    return {"slept": context.payload.get("seconds", 5), "attempt": context.attempt}


def _greeting(context: Context) -> dict[str, Any]:
    return {"greeting": context.settings.greeting}  # the merchant's settings, from the context


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
    registry.add("notes.greeting", _greeting)


@click.command("notes-count")
@with_appcontext
@click.argument("slug")
def notes_count(slug: str) -> None:
    """Print merchant SLUG's number of notes."""
    with merchant_session(slug) as session:
        click.echo(str(session.scalar(select(func.count(Note.id)))))


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(notes_count)


@hookimpl
def merchant_created(session: TenantSession, settings: NotesSettings) -> None:
    if settings.welcome_note:
        session.add(Note(text=f"Welcome, {session.merchant.name}!"))


@hookimpl
def merchant_deleted(merchant: MerchantInfo) -> None:
    """The files it keeps for the merchant (``data_dir("notes")/<merchant id>``)."""
    shutil.rmtree(data_dir("notes") / str(merchant.id), ignore_errors=True)


@hookimpl
def dashboard_pages() -> list[DashboardPage]:
    return [DashboardPage("notes_dashboard.notes", "Notes", order=50)]


@hookimpl
def dashboard_panels(session: TenantSession, place: str) -> list[DashboardPanel] | None:
    """On the overview, for owners: how many notes the merchant has."""
    if place != OVERVIEW:
        return None
    count = session.scalar(select(func.count(Note.id))) or 0
    return [DashboardPanel("Notes", "notes/panel.html", {"count": count}, roles=("owner",))]


@hookimpl
def merchant_details(session: TenantSession) -> dict[str, Any]:
    return {"notes": session.scalar(select(func.count(Note.id)))}


@hookimpl
def job_finished(session: TenantSession, job: Job) -> None:
    session.add(Note(text=f"job {job.kind} {job.status.value}"))


def _latest_note(context: ToolContext[NotesSettings]) -> ToolResult:
    note = context.session.scalars(select(Note).order_by(Note.id.desc())).first()
    text = note.text if note else "no notes"
    return ToolResult({"note": text, "topic": context.arguments.get("topic")}, say=text)


@hookimpl
def call_tools() -> list[CallTool[NotesSettings]]:
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
