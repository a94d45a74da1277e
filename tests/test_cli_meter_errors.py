"""Failures of the meter subcommands, run as subprocesses: each ends with one clear message on
standard error, no traceback, no secret, and its documented exit code (2 bad arguments,
3 connection failure, 4 association rejected, 5 access denied / object undefined)."""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
import socket
import subprocess
import sys
import threading
import time

import pytest

from meterreader.simulator.facade import SimulatedMeter

START = dt.datetime(2024, 3, 10, 12, 0)
PASSWORD = "Pw9-x7Q2"
KEY = "Qz8!Lm2#Rt5%Vx1&"


@pytest.fixture(scope="module")
def meter():
    with SimulatedMeter(category="C", seed=12, start=START, days_of_block_load=1,
                        password=PASSWORD, hls_key=KEY) as m:
        m.ports = {"wrapper": m.serve_tcp(port=0), "hdlc-tcp": m.serve_tcp(port=0, hdlc=True),
                   "pty": m.serve_pty()}
        yield m


def run(*args: str, env: dict | None = None, stdin: str | None = None):
    proc = subprocess.run([sys.executable, "-m", "meterreader", *args], capture_output=True,
                          text=True, timeout=60, input=stdin,
                          stdin=subprocess.DEVNULL if stdin is None else None,
                          env={**os.environ, **(env or {})})
    output = proc.stdout + proc.stderr
    assert PASSWORD not in output and KEY not in output
    assert "Traceback" not in output
    return proc.returncode, proc.stdout, proc.stderr


def one_message(err: str, command: str = "read") -> str:
    """The message line the CLI printed on standard error (a connect failure may be followed
    by diagnosis lines, indented)."""
    assert err.endswith("\n"), err
    first, *rest = err.splitlines()
    assert first.startswith(f"meterreader {command}: ")
    assert all(not line or line.startswith(" ") for line in rest), err
    return first + "\n"


def tcp(meter, medium: str = "wrapper") -> list[str]:
    return ["--tcp", f"127.0.0.1:{meter.ports[medium]}"] + (
        ["--hdlc"] if medium == "hdlc-tcp" else [])


MEDIUM_ARGS = {
    "wrapper": lambda m: tcp(m),
    "hdlc-tcp": lambda m: tcp(m, "hdlc-tcp"),
    "pty": lambda m: ["--serial", m.ports["pty"]],
}


# -- association rejected (4) ---------------------------------------------------------------------

@pytest.mark.parametrize("medium", ["wrapper", "hdlc-tcp", "pty"])
def test_wrong_password_is_authentication_failure(meter, medium):
    code, out, err = run("read", *MEDIUM_ARGS[medium](meter), "--association", "mr",
                         "--password", "wrongpw1", "0.0.1.0.0.255:2")
    assert code == 4 and out == ""
    assert "association rejected" in one_message(err) and "authentication failure" in err


def test_wrong_hls_key_is_rejected(meter):
    code, _, err = run("read", *tcp(meter), "--association", "us", "--key", "0" * 16,
                       "0.0.1.0.0.255:2")
    assert code == 4 and "authentication failure" in one_message(err)


def test_unknown_client_sap_is_rejected(meter):
    code, _, err = run("read", *tcp(meter), "--client", "99", "0.0.1.0.0.255:2")
    assert code == 4 and "association rejected" in one_message(err)


# -- refusals of a service (5) --------------------------------------------------------------------

@pytest.mark.parametrize("target", ["1.2.3.4.5.6:2", "3/1.2.3.4.5.6/2"])
def test_unknown_obis_is_object_undefined(meter, target):
    code, out, err = run("read", *tcp(meter), "--association", "mr", "--password", PASSWORD,
                         target)
    assert code == 5 and out == ""
    assert "object undefined" in one_message(err) and "1.2.3.4.5.6" in err


def test_unknown_obis_among_good_ones_still_prints_the_good_ones(meter):
    code, out, err = run("read", *tcp(meter, "hdlc-tcp"), "0.0.96.1.0.255", "1.2.3.4.5.6")
    assert code == 5
    assert meter.device.serial in out and "1.2.3.4.5.6" not in out
    assert "object undefined" in one_message(err)


