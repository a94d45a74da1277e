"""XML report: the whole reading as one typed XML document.

In the spirit of the IEEMA common data format (CDF) that Indian utilities use for meter
readings — one file per meter read, the meter's identity first, then each data group
(instantaneous, billing, load survey, events) with every parameter's OBIS code and unit — but
with our own element names. The schema is ``resources/schema/meter-reading.xsd`` and
``docs/reading-xml.md`` documents it.

Each cell is one typed element (``Int``, ``Float``, ``DateTime`` …, ``Null`` for no value,
``List`` for a structure) so a reader gets the values back without guessing. The file is
streamed (a 100k-row load survey needs no tree in memory) and written atomically.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from meterreader.atomic import atomic_path
from meterreader.reading.model import MeterReading, ReadingColumn, ReadingTable
from meterreader.reports.common import event_description, ordered_tables

__all__ = ["NAMESPACE", "SCHEMA_FILE", "value_xml", "write_xml"]

#: XML namespace of the document (its version follows the schema's, not the JSON format's).
NAMESPACE = "urn:meterreader:meter-reading:1"
#: File name of the schema under ``resources/schema``.
SCHEMA_FILE = "meter-reading.xsd"

# XML 1.0 §2.2: the characters a document may contain.
_ILLEGAL = re.compile("[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")
_TEXT_ENTITIES = {"\r": "&#13;"}  # a parser would turn a raw CR into LF


def _text(s: str) -> str:
    """Element content: escaped; characters XML cannot hold become U+FFFD."""
    return escape(_ILLEGAL.sub("\uFFFD", s), _TEXT_ENTITIES)


def _attr(s: Any) -> str:
    return quoteattr(_ILLEGAL.sub("\uFFFD", str(s)), _TEXT_ENTITIES)


def _attrs(**items: Any) -> str:
    """`` name="value"`` pairs in the given order; None values are left out."""
    return "".join(f" {k}={_attr(v)}" for k, v in items.items() if v is not None)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    return repr(value)


def _str_xml(value: str) -> str:
    if _ILLEGAL.search(value) is None:
        return f"<Str>{_text(value)}</Str>"
    data = base64.b64encode(value.encode("utf-8", "surrogatepass")).decode("ascii")
    return f'<Str encoding="base64">{data}</Str>'


def value_xml(value: Any, *, description: str | None = None) -> str:
    """One cell as its typed element, e.g. ``<Int>5</Int>``; ``description`` (event code words)
    becomes an attribute of an ``Int``."""
    if value is None:
        return "<Null/>"
    if isinstance(value, bool):
        return f"<Bool>{_bool(value)}</Bool>"
    if isinstance(value, int):
        extra = _attrs(description=description)
        return f"<Int{extra}>{value}</Int>"
    if isinstance(value, float):
        return f"<Float>{_float(value)}</Float>"
    if isinstance(value, str):
        return _str_xml(value)
    if isinstance(value, bytes):
        return f"<Hex>{value.hex().upper()}</Hex>"
    if isinstance(value, dt.datetime):
        return f"<DateTime>{value.isoformat()}</DateTime>"
    if isinstance(value, dt.date):
        return f"<Date>{value.isoformat()}</Date>"
    if isinstance(value, dt.time):
        return f"<Time>{value.isoformat()}</Time>"
    if isinstance(value, (list, tuple)):
        return "<List>" + "".join(value_xml(v) for v in value) + "</List>"
    return _str_xml(str(value))


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _write_head(w: Callable[[str], Any], reading: MeterReading) -> None:
    ident = reading.identity
    w('<?xml version="1.0" encoding="UTF-8"?>\n')
    w(f"<MeterReading{_attrs(xmlns=NAMESPACE, formatVersion=reading.format_version)}"
      f"{_attrs(category=reading.category, complete=_bool(reading.complete))}"
      f"{_attrs(software=reading.software)}>\n")
    w(f"  <Meter{_attrs(serial=ident.serial, manufacturer=ident.manufacturer)}"
      f"{_attrs(firmware=ident.firmware, meterType=ident.meter_type)}"
      f"{_attrs(category=ident.category, logicalDeviceName=ident.logical_device_name)}")
    if ident.extra:
        w(">\n")
        for title, text in ident.extra:
            w(f"    <Field{_attrs(title=title)}>{_text(text)}</Field>\n")
        w("  </Meter>\n")
    else:
        w("/>\n")
    w(f"  <Read{_attrs(started=_iso(reading.started), finished=_iso(reading.finished))}"
      f"{_attrs(meterClock=_iso(reading.meter_clock), connection=reading.connection)}"
      f"{_attrs(association=reading.association, blockLoadDays=reading.block_load_days)}/>\n")
    for tag, lines in (("Errors", reading.errors), ("Notes", reading.notes)):
        if lines:
            item = tag[:-1]
            w(f"  <{tag}>\n")
            for line in lines:
                w(f"    <{item}>{_text(line)}</{item}>\n")
            w(f"  </{tag}>\n")


def _column_xml(index: int, c: ReadingColumn) -> str:
    return (f"      <Column{_attrs(index=index, title=c.title, classId=c.class_id, obis=c.obis)}"
            f"{_attrs(attribute=c.attribute, unit=c.unit, scaler=c.scaler, kind=c.kind)}/>\n")


def _write_section(w: Callable[[str], Any], table: ReadingTable) -> None:
    w(f"  <Section{_attrs(name=table.section, title=table.title, obis=table.obis)}"
      f"{_attrs(complete=_bool(table.complete), capturePeriod=table.capture_period)}"
      f"{_attrs(rowCount=len(table.rows))}>\n")
    if table.error:
        w(f"    <Error>{_text(table.error)}</Error>\n")
    w("    <Columns>\n")
    for i, c in enumerate(table.columns):
        w(_column_xml(i, c))
    w("    </Columns>\n")
    w("    <Rows>\n")
    kinds = [c.kind for c in table.columns]
    width = len(kinds)
    for n, row in enumerate(table.rows):
        cells = []
        for i in range(width):
            value = row[i] if i < len(row) else None
            desc = (event_description(value) if kinds[i] == "event_code"
                    and isinstance(value, int) and not isinstance(value, bool) else None)
            cells.append(value_xml(value, description=desc))
        w(f'      <Row index="{n}">{"".join(cells)}</Row>\n')
    w("    </Rows>\n")
    w("  </Section>\n")


def write_xml_to(f: IO[str], reading: MeterReading) -> None:
    """Stream the document to a text file object."""
    w = f.write
    _write_head(w, reading)
    for table in ordered_tables(reading):
        _write_section(w, table)
    w("</MeterReading>\n")


def write_xml(reading: MeterReading, path: str | Path) -> Path:
    """Write the XML of ``reading`` to ``path`` atomically (UTF-8); returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as f:
        write_xml_to(f, reading)
    return path
