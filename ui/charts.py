"""Charts of profile tables (pyqtgraph): load surveys on a date axis, billing history as bars.

The series come from :func:`ui.chart_data.chart_data` (Qt-free, re-exported here), grouped by
unit into stacked, x-linked plots. :class:`ProfileChart` draws lines on a date axis with peak
downsampling and clip-to-view (100k points pan smoothly), series toggles, zoom/pan, a crosshair
with a readout line, and PNG/SVG export. :class:`BarChart` draws one bar group per billing
period. :func:`chart_for` picks the right one; :func:`render_chart_image` renders a chart to a
QImage for the PDF report. The date axis shows the meter's wall clock.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QSizePolicy, QVBoxLayout, QWidget)

import ui.pyside_fixes  # noqa: F401
from meterreader.atomic import atomic_path
from meterreader.reading.model import ReadingTable
from ui.chart_data import (GROUP_ORDER, ChartData, ChartSeries, chart_data,
                           default_visible, display_scale, has_clock, short_names, value_text)

__all__ = ["BarChart", "ChartData", "ChartSeries", "GROUP_ORDER", "ProfileChart", "chart_data",
           "chart_for", "default_visible", "has_clock", "render_chart_image",
           "short_names"]

_UTC = dt.timezone.utc


# --- widgets -------------------------------------------------------------------------------------

def _swatch(colour: str) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)

#: Series longer than this are drawn without the grid (panning cost, see _draw_group).
GRID_MAX_POINTS = 20_000


class _Chart(QWidget):
    """Stacked plots (one per unit group), series toggles, crosshair readout, export."""

    def __init__(self, table: ReadingTable | None = None, parent: QWidget | None = None, *,
                 data: ChartData | None = None, show_controls: bool = True,
                 light: bool = False, legend: bool | None = None) -> None:
        super().__init__(parent)
        self._light = light
        self._legend = (not show_controls) if legend is None else legend
        self.data: ChartData | None = None
        self.plots: dict[str, pg.PlotItem] = {}
        self._factors: dict[str, float] = {}
        self.origin = 0.0  # plotted x = data.x - origin
        self.items: dict[int, list[pg.GraphicsObject]] = {}  # column → drawn items
        self._lines: list[pg.InfiniteLine] = []
        self.readout = QLabel(" ")
        self.readout.setWordWrap(True)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.readout.setMinimumHeight(2 * self.readout.fontMetrics().lineSpacing() + 4)
        self.readout.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.graphics = pg.GraphicsLayoutWidget()
        self.toggles = QListWidget()
        self.toggles.setMaximumWidth(300)
        self.toggles.itemChanged.connect(self._on_toggle)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.graphics, 1)
        body.addWidget(self.toggles)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.readout)
        box.addLayout(body, 1)
        self.readout.setVisible(show_controls)
        self.toggles.setVisible(show_controls)
        self._proxy = pg.SignalProxy(self.graphics.scene().sigMouseMoved, rateLimit=30,
                                     slot=self._on_mouse)
        if data is None and table is not None:
            data = chart_data(table)
        if data is not None:
            self.set_data(data)

    # -- building ---------------------------------------------------------------------------------
    def _colours(self) -> tuple[QColor, QColor]:
        if self._light:
            return QColor("white"), QColor("#202020")
        palette = self.palette()
        return palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Text)

    def set_data(self, data: ChartData) -> None:
        """Draw ``data`` (replacing what was shown)."""
        self.graphics.clear()
        self.plots.clear()
        self.items.clear()
        self._lines.clear()
        self.data = data
        finite = data.x[np.isfinite(data.x)]
        # Plot x relative to a day boundary: absolute epoch seconds lose precision in SVG.
        self.origin = float(np.floor(finite.min() / 86400) * 86400) \
            if data.dated and len(finite) else 0.0
        background, foreground = self._colours()
        self.graphics.setBackground(background)
        first: pg.PlotItem | None = None
        groups = data.groups()
        for row, group in enumerate(groups):
            plot = self.graphics.addPlot(row=row, col=0, axisItems=self._axes())
            members = [s for s in data.series if s.group == group]
            factor, prefix = display_scale(members)
            self._factors[group] = factor
            plot.setTitle(self._title(data.group_title(group), members, foreground),
                          color=foreground.name(), size="10pt")
            if len(data.x) <= GRID_MAX_POINTS:
                # The translucent grid is redrawn on every pan frame: on long series it costs
                # more than the data (bench/bench_gui.py), so only short ones get it.
                plot.showGrid(x=True, y=True, alpha=0.2)
            units = sorted({prefix + s.unit for s in members if s.unit})
            plot.setLabel("left", ", ".join(units), color=foreground.name())
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.getAxis("left").setWidth(64)  # equal widths keep the x-linked plots aligned
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(foreground)
                axis.setTextPen(foreground)
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
            line = pg.InfiniteLine(angle=90, movable=False,
                                   pen=pg.mkPen(foreground, width=1, style=Qt.PenStyle.DashLine))
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
            self._lines.append(line)
            self.plots[group] = plot
            self._draw_group(plot, members, factor)
        shown = default_visible(data)
        self.toggles.blockSignals(True)
        self.toggles.clear()
        for s in data.series:
            item = QListWidgetItem(_swatch(s.colour), f"{s.title}" + (
                f" ({s.unit})" if s.unit and f"({s.unit})" not in s.title else ""))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if s.column in shown
                               else Qt.CheckState.Unchecked)
            item.setData(Qt.ItemDataRole.UserRole, s.column)
            item.setToolTip(f"{s.title} · {data.group_title(s.group)}")
            self.toggles.addItem(item)
        self.toggles.blockSignals(False)
        self._apply_visibility()

    def _axes(self) -> dict:
        return {}

    def _title(self, title: str, members: list[ChartSeries], foreground: QColor) -> str:
        if not self._legend:  # the toggles list is the legend
            return title
        keys = " &nbsp; ".join(f"<span style='color:{s.colour}'>&#9632;</span>&nbsp;{name}"
                               for s, name in zip(members, short_names(members))
                               if s.column in default_visible(self.data))
        return f"<b>{title}</b> &nbsp; {keys}"

    def _draw_group(self, plot: pg.PlotItem, series: list[ChartSeries], factor: float) -> None:
        raise NotImplementedError

    # -- toggles ----------------------------------------------------------------------------------
    def series_titles(self) -> list[str]:
        return [s.title for s in self.data.series] if self.data else []

    def is_series_visible(self, column: int) -> bool:
        items = self.items.get(column, [])
        return bool(items) and items[0].isVisible()

    def set_series_visible(self, column: int, visible: bool) -> None:
        """Show or hide the series of table column ``column`` (also ticks its toggle)."""
        for i in range(self.toggles.count()):
            item = self.toggles.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == column:
                item.setCheckState(Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)
                return

    def _checked(self) -> set[int]:
        out = set()
        for i in range(self.toggles.count()):
            item = self.toggles.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.add(item.data(Qt.ItemDataRole.UserRole))
        return out

    def _on_toggle(self, _item: QListWidgetItem) -> None:
        self._apply_visibility()

    def _apply_visibility(self) -> None:
        checked = self._checked()
        for column, drawn in self.items.items():
            for item in drawn:
                item.setVisible(column in checked)
        if self.data is None:
            return
        for group, plot in self.plots.items():  # a group without visible series gives way
            shown = any(s.column in checked for s in self.data.series if s.group == group)
            plot.setVisible(shown)
            plot.setMaximumHeight(16777215 if shown else 0)

    # -- crosshair --------------------------------------------------------------------------------
    def _on_mouse(self, event: tuple) -> None:
        pos = event[0]
        for plot in self.plots.values():
            if plot.isVisible() and plot.sceneBoundingRect().contains(pos):
                self.crosshair_at(plot.vb.mapSceneToView(pos).x() + self.origin)
                return

    def crosshair_at(self, x: float) -> str:
        """Move the crosshair to ``x`` (the nearest row) and return the readout text."""
        data = self.data
        if data is None or not len(data.x):
            return ""
        finite = np.where(np.isnan(data.x), np.inf, data.x)
        row = int(np.argmin(np.abs(finite - x)))
        at = float(data.x[row])
        for line in self._lines:
            line.setPos(self._line_x(row, at))
            line.setVisible(True)
        parts = [f"<b>{self._row_label(row, at)}</b>"]
        for group in data.groups():  # "Current: L1 9.78 A, L2 …" — short names per plot
            shown = [s for s in data.series
                     if s.group == group and self.is_series_visible(s.column)]
            if shown:
                values = ", ".join(f"<span style='color:{s.colour}'>{name}</span> "
                                   f"{value_text(s.y[row], s.unit)}"
                                   for s, name in zip(shown, short_names(shown)))
                parts.append(f"{data.group_title(group)}: {values}")
        text = " &nbsp;·&nbsp; ".join(parts)
        self.readout.setText(text)
        return text

    def _line_x(self, row: int, at: float) -> float:
        return at - self.origin

    def _row_label(self, row: int, at: float) -> str:
        if self.data is not None and self.data.dated and not math.isnan(at):
            return dt.datetime.fromtimestamp(at, _UTC).strftime("%Y-%m-%d %H:%M")
        return f"row {row + 1}"

    # -- export -----------------------------------------------------------------------------------
    def to_image(self) -> QImage:
        """The plots (without the toggles and readout) as an image of their on-screen size."""
        return self.graphics.grab().toImage()

    def _write_svg(self, path: Path) -> None:
        # QSvgGenerator directly: pyqtgraph's SVGExporter fails on Qt 6 path data.
        view = self.graphics
        generator = QSvgGenerator()
        generator.setFileName(str(path))
        generator.setSize(view.size())
        generator.setResolution(int(view.logicalDpiX()))  # else curves scale by 96/72
        generator.setViewBox(QRect(0, 0, view.width(), view.height()))
        generator.setTitle(self.data.title if self.data else "chart")
        painter = QPainter(generator)
        try:
            painter.fillRect(QRect(0, 0, view.width(), view.height()), self._colours()[0])
            view.render(painter)
        finally:
            painter.end()

    def export(self, path: str | Path) -> Path:
        """Write the plots as PNG or SVG (by the file's suffix), atomically."""
        target = Path(path)
        suffix = target.suffix.lower()
        if suffix not in (".png", ".svg"):
            raise ValueError(f"export as .png or .svg, not {target.suffix or 'no suffix'!r}")
        with atomic_path(target, suffix=suffix) as tmp:
            if suffix == ".png":
                if not self.to_image().save(str(tmp), "PNG"):
                    raise OSError(f"could not write {target}")
            else:
                self._write_svg(tmp)
        return target


class _ShiftedDateAxis(pg.DateAxisItem):
    """A date axis (UTC = the meter's wall clock) for x values relative to ``origin``."""

    def __init__(self, origin: float) -> None:
        super().__init__(orientation="bottom", utcOffset=0)
        self.origin = origin

    def tickValues(self, minVal, maxVal, size):  # noqa: N802,N803 (pyqtgraph names)
        o = self.origin
        return [(spacing, [v - o for v in values])
                for spacing, values in super().tickValues(minVal + o, maxVal + o, size)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        return super().tickStrings([v + self.origin for v in values], scale, spacing)


class ProfileChart(_Chart):
    """Line chart of a load survey on a date axis (see the module docstring)."""

    def _axes(self) -> dict:
        if self.data is not None and self.data.dated:
            return {"bottom": _ShiftedDateAxis(self.origin)}
        return {}

    def _draw_group(self, plot: pg.PlotItem, series: list[ChartSeries], factor: float) -> None:
        plot.setDownsampling(auto=True, mode="peak")
        plot.setClipToView(True)
        assert self.data is not None
        for s in series:
            # 1 px pens take Qt's fast path; one point per pixel after peak downsampling
            # (pyqtgraph keeps 5 by default): 66-106 → 14 ms per pan frame at 100k points.
            item = plot.plot(self.data.x - self.origin, s.y / factor,
                             pen=pg.mkPen(s.colour, width=1), name=s.title, connect="finite",
                             autoDownsampleFactor=1.0)
            self.items[s.column] = [item]


class BarChart(_Chart):
    """Billing history: one bar group per billing period (a row), one bar per series."""

    def _axes(self) -> dict:
        axis = pg.AxisItem(orientation="bottom")
        if self.data is not None:
            labels = self.data.labels or tuple(str(i + 1) for i in range(len(self.data.x)))
            axis.setTicks([[(i, text) for i, text in enumerate(labels)]])
        return {"bottom": axis}

    def _draw_group(self, plot: pg.PlotItem, series: list[ChartSeries], factor: float) -> None:
        assert self.data is not None
        count = len(self.data.x)
        positions = np.arange(count, dtype=float)
        width = 0.8 / max(len(series), 1)
        for k, s in enumerate(series):
            heights = np.nan_to_num(s.y / factor, nan=0.0)
            bars = pg.BarGraphItem(x=positions - 0.4 + width * (k + 0.5), height=heights,
                                   width=width * 0.9, brush=s.colour, pen=pg.mkPen(None),
                                   name=s.title)
            plot.addItem(bars)
            self.items[s.column] = [bars]

    def _apply_visibility(self) -> None:
        super()._apply_visibility()
        if self.data is None:  # the visible bars of each group share the period's width
            return
        positions = np.arange(len(self.data.x), dtype=float)
        for group in self.plots:
            visible = [s for s in self.data.series
                       if s.group == group and self.is_series_visible(s.column)]
            width = 0.8 / max(len(visible), 1)
            for k, s in enumerate(visible):
                self.items[s.column][0].setOpts(x=positions - 0.4 + width * (k + 0.5),
                                                width=width * 0.9)
        self._fit_x()

    def _fit_x(self) -> None:
        if self.data is None:
            return
        for plot in self.plots.values():  # linked: the first one's range is everyone's
            plot.enableAutoRange(x=False)
            plot.setXRange(-0.5, len(self.data.x) - 0.5, padding=0.01)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().showEvent(event)
        self._fit_x()

    def _line_x(self, row: int, at: float) -> float:
        return float(row)

    def crosshair_at(self, x: float) -> str:
        # Bars sit at the row numbers; map the position to the row first.
        data = self.data
        if data is None or not len(data.x):
            return ""
        row = int(min(max(round(x), 0), len(data.x) - 1))
        return super().crosshair_at(float(data.x[row]))

    def _row_label(self, row: int, at: float) -> str:
        if self.data is not None and self.data.labels:
            return f"period {row + 1} ({self.data.labels[row]})"
        return f"period {row + 1}"


def chart_for(table: ReadingTable, parent: QWidget | None = None, *,
              data: ChartData | None = None, **options) -> _Chart:
    """The right chart for a table: bars for billing history, else lines."""
    cls = BarChart if table.section == "billing" else ProfileChart
    return cls(table, parent, data=data, **options)


def render_chart_image(table: ReadingTable, *, width: int, height: int,
                       columns: Sequence[int] | None = None) -> QImage:
    """``table`` charted (white background, legends, no controls) as a ``width``×``height``
    image, for reports. Needs a QApplication (offscreen is fine)."""
    if QApplication.instance() is None:
        raise RuntimeError("render_chart_image needs a QApplication")
    chart = chart_for(table, data=chart_data(table, columns), show_controls=False, light=True)
    try:
        chart.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        chart.resize(width, height)
        chart.show()
        QApplication.processEvents()
        image = chart.graphics.grab().toImage()
        if image.width() != width or image.height() != height:
            image = image.scaled(width, height, Qt.AspectRatioMode.IgnoreAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        return image.convertToFormat(QImage.Format.Format_RGB32)
    finally:
        chart.close()
        chart.deleteLater()
