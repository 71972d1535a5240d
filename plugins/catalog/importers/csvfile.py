"""A catalog CSV, decoded once and read as often as an importer needs, row by row.

A file of any size under the body limit is never held as rows at once: each pass
reads its rows as it goes, so an importer may look over the file first (which
rows belong together) and build its listings on a second pass.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator

from merchant_voice.plugin_api import BadRequest, read_cell

EXTRA_CELLS = "\x00extra"  # the key under which a row's cells beyond the header are counted
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


class CsvFile:
    """A UTF-8 CSV with a header row; a file that is not one is refused whole, here or
    on the pass that meets the fault."""

    def __init__(self, data: bytes) -> None:
        try:
            self._text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise BadRequest(
                f"the file is not UTF-8 (invalid byte at offset {exc.start});"
                " export it as UTF-8 CSV"
            ) from None
        offset = self._text.find("\x00")
        if offset >= 0:  # not text at all; nor can PostgreSQL store it
            raise BadRequest(f"the file holds a NUL character (at offset {offset}): not a text CSV")
        try:
            first = next(csv.reader(self._lines()), [])
        except csv.Error as exc:
            raise BadRequest(f"the file is not valid CSV: {exc}") from None
        self.header = [name.strip() for name in first]
        if not self.header:
            raise BadRequest("the file is empty: a CSV header row is needed")
        self.rows = 0  # data rows, once a pass has read them all
        self.position = 1  # the spreadsheet row number of the row a pass read last

    def _lines(self) -> Iterator[str]:
        # Lines with their own endings, as a file opened with newline="" gives them.
        return (match.group() for match in _LINE.finditer(self._text))

    def _records(self) -> Iterator[list[str]]:
        """The data rows as lists of raw cells, blank lines skipped."""
        reader = csv.reader(self._lines())
        self.position = 1
        try:
            next(reader, None)  # the header
            for record in reader:
                if record:
                    self.position += 1
                    yield record
        except csv.Error as exc:
            raise BadRequest(f"the file is not valid CSV: {exc}") from None
        self.rows = self.position - 1

    def read(self) -> Iterator[dict[str, str]]:
        """The data rows, by column name (a missing cell is empty; cells beyond the header
        are counted under ``EXTRA_CELLS``); ``position`` is the row's spreadsheet number."""
        header, width = self.header, len(self.header)
        for record in self._records():
            row = {name: _cell(value) for name, value in zip(header, record, strict=False)}
            if len(record) < width:
                for name in header[len(record) :]:
                    row[name] = ""  # as DictReader: a repeated column's missing cell wins
            elif len(record) > width:
                row[EXTRA_CELLS] = str(len(record) - width)
            yield row

    def numbered(self) -> Iterator[tuple[int, dict[str, str]]]:
        """The data rows with their spreadsheet row numbers."""
        for row in self.read():
            yield self.position, row

    def columns(self, *names: str) -> Iterator[tuple[int, tuple[str, ...]]]:
        """Only the cells of columns ``names`` ("" where there is none), with each row's
        spreadsheet number: a cheap pass."""
        last = {name: index for index, name in enumerate(self.header)}
        indices = [last.get(name, -1) for name in names]
        for record in self._records():
            yield (
                self.position,
                tuple(
                    _cell(record[index]) if 0 <= index < len(record) else "" for index in indices
                ),
            )

    def count(self) -> int:
        """The number of data rows (a pass of its own)."""
        for _ in self._records():
            pass
        return self.rows


def _cell(value: str) -> str:
    """A cell without its outer spaces, or the spreadsheet-safe quote the host's exports add."""
    return read_cell(value.strip()).strip()
