"""Page layout for the PDF report (:mod:`ui.report_pdf`): text, headings, tables that repeat
their header row on every page and shrink their font to fit, images, and the running header and
footer ("Page n of m"). The layout is a list of pages of drawing operations (device units at
:data:`DPI`), painted once the page count is known. Also :func:`cell_text`, a cell as report
text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMarginsF, QRectF, QSizeF, Qt
from PySide6.QtGui import (QColor, QFont, QFontMetricsF, QImage, QPageLayout, QPageSize,
                           QPainter, QPdfWriter, QPen)

from meterreader import __version__
from meterreader.dlms.cosem_time import CosemDateTime
from meterreader.reading.model import MeterReading, ReadingColumn

__all__ = ["ACCENT", "BODY_PT", "DPI", "GRID", "MIN_PT", "MUTED", "PageLayout", "STRIPE", "WARN",
           "cell_text"]

DPI = 300
#: Page margins of both PDF reports (mm).
MARGIN_MM = 15.0
BODY_PT = 7.5
MIN_PT = 5.5
ACCENT = QColor("#1f4e79")
GRID = QColor("#b8c4d0")
STRIPE = QColor("#eef3f8")
MUTED = QColor("#5a6470")
WARN = QColor("#a33a00")

Op = Callable[[QPainter], None]


# -- cell text ------------------------------------------------------------------------------------

def _datetime_text(value: dt.datetime) -> str:
    text = value.strftime("%Y-%m-%d %H:%M")
    return text if value.second == 0 and value.microsecond == 0 else f"{text}:{value.second:02}"


def cell_text(value: Any, column: ReadingColumn | None = None) -> str:
    """A cell as report text: date-times without the zone (the header names it), numbers with
    the decimals of their scaler, a 12-byte COSEM date-time octet string as a date-time,
    printable bytes as text, others as hex."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return _datetime_text(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float):
        scaler = column.scaler if column is not None else None
        if scaler is not None and scaler < 0:
            return f"{value:.{-scaler}f}"
        return f"{value:g}" if abs(value) < 1e15 else repr(value)
    if isinstance(value, bytes):
        stamp = CosemDateTime.try_from_bytes(value)
        if stamp is not None:
            if stamp.is_complete:
                return _datetime_text(stamp.to_datetime())
            return str(stamp).split(",")[0]
        if value and all(0x20 <= b < 0x7F for b in value):
            return value.decode("ascii")
        return value.hex(" ")
    if isinstance(value, list):
        return "[" + ", ".join(cell_text(v, column) for v in value) + "]"
    return str(value)


# -- layout ---------------------------------------------------------------------------------------


def a4_writer(path: Path, title: str) -> QPdfWriter:
    """A QPdfWriter for ``path``: A4 portrait, :data:`DPI`, :data:`MARGIN_MM` margins,
    ``title`` and meterreader as the creator."""
    writer = QPdfWriter(str(path))
    writer.setResolution(DPI)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4),
                                     QPageLayout.Orientation.Portrait,
                                     QMarginsF(MARGIN_MM, MARGIN_MM, MARGIN_MM, MARGIN_MM),
                                     QPageLayout.Unit.Millimeter))
    writer.setTitle(title)
    writer.setCreator(f"meterreader {__version__}")
    return writer

