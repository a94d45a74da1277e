"""XML report: parsed with xml.etree and cross-checked value by value against the reading;
the elements and attributes used are the ones the XSD declares (and, when ``xmllint`` is
installed, the document validates against resources/schema/meter-reading.xsd)."""

from __future__ import annotations

import base64
import datetime as dt
import math
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from test_reports_common import sample_reading

from meterreader.india.events import describe_event
from meterreader.reading.model import MeterReading, ReadingTable
from meterreader.reports.xml_report import NAMESPACE, value_xml, write_xml

SCHEMA = Path(__file__).resolve().parents[1] / "resources" / "schema" / "meter-reading.xsd"
XS = "{http://www.w3.org/2001/XMLSchema}"
NS = f"{{{NAMESPACE}}}"


def tag(el):
    assert el.tag.startswith(NS), el.tag
    return el.tag[len(NS):]


def value_of(el):
    """The Python value of a typed value element (independent of the writer's code)."""
    kind, text = tag(el), el.text or ""
    if kind == "Null":
        assert len(el) == 0 and not text
        return None
    if kind == "List":
        return [value_of(child) for child in el]
    parse = {
        "Bool": lambda t: {"true": True, "false": False}[t],
        "Int": int,
        "Float": lambda t: {"INF": math.inf, "-INF": -math.inf}.get(t, None) or float(t),
        "Str": lambda t: (base64.b64decode(t).decode("utf-8", "surrogatepass")
                          if el.get("encoding") == "base64" else t),
        "Hex": bytes.fromhex,
        "DateTime": dt.datetime.fromisoformat,
        "Date": dt.date.fromisoformat,
        "Time": dt.time.fromisoformat,
    }[kind]
    return parse(text)


def same(got, want):
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(
            same(g, w) for g, w in zip(got, want))
    if isinstance(want, dt.datetime):  # same wall clock and same offset (or both naive)
        return (type(got) is dt.datetime and got.replace(tzinfo=None) == want.replace(tzinfo=None)
                and got.utcoffset() == want.utcoffset())
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    return type(got) is type(want) and got == want


def check_document(root, reading: MeterReading):
    assert tag(root) == "MeterReading"
    assert root.get("formatVersion") == str(reading.format_version)
    assert root.get("category") == reading.category
    assert root.get("complete") == ("true" if reading.complete else "false")
    assert root.get("software") == reading.software
    meter, read = root.find(NS + "Meter"), root.find(NS + "Read")
    ident = reading.identity
    assert {k: meter.get(k) for k in ("serial", "manufacturer", "firmware", "meterType",
                                       "category", "logicalDeviceName")} == {
        "serial": ident.serial, "manufacturer": ident.manufacturer, "firmware": ident.firmware,
        "meterType": ident.meter_type, "category": ident.category,
        "logicalDeviceName": ident.logical_device_name}
    assert tuple((f.get("title"), f.text or "") for f in meter) == ident.extra
    assert dt.datetime.fromisoformat(read.get("started")) == reading.started
    assert dt.datetime.fromisoformat(read.get("finished")) == reading.finished
    assert same(dt.datetime.fromisoformat(read.get("meterClock")), reading.meter_clock)
    assert read.get("connection") == reading.connection
    assert read.get("association") == reading.association
    assert int(read.get("blockLoadDays")) == reading.block_load_days
    assert tuple(e.text for e in root.findall(f"{NS}Errors/{NS}Error")) == reading.errors
    assert tuple(e.text for e in root.findall(f"{NS}Notes/{NS}Note")) == reading.notes
    sections = root.findall(NS + "Section")
    assert [s.get("name") for s in sections] == list(reading.tables)
    for section in sections:
        check_section(section, reading.tables[section.get("name")])


def check_section(section, table: ReadingTable):
    assert section.get("title") == table.title
    assert section.get("obis") == table.obis
    assert section.get("complete") == ("true" if table.complete else "false")
    assert section.get("capturePeriod") == (None if table.capture_period is None
                                            else str(table.capture_period))
    assert int(section.get("rowCount")) == len(table.rows)
    error = section.find(NS + "Error")
    assert (error.text if error is not None else "") == table.error
    columns = section.findall(f"{NS}Columns/{NS}Column")
    assert len(columns) == len(table.columns)
    for i, (el, c) in enumerate(zip(columns, table.columns)):
        assert el.get("index") == str(i)
        assert (el.get("title"), int(el.get("classId")), el.get("obis"), int(el.get("attribute")),
                el.get("unit"), el.get("kind")) == (c.title, c.class_id, c.obis, c.attribute,
                                                     c.unit, c.kind)
        assert el.get("scaler") == (None if c.scaler is None else str(c.scaler))
    rows = section.findall(f"{NS}Rows/{NS}Row")
    assert len(rows) == len(table.rows)
    for n, (row_el, row) in enumerate(zip(rows, table.rows)):
        assert row_el.get("index") == str(n)
        cells = list(row_el)
        assert len(cells) == len(table.columns)
        for cell, value, column in zip(cells, row, table.columns):
            got = value_of(cell)
            assert same(got, value), (table.section, n, got, value)
            if column.kind == "event_code" and isinstance(value, int):
                assert cell.get("description") == describe_event(value)
            else:
                assert cell.get("description") is None


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    reading = sample_reading()
    path = tmp_path_factory.mktemp("xml") / "r.xml"
    assert write_xml(reading, path) == path
    return reading, path


def test_every_value_cross_checked(written):
    reading, path = written
    check_document(ET.parse(path).getroot(), reading)


def test_naive_reading_cross_checked(tmp_path):
    reading = sample_reading(aware=False)
    root = ET.parse(write_xml(reading, tmp_path / "n.xml")).getroot()
    check_document(root, reading)
    first = root.find(f"{NS}Section[@name='block_load']/{NS}Rows/{NS}Row/{NS}DateTime")
    assert first.text == "2024-05-01T00:00:00"


