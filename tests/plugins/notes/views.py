from __future__ import annotations

from flask import render_template
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from merchant_voice.plugin_api import (
    ApiBlueprint,
    NotFound,
    ValidationFailed,
    current_merchant,
    current_settings,
    enqueue_job,
    plugin_resources,
    tenant_session,
)
from tests.plugins.notes.models import Note, Tag
from tests.plugins.notes.plugin import NotesSettings

bp = ApiBlueprint("notes", __name__, "/notes")


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1)
    tags: list[str] = []


class NoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    text: str
    tags: list[str]


class NoteList(BaseModel):
    notes: list[NoteOut]


class JobOut(BaseModel):
    job_id: str


def _out(note: Note) -> NoteOut:
    return NoteOut(id=note.id, text=note.text, tags=[tag.name for tag in note.tags])


def _note(note_id: int) -> Note:
    note = tenant_session().get(Note, note_id)
    if note is None:
        raise NotFound(f"no note {note_id}")
    return note


@bp.operation("", "POST", summary="Add a note", body=NoteIn, response=NoteOut, status=201)
def create_note(body: NoteIn) -> NoteOut:
    session = tenant_session()
    settings = current_settings(NotesSettings)
    if len(body.text) > settings.max_length:
        raise ValidationFailed(
            "text is too long",
            [{"field": "text", "message": f"at most {settings.max_length} characters"}],
        )
    note = Note(text=body.text, tags=[Tag(name=name) for name in body.tags])
    session.add(note)
    session.commit()
    return _out(note)


@bp.operation("", "GET", summary="List notes", response=NoteList)
def list_notes() -> NoteList:
    notes = tenant_session().scalars(select(Note).order_by(Note.id))
    return NoteList(notes=[_out(note) for note in notes])


@bp.operation("/<int:note_id>", "GET", summary="One note", response=NoteOut)
def get_note(note_id: int) -> NoteOut:
    return _out(_note(note_id))


@bp.operation("/<int:note_id>", "PUT", summary="Replace a note", body=NoteIn, response=NoteOut)
def replace_note(note_id: int, body: NoteIn) -> NoteOut:
    note = _note(note_id)
    note.text = body.text
    note.tags = [Tag(name=name) for name in body.tags]
    tenant_session().commit()
    return _out(note)


@bp.operation("/<int:note_id>", "DELETE", summary="Delete a note", status=204)
def delete_note(note_id: int) -> None:
    session = tenant_session()
    session.delete(_note(note_id))
    session.commit()


@bp.operation(
    "/count-job", "POST", summary="Count notes in a background job", response=JobOut, status=202
)
def count_job() -> JobOut:
    session = tenant_session()
    job = enqueue_job(session, "notes.count")
    session.commit()
    return JobOut(job_id=job.id)


@bp.operation("/summary", "GET", summary="A summary rendered from the plugin's templates")
def summary() -> dict[str, str]:
    session = tenant_session()
    count = len(session.scalars(select(Note.id)).all())
    merchant = current_merchant()
    resources = plugin_resources("notes")
    greeting = current_settings(NotesSettings).greeting
    return {
        "html": render_template("notes/summary.html", count=count, merchant=merchant.name),
        "prompt": resources.render_prompt("summary.j2", count=count, merchant=merchant.name),
        "greeting": resources.gettext(merchant.default_locale, greeting),
    }
