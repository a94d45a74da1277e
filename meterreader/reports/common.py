"""Helpers shared by the report writers: file names, column headings, cell text, events.

Nothing here writes a file; every writer goes through :mod:`meterreader.atomic`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from meterreader.india.events import describe_event
from meterreader.reading.json_io import reading_stem
from meterreader.reading.model import SECTION_TITLES, MeterReading, ReadingColumn, ReadingTable

__all__ = [
    "DESCRIPTION_TITLE", "ReportError", "cell_text", "column_heading", "default_stem",
    "event_description", "headings", "ordered_tables", "report_rows", "safe_name",
]

#: Heading of the column added after an event code column.
DESCRIPTION_TITLE = "Description"

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class ReportError(RuntimeError):
    """A report could not be written. ``written`` lists the files that were written anyway,
    ``failures`` maps each format that failed to its exception."""

    def __init__(self, message: str, *, written: tuple = (), failures: dict | None = None):
        super().__init__(message)
        self.written = tuple(written)
        self.failures = dict(failures or {})


def safe_name(text: str, default: str = "meter") -> str:
    """``text`` usable in a file name on every OS (letters, digits, ``. _ -``), or ``default``."""
    name = _UNSAFE.sub("_", text).strip("._")
    return name[:80] or default


def default_stem(reading: MeterReading) -> str:
    """``<serial>_<yyyymmdd-hhmmss>``; the time is when the read started, in UTC. The same
    stem as the saved reading's JSON file (``meterreader.reading.json_io.reading_stem``)."""
    return reading_stem(reading)


def ordered_tables(reading: MeterReading) -> list[ReadingTable]:
    """The reading's tables in :data:`SECTION_TITLES` order, then any other section by name."""
    known = [reading.tables[s] for s in SECTION_TITLES if s in reading.tables]
    other = [reading.tables[s] for s in sorted(reading.tables) if s not in SECTION_TITLES]
    return known + other


def column_heading(column: ReadingColumn) -> str:
    """The column's title with its unit in brackets (unless the title already shows it)."""
    title = column.title or column.obis
    if column.unit and not title.endswith(f"({column.unit})"):
        return f"{title} ({column.unit})"
    return title


def _event_columns(table: ReadingTable) -> list[int]:
    return [i for i, c in enumerate(table.columns) if c.kind == "event_code"]


def headings(table: ReadingTable) -> list[str]:
    """Column headings of a report table: one per column, plus ``Description`` after each
    event code column."""
    out = []
    for c in table.columns:
        out.append(column_heading(c))
        if c.kind == "event_code":
            out.append(DESCRIPTION_TITLE)
    return out


def event_description(code: Any) -> str:
    """IS 15959 words for an event code cell ("" for an empty cell)."""
    if code is None:
        return ""
    if isinstance(code, bool) or not isinstance(code, int):
        return f"unknown event code {cell_text(code)}"
    return describe_event(code)


def report_rows(table: ReadingTable) -> Iterator[list[tuple[Any, ReadingColumn | None]]]:
    """Each row as ``(value, column)`` pairs in heading order; a description cell has column
    None. Short rows are padded with None so every row has a cell per heading."""
    events = set(_event_columns(table))
    width = len(table.columns)
    for row in table.rows:
        out: list[tuple[Any, ReadingColumn | None]] = []
        for i in range(width):
            value = row[i] if i < len(row) else None
            out.append((value, table.columns[i]))
            if i in events:
                out.append((event_description(value), None))
        yield out


def cell_text(value: Any) -> str:
    """Plain text of a cell: ISO 8601 date-times (with the offset when aware), ``true``/``false``,
    hex for octets, ``[a; b]`` for structures, ``""`` for an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex().upper()
    if isinstance(value, (list, tuple)):
        return "[" + "; ".join(cell_text(v) for v in value) + "]"
    return str(value)
