"""Architecture rules that a grep can enforce (STYLE.md §1, ARCHITECTURE.md).

* ``meterreader/`` never imports Qt (or pyqtgraph/qasync): the core must run headless.
* The sans-IO layers (``meterreader/dlms``, ``meterreader/cosem``) do no I/O and read no clock:
  no socket, serial, time, threading, select, asyncio or random imports.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "meterreader"
IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))", re.M)
QT = {"PySide6", "PyQt5", "PyQt6", "pyqtgraph", "qasync", "shiboken6"}
IO = {"socket", "serial", "time", "threading", "select", "selectors", "asyncio", "random",
      "subprocess", "os", "secrets"}


def imported_roots(path: Path) -> set[str]:
    return {(m.group(1) or m.group(2)).split(".")[0] for m in IMPORT.finditer(path.read_text())}


def python_files(*parts: str) -> list[Path]:
    return sorted(ROOT.joinpath(*parts).rglob("*.py"))


@pytest.mark.parametrize("path", python_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_is_qt_free(path):
    assert not imported_roots(path) & QT, f"{path} imports Qt"


@pytest.mark.parametrize("path", python_files("dlms") + python_files("cosem"),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_protocol_layers_are_sans_io(path):
    assert not imported_roots(path) & IO, f"{path} imports an I/O, clock or randomness module"
