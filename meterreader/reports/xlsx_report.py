"""XLSX report (openpyxl): a ``Meter`` summary sheet, then one sheet per section.

* ``Meter`` sheet: identity, how the read went (times, connection, association, complete),
  one line per section (rows, complete, error) and the read's error lines.
* Section sheets (named after the section title, at most 31 characters): a bold, frozen
  header row with units in brackets, then one row per profile entry; an event code column is
  followed by a ``Description`` column in words.
* Date-times are real Excel date cells (``yyyy-mm-dd hh:mm:ss``). Excel has no time zones, so
  every aware date-time is shown as the **meter's local time**: converted to the offset of the
  meter clock read at the start (when that is aware) and written without the offset; a naive
  date-time already is meter local time. Dates and times of day are date/time cells.
* Numbers are number cells; a column with a negative scaler gets that many decimals
  (``0.00`` for scaler -2); integers of 15 digits or more are text (Excel would round them).
  Octets are hex text, structures ``[a; b]`` text, an empty cell stays empty. Text is
  always stored as text (never run as a formula), line ends become the cell line break
  ``\\n`` and control characters a worksheet cannot hold are shown as ``\\x00``.
* Column widths fit the heading and the first rows (capped).

Written with openpyxl's write-only mode so a 100k-row load survey stays fast and small in
memory, and atomically (temp file + rename).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from meterreader.atomic import atomic_path
from meterreader.reading.model import MeterReading, ReadingColumn, ReadingTable
from meterreader.reports.common import cell_text, headings, ordered_tables, report_rows

__all__ = ["DATETIME_FORMAT", "excel_value", "sheet_names", "write_xlsx"]

DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
DATE_FORMAT = "yyyy-mm-dd"
TIME_FORMAT = "hh:mm:ss"
EXCEL_MAX_INT = 10 ** 15  # Excel shows 15 significant digits
MAX_WIDTH = 60
WIDTH_SAMPLE = 200  # rows looked at for the column widths
_BOLD = Font(bold=True)
_BAD_SHEET_CHARS = str.maketrans({c: "_" for c in "[]:*?/\\"})


def meter_offset(reading: MeterReading) -> dt.timedelta | None:
    """The meter's UTC offset when the meter clock was read with its deviation, else None."""
    clock = reading.meter_clock
    return clock.utcoffset() if clock is not None and clock.tzinfo is not None else None


