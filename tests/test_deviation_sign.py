"""The clock deviation sign setting (meters that send +330 for IST instead of the Blue Book's
-330): the ``--deviation-sign`` connection option of the command line, the profile field (JSON,
settings) and the connection wizard's check box."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys

import pytest

from meterreader.cli import build_parser
from meterreader.client.profile import ConnectionProfile
from meterreader.simulator.facade import SimulatedMeter

START = dt.datetime(2024, 3, 10, 12, 0)
IST = dt.timedelta(hours=5, minutes=30)
CLOCK_TIME = "0.0.1.0.0.255:2"


# -- command line ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def plus_meter():
    """A meter that sends time_zone/deviation +330 for IST (not Blue Book)."""
    with SimulatedMeter(category="C", seed=3, start=START, days_of_block_load=1,
                        deviation_sign=1) as meter:
        meter.port = meter.serve_tcp(port=0)
        yield meter


def _read_clock(meter, *extra: str) -> dt.datetime:
    """The clock as ``meterreader read`` prints it (the table's ISO 8601 value)."""
    proc = subprocess.run(
        [sys.executable, "-m", "meterreader", "read", "--tcp", f"127.0.0.1:{meter.port}",
         CLOCK_TIME, *extra], capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL, env=dict(os.environ))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = re.search(r"\b(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?[+-]\d\d:\d\d)\b",
                      proc.stdout.splitlines()[1])
    assert found, proc.stdout
    return dt.datetime.fromisoformat(found.group(1))


def test_deviation_sign_plus_one_reads_the_clock_as_ist(plus_meter):
    when = _read_clock(plus_meter, "--deviation-sign", "+1")
    assert when.utcoffset() == IST
    assert abs(when.replace(tzinfo=None) - START) < dt.timedelta(hours=1)


def test_default_blue_book_sign_reads_such_a_meter_11_hours_off(plus_meter):
    """The "wrong time zone" symptom of README Troubleshooting: -05:30 instead of +05:30."""
    for extra in ((), ("--deviation-sign", "-1")):
        when = _read_clock(plus_meter, *extra)
        assert when.utcoffset() == -IST
        assert abs(when.replace(tzinfo=None) - START) < dt.timedelta(hours=1)


def test_json_output_and_typed_writes_follow_the_sign(plus_meter):
    proc = subprocess.run(
        [sys.executable, "-m", "meterreader", "read", "--tcp", f"127.0.0.1:{plus_meter.port}",
         "--deviation-sign", "+1", "--json", CLOCK_TIME], capture_output=True, text=True,
        timeout=60, stdin=subprocess.DEVNULL, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    when = dt.datetime.fromisoformat(json.loads(proc.stdout)[0]["value"])
    assert when.utcoffset() == IST
    from meterreader.cli_values import parse_value

    text = "2024-03-10T12:00:00+05:30"
    plus, minus = parse_value("date-time", text, 1), parse_value("date-time", text, -1)
    assert plus != minus  # the deviation field is written with the meter's sign


@pytest.mark.parametrize("text, sign", [("+1", 1), ("1", 1), ("-1", -1)])
def test_option_parses_both_signs_into_the_settings(text, sign):
    from meterreader.cli_connect import Secrets, build_settings

    args = build_parser().parse_args(["read", "--tcp", "127.0.0.1", "--deviation-sign", text,
                                      CLOCK_TIME])
    assert args.deviation_sign == sign
    assert build_settings(args, Secrets()).deviation_sign == sign
    default = build_parser().parse_args(["read", "--tcp", "127.0.0.1", CLOCK_TIME])
    assert build_settings(default, Secrets()).deviation_sign == -1


@pytest.mark.parametrize("text", ["0", "2", "+", "east"])
def test_option_refuses_other_values(text, capsys):
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(["read", "--tcp", "127.0.0.1", "--deviation-sign", text,
                                   CLOCK_TIME])
    assert done.value.code == 2
    assert "--deviation-sign" in capsys.readouterr().err


# -- profile --------------------------------------------------------------------------------------

def test_profile_field_defaults_to_blue_book_and_round_trips():
    assert ConnectionProfile().deviation_sign == -1
    assert ConnectionProfile().to_settings().deviation_sign == -1
    plus = ConnectionProfile(name="plus", deviation_sign=1)
    data = plus.to_json()
    assert data["deviation_sign"] == 1
    assert ConnectionProfile.from_json(json.loads(json.dumps(data))) == plus
    assert plus.to_settings().deviation_sign == 1
    old = {k: v for k, v in data.items() if k != "deviation_sign"}  # saved before the field
    assert ConnectionProfile.from_json(old).deviation_sign == -1


@pytest.mark.parametrize("bad", [0, 2, True, -330])
def test_profile_refuses_other_signs(bad):
    assert ConnectionProfile(deviation_sign=bad).validate() == {
        "deviation_sign": "deviation sign must be -1 or +1"}


# -- wizard ---------------------------------------------------------------------------------------

def test_wizard_check_box_sets_and_shows_the_sign(qtbot, tmp_path):
    pytest.importorskip("pytestqt")
    from PySide6.QtCore import QSettings

    from ui.profile_store import ProfileStore
    from ui.wizard import ConnectionWizard

    store = ProfileStore(QSettings(str(tmp_path / "m.ini"), QSettings.Format.IniFormat),
                         secrets_path=tmp_path / "secrets.json")
    wizard = ConnectionWizard(profiles=store)
    qtbot.addWidget(wizard)
    check = wizard.addressing_page.deviation_check
    assert check.text() == "Meter sends +330 for IST (deviation sign +1)"
    assert not check.isChecked() and wizard.draft().deviation_sign == -1
    check.setChecked(True)
    assert wizard.draft().deviation_sign == 1
    store.save(wizard.draft().replace(name="plus meter"))
    assert store.load("plus meter").deviation_sign == 1

    again = ConnectionWizard(profiles=store, initial=store.load("plus meter"))
    qtbot.addWidget(again)
    assert again.addressing_page.deviation_check.isChecked()
    assert again.draft().deviation_sign == 1
    again.addressing_page.deviation_check.setChecked(False)
    assert again.draft().deviation_sign == -1