class PageLayout:
    """Lays the report out into pages of drawing operations (device units, 300 dpi)."""

    def __init__(self, writer: QPdfWriter, reading: MeterReading, generated: dt.datetime) -> None:
        self.device = writer
        self.reading = reading
        self.generated = generated
        page = writer.pageLayout().paintRectPixels(DPI)
        self.width = float(page.width())
        self.height = float(page.height())
        self.top = self.pt(30)  # below the running header
        self.bottom = self.height - self.pt(26)  # above the footer
        self.pages: list[list[Op]] = [[]]
        self.y = 0.0
        self.section = ""  # title of the section being laid out ("continued" after a break)

    # units and fonts
    @staticmethod
    def pt(value: float) -> float:
        return value * DPI / 72.0

    @staticmethod
    def font(size: float = BODY_PT, bold: bool = False) -> QFont:
        font = QFont("DejaVu Sans")
        font.setStyleHint(QFont.StyleHint.SansSerif)
        font.setPointSizeF(size)
        font.setBold(bold)
        for tag in ("liga", "clig"):  # "fi" stays two letters, so the PDF text is searchable
            font.setFeature(QFont.Tag(tag), 0)
        return font

    def metrics(self, font: QFont) -> QFontMetricsF:
        return QFontMetricsF(font, self.device)

    def text_size(self, text: str, font: QFont, width: float | None = None) -> QSizeF:
        m = self.metrics(font)
        if width is None:
            return QSizeF(m.horizontalAdvance(text), m.height())
        rect = m.boundingRect(QRectF(0, 0, max(1.0, width), 1e6),
                              int(Qt.TextFlag.TextWordWrap), text)
        return rect.size()

    # pages
    def op(self, fn: Op) -> None:
        self.pages[-1].append(fn)

    def new_page(self) -> None:
        self.pages.append([])
        self.y = self.top
        if self.section:
            self.text(f"{self.section} (continued)", self.font(8, bold=True), MUTED, 3)

    def room(self, height: float) -> None:
        """Start a new page unless ``height`` still fits below the cursor."""
        if self.y + height > self.bottom and self.y > self.top + 1:
            self.new_page()

    def text(self, text: str, font: QFont, color: QColor = QColor("black"),
             gap_after: float = 4.0) -> None:
        size = self.text_size(text, font, self.width)
        self.room(size.height())
        rect = QRectF(0, self.y, self.width, size.height() + 1)

        def draw(p: QPainter) -> None:
            p.setFont(font)
            p.setPen(color)
            p.drawText(rect, int(Qt.TextFlag.TextWordWrap), text)

        self.op(draw)
        self.y += size.height() + self.pt(gap_after)

    def heading(self, text: str) -> None:
        font = self.font(11.5, bold=True)
        self.section = ""
        self.room(self.text_size(text, font).height() + self.pt(48))  # keep with what follows
        self.y += self.pt(6)
        self.text(text, font, ACCENT, gap_after=1)
        self.section = text
        y = self.y

        def rule(p: QPainter) -> None:
            p.setPen(QPen(ACCENT, self.pt(0.8)))
            p.drawLine(0, int(y), int(self.width), int(y))

        self.op(rule)
        self.y += self.pt(5)

    # tables
    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]], *,
              right: Sequence[bool] | None = None, wrap_first: bool = False,
              size: float = BODY_PT) -> None:
        """A table with a repeated header row on every page; the font shrinks (down to
        MIN_PT) until the natural column widths fit, then the columns are squeezed."""
        n = len(header)
        right = list(right) if right is not None else [False] * n
        pad = self.pt(3)
        while True:
            body, head = self.font(size), self.font(size, bold=True)
            widths = [0.0] * n
            for row in rows:
                for i, cell in enumerate(row):
                    widths[i] = max(widths[i], self.text_size(cell, body).width())
            for i, title in enumerate(header):
                longest = max((self.text_size(w, head).width() for w in title.split()),
                              default=0.0)
                widths[i] = max(widths[i], min(self.text_size(title, head).width(),
                                               max(longest, self.pt(70))))
            widths = [w + 2 * pad for w in widths]
            if sum(widths) <= self.width or size <= MIN_PT:
                break
            size -= 0.5
        if sum(widths) > self.width:
            widths = self._squeeze(widths, wrap_first)
        heights = [self._row_height(header, widths, head, pad)]
        heights += [self._row_height(row, widths, body, pad) for row in rows]
        self.room(heights[0] + (heights[1] if len(heights) > 1 else 0))
        self._table_row(header, widths, heights[0], head, pad, right, header=True)
        for index, row in enumerate(rows):
            if self.y + heights[index + 1] > self.bottom:
                self.new_page()
                self._table_row(header, widths, heights[0], head, pad, right, header=True)
            self._table_row(row, widths, heights[index + 1], body, pad, right,
                            stripe=index % 2 == 1)
        self.y += self.pt(6)

    def _squeeze(self, widths: list[float], wrap_first: bool) -> list[float]:
        excess = sum(widths) - self.width
        if wrap_first:  # the label column wraps first
            cut = min(excess, widths[0] * 0.5)
            widths[0] -= cut
            excess -= cut
        scale = (sum(widths) - excess) / sum(widths)
        return [w * scale for w in widths]

    def _row_height(self, cells: Sequence[str], widths: list[float], font: QFont,
                    pad: float) -> float:
        return max(self.text_size(cell or " ", font, w - 2 * pad).height()
                   for cell, w in zip(cells, widths)) + pad

    def _table_row(self, cells: Sequence[str], widths: list[float], height: float, font: QFont,
                   pad: float, right: list[bool], *, header: bool = False,
                   stripe: bool = False) -> None:
        y = self.y

        def draw(p: QPainter) -> None:
            total = sum(widths)
            if header or stripe:
                p.fillRect(QRectF(0, y, total, height), QColor("#dbe5f0") if header else STRIPE)
            p.setFont(font)
            p.setPen(QColor("black"))
            x = 0.0
            for cell, w, r in zip(cells, widths, right):
                align = Qt.AlignmentFlag.AlignRight if r else Qt.AlignmentFlag.AlignLeft
                p.drawText(QRectF(x + pad, y + pad / 2, w - 2 * pad, height - pad / 2),
                           int(align | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap),
                           cell)
                x += w
            p.setPen(QPen(GRID, self.pt(0.4)))
            p.drawLine(0, int(y + height), int(total), int(y + height))

        self.op(draw)
        self.y += height

    def image(self, image: QImage) -> None:
        height = self.width * image.height() / max(1, image.width())
        self.room(height)
        rect = QRectF(0, self.y, self.width, height)
        self.op(lambda p: p.drawImage(rect, image))
        self.y += height + self.pt(8)

    # running header and footer
    def decorate(self, p: QPainter, number: int, count: int) -> None:
        ident = self.reading.identity
        self.running_frame(p, number, count,
                           f"Meter reading report · serial {ident.serial or 'unknown'} · "
                           f"IS 15959 category {self.reading.category}")

    def running_frame(self, p: QPainter, number: int, count: int, header: str,
                      footer_note: str = "") -> None:
        """Header line (``header`` left, the meterreader version right) and footer line
        ("Generated …" plus ``footer_note`` left, "Page n of m" right) of every page."""
        p.setFont(self.font(7))
        p.setPen(MUTED)
        line = QRectF(0, 0, self.width, self.pt(12))
        p.drawText(line, int(Qt.AlignmentFlag.AlignLeft), header)
        p.drawText(line, int(Qt.AlignmentFlag.AlignRight), f"meterreader {__version__}")
        p.setPen(QPen(GRID, self.pt(0.5)))
        p.drawLine(0, int(self.pt(14)), int(self.width), int(self.pt(14)))
        foot = self.height - self.pt(12)
        p.drawLine(0, int(foot - self.pt(4)), int(self.width), int(foot - self.pt(4)))
        p.setPen(MUTED)
        stamp = self.generated.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z").strip()
        footer = QRectF(0, foot, self.width, self.pt(12))
        p.drawText(footer, int(Qt.AlignmentFlag.AlignLeft),
                   f"Generated {stamp}" + (f" · {footer_note}" if footer_note else ""))
        p.drawText(footer, int(Qt.AlignmentFlag.AlignRight), f"Page {number} of {count}")

    def render(self, writer: QPdfWriter, target: Path) -> None:
        """Paint every laid-out page onto ``writer`` (``target`` names the file in errors)."""
        painter = QPainter()
        if not painter.begin(writer):
            raise OSError(f"cannot write the PDF {target}")
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            count = len(self.pages)
            for number, ops in enumerate(self.pages, 1):
                if number > 1:
                    writer.newPage()
                self.decorate(painter, number, count)
                for op in ops:
                    op(painter)
        finally:
            painter.end()
