"""Conformance report files: JSON (the reference form), XLSX, and PDF through the GUI package.

* JSON: :meth:`ConformanceReport.save_json` — opens back equal with ``load_json``.
* XLSX (openpyxl): a ``Summary`` sheet (meter, run, counts), a ``Checks`` sheet with one row per
  check and an ``Evidence`` sheet with one row per exchanged frame/APDU. Text is always stored as
  text (never run as a formula).
* PDF: ``python -m ui.conformance_pdf REPORT.json OUT.pdf`` in a subprocess (meterreader never
  imports Qt); available only when that module exists (:func:`pdf_available`).

Every file is written atomically (temp file + rename).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill

from meterreader.atomic import atomic_path
from meterreader.conformance.model import ConformanceReport, Verdict

__all__ = ["CHECK_COLUMNS", "EVIDENCE_COLUMNS", "FORMATS", "PDF_MODULE", "ReportError",
           "default_stem", "pdf_available", "save_pdf", "save_xlsx", "write_reports"]

FORMATS = ("json", "xlsx", "pdf")
PDF_MODULE = "ui.conformance_pdf"
#: Header of the ``Checks`` sheet.
CHECK_COLUMNS = ("#", "Check", "Title", "Group", "Clause", "Result", "Finding", "Time (s)",
                 "Evidence items")
#: Header of the ``Evidence`` sheet.
EVIDENCE_COLUMNS = ("Check", "#", "Time", "Direction", "Layer", "Summary", "Hex")
_WIDTHS = {"Checks": (5, 28, 44, 12, 40, 8, 80, 9, 9),
           "Evidence": (28, 6, 24, 9, 8, 60, 80), "Summary": (22, 70)}
_BOLD = Font(bold=True)
_FILLS = {Verdict.PASS: PatternFill("solid", fgColor="C6EFCE"),
          Verdict.FAIL: PatternFill("solid", fgColor="FFC7CE"),
          Verdict.SKIP: PatternFill("solid", fgColor="EDEDED"),
          Verdict.ERROR: PatternFill("solid", fgColor="FFEB9C")}
_WRAP = Alignment(wrap_text=True, vertical="top")


class ReportError(Exception):
    """A report file could not be written (PDF module missing or failing …)."""


def default_stem(report: ConformanceReport) -> str:
    """E.g. ``"conformance-C-18034064-20240501-101500"`` (serial number when known)."""
    serial = "".join(c for c in report.identity.get("serial_number", "") if c.isalnum())
    when = report.started.strftime("%Y%m%d-%H%M%S")
    return f"conformance-{report.category}-{serial or 'meter'}-{when}"


# -- XLSX -----------------------------------------------------------------------------------------

def _text(ws: Any, value: Any, *, bold: bool = False, fill: PatternFill | None = None,
          wrap: bool = False) -> WriteOnlyCell:
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group(0)):02x}", value)
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text starts with
    if bold:
        cell.font = _BOLD
    if fill is not None:
        cell.fill = fill
    if wrap:
        cell.alignment = _WRAP
    return cell


def _header(ws: Any, names: Iterable[str]) -> None:
    ws.append([_text(ws, n, bold=True) for n in names])


def _naive(when: dt.datetime) -> dt.datetime:
    return when.replace(tzinfo=None)


def _sheet(wb: Workbook, title: str) -> Any:
    ws = wb.create_sheet(title)
    for i, width in enumerate(_WIDTHS[title]):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    ws.freeze_panes = "A2"
    return ws


def _summary_rows(report: ConformanceReport) -> list[tuple[str, Any]]:
    counts = report.counts()
    offset = report.started.strftime("%z")
    rows: list[tuple[str, Any]] = [
        ("Conformance report", "IS 15959 / DLMS checks"),
        ("Category checked", report.category),
        ("Target", report.target)]
    rows += [(f"Meter {name.replace('_', ' ')}", value) for name, value in report.identity.items()]
    rows += [("Started", _naive(report.started)), ("Finished", _naive(report.finished)),
             ("Time zone of the times", f"UTC{offset[:3]}:{offset[3:]}" if offset else "")]
    rows += [(f"Checks {v.value}", counts[v]) for v in Verdict]
    rows.append(("Overall", "PASS" if report.ok else "FAIL"))
    rows += [(f"Option {k}", v if isinstance(v, (int, float, str, bool)) else
              ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v))
             for k, v in report.options.items()]
    return rows


def save_xlsx(report: ConformanceReport, path: str | os.PathLike[str]) -> Path:
    """Write the XLSX report (see the module docstring); returns the path."""
    wb = Workbook(write_only=True)
    ws = _sheet(wb, "Summary")
    for name, value in _summary_rows(report):
        cell = _text(ws, value)
        if isinstance(value, dt.datetime):
            cell.number_format = "yyyy-mm-dd hh:mm:ss"
        if name == "Overall":
            cell.fill = _FILLS[Verdict.PASS if report.ok else Verdict.FAIL]
        ws.append([_text(ws, name, bold=True), cell])
    ws = _sheet(wb, "Checks")
    _header(ws, CHECK_COLUMNS)
    for n, o in enumerate(report.outcomes, 1):
        ws.append([n, _text(ws, o.check_id), _text(ws, o.title), _text(ws, o.group),
                   _text(ws, o.clause), _text(ws, o.verdict.value.upper(), fill=_FILLS[o.verdict]),
                   _text(ws, o.finding, wrap=True), o.elapsed, len(o.evidence)])
    ws = _sheet(wb, "Evidence")
    _header(ws, EVIDENCE_COLUMNS)
    for o in report.outcomes:
        for n, e in enumerate(o.evidence, 1):
            when = dt.datetime.fromtimestamp(e.timestamp, report.started.tzinfo)
            ws.append([_text(ws, o.check_id), n,
                       _text(ws, when.isoformat(timespec="milliseconds")),
                       _text(ws, e.direction), _text(ws, e.layer), _text(ws, e.summary),
                       _text(ws, e.hex)])
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return Path(path)


# -- PDF ------------------------------------------------------------------------------------------

def _pdf_module_dir() -> Path | None:
    """The directory that holds the ``ui`` package when ``ui/conformance_pdf.py`` exists
    (found without importing ``ui``, which would import Qt)."""
    spec = importlib.util.find_spec("ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        if (Path(location) / "conformance_pdf.py").is_file():
            return Path(location).parent
    return None


def pdf_available() -> bool:
    """True when the GUI's PDF writer (``ui/conformance_pdf.py``) is installed."""
    return _pdf_module_dir() is not None


