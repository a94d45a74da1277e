"""In-process pieces of the meter command line: target and value parsing, secrets, settings from
the arguments, the noise watchdog and value display (no subprocess, no meter)."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import time
from types import SimpleNamespace

import pytest

from meterreader.cli import build_parser
from meterreader.cli_connect import (Secrets, UsageError, build_settings, build_transport,
                                     failure, resolve_secrets, tcp_address)
from meterreader.cli_run import NoiseWatchdog, TraceWriter
from meterreader.cli_values import cell_text, display, json_safe, parse_target, parse_value
from meterreader.client import AccessDenied, Framing, ObjectUndefined
from meterreader.cosem.obis import Obis
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.axdr import Data, DataTag, encode_data
from meterreader.dlms.cosem_time import CosemDateTime
from meterreader.dlms.errors import DlmsError
from meterreader.dlms.secret import SecretBytes
from meterreader.dlms.security import CipheringMode
from meterreader.dlms.xdlms import DataAccessResult
from meterreader.transport import CancelToken, ModeETransport, SerialTransport, TcpTransport

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


def args(*argv: str):
    return build_parser().parse_args(["read", *argv, "0.0.1.0.0.255"])


# -- targets --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, obis, index, class_id", [
    ("1.0.1.8.0.255", "1.0.1.8.0.255", 2, None),
    ("1.0.1.8.0.255:3", "1.0.1.8.0.255", 3, None),
    ("1-0:1.8.0*255", "1.0.1.8.0.255", 2, None),
    ("1-0:1.8.0*255:5", "1.0.1.8.0.255", 5, None),
    ("0100010800FF:2", "1.0.1.8.0.255", 2, None),
    ("3/1.0.1.8.0.255/3", "1.0.1.8.0.255", 3, 3),
    ("8/0.0.1.0.0.255", "0.0.1.0.0.255", 2, 8),
])
def test_targets(text, obis, index, class_id):
    t = parse_target(text)
    assert (t.obis, t.index, t.class_id, t.text) == (Obis.parse(obis), index, class_id, text)


@pytest.mark.parametrize("text", ["1.2.3", "1.0.1.8.0.255:0", "1.0.1.8.0.255:256",
                                  "x/1.0.1.8.0.255/2", "3/1.0.1.8.0.255/2/1", "3/nope/2", ""])
def test_bad_targets(text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse_target(text)


def test_method_targets_need_the_method():
    assert parse_target("0.0.10.0.1.255:1", what="method", default=None).index == 1
    with pytest.raises(argparse.ArgumentTypeError, match="no method"):
        parse_target("9/0.0.10.0.1.255", what="method", default=None)


# -- values ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, text, encoded", [
    ("long-unsigned", "1800", "120708"),
    ("long-unsigned", "0x0708", "120708"),
    ("integer", "-5", "0FFB"),
    ("enum", "3", "1603"),
    ("boolean", "true", "0301"),
    ("double-long", "-1", "05FFFFFFFF"),
    ("octet-string", "ABC", "0903414243"),
    ("octet-string", "0x0102FF", "09030102FF"),
    ("visible-string", "hi", "0A026869"),
    ("bit-string", "1011", "0404B0"),
    ("obis", "1.0.1.8.0.255", "09060100010800FF"),
    ("null-data", "", "00"),
    ("data", "02 02 12 00 01 09 00", "02021200010900"),
    ("float32", "1.5", "173FC00000"),
])
def test_values(kind, text, encoded):
    assert encode_data(parse_value(kind, text)).hex().upper() == encoded


def test_date_time_from_iso_text_is_the_blue_book_octet_string():
    value = parse_value("date-time", "2024-05-01T10:00:00+05:30")
    assert value.tag is DataTag.OCTET_STRING and len(value.value) == 12
    cdt = CosemDateTime.from_bytes(value.value)
    assert (cdt.year, cdt.month, cdt.day, cdt.hour, cdt.minute) == (2024, 5, 1, 10, 0)
    assert cdt.deviation == -330 and cdt.day_of_week == 3  # Blue Book sign: IST is -330
    assert parse_value("date-time", "2024-05-01T10:00:00+05:30", deviation_sign=1) \
        .value[9:11] == (330).to_bytes(2, "big")
    naive = CosemDateTime.from_bytes(parse_value("date-time", "2024-05-01T10:00").value)
    assert not naive.deviation_specified
    assert parse_value("date", "2024-05-01").value == bytes((0x07, 0xE8, 5, 1, 3))
    assert parse_value("time", "10:30:15").value == bytes((10, 30, 15, 0))


@pytest.mark.parametrize("kind, text", [("long-unsigned", "70000"), ("unsigned", "-1"),
                                        ("long", "x"), ("boolean", "maybe"),
                                        ("date-time", "May 1st"), ("octet-string", "0xABC"),
                                        ("data", "0202"), ("data", "0900FF"),
                                        ("visible-string", "é")])
def test_bad_values(kind, text):
    with pytest.raises((ValueError, DlmsError)):
        parse_value(kind, text)


# -- display --------------------------------------------------------------------------------------

def test_display_and_json_of_values():
    clock = bytes(CosemDateTime.from_datetime(dt.datetime(2024, 3, 10, 12, 0, 5, tzinfo=IST)))
    assert display(Data(DataTag.OCTET_STRING, clock)) == "2024-03-10T12:00:05+05:30"
    assert json_safe(Data(DataTag.OCTET_STRING, clock)) == "2024-03-10T12:00:05+05:30"
    assert display(Data(DataTag.OCTET_STRING, b"18034064")) == "18034064"
    assert display(Data(DataTag.OCTET_STRING, b"\x01\x00\x01\x08\x00\xff")) == \
        "1.0.1.8.0.255 (0x0100010800FF)"
    assert display(Data(DataTag.OCTET_STRING, b"\x00\x80")) == "0x0080"
    structure = Data(DataTag.STRUCTURE, (Data(DataTag.INTEGER, -2), Data(DataTag.ENUM, 35)))
    assert display(structure) == "[-2,35]" and json_safe(structure) == [-2, 35]
    assert cell_text(dt.datetime(2024, 1, 1, 0, 0, 0, 250000, tzinfo=IST)) == \
        "2024-01-01T00:00:00.250+05:30"
    assert cell_text(None) == "" and cell_text(230.12) == "230.12" and cell_text(5) == "5"


# -- secrets and settings -------------------------------------------------------------------------

class Stdin(io.StringIO):
    def __init__(self, text: str, tty: bool = False) -> None:
        super().__init__(text)
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_secrets_from_arguments_environment_and_standard_input():
    found = resolve_secrets(args("--tcp", "h", "--password", "pw123456", "--key", "0x" + "11" * 16),
                            environ={"METERREADER_EK": "00" * 16}, stdin=Stdin(""))
    assert found.password == SecretBytes(b"pw123456") and found.key == SecretBytes(b"\x11" * 16)
    assert found.ek == SecretBytes(bytes(16)) and found.ak is None
    piped = resolve_secrets(args("--tcp", "h", "--password", "-", "--key", "-"), environ={},
                            stdin=Stdin("first\r\nsecond\n"))
    assert piped.password == SecretBytes(b"first") and piped.key == SecretBytes(b"second")
    assert "***" in repr(piped) and "first" not in repr(piped)


def test_prompt_on_a_terminal_uses_getpass(monkeypatch):
    asked = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or "typed123")
    found = resolve_secrets(args("--tcp", "h", "--password", "-"), environ={},
                            stdin=Stdin("", tty=True))
    assert found.password == SecretBytes(b"typed123") and asked == ["password: "]


@pytest.mark.parametrize("argv, environ, words", [
    (("--password", "-"), {}, "standard input is empty"),
    (("--ek", "0011"), {}, "16 bytes"),
    ((), {"METERREADER_AK": "zz"}, "METERREADER_AK"),
    (("--key", "0xZZ"), {}, "--key"),
])
def test_bad_secrets(argv, environ, words):
    with pytest.raises(UsageError, match=words) as info:
        resolve_secrets(args("--tcp", "h", *argv), environ=environ, stdin=Stdin(""))
    assert "ZZ" not in str(info.value) and "zz" not in str(info.value)


def test_settings_from_association_presets_and_overrides():
    found = Secrets(password=SecretBytes(b"pw123456"))
    mr = build_settings(args("--tcp", "h:1", "--association", "mr"), found)
    assert (mr.client_sap, mr.mechanism, mr.framing) == (32, MechanismName.LOW, Framing.WRAPPER)
    assert mr.password == SecretBytes(b"pw123456")
    hdlc = build_settings(args("--serial", "COM3", "--client", "48", "--auth", "sha256",
                               "--logical", "2", "--physical", "17", "--address-size", "2",
                               "--timeout", "1.5", "--retries", "5"),
                          Secrets(key=SecretBytes(b"k" * 20)))
    assert (hdlc.client_sap, hdlc.mechanism, hdlc.framing) == (48, MechanismName.HIGH_SHA256,
                                                                Framing.HDLC)
    assert int(hdlc.mechanism) == 6  # Green Book: HLS-SHA256 is mechanism_id(6) on the wire
    assert hdlc.client_system_title[:3] == b"MRC" and len(hdlc.client_system_title) == 8
    assert (hdlc.server_logical_address, hdlc.server_physical_address, hdlc.address_size,
            hdlc.response_timeout, hdlc.retries) == (2, 17, 2, 1.5, 5)
    keys = Secrets(ek=SecretBytes(bytes(16)), ak=SecretBytes(bytes(range(16))))
    ded = build_settings(args("--tcp", "h", "--client", "64", "--auth", "gmac", "--cipher",
                              "dedicated", "--system-title", "4D52430000000001"), keys)
    assert ded.ciphering is CipheringMode.DEDICATED and len(ded.keys.dedicated_key) == 16
    assert ded.client_system_title == bytes.fromhex("4D52430000000001")
    public = build_settings(args("--tcp", "h"), Secrets())
    assert (public.client_sap, public.mechanism) == (16, MechanismName.NONE)


def test_transports_from_arguments():
    tcp = build_transport(args("--tcp", "[::1]:4060", "--timeout", "2"))
    assert isinstance(tcp, TcpTransport) and (tcp.host, tcp.port, tcp.connect_timeout) == (
        "::1", 4060, 2.0)
    serial = build_transport(args("--serial", "COM7", "--baud", "19200", "--parity", "e"))
    assert isinstance(serial, SerialTransport) and serial.line == (19200, 8, "E", 1)
    mode_e = build_transport(args("--serial", "COM7", "--mode-e", "--baud", "9600"))
    assert isinstance(mode_e, ModeETransport) and mode_e.ack_baud == 9600
    assert tcp_address("meter.local") == ("meter.local", 4059)
    for bad in ("h:0", "h:x", "[::1", ":4059"):
        with pytest.raises(argparse.ArgumentTypeError):
            tcp_address(bad)


# -- errors, trace, watchdog ----------------------------------------------------------------------

def test_failures_map_to_exit_codes():
    denied = AccessDenied("writing x: denied", result=DataAccessResult.READ_WRITE_DENIED)
    assert failure(denied) == (5, "access denied (read-write denied): writing x: denied")
    assert failure(ObjectUndefined("reading y"))[0] == 5
    assert failure(UsageError("bad"))[0] == 2
    assert failure(ConnectionRefusedError("no"))[0] == 1
    from meterreader.client import ConnectionFailed, ConnectionLost, MeterNotAnswering
    assert failure(ConnectionFailed("TCP h:1: connection refused"))[0] == 3
    assert failure(ConnectionLost("reset"))[0] == 3
    assert failure(MeterNotAnswering("silence", timeout=1, retries=3))[0] == 3


def test_trace_writer_masks_every_secret():
    out = io.StringIO()
    writer = TraceWriter(out, [b"pw123456", bytes(range(16))])
    writer("tx", "apdu", b"\x60\x08pw123456\x00" + bytes(range(16)), "AARQ pw123456")
    text = out.getvalue()
    assert "pw123456" not in text and "70 77 31" not in text and "00 01 02 03" not in text
    assert text.startswith("→ apdu    AARQ ***\n") and "2A 2A 2A 2A 2A 2A 2A 2A 00" in text


class FakeSession:
    def __init__(self) -> None:
        self.stats = SimpleNamespace(frames_received=0, apdus_received=0, bytes_received=0)


def test_watchdog_cancels_on_noise_only():
    session, token = FakeSession(), CancelToken()
    with NoiseWatchdog(session, token, limit=0.3, quiet=0.2) as dog:
        for _ in range(12):  # bytes keep coming, frames do not
            session.stats.bytes_received += 50
            time.sleep(0.05)
    assert dog.fired and token.cancelled

    session, token = FakeSession(), CancelToken()
    with NoiseWatchdog(session, token, limit=0.3, quiet=0.2) as dog:
        for _ in range(12):  # a slow but healthy stream: frames complete
            session.stats.bytes_received += 50
            session.stats.frames_received += 1
            time.sleep(0.05)
        time.sleep(0.5)  # silence (and idle time) is the session's business
    assert not dog.fired and not token.cancelled
