"""ReadingTableModel (ui/profile_table.py) and the charts (ui/charts.py): cell formatting, a
100k-row model that sorts and scrolls without stalling, TSV copy, series from tables (meter
wall clock on the date axis, gaps), a 100k-point chart with downsampling and clip-to-view that
pans quickly, toggles, crosshair readout, billing bars, PNG/SVG export and report images."""

from __future__ import annotations

import datetime as dt
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QGuiApplication, QImage

from meterreader.reading.model import ReadingColumn, ReadingTable
from ui.charts import (BarChart, ProfileChart, chart_data, chart_for, has_clock,
                       render_chart_image, short_names)
from ui.profile_table import (VALUE_ROLE, ReadingTableModel, ReadingTableView, copy_selection,
                              format_cell)

SHOTS = Path("/tmp/shots")
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


def col(title: str, obis: str, unit: str = "", scaler: int | None = None, kind: str = "value",
        class_id: int = 3) -> ReadingColumn:
    return ReadingColumn(title=title, class_id=class_id, obis=obis, unit=unit, scaler=scaler,
                         kind=kind)


BLOCK_COLUMNS = (
    col("Clock", "0.0.1.0.0.255", kind="datetime", class_id=8),
    col("Average current L1 (A)", "1.0.31.27.0.255", "A", -3),
    col("Average voltage L1 (V)", "1.0.32.27.0.255", "V", -2),
    col("Average voltage L2 (V)", "1.0.52.27.0.255", "V", -2),
    col("Block energy kWh import (Wh)", "1.0.1.29.0.255", "Wh", 0),
)


def block_table(n: int, *, aware: bool = True, start=dt.datetime(2024, 5, 1)) -> ReadingTable:
    rng = np.random.default_rng(1)
    volts = 230 + rng.normal(0, 2, n)
    rows = []
    for i in range(n):
        when = start + dt.timedelta(minutes=15 * i)
        rows.append((when.replace(tzinfo=IST) if aware else when, round(10 + i % 96 / 10, 3),
                     round(float(volts[i]), 2), None if i == 5 else 231.5, 250 + i % 96))
    return ReadingTable(section="block_load", title="Block load survey",
                        obis="1.0.99.1.0.255", columns=BLOCK_COLUMNS, rows=tuple(rows),
                        capture_period=900)


def test_cells_are_formatted_for_people():
    volts = col("Voltage", "1.0.32.7.0.255", "V", -2)
    assert format_cell(230.5, volts) == "230.50"
    assert format_cell(1234.0, col("E", "1.0.1.8.0.255", "Wh", 0)) == "1234"
    assert format_cell(0.1 + 0.2) == "0.3"
    assert format_cell(None) == "" and format_cell(True) == "true" and format_cell(7) == "7"
    assert format_cell(dt.datetime(2024, 5, 1, 10, 15, tzinfo=IST)) == "2024-05-01 10:15:00"
    assert format_cell(b"\x01\xab") == "01 AB" and format_cell(b"SER123") == "SER123"
    assert format_cell([1, b"\x02", None]) == "{1, 02, }"
    # A billing date sent as a 12-byte octet-string reads as a date-time.
    raw = bytes.fromhex("07E90C0101000000 00FEB600".replace(" ", ""))
    assert format_cell(raw).startswith("2025-12-01")