def save_pdf(report: ConformanceReport, path: str | os.PathLike[str], *,
             timeout: float = 300.0) -> Path:
    """Write the PDF report by running ``python -m ui.conformance_pdf REPORT.json OUT.pdf`` in
    a subprocess (offscreen Qt); ReportError when the module is missing or fails."""
    root = _pdf_module_dir()
    if root is None:
        raise ReportError(f"PDF reports need the GUI package ({PDF_MODULE} is not installed)")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    final = Path(path)
    with tempfile.TemporaryDirectory(prefix="conformance-") as tmpdir:
        source = report.save_json(Path(tmpdir) / "report.json")
        with atomic_path(final) as tmp:
            try:
                done = subprocess.run(
                    [sys.executable, "-m", PDF_MODULE, str(source), str(tmp)], env=env,
                    capture_output=True, text=True, timeout=timeout, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise ReportError(f"the PDF writer did not run: {exc}") from None
            if done.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
                detail = (done.stderr or done.stdout).strip().splitlines()
                raise ReportError("the PDF writer failed (exit code "
                                  f"{done.returncode}){': ' + detail[-1] if detail else ''}")
    return final


# -- all formats ----------------------------------------------------------------------------------

_WRITERS = {"json": lambda r, p: r.save_json(p), "xlsx": save_xlsx, "pdf": save_pdf}


def write_reports(report: ConformanceReport, out_dir: str | os.PathLike[str],
                  formats: Iterable[str] = ("json", "xlsx"), *,
                  stem: str | None = None) -> dict[str, Path]:
    """Write the report in each of ``formats`` (of :data:`FORMATS`) into ``out_dir`` as
    ``STEM.json`` … (default :func:`default_stem`); returns format → path. ValueError for an
    unknown format; ReportError when a writer fails (files already written stay)."""
    chosen = list(dict.fromkeys(f.strip().lower() for f in formats if f.strip()))
    unknown = [f for f in chosen if f not in _WRITERS]
    if unknown:
        raise ValueError(f"unknown report format(s) {', '.join(unknown)}; "
                         f"expected {', '.join(FORMATS)}")
    name = stem or default_stem(report)
    return {f: _WRITERS[f](report, Path(out_dir) / f"{name}.{f}") for f in chosen}
