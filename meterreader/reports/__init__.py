"""Report files from a :class:`~meterreader.reading.MeterReading`: CSV, XLSX, PDF and XML.

``write_reports(reading, out_dir, ("csv", "xlsx", "xml", "pdf"))`` writes every requested
format into ``out_dir`` (each file atomically: temp file + rename) and returns the paths:

* ``<stem>_<section>.csv`` — one per section (:mod:`.csv_report`)
* ``<stem>.xlsx`` — Meter sheet + one sheet per section (:mod:`.xlsx_report`)
* ``<stem>.xml`` — the whole reading, schema ``resources/schema/meter-reading.xsd``
  (:mod:`.xml_report`, ``docs/reading-xml.md``)
* ``<stem>.pdf`` — rendered by ``ui.report_pdf`` in a subprocess (:mod:`.pdf_bridge`), or by
  the ``pdf_writer`` given (the GUI passes ``ui.report_pdf.write_pdf``)

``stem`` defaults to ``<serial>_<yyyymmdd-hhmmss>`` (read start, UTC): :func:`default_stem`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from meterreader.atomic import atomic_path
from meterreader.reading.model import MeterReading
from meterreader.reports.common import ReportError, default_stem, ordered_tables, safe_name
from meterreader.reports.csv_report import write_csv
from meterreader.reports.xlsx_report import write_xlsx
from meterreader.reports.xml_report import write_xml

__all__ = [
    "REPORT_FORMATS", "ReportError", "default_stem", "parse_formats", "report_paths",
    "write_csv", "write_reports", "write_xlsx", "write_xml",
]

#: Every report format, in the order they are written.
REPORT_FORMATS = ("csv", "xlsx", "pdf", "xml")

PdfWriter = Callable[[MeterReading, Path], object]
Progress = Callable[[str, int, int], object]


def parse_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    """Formats from ``"csv,xlsx"`` or an iterable, lower-cased, without repeats, in
    :data:`REPORT_FORMATS` order; ValueError naming an unknown one (or none given)."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    wanted = {str(f).strip().lower() for f in items if str(f).strip()}
    unknown = sorted(wanted - set(REPORT_FORMATS))
    if unknown:
        raise ValueError(f"unknown report format {', '.join(unknown)} "
                         f"(choose from {', '.join(REPORT_FORMATS)})")
    if not wanted:
        raise ValueError("no report format given")
    return tuple(f for f in REPORT_FORMATS if f in wanted)


def report_paths(reading: MeterReading, out_dir: str | Path, fmt: str, stem: str) -> list[Path]:
    """The files format ``fmt`` writes for ``reading`` (CSV: one per section)."""
    out = Path(out_dir)
    if fmt == "csv":
        return [out / f"{stem}_{safe_name(t.section, 'section')}.csv"
                for t in ordered_tables(reading)]
    return [out / f"{stem}.{fmt}"]


def _write_pdf_subprocess(reading: MeterReading, path: Path) -> Path:
    from meterreader.reports.pdf_bridge import write_pdf  # only when a PDF is asked for

    return write_pdf(reading, path)


def write_reports(reading: MeterReading, out_dir: str | Path, formats: str | Iterable[str], *,
                  stem: str | None = None, pdf_writer: PdfWriter | None = None,
                  progress: Progress | None = None) -> list[Path]:
    """Write ``formats`` of ``reading`` into ``out_dir`` (created if needed); returns the paths
    written, in :data:`REPORT_FORMATS` order.

    Every format is attempted even if an earlier one fails; then :class:`ReportError` is raised
    naming the failures, with ``.written`` (the paths that were written) and ``.failures``
    (format → exception). A failed format leaves no file under its final name.
    ``progress(format, index, count)`` is called before each format (index from 0).
    """
    wanted = parse_formats(formats)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = stem or default_stem(reading)
    writers: dict[str, Callable[[], list[Path]]] = {
        "csv": lambda: write_csv(reading, out, stem),
        "xlsx": lambda: [write_xlsx(reading, out / f"{stem}.xlsx")],
        "xml": lambda: [write_xml(reading, out / f"{stem}.xml")],
        "pdf": lambda: [_pdf(reading, out / f"{stem}.pdf", pdf_writer)],
    }
    written: list[Path] = []
    failures: dict[str, BaseException] = {}
    for i, fmt in enumerate(wanted):
        if progress is not None:
            progress(fmt, i, len(wanted))
        try:
            written += writers[fmt]()
        except Exception as exc:  # noqa: BLE001 — collected and re-raised below
            failures[fmt] = exc
    if failures:
        detail = "; ".join(f"{fmt.upper()}: {exc}" for fmt, exc in failures.items())
        raise ReportError(f"could not write {len(failures)} report format(s): {detail}",
                          written=tuple(written), failures=failures)
    return written


def _pdf(reading: MeterReading, path: Path, pdf_writer: PdfWriter | None) -> Path:
    if pdf_writer is None:
        return _write_pdf_subprocess(reading, path)  # atomic itself
    with atomic_path(path, suffix=".pdf") as tmp:  # whatever the given writer does
        pdf_writer(reading, tmp)
    return path
