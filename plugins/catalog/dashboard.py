"""The catalog's dashboard pages: the listings, searched and paged in SQL, a catalog file's
import with its rejected rows, and one listing with the panels other plugins add to it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import func, or_, select
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # newer than its stubs

from merchant_voice.plugin_api import (
    LISTING,
    ClientError,
    DashboardPage,
    Job,
    dashboard_view,
    get_or_404,
    page_panels,
    pager,
    tenant_session,
)
from plugins.catalog.importers import PARSERS
from plugins.catalog.imports import queue_import
from plugins.catalog.models import CatalogImport, Listing

PAGE_SIZE = 50

bp = Blueprint("catalog_dashboard", __name__, url_prefix="/dashboard/catalog")

PAGE = DashboardPage("catalog_dashboard.listings", _l("Catalog"), order=20)


class ImportForm(FlaskForm):
    file = FileField(_l("Catalog file (CSV)"), validators=[FileRequired()])
    format = SelectField(
        _l("Format"),
        choices=[
            SelectChoice("", _l("Detect from the header")),
            *(SelectChoice(name, name) for name in sorted(PARSERS)),
        ],
        default="",
    )


@bp.get("/")
@dashboard_view("catalog")
def listings() -> ResponseReturnValue:
    return _listings_page(ImportForm(), None)


def _listings_page(form: ImportForm, error: str | None) -> ResponseReturnValue:
    query = request.args.get("q", "").strip()[:200]
    matching = []
    if query:  # the words as written: % and _ match themselves
        needle = query.lower()
        matching = [
            or_(
                func.lower(Listing.title).contains(needle, autoescape=True),
                func.lower(Listing.handle).contains(needle, autoescape=True),
                func.lower(Listing.sku).contains(needle, autoescape=True),
            )
        ]
    session = tenant_session()
    paging = pager(session.scalar(select(func.count(Listing.id)).where(*matching)) or 0, PAGE_SIZE)
    columns = select(
        Listing.id,
        Listing.title,
        Listing.handle,
        Listing.sku,
        Listing.price,
        Listing.currency,
        Listing.in_stock,
        Listing.stock_quantity,
    ).where(*matching)
    rows = session.execute(
        columns.order_by(func.lower(Listing.title), Listing.id)
        .limit(paging.size)
        .offset(paging.offset)
    ).all()
    page = render_template(
        "catalog/dashboard_listings.html",
        rows=rows,
        query=query,
        pager=paging,
        form=form,
        error=error,
    )
    return page, 400 if error or form.errors else 200


@bp.post("/imports")
@dashboard_view("catalog")
def upload() -> ResponseReturnValue:
    form = ImportForm()
    if not form.validate():
        return _listings_page(form, None)
    try:
        record, _job, _rows = queue_import(
            tenant_session(), form.file.data, form.format.data or None
        )
    except ClientError as error:  # a file that cannot be read as a catalog, said why
        return _listings_page(form, _("This file cannot be imported: %(why)s", why=error.detail))
    return redirect(url_for(".catalog_import", import_id=record.id), 303)


@bp.get("/imports/<int:import_id>")
@dashboard_view("catalog")
def catalog_import(import_id: int) -> ResponseReturnValue:
    record = get_or_404(CatalogImport, import_id, "catalog import")
    session = tenant_session()
    job = session.scalar(
        select(Job).where(
            Job.kind == "catalog.import", Job.payload["import_id"].as_integer() == import_id
        )
    )
    return render_template("catalog/dashboard_import.html", record=record, job=job)


@bp.get("/listings/<int:listing_id>")
@dashboard_view("catalog")
def listing(listing_id: int) -> ResponseReturnValue:
    return listing_page(get_or_404(Listing, listing_id, "listing"))


def listing_page(item: Listing, changed: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """A listing's page with its plugins' panels; ``changed``: more values for the panels
    drawn by a template (a form sent back with its errors, by the plugin it posted to)."""
    more = changed or {}
    panels = [
        replace(p, values={**p.values, **more[p.template]}) if p.template in more else p
        for p in page_panels(LISTING, item.id)
    ]
    return render_template("catalog/dashboard_listing.html", listing=item, panels=panels)