def test_public_client_writing_the_clock_is_denied(meter):
    code, out, err = run("write", *tcp(meter), "0.0.1.0.0.255:2", "2024-03-10T12:00:00+05:30",
                         "--type", "date-time")
    assert code == 5 and out == ""
    assert "access denied (read-write denied)" in one_message(err, "write")
    assert "0.0.1.0.0.255 attribute 2 (time) of class 8 (Clock)" in err


def test_meter_reader_cannot_reset_md(meter):
    code, _, err = run("action", *tcp(meter), "--association", "mr", "--password", PASSWORD,
                       "0.0.10.0.1.255:1", "--class", "9", "--param", "long-unsigned:1")
    assert code == 5 and "access denied" in one_message(err, "action")


# -- connection failures (3) ----------------------------------------------------------------------

class Listener:
    """A local TCP peer that accepts and then stays silent, or sends random bytes."""

    def __init__(self, garbage: bool = False) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.garbage = garbage
        self.conns: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        rng = random.Random(4059)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
                self.conns.append(conn)
            except OSError:
                pass
            for conn in list(self.conns) if self.garbage else ():
                try:
                    conn.sendall(bytes(rng.randrange(256) for _ in range(97)))
                except OSError:
                    self.conns.remove(conn)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for conn in self.conns:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent():
    listener = Listener()
    yield listener
    listener.close()


@pytest.fixture
def garbage():
    listener = Listener(garbage=True)
    yield listener
    listener.close()


@pytest.mark.parametrize("hdlc", [False, True])
def test_meter_not_answering(silent, hdlc):
    started = time.monotonic()
    code, out, err = run("read", "--tcp", f"127.0.0.1:{silent.port}",
                         *(["--hdlc"] if hdlc else []), "--timeout", "0.4", "--retries", "2",
                         "0.0.1.0.0.255:2")
    elapsed = time.monotonic() - started
    assert code == 3 and out == ""
    assert "meter not answering: no answer from the meter within 0.4 s" in one_message(err)
    # wrapper: one timeout; HDLC: the SNRM and its 2 repetitions. Plus interpreter start-up.
    assert elapsed < (1.2 if hdlc else 0.4) + 4.0
    if hdlc:
        assert elapsed >= 1.2 and "(2 retries)" in err


def test_connection_refused():
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    code, out, err = run("read", "--tcp", f"127.0.0.1:{port}", "0.0.1.0.0.255:2")
    assert code == 3 and out == ""
    assert "cannot connect: TCP 127.0.0.1" in one_message(err) and "refused" in err


def test_no_such_serial_port():
    code, _, err = run("objects", "--serial", "/dev/no-such-meter-port")
    assert code == 3 and "cannot connect: serial /dev/no-such-meter-port" in one_message(
        err, "objects")


@pytest.mark.parametrize("hdlc", [False, True])
def test_garbage_from_the_peer(garbage, hdlc):
    code, out, err = run("read", "--tcp", f"127.0.0.1:{garbage.port}",
                         *(["--hdlc"] if hdlc else []), "--timeout", "0.4", "--retries", "1",
                         "0.0.1.0.0.255:2")
    assert code in (1, 3) and out == ""
    message = one_message(err)
    assert ("protocol error" in message) if code == 1 else ("not answering" in message)


def test_partial_profile_is_written_and_fails():
    with SimulatedMeter(category="C", seed=3, start=START, days_of_block_load=7,
                        max_pdu_size=1024, faults=["reset=20000"], password=PASSWORD) as m:
        port = m.serve_tcp(port=0)
        code, out, err = run("profile", "--tcp", f"127.0.0.1:{port}", "--association", "mr",
                             "--password", PASSWORD, "1.0.99.1.0.255")
    assert code == 3
    header, *rows = list(csv.reader(out.splitlines()))
    assert header[0] == "Clock" and 50 < len(rows) < 7 * 96
    assert all(dt.datetime.fromisoformat(r[0]).tzinfo is not None for r in rows)
    message = one_message(err, "profile")
    assert f"transfer failed part-way: {len(rows)} rows kept" in message
    assert "connection lost" in message


