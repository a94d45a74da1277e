"""Data safety: a crash (SIGKILL of the writing process) in the middle of an export never leaves a
half file under the final name — the final name is absent, or still holds the previous complete
file; saved readings carry their format version and are validated on load."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
from test_reports_common import sample_reading

from meterreader.reading.json_io import ReadingFormatError, load_reading, save_reading
from meterreader.reading.model import FORMAT_VERSION

TESTS = Path(__file__).resolve().parent
ROWS = {"json": 40_000, "xml": 40_000, "xlsx": 6_000}  # each export takes ~0.3 s

#: The child: write the export once (unless told "first"), say so, then write it again and
#: again until killed.
CHILD = r"""
import sys
from test_reports_common import sample_reading
from meterreader.reading.json_io import save_reading
from meterreader.reports import write_xlsx, write_xml
fmt, path, first, rows = sys.argv[1], sys.argv[2], sys.argv[3] == "first", int(sys.argv[4])
write = {"json": save_reading, "xlsx": write_xlsx, "xml": write_xml}[fmt]
reading = sample_reading(block_rows=rows)
if not first:
    write(reading, path)
print("go", flush=True)
while True:
    write(reading, path)
    if first:
        break
"""


def _temp_files(directory: Path, name: str) -> list[Path]:
    return [p for p in directory.iterdir() if p.name.startswith(f".{name}.")]


def _kill_mid_export(tmp_path: Path, fmt: str, first: bool) -> tuple[Path, bytes | None, bool]:
    """Run the child, SIGKILL it while a temp file of the export exists; returns the final
    path, its bytes before the kill (None on a first export) and whether the kill landed in
    the middle of an export (a temp file was left behind)."""
    target = tmp_path / f"reading.{fmt}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(TESTS), str(TESTS.parent), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", CHILD, fmt, str(target),
                              "first" if first else "again", str(ROWS[fmt])],
                             stdout=subprocess.PIPE, env=env, cwd=tmp_path)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"go\n"
        before = None if first else target.read_bytes()
        deadline = time.monotonic() + 30
        while not _temp_files(tmp_path, target.name) and time.monotonic() < deadline:
            if child.poll() is not None:
                break
            time.sleep(0.0002)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(10)
    return target, before, bool(_temp_files(tmp_path, target.name))


def _complete(path: Path, fmt: str) -> None:
    """The file at ``path`` is a whole export of the sample reading."""
    if fmt == "json":
        assert len(load_reading(path).table("block_load").rows) == ROWS[fmt]
    elif fmt == "xlsx":
        book = openpyxl.load_workbook(path, read_only=True)
        assert sum(1 for _ in book["Block load survey"].iter_rows()) == ROWS[fmt] + 1
    else:
        root = ElementTree.parse(path).getroot()  # a half file does not parse
        assert root.tag.endswith("MeterReading")
        assert path.read_bytes().count(b"<Row ") >= ROWS[fmt]


@pytest.mark.parametrize("fmt", ("json", "xlsx", "xml"))
@pytest.mark.parametrize("first", (True, False), ids=("first-export", "replacing"))
def test_sigkill_mid_export_never_leaves_a_half_file(tmp_path, fmt, first):
    for attempt in range(6):  # until the kill lands inside an export (almost always at once)
        directory = tmp_path / str(attempt)
        directory.mkdir()
        target, before, mid_export = _kill_mid_export(directory, fmt, first)
        if first:
            assert not target.exists() or mid_export is False
            if target.exists():
                _complete(target, fmt)
        else:
            _complete(target, fmt)
            if mid_export and fmt != "xlsx":  # xlsx embeds its write time: compare content
                assert target.read_bytes() == before
        if mid_export:
            assert all(p.name.endswith((".part", ".pdf")) for p in
                       _temp_files(directory, target.name))
            return
    pytest.fail("the kill never landed in the middle of an export")


def test_saved_reading_carries_its_format_version(tmp_path):
    path = save_reading(sample_reading(), tmp_path / "r.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["format_version"] == FORMAT_VERSION
    assert load_reading(path).format_version == FORMAT_VERSION


@pytest.mark.parametrize("change,message", [
    (lambda d: d.pop("format_version"), "missing field 'format_version'"),
    (lambda d: d.update(format_version=FORMAT_VERSION + 1), "unknown format_version"),
    (lambda d: d.update(format_version=None), "format_version: expected int"),
    (lambda d: d["tables"].clear() or d.update(tables="x"), "tables"),
])
def test_load_validates_the_format(tmp_path, change, message):
    path = save_reading(sample_reading(), tmp_path / "r.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ReadingFormatError, match=message):
        load_reading(path)


def test_truncated_reading_file_is_refused(tmp_path):
    path = save_reading(sample_reading(), tmp_path / "r.json")
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])  # what a non-atomic writer leaves after a crash
    with pytest.raises(ReadingFormatError, match="not JSON"):
        load_reading(path)
