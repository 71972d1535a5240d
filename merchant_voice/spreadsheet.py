"""CSV cells that are safe to open in a spreadsheet (OWASP, "CSV Injection").

Excel, LibreOffice and Google Sheets read a cell that begins with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return as a formula, so a listing's handle or
SKU could run a command on the merchant's computer once the export is opened.
:func:`safe_cell` puts a single quote before such a cell: spreadsheets show it
as text. :func:`read_cell` takes that quote off again, so that a file written
by :func:`safe_cell` reads back unchanged.

(``defusedcsv`` neutralises fewer starts, no tab or carriage return, and
rewrites ``|`` inside cells, which cannot be read back; hence these two lines.)
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """``value`` as a cell no spreadsheet runs as a formula."""
    return f"'{value}" if _formula(value) else value


def read_cell(value: str) -> str:
    """The value :func:`safe_cell` neutralised; any other cell as it is."""
    return value[1:] if value.startswith("'") and _formula(value) else value


def _formula(value: str) -> bool:
    """Starts like a formula, after any quotes (so that ``'=x`` itself reads back)."""
    return value.lstrip("'").startswith(FORMULA_STARTS)