# -- bad arguments (2) ----------------------------------------------------------------------------

@pytest.mark.parametrize("args, words", [
    (("read", "0.0.1.0.0.255:2"), "one of the arguments --tcp --serial is required"),
    (("read", "--tcp", "127.0.0.1:99999", "0.0.1.0.0.255"), "HOST:PORT"),
    (("read", "--tcp", "127.0.0.1:1", "--address-size", "3", "0.0.1.0.0.255"), "invalid choice"),
    (("read", "--tcp", "127.0.0.1:1", "0.0.1.0.0.255:x"), "bad attribute"),
    (("read", "--tcp", "127.0.0.1:1", "1.2.3"), "not a target"),
    (("read", "--tcp", "127.0.0.1:1", "--auth", "sha512", "0.0.1.0.0.255"), "invalid choice"),
    (("action", "--tcp", "127.0.0.1:1", "0.0.10.0.1.255"), "no method"),
    (("action", "--tcp", "127.0.0.1:1", "0.0.10.0.1.255:1", "--param", "int:1"), "TYPE:VALUE"),
    (("write", "--tcp", "127.0.0.1:1", "1.0.0.8.0.255:2", "70000", "--type", "long-unsigned"),
     "long-unsigned"),
    (("write", "--tcp", "127.0.0.1:1", "1.0.0.8.0.255:2", "abc", "--type", "long-unsigned"),
     "not an integer"),
    (("write", "--tcp", "127.0.0.1:1", "0.0.1.0.0.255:2", "yesterday", "--type", "date-time"),
     "not an ISO 8601 date-time"),
    (("profile", "--tcp", "127.0.0.1:1", "1.0.99.1.0.255", "--entries", "5:2"), "FIRST:LAST"),
    (("profile", "--tcp", "127.0.0.1:1", "1.0.99.1.0.255", "--entries", "1:2", "--last-days",
      "2"), "exclude each other"),
    (("profile", "--tcp", "127.0.0.1:1", "1.0.99.1.0.255", "--from", "2024-03-02", "--to",
      "2024-03-01"), "--from is after --to"),
    (("read", "--tcp", "127.0.0.1:1", "--association", "mr", "0.0.1.0.0.255"),
     "authenticates with a password"),
    (("read", "--tcp", "127.0.0.1:1", "--association", "us", "--key", "short", "0.0.1.0.0.255"),
     "16-byte key"),
    (("read", "--tcp", "127.0.0.1:1", "--client", "64", "--auth", "gmac", "0.0.1.0.0.255"),
     "--ek and --ak"),
    (("read", "--tcp", "127.0.0.1:1", "--cipher", "global", "--ek", "00" * 16, "--ak", "zz",
      "0.0.1.0.0.255"), "--ak"),
    (("read", "--tcp", "127.0.0.1:1", "--association", "mr", "--password", "-",
      "0.0.1.0.0.255"), "standard input is empty"),
])
def test_bad_arguments_exit_2_before_connecting(args, words):
    code, out, err = run(*args)  # port 1 is never contacted: the arguments fail first
    assert code == 2 and out == ""
    assert words in err and "cannot connect" not in err


def test_bad_key_from_environment_names_the_variable():
    code, _, err = run("read", "--tcp", "127.0.0.1:1", "--association", "us", "0.0.1.0.0.255",
                       env={"METERREADER_KEY": "0xABC"})
    assert code == 2 and "METERREADER_KEY" in err and "ABC" not in err


def test_help_documents_the_exit_codes():
    code, out, _ = run("read", "--help")
    assert code == 0
    for line in ("0  success", "2  bad arguments", "3  connection failure",
                 "4  association rejected", "5  access denied"):
        assert line in out
    assert "mechanism_id 6" in out
    code, out, _ = run("--help")
    assert code == 0 and "4  association rejected" in out and "logical-devices" in out
