"""Catalog files uploaded for import (the API's and the dashboard's), and the job that
imports them."""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import FileStorage

from merchant_voice.plugin_api import (
    Job,
    JobContext,
    PluginSettings,
    TenantSession,
    ValidationFailed,
    enqueue_job,
)
from plugins.catalog.importers import PARSERS, inspect, parse, store
from plugins.catalog.models import CatalogImport

JOB_KIND = "catalog.import"


def queue_import(
    session: TenantSession, upload: FileStorage | None, format: str | None
) -> tuple[CatalogImport, Job, int]:
    """Keep ``upload`` and queue its import job (committed): the record, the job and the
    file's row count. A missing file, an unknown format or an unreadable file is refused
    now (``ValidationFailed``, ``BadRequest``), not in the job."""
    if upload is None or not upload.filename:
        message = "attach the catalog as a multipart file field named 'file'"
        raise ValidationFailed(message, [{"field": "file", "message": message}])
    if format not in (None, *PARSERS):
        message = f"must be one of {', '.join(sorted(PARSERS))}"
        raise ValidationFailed(f"format: {message}", [{"field": "format", "message": message}])
    content = upload.read()
    found, rows = inspect(content, format)
    record = CatalogImport(filename=upload.filename[:255], format=found, content=content)
    session.add(record)
    session.flush()
    job = enqueue_job(session, JOB_KIND, {"import_id": record.id})
    session.commit()
    return record, job, rows


def run_import(context: JobContext[PluginSettings]) -> dict[str, Any]:
    """Job ``catalog.import``: import an uploaded file, then drop its bytes."""
    record = context.session.get(CatalogImport, context.payload["import_id"])
    if record is None or record.content is None:
        raise LookupError(f"catalog import {context.payload['import_id']} has no file")
    content, format = record.content, record.format
    context.session.commit()  # no transaction (nor the write lock) while the file is parsed
    parsed = parse(content, format)  # listings are built as the store takes them
    total = max(parsed.rows, 1)
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        context.progress(done / total, f"{done} of {parsed.rows} rows")

    report = store(context.session, parsed, progress=advance).as_dict()
    context.session.writes_first()  # the record is read again, then written
    record.report, record.content = report, None
    return report
