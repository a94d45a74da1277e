"""The PDF report of a conformance run (:class:`~meterreader.conformance.model.ConformanceReport`).

QPdfWriter + QPainter on A4, laid out with :class:`ui.report_layout.PageLayout` (tables with a
header repeated on every page, running header and footer with "Page n of m"). Contents: the
meter identity, the category checked, the target and the run times with the overall result and
the counts per verdict, a sign-off box (tested by, witnessed by, date, signature) and the report
fingerprint (also in every page footer); one table of every check (id, title, clause, coloured result, finding,
time); then an evidence appendix for each FAIL and ERROR check (the exchanged frames and APDUs:
direction, layer, summary and the first bytes in hex).

Command line (used by :func:`meterreader.conformance.report.save_pdf` in a subprocess)::

    python -m ui.conformance_pdf REPORT.json OUT.pdf
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPdfWriter, QPen

from meterreader.atomic import atomic_path
from meterreader.conformance.model import CheckOutcome, ConformanceReport, Evidence, Verdict
from ui.conformance_models import VERDICT_BACKGROUND, VERDICT_FOREGROUND, VERDICT_TEXT
from ui.report_layout import ACCENT, BODY_PT, GRID, MUTED, WARN, PageLayout, a4_writer

__all__ = ["EVIDENCE_HEX_BYTES", "EVIDENCE_ROWS", "SIGN_OFF", "ConformanceLayout", "evidence_rows", "main",
           "write_pdf"]

#: Bytes of a frame printed in the evidence appendix (the rest is counted, not printed).
EVIDENCE_HEX_BYTES = 48
#: Evidence rows printed per failed check: the first and last half of this many when longer.
EVIDENCE_ROWS = 60
CHECK_HEADER = ("#", "Check", "Title", "Clause", "Result", "Finding", "Time (s)")
_RESULT_COLUMN = CHECK_HEADER.index("Result")
_DIRECTION = {"tx": "TX →", "rx": "RX ←", "note": "note"}
#: The sign-off lines on page 1 (left to right, top to bottom), left blank to fill in.
SIGN_OFF = ("Tested by", "Witnessed by", "Date", "Signature")


class ConformanceLayout(PageLayout):
    """The report page layout with a conformance running header, result cells coloured by
    verdict, and tables with fixed column fractions (long text wraps, the font keeps its
    size)."""

    def __init__(self, writer: QPdfWriter, report: ConformanceReport,
                 generated: dt.datetime) -> None:
        super().__init__(writer, None, generated)  # type: ignore[arg-type] # no MeterReading
        self.report = report
        self.fingerprint = report.fingerprint()
        self.colour_column: int | None = None  # the column whose cells are verdict words

    def fixed_table(self, header: Sequence[str], rows: Sequence[Sequence[str]],
                    fractions: Sequence[float], *, right: Sequence[bool] | None = None,
                    size: float = BODY_PT) -> None:
        """A table whose columns take ``fractions`` of the page width (long cells wrap; the
        font keeps its size), with the header repeated on every page."""
        total = sum(fractions)
        widths = [self.width * f / total for f in fractions]
        right_flags = list(right) if right is not None else [False] * len(header)
        body, head = self.font(size), self.font(size, bold=True)
        pad = self.pt(3)
        head_height = self._row_height(header, widths, head, pad)
        heights = [self._row_height(row, widths, body, pad) for row in rows]
        self.room(head_height + (heights[0] if heights else 0))
        self._table_row(header, widths, head_height, head, pad, right_flags, header=True)
        for index, (row, height) in enumerate(zip(rows, heights)):
            if self.y + height > self.bottom:
                self.new_page()
                self._table_row(header, widths, head_height, head, pad, right_flags,
                                header=True)
            self._table_row(row, widths, height, body, pad, right_flags, stripe=index % 2 == 1)
        self.y += self.pt(6)

    def _table_row(self, cells: Sequence[str], widths: list[float], height: float, font: QFont,
                   pad: float, right: list[bool], *, header: bool = False,
                   stripe: bool = False) -> None:
        y = self.y
        column = self.colour_column
        verdict = (None if header or column is None or column >= len(cells)
                   else VERDICT_TEXT.get(cells[column]))
        if verdict is None:
            super()._table_row(cells, widths, height, font, pad, right, header=header,
                               stripe=stripe)
            return
        # The verdict word is drawn once, by the coloured cell below (not also by the plain row).
        plain = [("" if i == column else cell) for i, cell in enumerate(cells)]
        super()._table_row(plain, widths, height, font, pad, right, header=header,
                           stripe=stripe)
        assert column is not None
        x = sum(widths[:column])
        rect = QRectF(x, y, widths[column], height)
        bold = QFont(font)
        bold.setBold(True)

        def draw(p: QPainter) -> None:
            p.fillRect(rect.adjusted(0, 0, 0, -self.pt(0.4)), VERDICT_BACKGROUND[verdict])
            p.setFont(bold)
            p.setPen(VERDICT_FOREGROUND[verdict])
            p.drawText(rect.adjusted(pad, pad / 2, -pad, 0),
                       int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop), cells[column])

        self.op(draw)

    def banner(self, text: str, background: QColor, foreground: QColor) -> None:
        """A full-width coloured box with one bold line (the overall result)."""
        font = self.font(10.5, bold=True)
        height = self.text_size(text, font).height() + self.pt(8)
        self.room(height)
        rect = QRectF(0, self.y, self.width, height)

        def draw(p: QPainter) -> None:
            p.fillRect(rect, background)
            p.setPen(QPen(foreground, self.pt(0.8)))
            p.drawRect(rect)
            p.setFont(font)
            p.drawText(rect.adjusted(self.pt(6), 0, -self.pt(6), 0),
                       int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)

        self.op(draw)
        self.y += height + self.pt(6)

    def sign_off(self, labels: Sequence[str] = SIGN_OFF) -> None:
        """A box of blank lines to fill in by hand (one per label), e.g. tested by, date."""
        font = self.font(9)
        line_height = self.pt(26)
        title_font = self.font(10, bold=True)
        title_height = self.text_size("Sign-off", title_font).height() + self.pt(4)
        height = title_height + line_height * ((len(labels) + 1) // 2) + self.pt(6)
        self.room(height)
        top = self.y
        half = self.width / 2

        def draw(p: QPainter) -> None:
            p.setPen(QPen(GRID, self.pt(0.6)))
            p.drawRect(QRectF(0, top, self.width, height))
            p.setFont(title_font)
            p.setPen(ACCENT)
            p.drawText(QRectF(self.pt(6), top + self.pt(3), self.width, title_height),
                       int(Qt.AlignmentFlag.AlignLeft), "Sign-off")
            p.setFont(font)
            for n, label in enumerate(labels):
                x = (n % 2) * half + self.pt(6)
                base = top + title_height + line_height * (n // 2 + 1) - self.pt(6)
                p.setPen(QColor("black"))
                p.drawText(QRectF(x, base - self.pt(12), half, self.pt(12)),
                           int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom),
                           f"{label}:")
                start = x + self.text_size(f"{label}: ", font).width()
                p.setPen(QPen(MUTED, self.pt(0.5)))
                p.drawLine(int(start), int(base), int(x + half - self.pt(14)), int(base))

        self.op(draw)
        self.y += height + self.pt(6)

    def decorate(self, p: QPainter, number: int, count: int) -> None:
        r = self.report
        serial = r.identity.get("serial_number") or "unknown"
        self.running_frame(p, number, count,
                           f"Conformance report · serial {serial} · IS 15959 category "
                           f"{r.category}",
                           f"report fingerprint {self.fingerprint} (SHA-256 of the JSON report, "
                           "first 16 hex digits)")


# -- content --------------------------------------------------------------------------------------

def _when(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") + (value.strftime(" %z") if value.tzinfo else "")


def _duration(report: ConformanceReport) -> str:
    seconds = max(0.0, (report.finished - report.started).total_seconds())
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _option_text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return str(value)


def _identity(doc: ConformanceLayout) -> None:
    r = doc.report
    doc.y = doc.top
    doc.text("Conformance report", doc.font(18, bold=True), ACCENT, gap_after=1)
    serial = r.identity.get("serial_number") or "unknown"
    doc.text(f"IS 15959 / DLMS checks · category {r.category} · serial {serial}",
             doc.font(10), MUTED, gap_after=8)
    counts = r.counts()
    summary = " · ".join(f"{counts[v]} {v.value}" for v in Verdict)
    if r.ok:
        doc.banner(f"RESULT: PASS — {summary}", VERDICT_BACKGROUND[Verdict.PASS],
                   VERDICT_FOREGROUND[Verdict.PASS])
    else:
        doc.banner(f"RESULT: FAIL — {summary}", VERDICT_BACKGROUND[Verdict.FAIL],
                   VERDICT_FOREGROUND[Verdict.FAIL])
    names = {"serial_number": "Serial number", "manufacturer": "Manufacturer",
             "firmware": "Firmware version", "meter_type": "Meter type",
             "category": "Category (as the meter says)", "error": "Name plate not read"}
    pairs = [(names.get(k, k.replace("_", " ").capitalize()), v) for k, v in r.identity.items()]
    pairs += [("Category checked", r.category), ("Target", r.target),
              ("Started", _when(r.started)), ("Finished", _when(r.finished)),
              ("Duration", _duration(r))]
    labels = {"checks": "Checks chosen", "allow_destructive": "MD reset allowed",
              "framing": "Framing", "cancelled": "Stopped before the end"}
    pairs += [(labels.get(k, k.replace("_", " ").capitalize()), _option_text(v))
              for k, v in r.options.items()]
    doc.fixed_table(["Meter and run", ""], [[k, v] for k, v in pairs if v != ""], (0.3, 0.7),
                    size=8.5)
    if r.options.get("cancelled"):
        doc.text("The run was stopped: checks not reached are reported as SKIP "
                 "(\"run cancelled\").", doc.font(8.5, bold=True), WARN)
    doc.text(f"Report fingerprint {doc.fingerprint}: the first 16 hex digits of the SHA-256 of "
             "the JSON report this PDF was made from.", doc.font(8), MUTED, gap_after=4)
    doc.sign_off()


def _checks(doc: ConformanceLayout) -> None:
    doc.heading("Checks")
    rows = [[str(n), o.check_id, o.title, o.clause, VERDICT_TEXT_OF[o.verdict], o.finding,
             f"{o.elapsed:.2f}"] for n, o in enumerate(doc.report.outcomes, 1)]
    if not rows:
        doc.text("No check ran.", doc.font(8.5), MUTED)
        return
    doc.colour_column = _RESULT_COLUMN
    try:
        # The id column fits the longest id on one line (ids stay searchable in the text).
        longest = max(doc.text_size(r[1], doc.font(BODY_PT)).width() for r in rows)
        id_part = min(0.3, (longest + doc.pt(8)) / doc.width)
        rest = 1.0 - 0.035 - id_part - 0.065 - 0.06
        doc.fixed_table(CHECK_HEADER, rows, (0.035, id_part, rest * 0.27, rest * 0.28, 0.065,
                                             rest * 0.45, 0.06),
                        right=[True, False, False, False, False, False, True])
    finally:
        doc.colour_column = None


def _hex_text(item: Evidence) -> str:
    data = item.data
    if not data:
        return ""
    text = data[:EVIDENCE_HEX_BYTES].hex(" ")
    if len(data) > EVIDENCE_HEX_BYTES:
        text += f" … (+{len(data) - EVIDENCE_HEX_BYTES} bytes)"
    return text


def evidence_rows(outcome: CheckOutcome, limit: int = EVIDENCE_ROWS) -> list[list[str]]:
    """Appendix rows of one check: #, direction, layer, summary, hex (first bytes); more than
    ``limit`` items print the first and last ``limit // 2`` around one "omitted" row."""
    items = list(enumerate(outcome.evidence, 1))
    if len(items) > limit:
        half = limit // 2
        cut = len(items) - 2 * half
        items = items[:half] + [(0, None)] + items[-half:]
    else:
        cut = 0
    rows = []
    for n, item in items:
        if item is None:
            rows.append(["…", "", "", f"{cut} items not printed (all are in the JSON and XLSX "
                                      "reports)", ""])
            continue
        rows.append([str(n), _DIRECTION.get(item.direction, item.direction),
                     item.layer if item.layer != "note" else "", item.summary, _hex_text(item)])
    return rows


