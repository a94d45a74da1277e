"""PDF report from the headless core: run the Qt renderer ``ui.report_pdf`` in a subprocess.

``meterreader`` never imports Qt, so the PDF (drawn with QPdfWriter/QPainter in ``ui``) is made
by ``python -m ui.report_pdf READING.json OUT.pdf`` with ``QT_QPA_PLATFORM=offscreen``. The
reading goes over as a saved-reading JSON file in a temporary folder; the PDF is written to a
temporary name beside the target and renamed only when the renderer succeeded, so a failed or
killed renderer never leaves a half PDF under the final name. The GUI calls
``ui.report_pdf.write_pdf`` in-process instead (``write_reports(..., pdf_writer=...)``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from meterreader.atomic import atomic_path
from meterreader.reading.json_io import save_reading
from meterreader.reading.model import MeterReading
from meterreader.reports.common import ReportError

__all__ = ["PDF_MODULE", "pdf_command", "write_pdf"]

#: The module run to render the PDF.
PDF_MODULE = "ui.report_pdf"
#: Seconds the renderer may take before it is stopped.
DEFAULT_TIMEOUT = 300.0
_STDERR_TAIL = 2000


def pdf_command(json_path: str | Path, pdf_path: str | Path) -> list[str]:
    """The renderer's command line."""
    return [sys.executable, "-m", PDF_MODULE, str(json_path), str(pdf_path)]


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    # Running from a checkout: make the ``ui`` package beside ``meterreader`` importable.
    root = Path(__file__).resolve().parents[2]
    if (root / "ui" / "__init__.py").is_file():
        parts = [str(root)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(parts))
    return env


def write_pdf(reading: MeterReading, path: str | Path, *,
              timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Render ``reading`` to the PDF ``path`` in a subprocess; returns the path. Raises
    :class:`ReportError` with the renderer's message when it fails, times out or is missing."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="meterreader-pdf-") as folder:
        json_path = save_reading(reading, Path(folder) / "reading.json")
        with atomic_path(path, suffix=".pdf") as tmp:
            try:
                done = subprocess.run(pdf_command(json_path, tmp), env=_environment(),
                                      stdin=subprocess.DEVNULL, capture_output=True,
                                      text=True, errors="replace", timeout=timeout)
            except subprocess.TimeoutExpired as exc:
                raise ReportError(f"PDF renderer did not finish within {timeout:g} s "
                                  f"({path.name})") from exc
            except OSError as exc:
                raise ReportError(f"cannot start the PDF renderer: {exc}") from exc
            if done.returncode != 0:
                message = (done.stderr or done.stdout).strip()[-_STDERR_TAIL:]
                raise ReportError(f"PDF renderer failed (exit {done.returncode}) for "
                                  f"{path.name}: {message or 'no message'}")
            if not tmp.is_file() or tmp.stat().st_size == 0:
                raise ReportError(f"PDF renderer wrote nothing for {path.name}")
    return path
