"""E1 conformance checks (associations, object lists, access rights, data types): the clean
simulator passes them for categories A, B and C; each simulator defect makes exactly its check
fail."""

from __future__ import annotations

import inspect

import pytest

from meterreader.client.profile import ConnectionProfile
from meterreader.conformance import ConformanceTarget, Verdict
from meterreader.conformance.checks_association import wrong_secret
from meterreader.conformance.checks_objects import expected_tags, type_problem
from meterreader.conformance.runner import run_conformance
from meterreader.dlms.axdr import Data, DataTag
from meterreader.simulator import SimulatedMeter

E1_CHECKS = ("assoc-accept-pc", "assoc-accept-mr", "assoc-accept-us",
             "assoc-reject-wrong-secret", "assoc-reject-unknown-client", "object-list",
             "access-declared", "access-enforced", "data-types")
#: defect → the E1 check it must make fail (other defects must leave every E1 check passing).
E1_DEFECTS = {"missing-object": "object-list",
              "accept-wrong-password": "assoc-reject-wrong-secret",
              "accept-unknown-client": "assoc-reject-unknown-client",
              "wrong-access": "access-enforced",
              "wrong-type": "data-types"}

#: Defects that make one E1 check fail but cannot share a meter with the ones above (MR refused;
#: the clock declared otherwise), and the E1 checks each leaves undecided (ERROR).
E1_OWN_DEFECTS = {"reject-correct-secret": "assoc-accept-mr",
                  "wrong-declared-access": "access-declared"}
E1_ERRORS = {"reject-correct-secret": ["object-list", "access-declared", "access-enforced",
                                       "data-types"]}

HAS_DEFECTS = "defects" in inspect.signature(SimulatedMeter.__init__).parameters


def _run(category: str, *, hdlc: bool = False, defects: tuple[str, ...] = ()):
    kwargs = {"defects": defects} if defects else {}
    meter = SimulatedMeter(category=category, seed=7, days_of_block_load=2, **kwargs)
    try:
        port = meter.serve_tcp(port=0, hdlc=hdlc)
        profile = ConnectionProfile(port=port, framing="hdlc" if hdlc else "wrapper")
        return run_conformance(ConformanceTarget(profile=profile), category, check_ids=E1_CHECKS)
    finally:
        meter.stop()


@pytest.mark.parametrize("category", ["A", "B", "C"])
def test_clean_simulator_passes(category):
    report = _run(category)
    assert [o.check_id for o in report.outcomes] == list(E1_CHECKS)
    bad = [(o.check_id, o.finding) for o in report.outcomes if o.verdict is not Verdict.PASS]
    assert bad == []
    for o in report.outcomes:
        assert o.evidence, o.check_id  # every check shows what it exchanged (or read before)
    assert f"category {category}" in report.outcome("object-list").finding


def test_clean_simulator_passes_over_hdlc():
    report = _run("C", hdlc=True)
    assert report.ok, [(o.check_id, o.finding) for o in report.outcomes]
    layers = {e.layer for e in report.outcome("assoc-accept-mr").evidence}
    assert layers == {"hdlc", "apdu"}


def _defect_cases():
    if not HAS_DEFECTS:
        return [pytest.param("-", None, marks=pytest.mark.skip(
            reason="SimulatedMeter(defects=...) not available yet"))]
    from meterreader.simulator.defects import DEFECTS
    expected = {**E1_DEFECTS, **E1_OWN_DEFECTS}
    return [pytest.param(name, expected.get(name), id=name) for name in DEFECTS]


@pytest.mark.parametrize(("defect", "check_id"), _defect_cases())
def test_each_defect_fails_exactly_its_check(defect, check_id):
    report = _run("C", defects=(defect,))
    errors = [o.check_id for o in report.outcomes if o.verdict is Verdict.ERROR]
    assert errors == E1_ERRORS.get(defect, [])
    failed = [o.check_id for o in report.outcomes if o.verdict is Verdict.FAIL]
    assert failed == ([check_id] if check_id else [])


def test_defect_findings_name_the_fault():
    if not HAS_DEFECTS:
        pytest.skip("SimulatedMeter(defects=...) not available yet")
    from meterreader.simulator.defects import MISSING_OBJECT
    report = _run("B", defects=tuple(E1_DEFECTS))
    findings = {o.check_id: o.finding for o in report.outcomes if o.verdict is Verdict.FAIL}
    assert set(findings) == set(E1_DEFECTS.values())
    assert str(MISSING_OBJECT) in findings["object-list"]
    assert findings["assoc-reject-wrong-secret"] == "MR with a wrong LLS password was accepted"
    assert "client SAP 99 was accepted" in findings["assoc-reject-unknown-client"]
    assert "MR SET 0.0.1.0.0.255:2 was accepted" in findings["access-enforced"]
    assert findings["data-types"].startswith("0.0.1.0.0.255:3 is double-long, expected long")


# -- the data type rules --------------------------------------------------------------------------

