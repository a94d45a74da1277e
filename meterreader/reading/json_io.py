"""Saved readings: a :class:`MeterReading` as a JSON file, and back, exactly.

The document (``format_version`` 1)::

    {"format_version": 1, "software": "meterreader 0.1.0", "category": "C",
     "identity": {"serial": …, "manufacturer": …, "firmware": …, "meter_type": …,
                  "category": …, "logical_device_name": …, "extra": [[title, text], …]},
     "started": ISO, "finished": ISO, "meter_clock": ISO | null, "connection": …,
     "association": …, "block_load_days": 7, "complete": true, "errors": […], "notes": […],
     "tables": [{"section": …, "title": …, "obis": …, "capture_period": 900 | null,
                 "complete": true, "error": "",
                 "columns": [{"title", "class_id", "obis", "attribute", "unit", "scaler",
                              "kind"}, …],
                 "rows": [[cell, …], …]}, …]}

Cells: JSON null, booleans, integers, strings and finite floats as themselves; lists for
structures; every other type is a one-key object: ``{"$dt": ISO}`` (datetime, with its UTC
offset when it has one), ``{"$date": ISO}``, ``{"$time": ISO}``, ``{"$hex": "0A1B"}`` (bytes),
``{"$float": "nan" | "inf" | "-inf"}``. Loading checks every field and raises
:class:`ReadingFormatError` naming the file and what is wrong.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from meterreader.cosem.obis import Obis
from meterreader.dlms.errors import DlmsError
from meterreader.atomic import atomic_write_text
from meterreader.reading.model import (FORMAT_VERSION, MeterIdentity, MeterReading,
                                       ReadingColumn, ReadingTable)

__all__ = ["ReadingFormatError", "load_reading", "reading_file_name", "reading_from_json",
           "reading_stem", "reading_to_json", "save_reading"]

_MAX_FILE = 1 << 30  # a reading larger than 1 GiB is not one of ours


class ReadingFormatError(ValueError):
    """A saved reading that cannot be loaded: bad JSON, unknown version, missing or wrong field."""


# -- cells --------------------------------------------------------------------------------------

def _float_tag(value: float) -> Any:
    if math.isfinite(value):
        return value
    return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}


_ENCODERS: dict[type, Callable[[Any], Any]] = {
    dt.datetime: lambda v: {"$dt": v.isoformat()},
    dt.date: lambda v: {"$date": v.isoformat()},
    dt.time: lambda v: {"$time": v.isoformat()},
    bytes: lambda v: {"$hex": v.hex().upper()},
    float: _float_tag,
}


def encode_cell(value: Any) -> Any:
    """A cell as JSON-ready data (see the module docstring)."""
    if value is None or type(value) in (bool, int, str):
        return value
    if isinstance(value, (list, tuple)):
        return [encode_cell(v) for v in value]
    for kind in (bool, int, str):  # subclasses (IntEnum, StrEnum …) as their plain value
        if isinstance(value, kind):
            return kind(value)
    encoder = _ENCODERS.get(type(value))
    if encoder is None:
        raise TypeError(f"a reading cell cannot be {type(value).__name__}: {value!r}")
    return encoder(value)


def _iso(cls: type, text: Any, where: str) -> Any:
    if not isinstance(text, str):
        raise ReadingFormatError(f"{where}: expected an ISO 8601 text, got {text!r}")
    try:
        return cls.fromisoformat(text)
    except ValueError:
        raise ReadingFormatError(f"{where}: not an ISO 8601 {cls.__name__}: {text!r}") from None


def _hex(text: Any, where: str) -> bytes:
    if not isinstance(text, str):
        raise ReadingFormatError(f"{where}: expected hex text, got {text!r}")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ReadingFormatError(f"{where}: not hex: {text[:40]!r}") from None


def _special_float(text: Any, where: str) -> float:
    if text not in ("nan", "inf", "-inf"):
        raise ReadingFormatError(f"{where}: $float must be nan, inf or -inf, got {text!r}")
    return float(text)


_DECODERS: dict[str, Callable[[Any, str], Any]] = {
    "$dt": lambda v, w: _iso(dt.datetime, v, w),
    "$date": lambda v, w: _iso(dt.date, v, w),
    "$time": lambda v, w: _iso(dt.time, v, w),
    "$hex": _hex,
    "$float": _special_float,
}


def decode_cell(value: Any, where: str = "cell") -> Any:
    """The cell that :func:`encode_cell` made ``value`` from; ReadingFormatError otherwise."""
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        return value
    if isinstance(value, list):
        return [decode_cell(v, where) for v in value]
    if isinstance(value, dict) and len(value) == 1:
        (tag, inner), = value.items()
        decoder = _DECODERS.get(tag)
        if decoder is not None:
            return decoder(inner, where)
    raise ReadingFormatError(f"{where}: not a reading cell: {_short(value)}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# -- reading → JSON -----------------------------------------------------------------------------

def _column_json(c: ReadingColumn) -> dict[str, Any]:
    return {"title": c.title, "class_id": c.class_id, "obis": c.obis, "attribute": c.attribute,
            "unit": c.unit, "scaler": c.scaler, "kind": c.kind}


def _table_json(t: ReadingTable) -> dict[str, Any]:
    return {"section": t.section, "title": t.title, "obis": t.obis,
            "capture_period": t.capture_period, "complete": t.complete, "error": t.error,
            "columns": [_column_json(c) for c in t.columns],
            "rows": [[encode_cell(v) for v in row] for row in t.rows]}


def _when(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def reading_to_json(reading: MeterReading) -> dict[str, Any]:
    """The reading as a JSON-ready dict (see the module docstring)."""
    i = reading.identity
    return {
        "format_version": reading.format_version,
        "software": reading.software,
        "category": reading.category,
        "identity": {"serial": i.serial, "manufacturer": i.manufacturer,
                     "firmware": i.firmware, "meter_type": i.meter_type,
                     "category": i.category, "logical_device_name": i.logical_device_name,
                     "extra": [[title, text] for title, text in i.extra]},
        "started": _when(reading.started),
        "finished": _when(reading.finished),
        "meter_clock": _when(reading.meter_clock),
        "connection": reading.connection,
        "association": reading.association,
        "block_load_days": reading.block_load_days,
        "complete": reading.complete,
        "errors": list(reading.errors),
        "notes": list(reading.notes),
        "tables": [_table_json(t) for t in reading.tables.values()],
    }


# -- JSON → reading -----------------------------------------------------------------------------

class _Fields:
    """Typed access to the fields of one JSON object, with the path in every message."""

    def __init__(self, obj: Any, where: str) -> None:
        if not isinstance(obj, dict):
            raise ReadingFormatError(f"{where}: expected an object, got {_short(obj)}")
        self.obj = obj
        self.where = where

    def get(self, name: str, kind: type | tuple[type, ...], *, optional: bool = False,
            default: Any = None) -> Any:
        if name not in self.obj:
            if optional:
                return default
            raise ReadingFormatError(f"{self.where}: missing field {name!r}")
        value = self.obj[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        ok = any(type(value) is k or (k is float and type(value) is int) for k in kinds)
        if not ok:
            names = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
            raise ReadingFormatError(f"{self.where}.{name}: expected {names}, got "
                                     f"{_short(value)}")
        return value

    def text_list(self, name: str) -> tuple[str, ...]:
        items = self.get(name, list, optional=True, default=[])
        if not all(isinstance(s, str) for s in items):
            raise ReadingFormatError(f"{self.where}.{name}: expected a list of texts")
        return tuple(items)

    def when(self, name: str, *, optional: bool = False) -> dt.datetime | None:
        text = self.get(name, (str, type(None)) if optional else str, optional=optional)
        return None if text is None else _iso(dt.datetime, text, f"{self.where}.{name}")


def _identity(obj: Any) -> MeterIdentity:
    f = _Fields(obj, "identity")
    extra = f.get("extra", list, optional=True, default=[])
    pairs = []
    for n, pair in enumerate(extra):
        if not (isinstance(pair, list) and len(pair) == 2
                and all(isinstance(s, str) for s in pair)):
            raise ReadingFormatError(f"identity.extra[{n}]: expected [title, text], got "
                                     f"{_short(pair)}")
        pairs.append((pair[0], pair[1]))
    texts = {name: f.get(name, str, optional=True, default="")
             for name in ("serial", "manufacturer", "firmware", "meter_type", "category",
                          "logical_device_name")}
    return MeterIdentity(extra=tuple(pairs), **texts)


_COLUMN_KINDS = frozenset({"value", "datetime", "event_code"})
_CATEGORIES = frozenset({"A", "B", "C"})


def _obis_text(text: str, where: str) -> str:
    try:
        Obis.parse(text)
    except DlmsError:
        raise ReadingFormatError(f"{where}: {text!r} is not an OBIS code") from None
    return text


def _column(obj: Any, where: str) -> ReadingColumn:
    f = _Fields(obj, where)
    kind = f.get("kind", str, optional=True, default="value")
    if kind not in _COLUMN_KINDS:
        raise ReadingFormatError(f"{where}: unknown column kind {kind!r} (expected one of "
                                 f"{', '.join(sorted(_COLUMN_KINDS))})")
    return ReadingColumn(title=f.get("title", str), class_id=f.get("class_id", int),
                         obis=_obis_text(f.get("obis", str), where),
                         attribute=f.get("attribute", int),
                         unit=f.get("unit", str, optional=True, default=""),
                         scaler=f.get("scaler", (int, type(None)), optional=True), kind=kind)


def _table(obj: Any, n: int) -> ReadingTable:
    f = _Fields(obj, f"tables[{n}]")
    section = f.get("section", str)
    where = f"table {section!r}"
    f.where = where
    columns = tuple(_column(c, f"{where}.columns[{i}]")
                    for i, c in enumerate(f.get("columns", list)))
    rows = []
    for r, row in enumerate(f.get("rows", list)):
        if not isinstance(row, list):
            raise ReadingFormatError(f"{where}: row {r} is not a list")
        if len(row) != len(columns):
            raise ReadingFormatError(f"{where}: row {r} has {len(row)} cells for "
                                     f"{len(columns)} columns")
        rows.append(tuple(decode_cell(v, f"{where} row {r} column {i}")
                          for i, v in enumerate(row)))
    period = f.get("capture_period", (int, type(None)), optional=True)
    if not section or not section.replace("_", "").isalnum():
        raise ReadingFormatError(f"{where}: section name must be letters, digits and _")
    return ReadingTable(section=section, title=f.get("title", str),
                        obis=_obis_text(f.get("obis", str), where),
                        columns=columns, rows=tuple(rows),
                        complete=f.get("complete", bool, optional=True, default=True),
                        error=f.get("error", str, optional=True, default=""),
                        capture_period=period)


def reading_from_json(doc: Any) -> MeterReading:
    """The reading a :func:`reading_to_json` dict describes; ReadingFormatError otherwise."""
    f = _Fields(doc, "reading")
    version = f.get("format_version", int)
    if version != FORMAT_VERSION:
        raise ReadingFormatError(f"unknown format_version {version} (this meterreader reads "
                                 f"version {FORMAT_VERSION})")
    tables: dict[str, ReadingTable] = {}
    for n, obj in enumerate(f.get("tables", list)):
        table = _table(obj, n)
        if table.section in tables:
            raise ReadingFormatError(f"table {table.section!r} appears twice")
        tables[table.section] = table
    started, finished = f.when("started"), f.when("finished")
    category = f.get("category", str)
    if category not in _CATEGORIES:
        raise ReadingFormatError(f"reading: category {category!r} is not A, B or C")
    return MeterReading(
        category=category, identity=_identity(f.get("identity", dict)),
        tables=tables, started=started, finished=finished,  # type: ignore[arg-type]
        meter_clock=f.when("meter_clock", optional=True),
        connection=f.get("connection", str, optional=True, default=""),
        association=f.get("association", str, optional=True, default=""),
        block_load_days=f.get("block_load_days", int, optional=True, default=7),
        complete=f.get("complete", bool, optional=True, default=True),
        errors=f.text_list("errors"), software=f.get("software", str, optional=True,
                                                        default=""),
        format_version=version, notes=f.text_list("notes"))


# -- files --------------------------------------------------------------------------------------

def _dumps(doc: Mapping[str, Any]) -> str:
    """Indented JSON with one line per row and per column (a 100k-row block load stays
    readable and small)."""
    marker = "\x00list{}\x00"
    lists: list[tuple[list[Any], int]] = []

    def hold(items: list[Any], depth: int) -> str:
        lists.append((items, depth))
        return marker.format(len(lists) - 1)

    shell = dict(doc)
    shell["identity"] = {**doc["identity"], "extra": hold(doc["identity"]["extra"], 2)}
    shell["tables"] = [{**t, "columns": hold(t["columns"], 3), "rows": hold(t["rows"], 3)}
                       for t in doc["tables"]]
    text = json.dumps(shell, indent=2, ensure_ascii=False, allow_nan=False)
    for n, (items, depth) in enumerate(lists):
        body = "[]"
        if items:
            inner, outer = "\n" + "  " * (depth + 1), "\n" + "  " * depth
            lines = ("," + inner).join(json.dumps(r, ensure_ascii=False, allow_nan=False)
                                       for r in items)
            body = f"[{inner}{lines}{outer}]"
        text = text.replace(json.dumps(marker.format(n)), body, 1)
    return text + "\n"


def save_reading(reading: MeterReading, path: str | os.PathLike[str]) -> Path:
    """Write ``reading`` to ``path`` as JSON, atomically; returns the path."""
    return atomic_write_text(path, _dumps(reading_to_json(reading)))


def load_reading(path: str | os.PathLike[str]) -> MeterReading:
    """The reading saved in ``path``; ReadingFormatError (naming the file) when it is not a
    valid saved reading, OSError when it cannot be read."""
    p = Path(path)
    with open(p, "rb") as f:
        data = f.read(_MAX_FILE + 1)
    try:
        if len(data) > _MAX_FILE:
            raise ReadingFormatError("larger than 1 GiB")
        try:
            doc = json.loads(data.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise ReadingFormatError(f"not UTF-8 text ({exc.reason} at byte {exc.start})"
                                     ) from None
        except json.JSONDecodeError as exc:
            raise ReadingFormatError(f"not JSON: {exc.msg} at line {exc.lineno} column "
                                     f"{exc.colno}") from None
        except RecursionError:
            raise ReadingFormatError("not JSON: nested too deeply") from None
        return reading_from_json(doc)
    except ReadingFormatError as exc:
        raise ReadingFormatError(f"{p}: {exc}") from None
    except RecursionError:
        raise ReadingFormatError(f"{p}: cells nested too deeply") from None


# -- names --------------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def reading_stem(reading: MeterReading) -> str:
    """``<serial>_<yyyymmdd-hhmmss>``: the serial number made file-name safe ("meter" when
    unknown) and the start of the read in UTC — the same stem as the reports' default."""
    serial = _UNSAFE.sub("_", reading.identity.serial).strip("._")[:80] or "meter"
    started = reading.started
    if started.tzinfo is not None:
        started = started.astimezone(dt.timezone.utc)
    return f"{serial}_{started:%Y%m%d-%H%M%S}"


def reading_file_name(reading: MeterReading) -> str:
    """``<serial>_<yyyymmdd-hhmmss>.json``."""
    return reading_stem(reading) + ".json"
