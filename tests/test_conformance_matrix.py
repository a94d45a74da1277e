"""Every conformance check against the clean simulator and against each defect switch, over the
TCP wrapper and over HDLC/TCP (category C, MD reset allowed): the clean meter passes everything
(HDLC checks skip on the wrapper), and each defect makes exactly its expected checks fail.

One simulator per defect and medium, short timeouts (the HDLC negative cases wait the quiet time
of 0.5 s for an answer that must not come)."""

from __future__ import annotations

import pytest

from meterreader.client.profile import ConnectionProfile
from meterreader.conformance.context import ConformanceTarget
from meterreader.conformance.model import Verdict
from meterreader.conformance.registry import CHECKS, all_checks
from meterreader.conformance.runner import run_conformance
from meterreader.simulator import SimulatedMeter
from meterreader.simulator.defects import DEFECTS

FAST = {"response_timeout": 0.5}
HDLC_ONLY = frozenset(c for c, d in all_checks().items() if "hdlc" in d.needs)
#: The checks that open the MR association (they cannot run when MR is refused).
NEEDS_MR = frozenset(c for c, d in CHECKS.items() if "mr" in d.needs) | {
    "object-list", "access-declared", "access-enforced", "data-types"}

#: defect → the checks it must make FAIL (on either medium; HDLC checks only run over HDLC).
EXPECTED_FAIL: dict[str, frozenset[str]] = {
    "missing-object": frozenset({"object-list"}),
    "accept-wrong-password": frozenset({"assoc-reject-wrong-secret"}),
    "reject-correct-secret": frozenset({"assoc-accept-mr"}),
    "accept-unknown-client": frozenset({"assoc-reject-unknown-client"}),
    "wrong-access": frozenset({"access-enforced"}),
    "wrong-declared-access": frozenset({"access-declared"}),
    "wrong-type": frozenset({"data-types"}),
    "wrong-scaler": frozenset({"scaler-consistency"}),
    "bad-sort-order": frozenset({"profile-attributes"}),
    "range-entry-mismatch": frozenset({"range-vs-entry"}),
    "bad-event-code": frozenset({"event-codes"}),
    "no-billing-increment": frozenset({"billing-increment"}),
    "bad-clock": frozenset({"clock-zone-status"}),
    "bad-time-zone": frozenset({"clock-zone-status"}),
    "bad-hdlc-negotiation": frozenset({"hdlc-negotiation"}),
    "ignore-bad-fcs": frozenset({"hdlc-bad-fcs"}),
    "ignore-bad-hcs": frozenset({"hdlc-bad-hcs"}),
    "ignore-wrong-ns": frozenset({"hdlc-wrong-ns"}),
    "accept-long-frame": frozenset({"hdlc-long-frame"}),
    "accept-unknown-control": frozenset({"hdlc-unknown-control"}),
    "no-block-transfer": frozenset({"block-transfer"}),
}
#: defect → the checks that cannot be decided (ERROR): with MR refused, every check that needs
#: the MR association besides the one that reports the refusal.
EXPECTED_ERROR: dict[str, frozenset[str]] = {
    "reject-correct-secret": NEEDS_MR - {"assoc-accept-mr", "assoc-reject-wrong-secret"},
}


def test_the_table_covers_every_defect():
    assert set(EXPECTED_FAIL) == set(DEFECTS)


@pytest.mark.parametrize("hdlc", [False, True], ids=["wrapper", "hdlc"])
@pytest.mark.parametrize("defect", [None, *DEFECTS])
def test_all_checks(defect, hdlc):
    defects = (defect,) if defect else ()
    with SimulatedMeter(category="C", seed=3, days_of_block_load=1, defects=defects) as meter:
        port = meter.serve_tcp(port=0, hdlc=hdlc)
        profile = ConnectionProfile(port=port, framing="hdlc" if hdlc else "wrapper")
        report = run_conformance(ConformanceTarget(profile=profile, settings=FAST), "C",
                                 allow_destructive=True, identity=False)
    ids = [o.check_id for o in report.outcomes]
    assert len(ids) == len(set(ids)) and set(ids) == set(CHECKS)  # every check, once
    verdicts = {o.check_id: o.verdict for o in report.outcomes}
    explain = "\n".join(f"{o.check_id}: {o.verdict.value} — {o.finding}"
                        for o in report.outcomes)
    runs = set(CHECKS) if hdlc else set(CHECKS) - HDLC_ONLY
    want_fail = EXPECTED_FAIL.get(defect, frozenset()) & runs
    want_error = EXPECTED_ERROR.get(defect, frozenset()) & runs
    assert {c for c, v in verdicts.items() if v is Verdict.FAIL} == want_fail, explain
    assert {c for c, v in verdicts.items() if v is Verdict.ERROR} == want_error, explain
    skipped = {c for c, v in verdicts.items() if v is Verdict.SKIP}
    assert skipped == (set() if hdlc else set(HDLC_ONLY)), explain
    for check_id in want_fail:
        assert report.outcome(check_id).evidence, check_id  # the failure shows its frames
    assert report.ok is not (want_fail or want_error)