def test_expected_tags_from_the_interface_class_texts():
    assert expected_tags("long (deviation, min)") == {DataTag.LONG}
    assert expected_tags("double-long-unsigned (s)") == {DataTag.DOUBLE_LONG_UNSIGNED}
    assert expected_tags("octet-string (date-time)") == {DataTag.OCTET_STRING, DataTag.DATE_TIME}
    assert expected_tags("scal_unit_type {integer scaler, enum unit}") == {DataTag.STRUCTURE}
    assert expected_tags("object_list_type (array of object_list_element)") == {DataTag.ARRAY}
    assert expected_tags("CHOICE (any type)") is None
    assert DataTag.LONG_UNSIGNED in expected_tags("CHOICE (number)")
    assert expected_tags("mechanism_name (OID)") is None


def test_type_problem():
    assert type_problem(8, 0, 3, Data(DataTag.LONG, -330)) is None
    assert "is long-unsigned, expected long" in type_problem(8, 0, 3,
                                                             Data(DataTag.LONG_UNSIGNED, 330))
    assert type_problem(8, 0, 2, Data(DataTag.OCTET_STRING, bytes(12))) is None
    assert "12-byte date-time" in type_problem(8, 0, 2, Data(DataTag.OCTET_STRING, bytes(5)))
    good = Data(DataTag.STRUCTURE, (Data(DataTag.INTEGER, -1), Data(DataTag.ENUM, 35)))
    assert type_problem(3, 0, 3, good) is None
    bad = Data(DataTag.STRUCTURE, (Data(DataTag.LONG, -1), Data(DataTag.ENUM, 35)))
    assert "expected {integer, enum}" in type_problem(3, 0, 3, bad)
    # A register value is a number, or the catalogue's type (IS 15959 billing date: octets).
    assert type_problem(3, 0, 2, Data(DataTag.DOUBLE_LONG_UNSIGNED, 5)) is None
    assert type_problem(3, 0, 2, Data(DataTag.OCTET_STRING, bytes(12))) is not None
    assert type_problem(3, 0, 2, Data(DataTag.OCTET_STRING, bytes(12)),
                        DataTag.OCTET_STRING) is None
    # Data (any type) follows the catalogue's family: unsigned stays unsigned.
    assert type_problem(1, 0, 2, Data(DataTag.LONG_UNSIGNED, 3), DataTag.UNSIGNED) is None
    assert type_problem(1, 0, 2, Data(DataTag.LONG, 3), DataTag.UNSIGNED) is not None
    assert type_problem(1, 0, 2, Data(DataTag.BOOLEAN, True)) is None
    assert type_problem(1, 0, 9, Data(DataTag.BOOLEAN, True)) is None  # no such attribute


def test_wrong_secret_differs_in_every_byte():
    assert wrong_secret(b"12345678") == b"03254769"
    assert all(a != b for a, b in zip(wrong_secret(b"\x00\xff"), b"\x00\xff"))
    assert wrong_secret(b"") == b"wrong-pw"


# -- refusals of a correct association ------------------------------------------------------------

ASSOC = ("assoc-accept-mr", "assoc-accept-us", "assoc-reject-wrong-secret")


def _assoc_run(target_kw: dict, defects=()):
    with SimulatedMeter(category="C", seed=7, days_of_block_load=1, defects=defects) as meter:
        port = meter.serve_tcp(port=0)
        target = ConformanceTarget(profile=ConnectionProfile(port=port), **target_kw)
        return run_conformance(target, "C", check_ids=ASSOC, identity=False)


def test_a_refused_correct_association_fails_and_the_wrong_secret_check_cannot_tell():
    # The meter refuses the password the bench was given: FAIL (not ERROR) for MR, and the
    # wrong-secret check cannot tell a refusal of a wrong password from a refusal of all.
    report = _assoc_run({"mr_password": b"not-the-one", "us_key": None})
    mr, us, wrong = (report.outcome(c) for c in ASSOC)
    assert mr.verdict is Verdict.FAIL
    assert mr.finding == ("MR (client 32) with the given LLS password was refused: "
                          "authentication failure")
    assert us.verdict is Verdict.SKIP
    assert wrong.verdict is Verdict.SKIP
    assert wrong.finding.startswith("correct secret also refused (MR); cannot tell")


def test_reject_correct_secret_defect_fails_assoc_accept_mr():
    report = _assoc_run({}, defects=("reject-correct-secret",))
    mr, us, wrong = (report.outcome(c) for c in ASSOC)
    assert mr.verdict is Verdict.FAIL and "was refused" in mr.finding
    assert us.verdict is Verdict.PASS
    # US could still be told apart; MR is named as not tried.
    assert wrong.verdict is Verdict.PASS
    assert wrong.finding == ("refused: US wrong key (the right secret accepted); MR not tried: "
                             "the correct secret was refused too")


def test_wrong_secret_check_confirms_the_right_secret_first():
    report = _assoc_run({})
    wrong = report.outcome("assoc-reject-wrong-secret")
    assert wrong.verdict is Verdict.PASS
    notes = [e.summary for e in wrong.evidence if e.layer == "note"]
    assert notes[0] == "first MR with the right LLS password: the meter must accept it"
    assert any(n.startswith("first US with the right HLS key") for n in notes)