def test_odd_strings_survive(written):
    reading, path = written
    root = ET.parse(path).getroot()
    cells = list(root.find(f"{NS}Section[@name='name_plate']/{NS}Rows/{NS}Row"))
    assert cells[1].text == '=HYPERLINK("http://x")'
    assert value_of(cells[2]) == "v1.2\r\nbuild 7"  # CR kept as &#13;
    assert cells[3].get("encoding") == "base64" and value_of(cells[3]) == "\x00raw\x07"
    assert root.find(f"{NS}Notes/{NS}Note").text == "note & <check>"


def test_event_rows_have_descriptions(written):
    _, path = written
    root = ET.parse(path).getroot()
    rows = root.findall(f"{NS}Section[@name='events_voltage']/{NS}Rows/{NS}Row")
    codes = [r[1] for r in rows]
    assert [(c.text, c.get("description")) for c in codes[:3]] == [
        ("1", describe_event(1)), ("2", describe_event(2)), ("49", describe_event(49))]
    assert tag(codes[3]) == "Null"


def test_short_rows_padded_with_null(tmp_path):
    r = sample_reading()
    t = r.tables["billing"]
    short = ReadingTable(section="billing", title=t.title, obis=t.obis, columns=t.columns,
                         rows=((dt.datetime(2024, 1, 1),),))
    r2 = MeterReading(**{**{f: getattr(r, f) for f in r.__dataclass_fields__},
                         "tables": {"billing": short}})
    root = ET.parse(write_xml(r2, tmp_path / "s.xml")).getroot()
    row = root.find(f"{NS}Section/{NS}Rows/{NS}Row")
    assert [tag(c) for c in row] == ["DateTime", "Null", "Null", "Null"]


@pytest.mark.parametrize("value, xml", [
    (None, "<Null/>"), (True, "<Bool>true</Bool>"), (-7, "<Int>-7</Int>"),
    (230.12, "<Float>230.12</Float>"), (math.inf, "<Float>INF</Float>"),
    (-math.inf, "<Float>-INF</Float>"), (math.nan, "<Float>NaN</Float>"),
    (b"\x00\xff", "<Hex>00FF</Hex>"), ("a<b&c", "<Str>a&lt;b&amp;c</Str>"),
    (dt.date(2024, 2, 29), "<Date>2024-02-29</Date>"),
    (dt.time(23, 59, 1), "<Time>23:59:01</Time>"),
    ([1, [None]], "<List><Int>1</Int><List><Null/></List></List>"),
])
def test_value_xml(value, xml):
    assert value_xml(value) == xml


def test_value_xml_description_only_on_int():
    assert value_xml(3, description="a & b") == '<Int description="a &amp; b">3</Int>'


def test_odd_metadata_text_is_well_formed(tmp_path):
    r = sample_reading()
    from meterreader.reading.model import MeterIdentity

    odd = MeterReading(**{**{f: getattr(r, f) for f in r.__dataclass_fields__},
                          "identity": MeterIdentity(serial='a"b\x01<c>\n', manufacturer="ü"),
                          "errors": ("x\x02y",)})
    root = ET.parse(write_xml(odd, tmp_path / "o.xml")).getroot()
    meter = root.find(NS + "Meter")
    assert meter.get("serial") == 'a"b\uFFFD<c>\n' and meter.get("manufacturer") == "ü"
    assert root.find(f"{NS}Errors/{NS}Error").text == "x\uFFFDy"


# -- schema ---------------------------------------------------------------------------------------

def schema_declarations():
    """Element name → declared attribute names, from the XSD (named and anonymous types)."""
    xsd = ET.parse(SCHEMA).getroot()
    types = {t.get("name"): t for t in xsd.iter(XS + "complexType") if t.get("name")}

    def attributes(type_el):
        return {a.get("name") for a in type_el.iter(XS + "attribute")} if type_el is not None \
            else set()

    out = {}
    for el in xsd.iter(XS + "element"):
        type_name = (el.get("type") or "").removeprefix("mr:")
        type_el = types.get(type_name) if type_name else el.find(XS + "complexType")
        if type_name in types:
            # Only the type's own attributes (not those of nested anonymous elements).
            own = {a.get("name") for a in type_el.findall(XS + "attribute")}
            out[el.get("name")] = own
        else:
            out[el.get("name")] = attributes(type_el)
    return xsd, out


def test_schema_declares_everything_used(written):
    xsd, declared = schema_declarations()
    assert xsd.get("targetNamespace") == NAMESPACE
    _, path = written
    for el in ET.parse(path).getroot().iter():
        name = tag(el)
        assert name in declared, f"element {name} not in the schema"
        assert set(el.attrib) <= declared[name], (name, set(el.attrib) - declared[name])


@pytest.mark.skipif(shutil.which("xmllint") is None, reason="xmllint (libxml2-utils) missing")
@pytest.mark.parametrize("aware", [True, False])
def test_validates_against_xsd(tmp_path, aware):
    path = write_xml(sample_reading(aware=aware), tmp_path / "v.xml")
    done = subprocess.run(["xmllint", "--noout", "--schema", str(SCHEMA), str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.skipif(shutil.which("xmllint") is None, reason="xmllint (libxml2-utils) missing")
def test_xsd_rejects_a_broken_document(tmp_path):
    path = write_xml(sample_reading(), tmp_path / "b.xml")
    text = path.read_text().replace("<Int>17</Int>", "<Int>seventeen</Int>")
    path.write_text(text)
    done = subprocess.run(["xmllint", "--noout", "--schema", str(SCHEMA), str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "seventeen" in done.stderr
