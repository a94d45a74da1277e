"""A saved or fresh :class:`~meterreader.reading.MeterReading` on screen, without the meter.

:class:`ReadingView` shows an identity header (serial, manufacturer, firmware, category, when
and how it was read, partial-read warnings) and one tab per section: the name plate and the
instantaneous parameters as parameter/value lists, the billing history as a table with a bar
chart, the block and daily load surveys as charts over their tables (daily load charted as
energy per day), and an Events tab with one sub-tab per compartment whose rows carry the IS 15959
event code described in words. Tabs are built when first shown, so opening a large reading is
quick. Tables use :class:`ui.profile_table.ReadingTableModel`; charts :mod:`ui.charts`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QSplitter, QTabWidget,
                               QVBoxLayout, QWidget)

import ui.pyside_fixes  # noqa: F401 - emit() reference defect of PySide6 6.12 on CPython 3.11
from meterreader.india.events import describe_event
from meterreader.reading.model import (EVENT_SECTIONS, SECTION_TITLES, MeterReading,
                                       ReadingColumn, ReadingTable)

__all__ = ["ReadingView", "events_with_descriptions", "parameter_table"]

#: Short tab titles.
TAB_TITLES = {"name_plate": "Name plate", "instantaneous": "Instantaneous",
              "billing": "Billing", "block_load": "Block load", "daily_load": "Daily load"}
CHARTED = frozenset({"billing", "block_load", "daily_load"})


def events_with_descriptions(table: ReadingTable) -> ReadingTable:
    """``table`` with a "Description" column (the event code in words) after the event code."""
    code = table.column_index(kind="event_code")
    if code is None:
        return table
    column = ReadingColumn(title="Description", class_id=0, obis="", attribute=0,
                           kind="description")
    rows = tuple((*row[:code + 1],
                  describe_event(row[code]) if isinstance(row[code], int) else "",
                  *row[code + 1:]) for row in table.rows)
    columns = (*table.columns[:code + 1], column, *table.columns[code + 1:])
    return replace(table, columns=columns, rows=rows)


def parameter_table(table: ReadingTable) -> ReadingTable:
    """A one-row table (name plate, instantaneous) turned into Parameter / Value / OBIS rows
    (values as display text; several rows become several value columns)."""
    from ui.report_pdf import cell_text as format_cell  # decodes date-time octet strings
    labels = ["Value"] if len(table.rows) <= 1 else [f"#{n + 1}" for n in range(len(table.rows))]
    columns = (ReadingColumn(title="Parameter", class_id=0, obis=""),
               *(ReadingColumn(title=label, class_id=0, obis="") for label in labels),
               ReadingColumn(title="OBIS", class_id=0, obis=""))
    rows = tuple((c.title, *(format_cell(row[i] if i < len(row) else None, c)
                             for row in table.rows), f"{c.obis} · class {c.class_id}")
                 for i, c in enumerate(table.columns))
    return replace(table, columns=columns, rows=rows)


def _when(value: Any) -> str:
    if value is None:
        return "—"
    local = value.astimezone() if value.tzinfo is not None else value
    return local.strftime("%Y-%m-%d %H:%M:%S")


class ReadingView(QWidget):
    """One reading (see the module docstring). ``path``: the file it was saved to or loaded
    from (shown in the header). ``export_requested`` asks the window for the report dialog."""

    export_requested = Signal()

    def __init__(self, reading: MeterReading, parent: QWidget | None = None, *,
                 path: Path | str | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReadingView")
        self.reading = reading
        self.path = Path(path) if path else None
        self.models: dict[str, Any] = {}  # section → ReadingTableModel (built tabs only)
        self.charts: dict[str, Any] = {}  # section → chart widget
        self.views: dict[str, Any] = {}  # section → ReadingTableView
        self._pending: dict[int, tuple[QTabWidget, str]] = {}  # tab page id → section
        self._pages: dict[str, QWidget] = {}

        self.header = QLabel(self)
        self.header.setObjectName("readingHeader")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.header.setText(self._header_html())
        self.header.setToolTip(str(self.path) if self.path is not None else "")
        self.export_button = QPushButton("Export report…", self)
        self.export_button.setObjectName("exportReportButton")
        self.export_button.clicked.connect(self.export_requested)
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.export_button, 0, Qt.AlignmentFlag.AlignTop)
        self.warning = QLabel(self)
        self.warning.setObjectName("readingWarning")
        self.warning.setWordWrap(True)
        self.warning.setTextFormat(Qt.TextFormat.RichText)
        self.warning.setStyleSheet("QLabel { background: #fff4e5; color: #7a3e00; "
                                   "border: 1px solid #f0b97a; padding: 4px; }")
        if reading.complete and not reading.errors:
            self.warning.hide()
        else:
            lines = "".join(f"<li>{_escape(e)}</li>" for e in reading.errors)
            state = "Partial reading" if not reading.complete else "Some sections failed"
            self.warning.setText(f"<b>{state}</b><ul style='margin:0'>{lines}</ul>")

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("readingTabs")
        self.tabs.setDocumentMode(True)
        self.event_tabs: QTabWidget | None = None
        for section in SECTION_TITLES:
            table = reading.tables.get(section)
            if table is None or section in EVENT_SECTIONS:
                continue
            self._add_page(self.tabs, section, f"{TAB_TITLES.get(section, table.title)} "
                                               f"({len(table.rows)})")
        events = [s for s in EVENT_SECTIONS if s in reading.tables]
        if events:
            self.event_tabs = QTabWidget(self)
            self.event_tabs.setObjectName("eventTabs")
            total = sum(len(reading.tables[s].rows) for s in events)
            self.tabs.addTab(self.event_tabs, f"Events ({total})")
            for section in events:
                table = reading.tables[section]
                title = table.title.replace(" related events", "").replace(" events", "")
                self._add_page(self.event_tabs, section, f"{title} ({len(table.rows)})")
            self.event_tabs.currentChanged.connect(lambda _i: self._build_current())
        self.tabs.currentChanged.connect(lambda _i: self._build_current())

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.warning)
        layout.addWidget(self.tabs, 1)
        self._build_current()

    # -- header -----------------------------------------------------------------------------------

    def title(self) -> str:
        """Tab title for the window: "Reading 43464098"."""
        return f"Reading {self.reading.identity.serial or 'meter'}"

    def _header_html(self) -> str:
        r, ident = self.reading, self.reading.identity
        first = " · ".join(_escape(t) for t in (
            f"Meter {ident.serial or 'unknown'}", ident.manufacturer,
            f"firmware {ident.firmware}" if ident.firmware else "",
            f"IS 15959 category {r.category}") if t)
        rows = sum(len(t.rows) for t in r.tables.values())
        state = "complete" if r.complete else "<b style='color:#b3261e'>partial</b>"
        second = f"Read {_when(r.started)}"
        if r.meter_clock is not None:
            second += f" · meter clock {r.meter_clock:%Y-%m-%d %H:%M:%S}"
        if r.association:
            second += f" · {_escape(r.association)} association"
        second += f" · {len(r.tables)} sections, {rows} rows · {state}"
        third = _escape(r.connection)
        if self.path is not None:  # the whole path is in the tooltip
            third += (" · " if third else "") + f"file {_escape(self.path.name)}"
        return (f"<span style='font-size:11pt; font-weight:600'>{first}</span><br>{second}"
                f"<br><span style='color:#666'>{third}</span>")

    # -- tabs -------------------------------------------------------------------------------------

    def _add_page(self, tabs: QTabWidget, section: str, title: str) -> None:
        page = QWidget()
        page.setObjectName(f"page_{section}")
        QVBoxLayout(page).setContentsMargins(0, 4, 0, 0)
        tabs.addTab(page, title)
        self._pending[id(page)] = (tabs, section)
        self._pages[section] = page

    def sections(self) -> list[str]:
        """The sections shown, in tab order."""
        return list(self._pages)

    def show_section(self, section: str) -> QWidget:
        """Bring ``section``'s tab to the front (building it) and return its page."""
        page = self._pages[section]
        if section in EVENT_SECTIONS and self.event_tabs is not None:
            self.tabs.setCurrentWidget(self.event_tabs)
            self.event_tabs.setCurrentWidget(page)
        else:
            self.tabs.setCurrentWidget(page)
        self.build(section)
        return page

    def _build_current(self) -> None:
        page = self.tabs.currentWidget()
        if page is self.event_tabs and self.event_tabs is not None:
            page = self.event_tabs.currentWidget()
        entry = self._pending.get(id(page)) if page is not None else None
        if entry is not None:
            self.build(entry[1])

    def build(self, section: str) -> None:
        """Create the table (and chart) of ``section`` if not done yet."""
        page = self._pages[section]
        if self._pending.pop(id(page), None) is None:
            return
        from ui.profile_table import ReadingTableModel, ReadingTableView
        table = self.reading.tables[section]
        shown = table
        if section in ("name_plate", "instantaneous"):
            shown = parameter_table(table)
        elif section in EVENT_SECTIONS:
            shown = events_with_descriptions(table)
        layout = page.layout()
        if table.error or not table.complete:
            note = QLabel(page)
            note.setObjectName("sectionNote")
            note.setWordWrap(True)
            note.setStyleSheet("color: #b3261e;")
            what = "Not read" if not table.rows else "Partial" if not table.complete else "Note"
            note.setText(f"{what}: {table.error or 'the read stopped early'}"
                         f" ({len(table.rows)} rows)")
            layout.addWidget(note)
        model = ReadingTableModel(shown, page)
        view = ReadingTableView(page)
        view.setObjectName(f"table_{section}")
        view.setModel(model)
        view.fit_columns()
        self.models[section], self.views[section] = model, view
        chart = self._chart(section, table) if section in CHARTED and len(table.rows) > 1 \
            else None
        if chart is None:
            layout.addWidget(view, 1)
            return
        self.charts[section] = chart
        splitter = QSplitter(Qt.Orientation.Vertical, page)
        splitter.addWidget(chart)
        splitter.addWidget(view)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout.addWidget(splitter, 1)

    def _chart(self, section: str, table: ReadingTable) -> QWidget | None:
        try:
            from ui.charts import chart_for
        except ImportError:
            return None
        if section == "daily_load":
            from ui.report_pdf import daily_consumption
            table = daily_consumption(table)
        chart = chart_for(table, self)
        chart.setObjectName(f"chart_{section}")
        chart.setMinimumHeight(160)
        return chart


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
