"""Atomic writes (meterreader.atomic): the final name holds the old file or the whole new one."""

import os
import stat

import pytest

from meterreader.atomic import atomic_path, atomic_write_bytes, atomic_write_text


def test_write_replaces_whole_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "sub" / "reading.json"
    atomic_write_text(target, "first")
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert os.listdir(target.parent) == ["reading.json"]


def test_failure_midway_keeps_the_old_file(tmp_path):
    target = tmp_path / "report.csv"
    target.write_text("old complete report")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half a rep")
            raise RuntimeError("disk full")
    assert target.read_text() == "old complete report"
    assert os.listdir(tmp_path) == ["report.csv"]


def test_failure_on_first_write_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "new.xlsx") as tmp:
            tmp.write_bytes(b"PK")
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_new_file_is_an_ordinary_readable_file(tmp_path):
    target = atomic_write_text(tmp_path / "r.xml", "<r/>")
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    target.chmod(0o600)
    atomic_write_text(target, "<r2/>")  # keeps the replaced file's mode
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
