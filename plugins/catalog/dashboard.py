"""The catalog's dashboard page: the merchant's listings, searched and paged in SQL."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from merchant_voice.plugin_api import DashboardPage, dashboard_view, tenant_session
from plugins.catalog.models import Listing

PAGE_SIZE = 50

bp = Blueprint("catalog_dashboard", __name__, url_prefix="/dashboard/catalog")

PAGE = DashboardPage("catalog_dashboard.listings", _l("Catalog"), order=20)


@bp.get("/")
@dashboard_view("catalog")
def listings() -> str:
    query = request.args.get("q", "").strip()[:200]
    page = max(1, request.args.get("page", 1, type=int) or 1)
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
    total = session.scalar(select(func.count(Listing.id)).where(*matching)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(page, pages)
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
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return render_template(
        "catalog/dashboard_listings.html",
        rows=rows,
        query=query,
        page=page,
        pages=pages,
        total=total,
    )
