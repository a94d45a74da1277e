"""Atomic writes (meterreader.atomic): the final name holds the old file or the whole new one."""

import contextlib
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


@contextlib.contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


@posix_only
def test_new_file_is_an_ordinary_readable_file(tmp_path):
    with umask(0o022):
        target = atomic_write_text(tmp_path / "r.xml", "<r/>")
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
        target.chmod(0o600)
        atomic_write_text(target, "<r2/>")  # keeps the replaced file's mode
        assert stat.S_IMODE(target.stat().st_mode) == 0o600


@posix_only
@pytest.mark.parametrize("mask, expected", [(0o077, 0o600), (0o027, 0o640), (0o002, 0o664),
                                            (0o022, 0o644)])
def test_new_file_honours_the_umask(tmp_path, mask, expected):
    """A stricter umask (077 on a shared bench PC) keeps readings private: as open() would."""
    with umask(mask):
        for target, write in ((tmp_path / "a.json", lambda p: atomic_write_text(p, "{}")),
                              (tmp_path / "b.bin", lambda p: atomic_write_bytes(p, b"\x00"))):
            write(target)
            assert stat.S_IMODE(target.stat().st_mode) == expected
        with atomic_path(tmp_path / "c.pdf") as tmp:
            assert stat.S_IMODE(tmp.stat().st_mode) == expected  # also while being written
            tmp.write_bytes(b"%PDF")
        assert stat.S_IMODE((tmp_path / "c.pdf").stat().st_mode) == expected


@posix_only
def test_replaced_file_keeps_its_mode_whatever_the_umask(tmp_path):
    target = tmp_path / "report.csv"
    target.write_text("old")
    for mode in (0o644, 0o600, 0o664):
        target.chmod(mode)
        with umask(0o077):
            atomic_write_text(target, "new")
        assert stat.S_IMODE(target.stat().st_mode) == mode and target.read_text() == "new"


def test_umask_is_not_changed(tmp_path):
    with umask(0o027):
        atomic_write_text(tmp_path / "x", "x")
        assert os.umask(0o027) == 0o027


# -- exports of the GUI go through meterreader.atomic ---------------------------------------------

class _Boom(RuntimeError):
    pass


def _rows_then_boom():
    yield {"obis": "0.0.1.0.0.255", "class_id": 8, "attribute": 2, "value": "x"}
    raise _Boom("crash during export")


@pytest.mark.parametrize("name", ["attributes.csv", "attributes.json"])
def test_gui_attribute_export_is_atomic(tmp_path, name):
    pytest.importorskip("PySide6")
    from ui.main_window import export_rows

    target = tmp_path / name
    target.write_text("old complete export", encoding="utf-8")
    rows = _rows_then_boom() if name.endswith(".csv") else [{"value": object()}]
    with pytest.raises((_Boom, TypeError)):
        export_rows(rows, target)
    assert target.read_text(encoding="utf-8") == "old complete export"
    assert os.listdir(tmp_path) == [name]
    export_rows([{"obis": "0.0.1.0.0.255", "value": "1"}], target)
    assert "0.0.1.0.0.255" in target.read_text(encoding="utf-8")


def test_gui_trace_save_is_atomic(tmp_path):
    pytest.importorskip("PySide6")
    from ui.trace_model import load_trace, save_trace
    from ui.worker_types import TraceRecord

    record = TraceRecord(timestamp=1.0, direction="tx", layer="apdu", data=b"\xc0\x01",
                         summary="GET")

    def records_then_boom():
        yield record
        raise _Boom("crash while saving")

    target = tmp_path / "trace.jsonl"
    assert save_trace(target, [record]) == 1
    before = target.read_bytes()
    with pytest.raises(_Boom):
        save_trace(target, records_then_boom())
    assert target.read_bytes() == before and os.listdir(tmp_path) == ["trace.jsonl"]
    assert len(load_trace(target)) == 1