def _appendix(doc: ConformanceLayout) -> None:
    bad = [o for o in doc.report.outcomes if o.verdict in (Verdict.FAIL, Verdict.ERROR)]
    if not bad:
        return
    doc.section = ""
    doc.new_page()
    doc.heading("Evidence of the failed checks")
    doc.text("The frames and APDUs each failed check exchanged (client view; secrets masked; "
             f"at most {EVIDENCE_HEX_BYTES} bytes of each printed).", doc.font(8), MUTED)
    for o in bad:
        title = f"{o.check_id} — {o.title}"
        font = doc.font(9.5, bold=True)
        doc.room(doc.text_size(title, font, doc.width).height() + doc.pt(60))
        doc.section = title
        doc.text(title, font, VERDICT_FOREGROUND[o.verdict], gap_after=1)
        doc.text(f"{VERDICT_TEXT_OF[o.verdict]} · {o.clause}", doc.font(8), MUTED, gap_after=1)
        doc.text(o.finding, doc.font(8.5), gap_after=3)
        if o.evidence:
            doc.fixed_table(["#", "Dir", "Layer", "Summary", "Bytes (hex)"], evidence_rows(o),
                            (0.04, 0.06, 0.07, 0.30, 0.53),
                            right=[True, False, False, False, False], size=7)
        else:
            doc.text("No frames recorded.", doc.font(8), MUTED)
        doc.section = ""


