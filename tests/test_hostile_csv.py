"""Hostile input: CSV files the host writes are safe to open in a spreadsheet.

A listing's handle, SKU or translated text that begins like a formula must not
run as one when the merchant opens the export (OWASP, "CSV Injection"), and a
neutralised cell reads back as the value it was.
"""

from __future__ import annotations

import csv
import io

from flask import Flask
from hypothesis import example, given
from hypothesis import strategies as st

from merchant_voice.spreadsheet import FORMULA_STARTS, read_cell, safe_cell
from plugins.catalog.importers.csvfile import CsvFile
from plugins.translation.models import ListingTranslation
from tests.conftest import Shop

HANDLE = '=HYPERLINK("http://evil.example/x","click")'
SKU = "=cmd|' /C calc'!A0"
TRANSLATED = {
    "title": "+SUM(1,2)",
    "description_html": "-2+3",
    "bullet_points": ["@foo"],
    "attributes": {"Farbe": ["\tRot"]},
}


def test_the_translation_export_neutralises_formulas_and_reads_back(
    app: Flask, shop_a: Shop
) -> None:
    client = app.test_client()
    created = client.post(
        "/api/v1/listings",
        json={"handle": HANDLE, "sku": SKU, "title": "Hoodie", "description_html": "<p>Warm</p>"},
        headers=shop_a.headers,
    )
    assert created.status_code == 201, created.get_json()
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        session.add(
            ListingTranslation(
                listing_id=created.get_json()["id"], locale="fr_FR", fields=TRANSLATED
            )
        )
        session.commit()

    export = client.get("/api/v1/translations/fr_FR/export.csv", headers=shop_a.headers)
    assert export.status_code == 200
    header, *rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    assert len(rows) == 1
    cells = rows[0]
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
    row = dict(zip(header, cells, strict=True))
    assert row["handle"] == f"'{HANDLE}" and row["sku"] == f"'{SKU}"
    assert row["title"] == "'+SUM(1,2)" and row["description_html"] == "'-2+3"

    # the importers' CSV reader takes the quote off again
    read = list(CsvFile(export.get_data()).read())
    assert read[0]["handle"] == HANDLE and read[0]["sku"] == SKU
    assert read[0]["title"] == "+SUM(1,2)" and read[0]["description_html"] == "-2+3"


@given(st.text())
@example("'=x")
@example("''-1")
def test_any_cell_is_safe_and_reads_back_unchanged(value: str) -> None:
    cell = safe_cell(value)
    assert not cell.startswith(FORMULA_STARTS)
    assert read_cell(cell) == value
