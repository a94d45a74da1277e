"""CSV report: one file per section of a reading, ``<stem>_<section>.csv``.

Format (chosen for Excel and for scripts alike):

* UTF-8 **with a byte-order mark** (``utf-8-sig``) so Excel shows units such as ``°`` or ``—``
  correctly; Python's ``csv`` module reads it with ``encoding="utf-8-sig"``.
* Comma separated, ``"`` quoting when needed, CRLF line ends (RFC 4180).
* One header row with the column headings (units in brackets), then one line per profile
  entry. An event code column is followed by a ``Description`` column in words (IS 15959).
* Cells as :func:`meterreader.reports.common.cell_text`: ISO 8601 date-times (``+05:30``
  style offset when the meter sent its deviation, else meter local time), numbers as Python
  prints them (scalers already applied), octets as hex, empty cell for no value.
* Text that a spreadsheet would run as a formula (starting with ``= + - @``, tab or CR) gets a
  leading ``'`` (CSV injection guard); numbers are never changed.

A section that failed or stopped early still gets its file with the rows read; whether it is
complete is in the XLSX ``Meter`` sheet and in the XML.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from meterreader.atomic import atomic_path
from meterreader.reading.model import MeterReading, ReadingTable
from meterreader.reports.common import cell_text, headings, ordered_tables, report_rows, safe_name

__all__ = ["csv_text", "write_csv", "write_csv_table"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> str:
    text = cell_text(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _write_table(f: io.TextIOBase, table: ReadingTable) -> None:
    writer = csv.writer(f, lineterminator="\r\n")
    writer.writerow([_csv_cell(h) for h in headings(table)])
    for row in report_rows(table):
        writer.writerow([_csv_cell(value) for value, _ in row])


def csv_text(table: ReadingTable) -> str:
    """The CSV text of one table (without the byte-order mark)."""
    buf = io.StringIO()
    _write_table(buf, table)
    return buf.getvalue()


def write_csv_table(table: ReadingTable, path: str | Path) -> Path:
    """Write one table to ``path`` atomically; returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as f:
        _write_table(f, table)
    return path


def write_csv(reading: MeterReading, out_dir: str | Path, stem: str) -> list[Path]:
    """One ``<stem>_<section>.csv`` per section of ``reading`` in ``out_dir``; returns the paths
    in section order."""
    out = Path(out_dir)
    return [write_csv_table(t, out / f"{stem}_{safe_name(t.section, 'section')}.csv")
            for t in ordered_tables(reading)]