#: Verdict → the word printed in the Result column.
VERDICT_TEXT_OF = {v: t for t, v in VERDICT_TEXT.items()}


# -- writing --------------------------------------------------------------------------------------

def write_pdf(report: ConformanceReport, path: str | os.PathLike[str], *,
              generated: dt.datetime | None = None) -> Path:
    """Write the PDF report of ``report`` to ``path`` (atomically); returns the path.
    ``generated`` (default now) is the time printed in the footer."""
    generated = generated or dt.datetime.now(dt.timezone.utc)
    target = Path(path)
    with atomic_path(target) as tmp:
        serial = report.identity.get("serial_number", "")
        writer = a4_writer(tmp, f"Conformance report {serial}".strip())
        doc = ConformanceLayout(writer, report, generated)
        _identity(doc)
        _checks(doc)
        _appendix(doc)
        doc.render(writer, target)
        del writer
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ui.conformance_pdf REPORT.json OUT.pdf``: 0 on success, 1 when the report
    cannot be read or written (message on stderr), 2 for bad arguments."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] in ("-h", "--help"):
        print("usage: python -m ui.conformance_pdf REPORT.json OUT.pdf", file=sys.stderr)
        return 2
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication(["meterreader-conformance-pdf"])
    try:
        report = ConformanceReport.load_json(args[0])
        written = write_pdf(report, args[1])
    except Exception as exc:  # noqa: BLE001 (the message is the interface)
        print(f"conformance_pdf: cannot write {args[1]}: {exc}", file=sys.stderr)
        return 1
    finally:
        del app
    print(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
