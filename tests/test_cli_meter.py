"""The meter subcommands of ``meterreader`` run as subprocesses, like a user would, against one
simulator started in the test process: IEC 62056-47 wrapper over TCP, raw HDLC over TCP and HDLC
on a pty, for each IS 15959 association (PC, MR with a password, US with a key)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys

import pytest

from meterreader.simulator.facade import SimulatedMeter

START = dt.datetime(2024, 3, 10, 12, 0)
PASSWORD = "Pw9-x7Q2"
KEY = "Qz8!Lm2#Rt5%Vx1&"
BLOCK_LOAD = "1.0.99.1.0.255"
MEDIA = ["wrapper", "hdlc-tcp", "pty"]
CREDENTIALS = {"pc": (), "mr": ("--password", PASSWORD), "us": ("--key", KEY)}
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


@pytest.fixture(scope="module")
def meter():
    with SimulatedMeter(category="C", seed=11, start=START, days_of_block_load=3,
                        password=PASSWORD, hls_key=KEY) as m:
        m.ports = {"wrapper": m.serve_tcp(port=0), "hdlc-tcp": m.serve_tcp(port=0, hdlc=True),
                   "pty": m.serve_pty()}
        yield m


def link(meter, medium: str = "wrapper") -> list[str]:
    if medium == "pty":
        return ["--serial", meter.ports["pty"]]
    extra = ["--hdlc"] if medium == "hdlc-tcp" else []
    return ["--tcp", f"127.0.0.1:{meter.ports[medium]}", *extra]


def run(*args: str, stdin: str | None = None, env: dict | None = None):
    proc = subprocess.run([sys.executable, "-m", "meterreader", *args], input=stdin,
                          capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL if stdin is None else None,
                          env={**os.environ, **(env or {})})
    output = proc.stdout + proc.stderr
    assert PASSWORD not in output and KEY not in output
    assert "Traceback" not in output
    return proc.returncode, proc.stdout, proc.stderr


def meter_cmd(meter, command: str, *args: str, association: str = "mr",
              medium: str = "wrapper", **kw):
    return run(command, *link(meter, medium), "--association", association,
               *CREDENTIALS[association], *args, **kw)


def ok_json(meter, command: str, *args: str, **kw):
    code, out, err = meter_cmd(meter, command, *args, "--json", **kw)
    assert code == 0, err
    return json.loads(out)


# -- every medium, every association --------------------------------------------------------------

@pytest.mark.parametrize("medium", MEDIA)
@pytest.mark.parametrize("association", ["pc", "mr", "us"])
def test_read_on_every_medium_and_association(meter, medium, association):
    targets = ["0.0.1.0.0.255:2", "0.0.96.1.0.255"]
    if association != "pc":
        targets.append("1.0.1.8.0.255:2")
    result = ok_json(meter, "read", *targets, association=association, medium=medium)
    clock, serial = result[0], result[1]
    assert clock["class_id"] == 8 and clock["attribute_name"] == "time"
    when = dt.datetime.fromisoformat(clock["value"])
    assert when.utcoffset() == dt.timedelta(hours=5, minutes=30)
    assert abs(when.replace(tzinfo=None) - START) < dt.timedelta(hours=1)
    assert serial["value"] == meter.device.serial and serial["type"] == "octet-string"
    if association != "pc":
        energy = result[2]
        assert energy["class_id"] == 3 and energy["unit"] == "Wh"
        assert energy["value"] == pytest.approx(energy["raw"] * 10 ** energy["scaler"])


def test_the_issue_example_prints_a_table(meter):
    code, out, err = run("read", "--tcp", f"127.0.0.1:{meter.ports['wrapper']}",
                         "--association", "mr", "--password", PASSWORD,
                         "0.0.1.0.0.255:2", "1.0.1.8.0.255:2")
    assert code == 0 and err == ""
    header, clock, energy = out.splitlines()
    assert header.split() == ["OBIS", "Name", "Attribute", "Value", "Type"]
    assert clock.startswith("0.0.1.0.0.255") and "2 time" in clock and "+05:30" in clock
    assert energy.startswith("1.0.1.8.0.255") and " Wh " in energy
    assert energy.rstrip().endswith("double-long-unsigned")


def test_registers_scaled_demand_register_capture_time_and_explicit_class(meter):
    result = ok_json(meter, "read", "1.0.32.7.0.255", "1.0.1.6.0.255", "3/1.0.32.7.0.255/3",
                     "8/0.0.1.0.0.255/3")
    voltage, md, scaler_unit, zone = result
    assert voltage["unit"] == "V" and 150 < voltage["value"] < 300
    assert md["class_id"] == 4 and md["unit"] == "W"
    assert dt.datetime.fromisoformat(md["capture_time"]).tzinfo is not None
    assert scaler_unit["value"] == [voltage["scaler"], 35]  # 35 = V
    assert zone["value"] == -330 and zone["attribute_name"] == "time_zone"


def test_object_list_read_only_when_a_class_is_unknown(meter):
    object_list = "0.0.40.0.0.255 attribute 2"
    code, _, err = meter_cmd(meter, "read", "0.0.1.0.0.255:2", "1.0.1.8.0.255", "--trace")
    assert code == 0 and object_list not in err
    # Catalogue readings go out in one GET-with-list (value + scaler_unit of the register).
    assert err.count("GetRequestWithList") == 1
    code, _, err = meter_cmd(meter, "read", "0.0.1.0.0.255:2", "1.2.3.4.5.6", "--trace")
    assert code == 5 and err.count(object_list) == 1
    assert "object undefined" in err


def test_mode_e_opening_on_a_pty():
    with SimulatedMeter(category="C", seed=11, start=START, days_of_block_load=1,
                        password=PASSWORD, mode_e=True) as m:
        path = m.serve_pty()
        code, out, err = run("read", "--serial", path, "--mode-e", "--association", "mr",
                             "--password", PASSWORD, "0.0.96.1.0.255", "--trace")
    assert code == 0, err
    assert m.device.serial in out
    # sign-on request, identification and acknowledgement at 300 baud 7E1, then HDLC
    assert err.index("→ mode-e  IEC 62056-21 sign-on '/?!\\r\\n'") < err.index(
        "← mode-e") < err.index("→ mode-e  IEC 62056-21 sign-on '\\x06") < err.index(
        "→ hdlc    SNRM") < err.index("AARQ")


# -- objects, logical devices ---------------------------------------------------------------------

def test_objects_json_differs_per_association(meter):
    public = ok_json(meter, "objects", association="pc")
    reader = ok_json(meter, "objects", association="mr")
    names = {o["obis"] for o in public}
    assert "0.0.1.0.0.255" in names and BLOCK_LOAD not in names
    block = next(o for o in reader if o["obis"] == BLOCK_LOAD)
    assert block["class_id"] == 7 and block["class_name"] == "Profile generic"
    assert block["attributes"]["2"] == "read-only" and block["selectors"]["2"] == [1, 2]
    clock = next(o for o in public if o["obis"] == "0.0.1.0.0.255")
    assert clock["attributes"]["2"] == "read-only" and clock["name"] == "Clock"


def test_objects_table_and_class_filter(meter):
    code, out, err = meter_cmd(meter, "objects", "--class", "7", medium="hdlc-tcp")
    assert code == 0, err
    table, footer = out.split("\n\n")
    header, *rows = table.splitlines()
    assert header.split()[:4] == ["Class", "Ver", "OBIS", "Name"]
    assert rows and all(r.startswith("7 Profile generic") for r in rows)
    assert any(BLOCK_LOAD in r and "2:r" in r for r in rows)
    assert footer.startswith(f"{len(rows)} objects; access: r read")


def test_logical_devices(meter):
    devices = ok_json(meter, "logical-devices", medium="pty")
    assert [d["sap"] for d in devices][:1] == [1]
    assert devices[0]["name"].startswith("MRD")
    code, out, _ = meter_cmd(meter, "logical-devices", association="pc")
    assert code == 0 and out.splitlines()[0].split() == ["SAP", "Logical", "device", "name"]


# -- write, action (utility settings) -------------------------------------------------------------

def _value(meter, target: str, **kw):
    [reading] = ok_json(meter, "read", target, **kw)
    return reading["value"]


def test_write_then_read_back_under_utility_settings(meter):
    target = "1.0.0.8.0.255:2"  # demand integration period
    before = _value(meter, target, association="us")
    try:
        code, out, err = meter_cmd(meter, "write", target, "1800", "--type", "long-unsigned",
                                   association="us", medium="hdlc-tcp")
        assert code == 0, err
        assert out.startswith("wrote 1.0.0.8.0.255 attribute 2") and "1800 (long-unsigned)" in out
        assert _value(meter, target, association="mr") == 1800
    finally:
        meter_cmd(meter, "write", target, str(before), "--type", "long-unsigned",
                  association="us")
    assert _value(meter, target, association="us") == before


def test_action_md_reset_increments_billing_count(meter):
    count = _value(meter, "0.0.0.1.0.255:2", association="us")
    code, out, err = meter_cmd(meter, "action", "0.0.10.0.1.255:1", "--class", "9", "--param",
                               "long-unsigned:1", association="us")
    assert code == 0, err
    assert out.strip() == ("invoked 0.0.10.0.1.255 method 1 (execute) of class 9 "
                           "(Script table): success")
    assert _value(meter, "0.0.0.1.0.255:2", association="mr") == count + 1
    result = ok_json(meter, "action", "9/0.0.10.0.1.255/1", "--param", "long-unsigned:1",
                     association="us", medium="pty")
    assert result["result"] == "success" and result["class_id"] == 9
    assert _value(meter, "0.0.0.1.0.255:2", association="mr") == count + 2


# -- profiles -------------------------------------------------------------------------------------

def _csv(text: str) -> tuple[list[str], list[list[str]]]:
    header, *rows = list(csv.reader(io.StringIO(text)))
    return header, rows


def test_profile_csv_by_entries_and_by_range(meter, tmp_path):
    code, out, err = meter_cmd(meter, "profile", BLOCK_LOAD, "--entries", "1:")
    assert code == 0, err
    header, whole = _csv(out)
    assert header[0] == "Clock" and "Average voltage L1 (V)" in header
    assert "Average current L1 (A)" in header and any(h.endswith("(Wh)") for h in header)
    assert 200 < len(whole) <= 3 * 96
    times = [dt.datetime.fromisoformat(row[0]) for row in whole]
    assert all(t.utcoffset() == dt.timedelta(hours=5, minutes=30) for t in times)
    assert times == sorted(times) and times[-1].replace(tzinfo=None) <= START
    voltage = header.index("Average voltage L1 (V)")
    volts = [float(row[voltage]) for row in whole]  # scaled; outages pull some averages down
    assert all(0 <= v < 300 for v in volts) and sum(v > 200 for v in volts) > 0.9 * len(volts)

    output = tmp_path / "range.csv"
    code, out, err = meter_cmd(meter, "profile", BLOCK_LOAD, "--from", whole[10][0], "--to",
                               whole[20][0], "--output", str(output), medium="hdlc-tcp")
    assert code == 0 and out == "" and "11 rows written" in err
    assert _csv(output.read_text()) == (header, whole[10:21])

    # Naive bounds are meter local time.
    naive = [times[30].replace(tzinfo=None).isoformat(), times[33].replace(tzinfo=None).isoformat()]
    code, out, _ = meter_cmd(meter, "profile", BLOCK_LOAD, "--from", naive[0], "--to", naive[1],
                             medium="pty")
    assert code == 0 and _csv(out)[1] == whole[30:34]
    code, out, _ = meter_cmd(meter, "profile", BLOCK_LOAD, "--entries", "31:34")
    assert code == 0 and _csv(out)[1] == whole[30:34]


def test_profile_json_and_last_days(meter):
    doc = ok_json(meter, "profile", BLOCK_LOAD, "--entries", "1:2")
    assert doc["obis"] == BLOCK_LOAD and doc["complete"] is True and doc["error"] is None
    assert len(doc["rows"]) == 2 and doc["columns"][0]["class_id"] == 8
    volts = next(c for c in doc["columns"] if c["title"] == "Average voltage L1 (V)")
    assert volts["unit"] == "V" and volts["scaler"] is not None
    code, out, err = meter_cmd(meter, "profile", BLOCK_LOAD, "--last-days", "1",
                               "--format", "json")
    assert code == 0, err
    rows = json.loads(out)["rows"]
    first, last = (dt.datetime.fromisoformat(r[0]) for r in (rows[0], rows[-1]))
    assert 80 <= len(rows) <= 97 and last - first <= dt.timedelta(days=1)


# -- secrets, demo --------------------------------------------------------------------------------

def test_secrets_from_environment_and_standard_input(meter):
    code, out, err = run("read", *link(meter), "--association", "mr", "0.0.96.1.0.255",
                         env={"METERREADER_PASSWORD": PASSWORD})
    assert code == 0 and meter.device.serial in out, err
    code, out, err = run("read", *link(meter, "hdlc-tcp"), "--association", "us",
                         "0.0.96.1.0.255", env={"METERREADER_KEY": KEY})
    assert code == 0 and meter.device.serial in out, err
    code, out, err = run("read", *link(meter), "--association", "mr", "--password", "-",
                         "0.0.96.1.0.255", stdin=PASSWORD + "\n")
    assert code == 0 and meter.device.serial in out, err


@pytest.mark.parametrize("medium", ["wrapper", "hdlc-tcp"])
def test_trace_shows_frames_and_apdus_but_never_the_password(meter, medium):
    code, out, err = meter_cmd(meter, "read", "0.0.1.0.0.255:2", "--trace", medium=medium)
    assert code == 0
    layer = "wrapper" if medium == "wrapper" else "hdlc"
    assert f"→ {layer}" in err and "← apdu    AARE accepted" in err
    assert "GetRequestNormal class 8 0.0.1.0.0.255 attribute 2" in err
    hexed = PASSWORD.encode().hex(" ").upper()
    assert hexed not in err and PASSWORD.encode().hex() not in err.lower().replace(" ", "")
    assert "2A " * 7 + "2A" in err  # the AARQ's calling-authentication-value, masked
    assert "0.0.1.0.0.255" in out


def test_demo_prints_the_simulator_serial():
    serial = SimulatedMeter().device.serial
    code, out, err = run("demo")
    assert code == 0, err
    assert f"Serial number  {serial}" in out
    assert "Voltage L1" in out and " V\n" in out and "kWh" in out
    assert "Block load profile 1.0.99.1.0.255: last 4" in out
    assert "SAP 1" in out and "AARQ" in out and "AARE" in out
