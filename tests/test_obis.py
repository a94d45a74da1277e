"""OBIS parsing/formatting (meterreader.cosem.obis) and names (meterreader.cosem.obis_names).

The name tests parse every OBIS code out of /work/shared/IS15959.md (override the folder with
MR_SHARED_DIR) and require a name for each.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterreader.cosem.obis import Obis
from meterreader.cosem.obis_names import obis_name, obis_names_catalogue
from meterreader.dlms.errors import DecodeError, LocalProtocolError, Reason

from shared_data import shared_file
OBIS_IN_TEXT = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){5}(?![\d.])")

codes = st.builds(Obis, *[st.integers(0, 255)] * 6)


# --- parsing and formatting -------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "1.0.1.8.0.255", "1-0:1.8.0*255", "1-0:1.8.0", "1-0:1.8.0.255", "1-0:1.8.0&255",
    "0100010800FF", "01 00 01 08 00 ff", "0x0100010800FF", "  1.0.1.8.0.255\n",
])
def test_parse_forms(text: str) -> None:
    assert Obis.parse(text) == Obis(1, 0, 1, 8, 0, 255)


def test_parse_passes_obis_and_bytes_through() -> None:
    o = Obis(0, 0, 1, 0, 0, 255)
    assert Obis.parse(o) is o
    assert Obis.parse(b"\x00\x00\x01\x00\x00\xff") == o
    assert Obis.parse(bytearray(b"\x00\x00\x01\x00\x00\xff")) == o


def test_formats() -> None:
    o = Obis(1, 0, 99, 1, 0, 255)
    assert str(o) == "1.0.99.1.0.255"
    assert o.reduced() == "1-0:99.1.0*255"
    assert bytes(o) == bytes.fromhex("01006301 00FF".replace(" ", ""))
    assert type(bytes(o)) is bytes


def test_from_bytes_decodes_wire_form() -> None:
    assert Obis.from_bytes(bytes.fromhex("0000280001FF")) == Obis(0, 0, 40, 0, 1, 255)
    assert Obis.from_bytes(bytes.fromhex("01005E5B00FF")) == Obis(1, 0, 94, 91, 0, 255)


@pytest.mark.parametrize("data", [b"", b"\x01\x00\x01\x08\x00", b"\x01\x00\x01\x08\x00\xff\x00"])
def test_from_bytes_wrong_length(data: bytes) -> None:
    with pytest.raises(DecodeError) as info:
        Obis.from_bytes(data)
    assert info.value.reason is Reason.BAD_LENGTH
    assert info.value.data == data


@pytest.mark.parametrize("text", [
    "", "1.8.0", "1.0.1.8.0", "1.0.1.8.0.256", "1.0.1.8.0.255.0", "1-0:1.8", "1-0:1.8.0*256",
    "256-0:1.8.0*255", "0100010800", "0100010800FF00", "01000108 00FZ", "a.b.c.d.e.f",
    "1.0.1.8.0.-1", "1,0,1,8,0,255", "01\u00a000010800FF", "\u0661.0.1.8.0.255", "1.0.1.8.0.2555",
])
def test_invalid_text_raises_local_protocol_error(text: str) -> None:
    with pytest.raises(LocalProtocolError):
        Obis.parse(text)


@pytest.mark.parametrize("value", [None, 123, 1.5, ["1.0.1.8.0.255"]])
def test_parse_wrong_type_raises_local_protocol_error(value: object) -> None:
    with pytest.raises(LocalProtocolError):
        Obis.parse(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("groups", [(256, 0, 1, 8, 0, 255), (1, 0, 1, 8, 0, -1),
                                    (1, 0, 1, 8, True, 255), (1, 0, 1.0, 8, 0, 255)])
def test_constructor_validates(groups: tuple) -> None:
    with pytest.raises(LocalProtocolError):
        Obis(*groups)


@given(codes)
def test_round_trips(o: Obis) -> None:
    assert Obis.from_bytes(bytes(o)) == o
    assert Obis.parse(str(o)) == o
    assert Obis.parse(o.reduced()) == o
    assert Obis.parse(bytes(o).hex()) == o
    assert Obis.parse(bytes(o).hex(" ").upper()) == o


@given(st.text(max_size=30))
def test_parse_any_text_raises_only_local_protocol_error(text: str) -> None:
    try:
        o = Obis.parse(text)
    except LocalProtocolError:
        return
    assert isinstance(o, Obis)


def test_ordering_and_hashing() -> None:
    a, b = Obis(0, 0, 1, 0, 0, 255), Obis(1, 0, 1, 8, 0, 255)
    assert a < b
    assert {a: 1}[Obis.parse("0.0.1.0.0.255")] == 1


# --- names ------------------------------------------------------------------------------------

def _is15959_codes() -> list[str]:
    path = shared_file("IS15959.md")
    return sorted(set(OBIS_IN_TEXT.findall(path.read_text(encoding="utf-8"))))


def test_is15959_notes_list_many_codes() -> None:
    found = _is15959_codes()
    assert len(found) >= 40
    assert "1.0.94.91.0.255" in found and "0.0.99.98.6.255" in found


def test_every_is15959_code_has_a_name() -> None:
    missing = [code for code in _is15959_codes() if not obis_name(code)]
    assert missing == []


@pytest.mark.parametrize("code, name", [
    ("0.0.40.0.1.255", "Association LN — public client (PC)"),
    ("0.0.40.0.2.255", "Association LN — meter reader (MR, LLS)"),
    ("0.0.40.0.3.255", "Association LN — utility settings (US, HLS)"),
    ("1.0.94.91.4.255", "Scaler profile — block load profile"),
    ("0.0.1.0.0.255", "Clock"),
    ("0.0.96.3.10.255", "Disconnect control"),
    ("1.0.1.8.0.255", "Cumulative energy kWh import"),
    ("1.0.32.7.0.255", "Voltage L1 (R phase)"),
])
def test_exact_names(code: str, name: str) -> None:
    assert obis_name(code) == name


@pytest.mark.parametrize("code", [
    "0.0.99.98.0.255", "0.0.99.98.1.255", "0.0.99.98.2.255", "0.0.99.98.3.255",
    "0.0.99.98.4.255", "0.0.99.98.5.255", "0.0.99.98.6.255",
    "0.0.41.0.0.255", "0.0.42.0.0.255", "0.0.13.0.0.255", "0.0.11.0.0.255", "0.0.10.0.0.255",
    "0.0.10.0.1.255", "0.0.10.0.100.255", "0.0.15.0.0.255", "0.0.14.0.0.255", "0.0.22.0.0.255",
    "0.0.20.0.0.255", "0.0.25.0.0.255", "0.0.43.0.0.255", "0.0.43.0.2.255", "0.0.44.0.0.255",
    "0.0.17.0.0.255", "0.0.25.9.0.255", "0.0.96.11.0.255", "0.0.96.11.4.255",
])
def test_abstract_objects_are_named(code: str) -> None:
    assert obis_name(code)


@pytest.mark.parametrize("code, name", [
    ("1.0.1.8.1.255", "Active energy import (+A) — tariff 1"),
    ("1.0.2.8.3.255", "Active energy export (−A) — tariff 3"),
    ("1.0.21.8.0.255", "Active energy L1 import (+A)"),
    ("1.0.41.7.0.255", "Active power L2 import (+P), instantaneous"),
    ("1.0.52.7.5.255", "Voltage L2, instantaneous — harmonic 5"),
    ("1.0.51.28.0.255", "Current L2, average over recording interval 2"),
    ("1.0.3.29.0.255", "Reactive energy import (+R), block energy (recording interval 1)"),
    ("1.0.9.6.2.255", "Apparent power import (+S), maximum demand — tariff 2"),
    ("1.0.32.6.0.255", "Voltage L1, maximum 1"),
    ("1.0.12.7.0.255", "Voltage (any phase), instantaneous"),
    ("1.0.15.8.0.255", "Active energy |+A|+|−A|"),
    ("1.0.32.36.0.255", "Voltage L1, over-limit occurrence counter"),
    ("1.0.81.7.4.255", "Phase angle, instantaneous (E=4)"),
    ("0.0.25.9.2.255", "Push setup #2"),
    ("0.0.40.0.9.255", "Association #9"),
    ("0.0.99.98.9.255", "Event log #9"),
    ("0.0.96.1.2.255", "Device ID 3"),
    ("1.0.0.8.5.255", "Recording interval 2 (load profile capture period)"),
    ("0.0.96.60.0.255", "Manufacturer-specific service entry"),
    ("1.0.130.7.0.255", "Manufacturer-specific object"),
])
def test_generic_family_names(code: str, name: str) -> None:
    assert obis_name(code) == name


def test_channel_and_billing_period_suffixes() -> None:
    assert obis_name("1.0.1.8.0.3") == "Cumulative energy kWh import — billing period 3"
    assert obis_name("1.2.1.8.0.255") == "Cumulative energy kWh import (channel 2)"
    assert obis_name("1.0.1.8.1.101") == "Active energy import (+A) — tariff 1 (F=101)"


def test_unknown_codes_have_no_name() -> None:
    assert obis_name("7.0.3.0.0.255") is None  # gas: not covered
    assert obis_name("0.0.200.0.0.255") is None  # reserved C
    assert obis_name("1.0.1.99.0.255") is None  # electricity D without a standard meaning


def test_name_accepts_every_form_and_obis_property() -> None:
    o = Obis(0, 0, 1, 0, 0, 255)
    assert obis_name(o) == obis_name("0-0:1.0.0") == obis_name(bytes(o)) == o.name == "Clock"
    with pytest.raises(LocalProtocolError):
        obis_name("1.8.0")


@given(codes)
def test_obis_name_is_total(o: Obis) -> None:
    name = obis_name(o)
    assert name is None or (isinstance(name, str) and name.strip() == name and name)


def test_catalogue() -> None:
    catalogue = obis_names_catalogue()
    assert catalogue[Obis(0, 0, 40, 0, 0, 255)] == "Current association (Association LN)"
    assert list(catalogue) == sorted(catalogue)
    assert all(obis_name(code) == name for code, name in catalogue.items())
    catalogue.clear()  # a fresh copy each time
    assert obis_names_catalogue()
