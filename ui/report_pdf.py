"""The PDF report of a :class:`~meterreader.reading.MeterReading` (QPdfWriter + QPainter, A4).

Contents: the meter identity and how the read went, the instantaneous parameters and the
billing history as tables (parameters down the page, billing periods across, split into as many
blocks as the page width needs), chart images of the block and daily load surveys (from
:func:`ui.charts.render_chart_image`), the daily load table, and one table per event compartment
with each IS 15959 event code described in words. Every page has a running header, the time the
report was generated and "Page n of m".

Layout is done first into a list of pages of drawing operations, so the page count is known
before painting. The file is written through :func:`meterreader.atomic.atomic_path`.

Command line (used by ``meterreader.reports.pdf_bridge``)::

    python -m ui.report_pdf READING.json OUT.pdf
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from PySide6.QtGui import QImage

from meterreader.atomic import atomic_path
from meterreader.india.events import describe_event
from meterreader.reading.model import EVENT_SECTIONS, SECTION_TITLES, MeterReading, ReadingTable
from ui.report_layout import (ACCENT, BODY_PT, MUTED, WARN, PageLayout as _Layout, a4_writer,
                              cell_text)

__all__ = ["cell_text", "daily_consumption", "main", "write_pdf"]

ENERGY_UNITS = ("Wh", "varh", "VAh", "kWh", "kvarh", "kVAh", "MWh", "Mvarh", "MVAh")
#: The charts of a section, one image each: the units of the series it shows (the chart
#: titles come from ui.charts). Billing: only the totals (OBIS E = 0), not the tariff zones.
CHART_GROUPS = {
    "block_load": (ENERGY_UNITS, ("V", "kV"), ("A", "kA")),
    "daily_load": (ENERGY_UNITS,),
    "billing": (ENERGY_UNITS + ("W", "kW", "VA", "kVA"),),
}


def _offset_text(reading: MeterReading) -> str:
    """How the report's times are to be read ("meter time, UTC+05:30")."""
    clock = reading.meter_clock
    offset = clock.utcoffset() if clock is not None else None
    if offset is None:
        return "meter local time"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"meter local time (UTC{sign}{abs(minutes) // 60:02}:{abs(minutes) % 60:02})"


# -- report content -------------------------------------------------------------------------------

