"""Conformance bench core: runner verdicts and ordering, evidence, JSON/XLSX reports, the CLI."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from meterreader.client.profile import ConnectionProfile
from meterreader.conformance import (CheckContext, CheckFailed, CheckOutcome, CheckSkipped,
                                     ConformanceReport, ConformanceTarget, Evidence, Verdict,
                                     registry)
from meterreader.conformance.context import MAX_EVIDENCE, MAX_EVIDENCE_BYTES
from meterreader.conformance.model import ReportFormatError
from meterreader.conformance.report import (CHECK_COLUMNS, EVIDENCE_COLUMNS, pdf_available,
                                            save_pdf, save_xlsx, write_reports)
from meterreader.conformance.runner import plan_checks, run_conformance
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.errors import LocalProtocolError
from meterreader.dlms.secret import SecretBytes
from meterreader.india.associations import DEFAULT_HLS_KEY, DEFAULT_LLS_PASSWORD
from meterreader.simulator import SimulatedMeter
from meterreader.transport.base import CancelToken

ROOT = Path(__file__).resolve().parents[1]
E1_CHECKS = ("assoc-accept-pc", "assoc-accept-mr", "assoc-accept-us",
             "assoc-reject-wrong-secret", "assoc-reject-unknown-client", "object-list",
             "access-declared", "access-enforced", "data-types")


@pytest.fixture(scope="module")
def meter_c():
    meter = SimulatedMeter(category="C", seed=3, days_of_block_load=2)
    port = meter.serve_tcp(port=0)
    yield port
    meter.stop()


@pytest.fixture(scope="module")
def report_c(meter_c):
    target = ConformanceTarget(profile=ConnectionProfile(port=meter_c))
    return run_conformance(target, "C", check_ids=E1_CHECKS)


# -- fake checks for the runner -------------------------------------------------------------------

def _fake(monkeypatch, check_id, fn, **kw):
    kw.setdefault("group", "objects")
    c = registry.CheckDef(check_id=check_id, title=f"fake {check_id}", clause="test", fn=fn, **kw)
    monkeypatch.setitem(registry.CHECKS, check_id, c)
    return c


def _passes(ctx):
    ctx.record("tx", "apdu", b"\xc0\x01", "GET")
    return "fine"


def _fails(ctx):
    ctx.note("about to fail")
    raise CheckFailed("the meter  said\nno")


def _skips(ctx):
    raise CheckSkipped("not here")


def _errors(ctx):
    raise KeyError("boom")


@pytest.fixture
def fakes(monkeypatch):
    _fake(monkeypatch, "t-pass", _passes, group="association")
    _fake(monkeypatch, "t-fail", _fails, group="types")
    _fake(monkeypatch, "t-skip", _skips)
    _fake(monkeypatch, "t-error", _errors, group="zzz-own-group")
    _fake(monkeypatch, "t-hdlc", _passes, needs=("hdlc",))
    _fake(monkeypatch, "t-us", _passes, needs=("us",))
    _fake(monkeypatch, "t-destructive", _passes, destructive=True)
    _fake(monkeypatch, "t-only-a", _passes, categories=("A",))
    return ("t-error", "t-fail", "t-skip", "t-pass", "t-hdlc", "t-us", "t-destructive", "t-only-a")


NOWHERE = ConformanceTarget(profile=ConnectionProfile(port=9), us_key=None)


def test_runner_maps_exceptions_to_verdicts_and_orders_by_group(fakes):
    seen = []
    report = run_conformance(NOWHERE, "C", check_ids=fakes, identity=False,
                             progress=lambda c, o: seen.append((c.check_id, o)))
    ids = [o.check_id for o in report.outcomes]
    # association, objects (registration order), types, then the unknown group.
    assert ids == ["t-pass", "t-skip", "t-hdlc", "t-us", "t-destructive", "t-only-a", "t-fail",
                   "t-error"]
    v = {o.check_id: o for o in report.outcomes}
    assert v["t-pass"].verdict is Verdict.PASS and v["t-pass"].finding == "fine"
    assert v["t-fail"].verdict is Verdict.FAIL and v["t-fail"].finding == "the meter said no"
    assert v["t-skip"].verdict is Verdict.SKIP and v["t-skip"].finding == "not here"
    assert v["t-error"].verdict is Verdict.ERROR and v["t-error"].finding == "KeyError: 'boom'"
    assert "HDLC" in v["t-hdlc"].finding and v["t-hdlc"].verdict is Verdict.SKIP
    assert v["t-us"].verdict is Verdict.SKIP and "US" in v["t-us"].finding
    assert v["t-destructive"].verdict is Verdict.SKIP
    assert v["t-only-a"].verdict is Verdict.SKIP and "category C" in v["t-only-a"].finding
    assert v["t-pass"].evidence[0].hex == "c001" and v["t-pass"].evidence[0].layer == "apdu"
    assert v["t-fail"].evidence[0].summary == "about to fail"
    assert v["t-skip"].evidence == ()
    assert report.counts() == {Verdict.PASS: 1, Verdict.FAIL: 1, Verdict.SKIP: 5,
                               Verdict.ERROR: 1}
    assert not report.ok and report.failed == (v["t-fail"],) and report.errored == (v["t-error"],)
    assert seen[0] == ("t-pass", None) and seen[1][1] is v["t-pass"] and len(seen) == 16
    assert report.options["checks"] == ids and report.identity == {}


def test_runner_destructive_allowed_and_cancel(fakes):
    report = run_conformance(NOWHERE, "A", check_ids=["t-destructive", "t-only-a"],
                             allow_destructive=True, identity=False)
    assert [o.verdict for o in report.outcomes] == [Verdict.PASS, Verdict.PASS] and report.ok
    token = CancelToken()
    token.cancel()
    report = run_conformance(NOWHERE, "A", check_ids=["t-pass", "t-fail"], cancel=token)
    assert all(o.verdict is Verdict.SKIP and o.finding == "run cancelled"
               for o in report.outcomes)
    assert report.options["cancelled"] is True


def test_plan_checks_rejects_unknown_ids_and_lists_reasons(fakes):
    with pytest.raises(LocalProtocolError, match="unknown check id.*no-such"):
        plan_checks(NOWHERE, "C", check_ids=["t-pass", "no-such"])
    plan = dict((c.check_id, why) for c, why in plan_checks(NOWHERE, "C", check_ids=fakes))
    assert plan["t-pass"] is None and plan["t-hdlc"].startswith("needs an HDLC link")
    hdlc = ConformanceTarget(profile=ConnectionProfile(port=9, framing="hdlc"))
    assert dict((c.check_id, w) for c, w in plan_checks(hdlc, "C", check_ids=["t-hdlc"])) == \
        {"t-hdlc": None}


def test_check_decorator_refuses_duplicates_and_unknown_needs(monkeypatch):
    monkeypatch.setattr(registry, "CHECKS", dict(registry.CHECKS))
    registry.check(check_id="t-dup", title="x", clause="x", group="x")(_passes)
    with pytest.raises(ValueError, match="duplicate"):
        registry.check(check_id="t-dup", title="x", clause="x", group="x")(_fails)
    with pytest.raises(ValueError, match="unknown needs"):
        registry.check(check_id="t-x", title="x", clause="x", group="x", needs=("modem",))


def test_evidence_is_capped():
    ctx = CheckContext(NOWHERE, "B")
    ctx.record("rx", "hdlc", b"\x7e" * (MAX_EVIDENCE_BYTES + 10), "big")
    item = ctx.take_evidence()[0]
    assert len(item.data) == MAX_EVIDENCE_BYTES and f"{MAX_EVIDENCE_BYTES + 10} bytes" in item.summary
    for _ in range(MAX_EVIDENCE + 5):
        ctx.record("tx", "apdu", b"\x01", "x")
    kept = ctx.take_evidence()
    assert len(kept) == MAX_EVIDENCE + 1 and kept[-1].summary.startswith("5 more")
    assert ctx.take_evidence() == ()


def test_target_profiles_per_association():
    base = ConnectionProfile(port=4059, server_physical=17, address_size=2)
    target = ConformanceTarget(profile=base, mr_password=b"abcdefgh")
    pc, mr, us = (target.profile_for(a) for a in ("pc", "mr", "us"))
    assert (pc.client_sap, pc.mechanism, pc.password, pc.hls_key) == (16, 0, None, None)
    assert (mr.client_sap, mr.mechanism, mr.password.reveal()) == (32, MechanismName.LOW, b"abcdefgh")
    assert (us.client_sap, us.mechanism, us.hls_key.reveal()) == (48, 2, DEFAULT_HLS_KEY)
    assert mr.server_physical == 17 and mr.address_size == 2
    assert target.profile_for("mr", client_sap=99).client_sap == 99
    assert not target.is_hdlc and target.available("mr") and target.available("pc")
    assert not ConformanceTarget(profile=base, us_key=None).available("us")
    same = ConformanceTarget.from_profile(ConnectionProfile.for_association(
        "mr", password=SecretBytes(b"secret12")))
    assert same.mr_password == SecretBytes(b"secret12")
    assert same.us_key == SecretBytes(DEFAULT_HLS_KEY)
    assert ConformanceTarget(profile=base).mr_password == SecretBytes(DEFAULT_LLS_PASSWORD)
    # a ciphered US base: US keeps its ciphering and GMAC, PC and MR are asked in the clear
    ciphered = ConformanceTarget(profile=ConnectionProfile.for_association(
        "us", mechanism=MechanismName.HIGH_GMAC, ciphering="global",
        encryption_key=SecretBytes(bytes(16)), authentication_key=SecretBytes(bytes(16)),
        system_title=b"ABCDEFGH"))
    us_c, mr_c = ciphered.profile_for("us"), ciphered.profile_for("mr")
    assert (us_c.ciphering, us_c.mechanism) == ("global", MechanismName.HIGH_GMAC)
    assert (mr_c.ciphering, mr_c.mechanism) == ("none", MechanismName.LOW)
    assert ciphered.profile_for("pc").ciphering == "none"


# -- reports --------------------------------------------------------------------------------------

def test_real_run_report_json_round_trip(report_c, tmp_path):
    assert report_c.ok and len(report_c.outcomes) == len(E1_CHECKS)
    assert report_c.identity["manufacturer"] == "MeterReader Simulator"
    assert report_c.target.startswith("TCP 127.0.0.1:") and report_c.category == "C"
    assert report_c.started.tzinfo is not None and report_c.finished >= report_c.started
    path = report_c.save_json(tmp_path / "r.json")
    back = ConformanceReport.load_json(path)
    assert back == report_c
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["counts"] == {"pass": len(E1_CHECKS), "fail": 0, "skip": 0, "error": 0}
    assert data["outcomes"][0]["evidence"][0]["layer"] in ("apdu", "wrapper")
    # The LLS password never reaches the evidence.
    assert DEFAULT_LLS_PASSWORD.hex() not in path.read_text(encoding="utf-8")


def test_json_rejects_foreign_documents(tmp_path):
    with pytest.raises(ReportFormatError):
        ConformanceReport.from_json({"format": "other"})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ReportFormatError):
        ConformanceReport.load_json(bad)
    doc = _tiny_report().to_json()
    doc["outcomes"][0]["verdict"] = "maybe"
    with pytest.raises(ReportFormatError, match="verdict"):
        ConformanceReport.from_json(doc)


def _tiny_report() -> ConformanceReport:
    when = dt.datetime(2024, 5, 1, 10, 15, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
    ev = Evidence(direction="tx", layer="apdu", hex="c001c1", summary="GET", timestamp=1.5e9)
    return ConformanceReport(
        category="B", identity={"serial_number": "X1"}, started=when,
        finished=when + dt.timedelta(seconds=3), target="TCP h:1 wrapper → LD 1/256",
        outcomes=(CheckOutcome(check_id="a", title="A", clause="c", group="g",
                               verdict=Verdict.FAIL, finding="=SUM(A1)", evidence=(ev, ev),
                               elapsed=0.5),
                  CheckOutcome(check_id="b", title="B\x01", clause="c", group="g",
                               verdict=Verdict.PASS, finding="ok")),
        options={"checks": ["a", "b"], "allow_destructive": False})


def test_xlsx_opens_back(report_c, tmp_path):
    path = save_xlsx(report_c, tmp_path / "r.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["Summary", "Checks", "Evidence"]
    rows = list(wb["Checks"].iter_rows(values_only=True))
    assert rows[0] == CHECK_COLUMNS
    assert [(r[1], r[5]) for r in rows[1:]] == [(o.check_id, "PASS") for o in report_c.outcomes]
    assert [r[6] for r in rows[1:]] == [o.finding for o in report_c.outcomes]
    ev_rows = list(wb["Evidence"].iter_rows(values_only=True))
    assert ev_rows[0] == EVIDENCE_COLUMNS
    assert len(ev_rows) - 1 == sum(len(o.evidence) for o in report_c.outcomes)
    first = report_c.outcomes[0].evidence[0]
    assert ev_rows[1][0] == report_c.outcomes[0].check_id and ev_rows[1][6] == first.hex
    summary = dict(wb["Summary"].iter_rows(values_only=True))
    assert summary["Overall"] == "PASS" and summary["Category checked"] == "C"
    assert summary["Meter category"] == "C1"
    assert summary["Checks pass"] == len(E1_CHECKS)
    assert summary["Meter serial number"] == report_c.identity["serial_number"]


def test_xlsx_keeps_formula_like_text_as_text(tmp_path):
    report = _tiny_report()
    wb = load_workbook(save_xlsx(report, tmp_path / "t.xlsx"))
    ws = wb["Checks"]
    assert ws["G2"].value == "=SUM(A1)" and ws["G2"].data_type == "s"
    assert ws["F2"].value == "FAIL" and ws["C3"].value == "B\\x01"
    summary = dict(wb["Summary"].iter_rows(values_only=True))
    assert summary["Overall"] == "FAIL" and summary["Started"] == dt.datetime(2024, 5, 1, 10, 15)
    assert summary["Time zone of the times"] == "UTC+05:30"
    assert summary["Option checks"] == "a, b"


def test_write_reports_names_and_formats(tmp_path):
    report = _tiny_report()
    written = write_reports(report, tmp_path / "out", ("json", "xlsx"))
    assert written["json"].name == "conformance-B-X1-20240501-101500.json"
    assert written["xlsx"].with_suffix(".json") == written["json"]
    assert ConformanceReport.load_json(written["json"]) == report
    with pytest.raises(ValueError, match="csv"):
        write_reports(report, tmp_path, ("csv",))
    assert write_reports(report, tmp_path, ["json"], stem="v1.2")["json"].name == "v1.2.json"


@pytest.mark.skipif(not pdf_available(), reason="ui/conformance_pdf.py is not there yet")
def test_pdf_bridge(tmp_path):
    path = save_pdf(_tiny_report(), tmp_path / "r.pdf")
    assert path.read_bytes()[:5] == b"%PDF-"


# -- CLI ------------------------------------------------------------------------------------------

def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("METERREADER_PASSWORD", None)
    env.pop("METERREADER_KEY", None)
    return subprocess.run([sys.executable, "-m", "meterreader", "conformance", *args],
                          capture_output=True, text=True, timeout=60, cwd=cwd, env=env)


@pytest.fixture(scope="module")
def meter_a():
    meter = SimulatedMeter(category="A", seed=4, days_of_block_load=2)
    port = meter.serve_tcp(port=0)
    yield port
    meter.stop()


def test_cli_exit_0_when_all_pass(meter_c, tmp_path):
    done = _cli("--tcp", f"127.0.0.1:{meter_c}", "--category", "c", "--check", "assoc-accept-mr",
                "--check", "object-list", "--out", str(tmp_path / "rep"), "--json",
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "PASS  assoc-accept-mr" in done.stderr and "PASS  object-list" in done.stderr
    out = json.loads(done.stdout)
    assert out["ok"] is True and [o["verdict"] for o in out["outcomes"]] == ["pass", "pass"]
    report = ConformanceReport.load_json(out["files"]["json"])
    assert [o.check_id for o in report.outcomes] == ["assoc-accept-mr", "object-list"]
    assert Path(out["files"]["xlsx"]).is_file()


def test_cli_exit_6_when_a_check_fails(meter_a, tmp_path):
    # A category A meter checked against category C lacks the TOD registers.
    done = _cli("--tcp", f"127.0.0.1:{meter_a}", "--category", "C", "--check", "object-list",
                "--format", "json", "--out", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 6, done.stderr
    assert "FAIL  object-list: MR lacks 1.0.1.8.1.255" in done.stderr
    files = list(tmp_path.glob("conformance-C-*.json"))
    assert len(files) == 1 and not list(tmp_path.glob("*.xlsx"))
    assert ConformanceReport.load_json(files[0]).failed[0].check_id == "object-list"


def test_cli_usage_and_connection_errors(meter_c, tmp_path):
    done = _cli("--tcp", f"127.0.0.1:{meter_c}", "--category", "C", "--check", "nope",
                cwd=tmp_path)
    assert done.returncode == 2 and "unknown check id" in done.stderr
    done = _cli("--tcp", f"127.0.0.1:{meter_c}", "--category", "C", "--format", "json,csv",
                cwd=tmp_path)
    assert done.returncode == 2
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    done = _cli("--tcp", f"127.0.0.1:{free}", "--category", "C", "--timeout", "2", cwd=tmp_path)
    assert done.returncode == 3 and "cannot connect" in done.stderr
    assert not list(tmp_path.glob("conformance-*"))


def test_cli_no_us_and_no_mr_skip_their_checks(meter_c, tmp_path):
    done = _cli("--tcp", f"127.0.0.1:{meter_c}", "--category", "C", "--no-us",
                "--check", "assoc-accept-us", "--check", "assoc-accept-mr",
                "--check", "assoc-reject-wrong-secret", "--format", "json",
                "--out", str(tmp_path), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = {o["check_id"]: o for o in json.loads(done.stdout)["outcomes"]}
    assert out["assoc-accept-us"]["verdict"] == "skip"
    assert out["assoc-accept-us"]["finding"] == "no US secret given for this meter"
    assert out["assoc-accept-mr"]["verdict"] == "pass"
    assert out["assoc-reject-wrong-secret"]["finding"].startswith("refused: MR wrong password ")
    done = _cli("--tcp", f"127.0.0.1:{meter_c}", "--category", "C", "--no-mr", "--no-us",
                "--check", "assoc-accept-mr", "--check", "scaler-consistency",
                "--check", "assoc-reject-wrong-secret", "--format", "json",
                "--out", str(tmp_path / "b"), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert {o["verdict"] for o in json.loads(done.stdout)["outcomes"]} == {"skip"}


def test_cli_no_mr_conflicts_with_a_password(meter_c, tmp_path):
    done = _cli("--tcp", f"127.0.0.1:{meter_c}", "--category", "C", "--no-mr", "--password",
                "abcdefgh", cwd=tmp_path)
    assert done.returncode == 2 and "--no-mr and --password exclude each other" in done.stderr
    assert "abcdefgh" not in done.stderr
    done = _cli("--tcp", f"127.0.0.1:{meter_c}", "--category", "C", "--no-us",
                "--association", "us", cwd=tmp_path)
    assert done.returncode == 2 and "--no-us" in done.stderr


def test_evidence_masks_the_target_secrets_and_keeps_hdlc_frames_valid():
    from meterreader.conformance.raw_hdlc import craft_frame
    from meterreader.dlms.hdlc import HdlcAddress, decode_frame
    target = ConformanceTarget(profile=ConnectionProfile(port=1), mr_password=b"s3cret-pw")
    ctx = CheckContext(target, "C")
    seen = []
    ctx.on_trace = lambda *item: seen.append(item)
    addresses = {"destination": HdlcAddress.server(1, 256), "source": HdlcAddress.client(32)}
    good = craft_frame(control=0x10, info=b"<s3cret-pw>", **addresses)
    broken = craft_frame(control=0x10, info=b"<s3cret-pw>", bad_fcs=True, **addresses)
    ctx.record("tx", "hdlc", good, "I")
    ctx.record("tx", "hdlc", broken, "I, wrong FCS")
    ctx.record("tx", "apdu", b"\x60s3cret-pw", "AARQ")
    first, second, third = ctx.evidence
    assert decode_frame(first.data)[0].info == b"<*********>"  # re-encoded: FCS verifies
    assert first.summary == "I"
    assert b"s3cret-pw" not in second.data and second.summary == "I, wrong FCS (masked)"
    assert third.data == b"\x60*********"
    assert all(b"s3cret-pw" not in data for _, _, data, _ in seen)


def test_report_fingerprint_is_the_sha256_of_the_json_file(report_c, tmp_path):
    import hashlib
    path = report_c.save_json(tmp_path / "r.json")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    assert report_c.fingerprint() == digest
    assert ConformanceReport.load_json(path).fingerprint() == digest


def test_cli_ciphered_us_meter_benches_every_association(tmp_path):
    """A meter that ciphers only US (HLS-GMAC + global ciphering on client 48): the connected
    US profile keeps its ciphering, PC and MR are asked in the clear, and the wrong-secret check
    tries a wrong authentication key (HLS-GMAC has no HLS key)."""
    ek, ak = bytes(range(16)), bytes(range(16, 32))
    checks = ("assoc-accept-pc", "assoc-accept-mr", "assoc-accept-us",
              "assoc-reject-wrong-secret")
    with SimulatedMeter(category="C", seed=5, days_of_block_load=1, ciphered_client=48,
                        encryption_key=ek, authentication_key=ak) as meter:
        port = meter.serve_tcp(port=0)
        done = _cli("--tcp", f"127.0.0.1:{port}", "--category", "C", "--association", "us",
                    "--auth", "gmac", "--cipher", "global", "--system-title",
                    b"CLIENT01".hex(), "--ek", ek.hex(), "--ak", ak.hex(), "--timeout", "1",
                    *(arg for c in checks for arg in ("--check", c)), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for check_id in checks:
        assert f"PASS  {check_id}" in done.stderr, done.stderr
    assert "US wrong authentication key" in done.stderr
    assert ek.hex() not in done.stderr + done.stdout and ak.hex() not in done.stderr
