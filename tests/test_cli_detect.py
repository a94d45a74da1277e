"""``meterreader detect`` and the diagnosis after a failed connect of the meter commands."""

from __future__ import annotations

import json
import socket

import pytest

from meterreader.cli import main
from meterreader.cli_connect import DIAGNOSE_ENV, TrafficTail, diagnosis_lines, failure
from meterreader.client.errors import MeterNotAnswering
from meterreader.simulator import SimulatedMeter


@pytest.fixture(scope="module")
def meter():
    with SimulatedMeter(seed=7) as m:
        m.ports = {"wrapper": m.serve_tcp(port=0), "hdlc": m.serve_tcp(port=0, hdlc=True),
                   "pty": m.serve_pty()}
        yield m


def free_port() -> int:
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_detect_tcp_raw_hdlc_prints_settings_and_options(meter, capsys):
    port = meter.ports["hdlc"]
    code = main(["detect", "--tcp", f"127.0.0.1:{port}", "--probe-timeout", "0.4"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "meter found:" in out and meter.device.serial in out
    assert f"options: --tcp 127.0.0.1:{port} --hdlc --logical 1 --physical 256 " \
           f"--address-size 4 --client 16" in out
    assert "wrapper, logical device 1" in err and "SILENCE" in err and "→ UA" in err
    assert "associate as public client 16 → associated" in err


def test_detect_serial_pty(meter, capsys):
    code = main(["detect", "--serial", meter.ports["pty"]])
    out, err = capsys.readouterr()
    assert code == 0 and f"--serial {meter.ports['pty']} --baud 9600 --logical 1" in out
    assert "HDLC 9600 8N1, server 1/256 (4-byte), client 16 → UA" in err


def test_detect_json(meter, capsys):
    code = main(["detect", "--tcp", f"127.0.0.1:{meter.ports['wrapper']}", "--json"])
    out, _ = capsys.readouterr()
    data = json.loads(out)
    assert code == 0 and data["found"] is True and data["diagnosis"] is None
    assert data["meter"]["profile"]["framing"] == "wrapper"
    assert data["meter"]["connection"].endswith("wrapper · client 16 → logical device 1")
    assert data["meter"]["serial"] == meter.device.serial
    assert data["meter"]["logical_devices"][0]["sap"] == 1
    assert data["attempts"][0]["answer"] == "wrapper" and data["attempts"][0]["tx"]
    assert "password" not in data["meter"]["profile"]


def test_detect_nothing_found_exits_3_with_diagnosis(capsys):
    code = main(["detect", "--tcp", f"127.0.0.1:{free_port()}"])
    out, err = capsys.readouterr()
    assert code == 3 and out == ""
    assert "no meter found: Connection refused" in err and "try: " in err


def test_detect_arguments():
    assert main(["detect"]) == 2
    assert main(["detect", "--tcp", "h:1", "--budget", "0"]) == 2


def test_meter_command_prints_the_diagnosis_after_the_message(meter, capsys, monkeypatch):
    monkeypatch.setenv(DIAGNOSE_ENV, "1")
    code = main(["read", "--tcp", f"127.0.0.1:{meter.ports['wrapper']}", "--association", "mr",
                 "--password", "wrongpw1", "0.0.1.0.0.255:2"])
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert code == 4 and lines[0].startswith("meterreader read: association rejected: ")
    assert lines[1] == "  Association rejected: wrong password or key"
    assert any(line.startswith("  try: ") for line in lines)
    assert any(line.startswith("  received: 00 01 00 01 00 20") for line in lines)  # the AARE
    assert "wrongpw1" not in err and b"wrongpw1".hex() not in err.replace(" ", "").lower()


def test_failure_keeps_one_line_unless_asked(monkeypatch):
    exc = MeterNotAnswering("no answer", timeout=1, retries=3)
    monkeypatch.setenv(DIAGNOSE_ENV, "0")
    assert failure(exc) == (3, "meter not answering: no answer")
    monkeypatch.setenv(DIAGNOSE_ENV, "1")
    code, message = failure(exc)
    assert code == 3 and message.splitlines()[0] == "meter not answering: no answer"
    assert "No answer" in message.splitlines()[1]


def test_diagnosis_lines_use_the_recorded_bytes():
    tail = TrafficTail(medium="serial")
    tail("tx", b"\x7e\xa0")
    tail("rx", bytes(range(0x80, 0x98)))
    lines = diagnosis_lines(MeterNotAnswering("x", timeout=1, retries=3), tail)
    assert "baud" in lines[0] and lines[-1].startswith("  received: 80 81 82")


def test_wrong_hls_key_is_diagnosed_as_a_wrong_key(meter, capsys, monkeypatch):
    monkeypatch.setenv(DIAGNOSE_ENV, "1")
    code = main(["read", "--tcp", f"127.0.0.1:{meter.ports['wrapper']}", "--association", "us",
                 "--key", "0" * 16, "0.0.1.0.0.255:2"])
    lines = capsys.readouterr().err.splitlines()
    assert code == 4 and lines[1] == "  Association rejected: wrong password or key"
    assert not any("must authenticate" in line for line in lines)