def _when(value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    if value.tzinfo is not None and value.utcoffset() == dt.timedelta(0):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return value.strftime("%Y-%m-%d %H:%M:%S") + (value.strftime(" %z") if value.tzinfo else "")


def _identity(doc: _Layout) -> None:
    r, ident = doc.reading, doc.reading.identity
    doc.y = doc.top
    doc.text("Meter reading report", doc.font(18, bold=True), ACCENT, gap_after=1)
    doc.text(f"IS 15959 category {r.category} meter · serial {ident.serial or 'unknown'}",
             doc.font(10), MUTED, gap_after=8)
    pairs = [("Serial number", ident.serial), ("Manufacturer", ident.manufacturer),
             ("Firmware version", ident.firmware), ("Meter type", ident.meter_type),
             ("Category", ident.category or r.category),
             ("Logical device name", ident.logical_device_name), *ident.extra,
             ("Meter clock at read", _when(r.meter_clock)),
             ("Read started", _when(r.started)), ("Read finished", _when(r.finished)),
             ("Connection", r.connection), ("Association", r.association),
             ("Block load days", str(r.block_load_days)), ("Read by", r.software),
             ("Times in tables", _offset_text(r))]
    doc.table(["Meter", ""], [[k, v] for k, v in pairs if v], wrap_first=True, size=8.5)
    if r.complete:
        doc.text("Every section was read completely.", doc.font(8.5), gap_after=4)
    else:
        doc.text("PARTIAL READING — not every section was read completely:",
                 doc.font(8.5, bold=True), WARN, gap_after=2)
    for error in r.errors:
        doc.text(f"• {error}", doc.font(8), WARN, gap_after=1)
    for note in r.notes:
        doc.text(note, doc.font(8), MUTED, gap_after=1)


def _section_status(doc: _Layout, table: ReadingTable) -> None:
    if not table.rows and table.error:
        doc.text(f"Not read: {table.error}.", doc.font(8, bold=True), WARN)
    elif not table.complete:
        doc.text(f"Partial: {len(table.rows)} rows read before the read stopped"
                 + (f" ({table.error})" if table.error else "") + ".",
                 doc.font(8, bold=True), WARN)
    elif table.error:
        doc.text(table.error, doc.font(8), WARN)


def _transposed(doc: _Layout, table: ReadingTable, labels: list[str]) -> None:
    """Parameters down the page, one column per row of ``table`` (in blocks that fit)."""
    body = doc.font(BODY_PT)
    names = [c.title for c in table.columns]
    cells = [[cell_text(row[i] if i < len(row) else None, c) for row in table.rows]
             for i, c in enumerate(table.columns)]
    label_width = min(doc.width * 0.38,
                      max(doc.text_size(n, body).width() for n in names) + doc.pt(6))
    column_widths = [max([doc.text_size(labels[j], doc.font(BODY_PT, True)).width()]
                         + [doc.text_size(cells[i][j], body).width() for i in range(len(names))])
                     + doc.pt(6) for j in range(len(labels))]
    start = 0
    while start < len(labels):
        end, used = start, label_width
        while end < len(labels) and (end == start or used + column_widths[end] <= doc.width):
            used += column_widths[end]
            end += 1
        doc.table(["Parameter", *labels[start:end]],
                  [[names[i], *cells[i][start:end]] for i in range(len(names))],
                  right=[False] + [True] * (end - start), wrap_first=True)
        start = end


def _billing_labels(table: ReadingTable) -> list[str]:
    index = table.column_index(obis="0.0.0.1.2.255")
    if index is None:
        index = table.column_index(kind="datetime")
    labels = []
    for n, row in enumerate(table.rows, 1):
        text = cell_text(row[index], table.columns[index]) if index is not None else ""
        labels.append(text.split(" ")[0] if text else f"#{n}")
    return labels


def _chart_images(table: ReadingTable, width: int, height: int) -> list[tuple[str, QImage]]:
    try:
        from ui.charts import render_chart_image
    except ImportError:
        return []
    images = []
    for units in CHART_GROUPS.get(table.section, ()):
        columns = [i for i, c in enumerate(table.columns) if c.unit in units and c.kind == "value"
                   and (table.section != "billing" or c.obis.split(".")[4:5] == ["0"])]
        if not columns:
            continue
        image = render_chart_image(table, width=width, height=height, columns=columns)
        if image is not None and not image.isNull():
            images.append(image)
    return images


def daily_consumption(table: ReadingTable) -> ReadingTable:
    """The daily load survey as energy per day: each cumulative energy column differenced
    (row n − row n−1; the first day has no row before it and is left out)."""
    energy = {i for i, c in enumerate(table.columns) if c.unit in ENERGY_UNITS}
    rows = []
    for before, row in zip(table.rows, table.rows[1:]):
        out = []
        for i, cell in enumerate(row):
            old = before[i] if i < len(before) else None
            numeric = isinstance(cell, (int, float)) and isinstance(old, (int, float))
            out.append((cell - old if numeric else None) if i in energy else cell)
        rows.append(tuple(out))
    columns = tuple(replace(c, title=c.title.replace("Cumulative energy", "Energy per day"))
                    if i in energy else c for i, c in enumerate(table.columns))
    return replace(table, columns=columns, rows=tuple(rows))


def _survey(doc: _Layout, table: ReadingTable) -> None:
    clock = table.column_index(kind="datetime")
    if table.rows and clock is not None:
        first, last = table.rows[0][clock], table.rows[-1][clock]
        minutes = (table.capture_period or 0) // 60
        period = (", every day" if minutes == 1440 else f", every {minutes} min"
                  if table.capture_period else "")
        doc.text(f"{len(table.rows)} entries from {cell_text(first)} to {cell_text(last)}"
                 f"{period}.", doc.font(8.5))
    else:
        doc.text(f"{len(table.rows)} entries.", doc.font(8.5))
    charted = daily_consumption(table) if table.section == "daily_load" else table
    if len(charted.rows) > 1:
        for image in _chart_images(charted, 1100, 380):
            doc.image(image)


def _plain(doc: _Layout, table: ReadingTable) -> None:
    header = [c.title for c in table.columns]
    rows = [[cell_text(v, c) for v, c in zip(row, table.columns)] for row in table.rows]
    right = [c.kind == "value" for c in table.columns]
    doc.table(header, rows, right=right)


def _events(doc: _Layout, table: ReadingTable) -> None:
    code = table.column_index(kind="event_code")
    clock = table.column_index(kind="datetime")
    if code is None:
        _plain(doc, table)
        return
    rows = []
    for row in table.rows:
        value = row[code]
        words = describe_event(value) if isinstance(value, int) else ""
        rows.append([cell_text(row[clock]) if clock is not None else "", cell_text(value),
                     words])
    doc.table(["Date and time", "Code", "Event"], rows, right=[False, True, False],
              wrap_first=False)


def _layout(doc: _Layout) -> None:
    _identity(doc)
    r = doc.reading
    for section, title in SECTION_TITLES.items():
        table = r.tables.get(section)
        if section == "name_plate" or (table is None and section in EVENT_SECTIONS):
            continue  # the identity block shows the name plate
        doc.section = ""  # a page break from here on is not a continuation
        if section == "block_load" or section == "billing":
            doc.new_page() if doc.y > doc.top + (doc.bottom - doc.top) * 0.55 else None
        doc.heading(table.title if table is not None else title)
        if table is None:
            doc.text("Not read.", doc.font(8.5), MUTED)
            continue
        _section_status(doc, table)
        if not table.rows:
            if not table.error:
                doc.text("No entries.", doc.font(8.5), MUTED)
            continue
        if section == "instantaneous":
            labels = ["Value"] if len(table.rows) == 1 else [f"#{n}" for n in
                                                             range(1, len(table.rows) + 1)]
            _transposed(doc, table, labels)
        elif section == "billing":
            _transposed(doc, table, _billing_labels(table))
            for image in _chart_images(table, 1100, 560) if len(table.rows) > 1 else ():
                doc.image(image)
        elif section == "block_load":
            _survey(doc, table)
        elif section == "daily_load":
            _survey(doc, table)
            _plain(doc, table) if len(table.columns) <= 8 else _transposed(
                doc, table, [cell_text(row[0]).split(" ")[0] for row in table.rows])
        elif section in EVENT_SECTIONS:
            _events(doc, table)
        else:
            _plain(doc, table)


# -- writing --------------------------------------------------------------------------------------

def write_pdf(reading: MeterReading, path: str | os.PathLike[str], *,
              generated: dt.datetime | None = None) -> Path:
    """Write the PDF report of ``reading`` to ``path`` (atomically); returns the path.
    ``generated`` (default now) is the time printed in the footer."""
    generated = generated or dt.datetime.now(dt.timezone.utc)
    target = Path(path)
    with atomic_path(target) as tmp:
        writer = a4_writer(tmp, f"Meter reading {reading.identity.serial or ''}".strip())
        doc = _Layout(writer, reading, generated)
        _layout(doc)
        doc.render(writer, target)
        del writer
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ui.report_pdf READING.json OUT.pdf``: 0 on success, else 1 (message on
    stderr)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] in ("-h", "--help"):
        print("usage: python -m ui.report_pdf READING.json OUT.pdf", file=sys.stderr)
        return 2
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication(["meterreader-report"])
    try:
        from meterreader.reading.json_io import load_reading
        reading = load_reading(args[0])
        written = write_pdf(reading, args[1])
    except Exception as exc:  # noqa: BLE001 (the message is the interface)
        print(f"report_pdf: cannot write {args[1]}: {exc}", file=sys.stderr)
        return 1
    finally:
        del app
    print(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