def test_model_headers_roles_and_batched_append(qtbot):
    table = block_table(10)
    model = ReadingTableModel(parent=None)
    model.set_columns(table.columns)
    inserted: list[int] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append(last - first + 1))
    model.append_rows(table.rows * 500)  # 5000 rows: several timer ticks, never one big insert
    assert model.rowCount() == 0 and model.pending == 5000
    qtbot.waitUntil(lambda: model.pending == 0, timeout=3000)
    assert model.rowCount() == 5000 and max(inserted) <= 2000 and len(inserted) >= 3
    assert model.headerData(2, Qt.Orientation.Horizontal) == "Average voltage L1 (V)"
    assert model.headerData(0, Qt.Orientation.Vertical) == "1"
    assert "1.0.32.27.0.255" in model.headerData(2, Qt.Orientation.Horizontal,
                                                 Qt.ItemDataRole.ToolTipRole)
    index = model.index(0, 2)
    assert model.data(index) == f"{table.rows[0][2]:.2f}"
    assert model.data(index, VALUE_ROLE) == table.rows[0][2]
    assert model.data(index, Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignRight
    assert "UTC+05:30" in model.data(model.index(0, 0), Qt.ItemDataRole.ToolTipRole)
    assert model.reading_table().rows == tuple(table.rows * 500)


def test_100k_rows_sort_and_scroll_without_stalling(qtbot):
    table = block_table(100_000, aware=False)
    model = ReadingTableModel(table)
    view = ReadingTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    started = time.perf_counter()
    view.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    sort_s = time.perf_counter() - started
    values = [row[2] for row in model.rows]
    assert values == sorted(values, reverse=True)
    view.sortByColumn(3, Qt.SortOrder.AscendingOrder)  # None sorts last
    assert model.rows[-1][3] is None
    assert sort_s < 1.0, f"sort took {sort_s:.2f} s"
    bar = view.verticalScrollBar()
    worst = 0.0
    for step in range(20):
        t0 = time.perf_counter()
        bar.setValue(bar.maximum() * step // 19)
        view.viewport().repaint()
        worst = max(worst, time.perf_counter() - t0)
    assert worst < 0.1, f"a scroll step took {worst * 1000:.0f} ms"
    assert view.verticalHeader().sectionResizeMode(0) == view.verticalHeader().ResizeMode.Fixed


def test_copy_selection_is_tsv_with_header(qtbot):
    model = ReadingTableModel(block_table(5))
    view = ReadingTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    selection = view.selectionModel()
    for r in (1, 2):
        for c in (0, 2):
            selection.select(model.index(r, c), QItemSelectionModel.SelectionFlag.Select)
    text = copy_selection(view)
    lines = text.splitlines()
    assert lines[0] == "Clock\tAverage voltage L1 (V)"
    assert lines[1] == f"{model.data(model.index(1, 0))}\t{model.data(model.index(1, 2))}"
    assert len(lines) == 3
    assert view.copy_to_clipboard() == text and QGuiApplication.clipboard().text() == text


def test_chart_data_uses_the_meter_wall_clock_and_keeps_gaps():
    aware, naive = chart_data(block_table(10)), chart_data(block_table(10, aware=False))
    assert aware.dated and has_clock(block_table(3))
    wall = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc).timestamp()
    assert aware.x[0] == naive.x[0] == wall  # 00:00 meter time on the axis, whatever the zone
    assert [s.group for s in aware.series] == ["current", "voltage", "voltage", "energy"]
    assert np.isnan(aware.series[2].y[5]) and aware.series[2].y[4] == 231.5
    assert aware.group_title("energy") == "Energy per interval"
    assert short_names([s for s in aware.series if s.group == "voltage"]) == ["L1", "L2"]


def test_100k_point_chart_downsamples_and_pans_smoothly(qtbot):
    chart = ProfileChart(block_table(100_000, aware=False))
    qtbot.addWidget(chart)
    chart.resize(1000, 700)
    chart.show()
    qtbot.waitExposed(chart)
    for plot in chart.plots.values():
        for item in plot.listDataItems():
            assert item.opts["autoDownsample"] and item.opts["clipToView"]
            assert item.opts["downsampleMethod"] == "peak"
    plot = chart.plots["voltage"]
    x = chart.data.x - chart.origin  # plotted relative to a day boundary
    worst = 0.0
    for k in range(15):  # pan a one-week window across 1000 days
        lo = x[0] + k * (x[-1] - x[0]) / 15
        t0 = time.perf_counter()
        plot.setXRange(lo, lo + 7 * 86400, padding=0)
        chart.graphics.viewport().repaint()
        worst = max(worst, time.perf_counter() - t0)
    assert worst < 0.1, f"a pan step took {worst * 1000:.0f} ms"
    plot.setXRange(x[0], x[-1], padding=0)  # everything: peaks survive the downsampling
    chart.graphics.viewport().repaint()
    shown = chart.items[2][0].curve.getData()[0]
    assert 0 < len(shown) < 20_000


def test_toggles_crosshair_and_export(qtbot, tmp_path):
    chart = ProfileChart(block_table(200))
    qtbot.addWidget(chart)
    chart.resize(900, 600)
    chart.show()
    qtbot.waitExposed(chart)
    assert chart.toggles.count() == 4 and chart.is_series_visible(2)
    text = chart.crosshair_at(float(chart.data.x[7]))
    assert "2024-05-01 01:45" in text and f"{block_table(200).rows[7][2]} V" in text
    chart.set_series_visible(2, False)
    assert not chart.is_series_visible(2) and chart.items[2][0].isVisible() is False
    assert chart.plots["voltage"].isVisible()  # L2 still shown
    chart.set_series_visible(3, False)
    assert not chart.plots["voltage"].isVisible()  # the empty plot gives its room away
    assert "Average voltage" not in chart.crosshair_at(float(chart.data.x[7]))
    chart.set_series_visible(2, True)
    assert chart.plots["voltage"].isVisible()
    png, svg = chart.export(tmp_path / "c.png"), chart.export(tmp_path / "c.svg")
    image = QImage(str(png))
    assert not image.isNull() and image.width() > 500
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and len(list(root.iter())) > 20
    with pytest.raises(ValueError):
        chart.export(tmp_path / "c.gif")
    SHOTS.mkdir(parents=True, exist_ok=True)
    chart.grab().save(str(SHOTS / "chart_toggled.png"))


def billing_table() -> ReadingTable:
    columns = (col("Billing date", "0.0.0.1.2.255"),
               col("Cumulative energy kWh import (Wh)", "1.0.1.8.0.255", "Wh", 0),
               col("Cumulative energy kWh import TZ1 (Wh)", "1.0.1.8.1.255", "Wh", 0),
               col("Maximum demand kW (W)", "1.0.1.6.0.255", "W", 0, class_id=4),
               col("Maximum demand kW — capture time", "1.0.1.6.0.255", kind="datetime",
                   class_id=4))
    rows = tuple((dt.datetime(2024, m, 1, tzinfo=IST), 1_000_000 * m, 400_000 * m, 5000 + m,
                  dt.datetime(2024, m, 3, 10, 0, tzinfo=IST)) for m in range(1, 7))
    return ReadingTable(section="billing", title="Billing history", obis="1.0.98.1.0.255",
                        columns=columns, rows=rows)


def test_billing_history_as_bars(qtbot):
    table = billing_table()
    chart = chart_for(table)
    qtbot.addWidget(chart)
    assert isinstance(chart, BarChart)
    chart.resize(800, 500)
    chart.show()
    qtbot.waitExposed(chart)
    assert chart.data.labels == tuple(f"2024-0{m}-01" for m in range(1, 7))
    assert chart.is_series_visible(1) and not chart.is_series_visible(2)  # TZ1 off at first
    bars = chart.items[1][0]
    assert list(bars.opts["height"]) == [m * 1000.0 for m in range(1, 7)]  # shown in kWh
    assert chart.plots["energy"].getAxis("left").labelText == "kWh"
    readout = chart.crosshair_at(2.2)
    assert "period 3 (2024-03-01)" in readout and "3,000,000 Wh" in readout
    lo, hi = chart.plots["energy"].viewRange()[0]
    assert lo < -0.4 and hi > 5.4  # every period in view
    chart.grab().save(str(SHOTS / "chart_billing_bars.png"))


def test_render_chart_image_for_reports(qtbot):
    image = render_chart_image(block_table(96 * 7), width=900, height=500)
    assert (image.width(), image.height()) == (900, 500)
    assert image.pixelColor(2, 2).name() == "#ffffff"  # white page background
    only = render_chart_image(block_table(96), width=600, height=300, columns=[2, 3])
    assert not only.isNull()
    bars = render_chart_image(billing_table(), width=700, height=400)
    assert bars.width() == 700
    SHOTS.mkdir(parents=True, exist_ok=True)
    image.save(str(SHOTS / "render_block_load_week.png"))