def excel_value(value: Any, offset: dt.timedelta | None = None) -> Any:
    """``value`` as openpyxl accepts it: aware date-times become naive meter local time
    (shifted to ``offset`` when given), octets hex, structures text."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            if offset is not None:
                value = value.astimezone(dt.timezone(offset))
            value = value.replace(tzinfo=None)
        return value
    if isinstance(value, dt.time):
        return value.replace(tzinfo=None)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= EXCEL_MAX_INT:
        return str(value)  # Excel numbers are doubles: keep every digit as text
    if isinstance(value, str):
        return _clean(value)
    if value is None or isinstance(value, (bool, int, float, dt.date)):
        return value
    return _clean(cell_text(value))


def _clean(text: str) -> str:
    """Line ends as ``\\n`` (a cell's line break); control characters a worksheet cannot
    hold shown as ``\\xNN``."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _number_format(value: Any, column: ReadingColumn | None) -> str | None:
    if isinstance(value, dt.datetime):
        return DATETIME_FORMAT
    if isinstance(value, dt.date):
        return DATE_FORMAT
    if isinstance(value, dt.time):
        return TIME_FORMAT
    if (isinstance(value, float) and column is not None and column.scaler is not None
            and column.scaler < 0):
        return "0." + "0" * min(-column.scaler, 9)
    return None


def _cell(ws: Any, value: Any, column: ReadingColumn | None, offset: dt.timedelta | None,
          *, bold: bool = False) -> Any:
    v = excel_value(value, offset)
    if v is None and not bold:
        return None
    if (not bold and column is not None and v is not None and not isinstance(v, str)
            and _number_format(v, column) is None):
        return v  # plain number or bool: no cell object needed (fast path)
    cell = WriteOnlyCell(ws, value=v)
    if isinstance(v, str):
        cell.data_type = "s"  # never a formula, even when the text starts with "="
    fmt = _number_format(v, column)
    if fmt:
        cell.number_format = fmt
    if bold:
        cell.font = _BOLD
    return cell


def _widths(rows: Iterable[list[str]]) -> list[float]:
    widths: list[float] = []
    for row in rows:
        for i, text in enumerate(row):
            n = max((len(line) for line in text.splitlines()), default=0)
            if i >= len(widths):
                widths.append(0)
            widths[i] = max(widths[i], n)
    return [min(max(w + 2, 8), MAX_WIDTH) for w in widths]


def _set_widths(ws: Any, widths: list[float]) -> None:
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w


def sheet_names(reading: MeterReading) -> dict[str, str]:
    """Section name → sheet name (the title, Excel-safe, ≤ 31 characters, unique; "Meter" is
    taken by the summary sheet)."""
    used = {"meter"}
    out = {}
    for table in ordered_tables(reading):
        base = (table.title or table.section).translate(_BAD_SHEET_CHARS).strip("'")[:31]
        base = base or table.section[:31]
        name, n = base, 2
        while name.lower() in used:
            suffix = f" ({n})"
            name, n = base[:31 - len(suffix)] + suffix, n + 1
        used.add(name.lower())
        out[table.section] = name
    return out


def _summary_rows(reading: MeterReading) -> list[list[Any]]:
    ident = reading.identity
    rows: list[list[Any]] = [
        ["Meter reading"],
        ["Serial number", ident.serial],
        ["Manufacturer", ident.manufacturer],
        ["Firmware version", ident.firmware],
        ["Meter type", ident.meter_type],
        ["Category", reading.category or ident.category],
        ["Logical device name", ident.logical_device_name],
    ]
    rows += [[title, text] for title, text in ident.extra]
    rows += [
        [],
        ["Read"],
        ["Meter clock at start", reading.meter_clock],
        ["Meter UTC offset", _offset_text(meter_offset(reading))],
        ["Started (UTC)", _utc(reading.started)],
        ["Finished (UTC)", _utc(reading.finished)],
        ["Connection", reading.connection],
        ["Association", reading.association],
        ["Block load days", reading.block_load_days],
        ["Complete", reading.complete],
        ["Software", reading.software],
        ["Format version", reading.format_version],
        [],
        ["Section", "Title", "Rows", "Complete", "Error"],
    ]
    rows += [[t.section, t.title, len(t.rows), t.complete, t.error]
             for t in ordered_tables(reading)]
    if reading.errors:
        rows += [[], ["Errors"]] + [["", e] for e in reading.errors]
    if reading.notes:
        rows += [[], ["Notes"]] + [["", n] for n in reading.notes]
    return rows


def _offset_text(offset: dt.timedelta | None) -> str:
    if offset is None:
        return "unknown (meter sent no deviation)"
    sign = "-" if offset < dt.timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc)
    return value.replace(tzinfo=None)


_SUMMARY_HEADINGS = {"Meter reading", "Read", "Section", "Errors", "Notes"}


def _write_summary(wb: Workbook, reading: MeterReading) -> None:
    ws = wb.create_sheet("Meter")
    rows = _summary_rows(reading)
    _set_widths(ws, _widths([[cell_text(v) for v in r] for r in rows]))
    for r in rows:
        bold = bool(r) and r[0] in _SUMMARY_HEADINGS
        ws.append([_cell(ws, v, None, None, bold=bold) for v in r])


def _write_table(wb: Workbook, table: ReadingTable, name: str,
                 offset: dt.timedelta | None) -> None:
    ws = wb.create_sheet(name)
    ws.freeze_panes = "A2"
    heads = headings(table)
    sample = [heads]
    for i, row in enumerate(report_rows(table)):
        if i >= WIDTH_SAMPLE:
            break
        sample.append([_width_text(v) for v, _ in row])
    _set_widths(ws, _widths(sample))
    ws.append([_cell(ws, h, None, None, bold=True) for h in heads])
    for row in report_rows(table):
        ws.append([_cell(ws, v, c, offset) for v, c in row])


def _width_text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return "2000-01-01 00:00:00"
    return cell_text(value)


def write_xlsx(reading: MeterReading, path: str | Path) -> Path:
    """Write the workbook to ``path`` atomically; returns the path."""
    path = Path(path)
    wb = Workbook(write_only=True)
    _write_summary(wb, reading)
    offset = meter_offset(reading)
    names = sheet_names(reading)
    for table in ordered_tables(reading):
        _write_table(wb, table, names[table.section], offset)
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return path
