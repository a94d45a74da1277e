"""Conformance checks of profiles, events, billing, clock, block transfer and HDLC (helper E2).

The clean simulator passes every check for categories A, B and C (HDLC checks over its raw
HDLC/TCP port); each defect switch of the simulator makes exactly its check fail. The raw HDLC
frame crafting is tested byte-exact against the codec.
"""

from __future__ import annotations

import pytest

from meterreader.client.profile import ConnectionProfile
from meterreader.conformance.checks_hdlc import UNKNOWN_CONTROL
from meterreader.conformance.context import ConformanceTarget
from meterreader.conformance.model import Verdict
from meterreader.conformance.raw_hdlc import (
    classify, craft_frame, first_of, i_control, s_control, u_control)
from meterreader.conformance.runner import run_conformance
from meterreader.dlms.errors import DecodeError, Reason
from meterreader.dlms.hdlc import (
    FrameType, HdlcAddress, HdlcFrame, HdlcParameters, decode_frame, encode_frame,
    encode_parameters)
from meterreader.simulator import SimulatedMeter

PROFILE_CHECKS = ("scaler-consistency", "profile-attributes", "range-vs-entry", "event-codes",
                  "billing-increment", "clock-zone-status", "block-transfer")
HDLC_CHECKS = ("hdlc-negotiation", "hdlc-bad-fcs", "hdlc-bad-hcs", "hdlc-wrong-ns",
               "hdlc-long-frame", "hdlc-unknown-control")
#: Short waits: the simulator answers at once, and the silent cases wait the quiet time.
FAST = {"response_timeout": 0.5}

CLIENT = HdlcAddress.client(16)
SERVER = HdlcAddress.server(1, 256)


# -- raw frames -----------------------------------------------------------------------------------

@pytest.mark.parametrize("frame", [
    HdlcFrame(destination=SERVER, source=CLIENT, frame_type=FrameType.SNRM, poll_final=True,
              info=encode_parameters(HdlcParameters())),
    HdlcFrame(destination=SERVER, source=CLIENT, frame_type=FrameType.I, poll_final=True,
              n_s=3, n_r=5, info=b"\xe6\xe6\x00\x60\x1d"),
    HdlcFrame(destination=SERVER, source=CLIENT, frame_type=FrameType.I, segmented=True,
              n_s=1, info=bytes(range(40))),
    HdlcFrame(destination=SERVER, source=CLIENT, frame_type=FrameType.RR, poll_final=True,
              n_r=6),
    HdlcFrame(destination=SERVER, source=CLIENT, frame_type=FrameType.DISC, poll_final=True),
], ids=["snrm", "i", "i-segmented", "rr", "disc"])
def test_craft_frame_matches_the_codec(frame):
    crafted = craft_frame(destination=frame.destination, source=frame.source,
                          control=frame.control, info=frame.info, segmented=frame.segmented)
    assert crafted == encode_frame(frame)
    assert decode_frame(crafted)[0] == frame


def test_control_helpers():
    assert i_control(3, 5) == HdlcFrame(destination=SERVER, source=CLIENT,
                                        frame_type=FrameType.I, poll_final=True, n_s=3,
                                        n_r=5).control
    assert s_control(FrameType.RR, 2) == 0x51
    assert u_control(FrameType.SNRM) == 0x93
    assert u_control(FrameType.DISC, poll=False) == 0x43


def test_bad_fcs_and_hcs_are_refused_by_the_codec():
    good = craft_frame(destination=SERVER, source=CLIENT, control=0x10, info=b"abc")
    bad_fcs = craft_frame(destination=SERVER, source=CLIENT, control=0x10, info=b"abc",
                          bad_fcs=True)
    bad_hcs = craft_frame(destination=SERVER, source=CLIENT, control=0x10, info=b"abc",
                          bad_hcs=True)
    assert len(good) == len(bad_fcs) == len(bad_hcs)
    assert bad_fcs[:-3] == good[:-3] and bad_fcs[-3:-1] != good[-3:-1]
    header = 1 + 2 + 4 + 1 + 1  # flag, format, server address, client address, control
    assert bad_hcs[header:header + 2] != good[header:header + 2]
    assert bad_hcs[header + 2:-3] == good[header + 2:-3]
    with pytest.raises(DecodeError) as fcs_error:
        decode_frame(bad_fcs)
    assert fcs_error.value.reason is Reason.BAD_FCS
    with pytest.raises(DecodeError) as hcs_error:
        decode_frame(bad_hcs)
    assert hcs_error.value.reason is Reason.BAD_HCS
    with pytest.raises(ValueError):
        craft_frame(destination=SERVER, source=CLIENT, control=0x93, bad_hcs=True)
    with pytest.raises(ValueError):
        craft_frame(destination=SERVER, source=CLIENT, control=0x10, info=bytes(2100))


def test_classify_names_frames_the_codec_does_not_know():
    rej = classify(craft_frame(destination=CLIENT, source=SERVER, control=0x59))  # REJ N(R)=2 F
    assert (rej.kind, rej.n_r, rej.final, rej.frame) == ("REJ", 2, True, None)
    odd = classify(craft_frame(destination=CLIENT, source=SERVER, control=UNKNOWN_CONTROL))
    assert odd.kind == f"control 0x{UNKNOWN_CONTROL:02X}" and odd.n_r is None
    frmr = classify(craft_frame(destination=CLIENT, source=SERVER, control=0x97,
                                info=b"\x37\x00\x01"))
    assert frmr.kind == "FRMR" and frmr.info == b"\x37\x00\x01" and frmr.final
    broken = classify(craft_frame(destination=CLIENT, source=SERVER, control=0x30,
                                  info=b"x", bad_fcs=True))
    assert broken.kind == "invalid" and broken.error
    assert first_of([odd, rej, frmr], "FRMR") is frmr


# -- against the simulator ------------------------------------------------------------------------

def _run(meter: SimulatedMeter, category: str, check_ids, *, hdlc: bool):
    port = meter.serve_tcp(port=0, hdlc=hdlc)
    profile = ConnectionProfile(port=port, framing="hdlc" if hdlc else "wrapper")
    target = ConformanceTarget(profile=profile, settings=FAST)
    return run_conformance(target, category, check_ids=check_ids, allow_destructive=True,
                           identity=False)


def _verdicts(report) -> dict[str, Verdict]:
    return {o.check_id: o.verdict for o in report.outcomes}


def _explain(report) -> str:
    return "\n".join(f"{o.check_id}: {o.verdict.value} — {o.finding}" for o in report.outcomes)


@pytest.mark.parametrize("category", ["A", "B", "C"])
def test_clean_simulator_passes(category):
    with SimulatedMeter(category=category, seed=3, days_of_block_load=3) as meter:
        wrapper = _run(meter, category, PROFILE_CHECKS, hdlc=False)
        hdlc = _run(meter, category, HDLC_CHECKS, hdlc=True)
    for report in (wrapper, hdlc):
        assert set(_verdicts(report).values()) == {Verdict.PASS}, _explain(report)
        for outcome in report.outcomes:
            assert outcome.evidence, outcome.check_id  # every check shows what it exchanged
    hdlc_evidence = [e for o in hdlc.outcomes for e in o.evidence if e.layer == "hdlc"]
    assert {e.direction for e in hdlc_evidence} == {"tx", "rx"}
    assert all(e.data[:1] == b"\x7e" and e.data[-1:] == b"\x7e" for e in hdlc_evidence)


def test_hdlc_checks_skip_on_a_wrapper_target():
    with SimulatedMeter(category="C", seed=3, days_of_block_load=1) as meter:
        report = _run(meter, "C", HDLC_CHECKS, hdlc=False)
    assert set(_verdicts(report).values()) == {Verdict.SKIP}


def test_billing_increment_is_skipped_unless_allowed():
    with SimulatedMeter(category="C", seed=3, days_of_block_load=1) as meter:
        port = meter.serve_tcp(port=0)
        target = ConformanceTarget(profile=ConnectionProfile(port=port), settings=FAST)
        report = run_conformance(target, "C", check_ids=["billing-increment"], identity=False)
    assert report.outcomes[0].verdict is Verdict.SKIP


#: Defect switch → the one check of this module that it must make fail.
DEFECT_CHECK = {
    "wrong-scaler": "scaler-consistency",
    "bad-sort-order": "profile-attributes",
    "range-entry-mismatch": "range-vs-entry",
    "bad-event-code": "event-codes",
    "no-billing-increment": "billing-increment",
    "bad-clock": "clock-zone-status",
    "no-block-transfer": "block-transfer",
    "bad-hdlc-negotiation": "hdlc-negotiation",
    "ignore-bad-fcs": "hdlc-bad-fcs",
    "ignore-bad-hcs": "hdlc-bad-hcs",
    "ignore-wrong-ns": "hdlc-wrong-ns",
    "accept-long-frame": "hdlc-long-frame",
    "accept-unknown-control": "hdlc-unknown-control",
}


@pytest.mark.parametrize("defect", list(DEFECT_CHECK))
def test_each_defect_fails_exactly_its_check(defect):
    expected = DEFECT_CHECK[defect]
    with SimulatedMeter(category="C", seed=3, days_of_block_load=3,
                        defects=(defect,)) as meter:
        reports = [_run(meter, "C", PROFILE_CHECKS, hdlc=False)]
        if expected in HDLC_CHECKS:  # device defects leave the link alone: HDLC runs only here
            reports.append(_run(meter, "C", HDLC_CHECKS, hdlc=True))
    outcomes = {o.check_id: o for r in reports for o in r.outcomes}
    failed = {c for c, o in outcomes.items() if o.verdict is not Verdict.PASS}
    assert failed == {expected}, "\n".join(map(_explain, reports))
    assert outcomes[expected].verdict is Verdict.FAIL and outcomes[expected].evidence


# -- review fixes ---------------------------------------------------------------------------------

def _one(meter: SimulatedMeter, check_id: str, *, hdlc: bool = False):
    return _run(meter, "C", [check_id], hdlc=hdlc).outcomes[0]


def test_block_transfer_with_a_short_block_load_reads_the_object_list():
    # Three rows fit one 256-byte PDU: a normal response is right, and the object list (larger
    # than the PDU) is what must come in datablocks.
    with SimulatedMeter(category="C", seed=3, block_load_entries=3) as meter:
        outcome = _one(meter, "block-transfer")
    assert outcome.verdict is Verdict.PASS, outcome.finding
    assert outcome.finding.startswith("the MR object list")
    notes = [e.summary for e in outcome.evidence if e.layer == "note"]
    assert any("the last 3 block load rows" in n and "a normal (unsegmented) response" in n
               for n in notes), notes
    with SimulatedMeter(category="C", seed=3, block_load_entries=3,
                        defects=("no-block-transfer",)) as meter:
        outcome = _one(meter, "block-transfer")
    assert outcome.verdict is Verdict.FAIL
    assert "sent an APDU of" in outcome.finding and "max receive PDU is 256" in outcome.finding


def test_block_transfer_skips_when_nothing_is_larger_than_the_pdu(monkeypatch):
    import meterreader.conformance.checks_profiles as cp
    monkeypatch.setattr(cp, "BLOCK_TRANSFER_PDU", 0xFFFF)  # everything fits one PDU
    with SimulatedMeter(category="C", seed=3, block_load_entries=3) as meter:
        outcome = _one(meter, "block-transfer")
    assert outcome.verdict is Verdict.SKIP
    assert outcome.finding.startswith("nothing larger than the 65535-byte PDU to read")


def test_long_frame_discarded_silently_fails(monkeypatch):
    # The simulator answers a long frame with FRMR; spoil that frame's FCS so that it is
    # discarded silently instead, as a meter without FRMR would.
    from meterreader.conformance.raw_hdlc import RawHdlcLink
    original = RawHdlcLink.i_frame

    def i_frame(self, info, **options):
        if len(info) > 128:
            options["bad_fcs"] = True
        return original(self, info, **options)

    monkeypatch.setattr(RawHdlcLink, "i_frame", i_frame)
    with SimulatedMeter(category="C", seed=3, days_of_block_load=1) as meter:
        outcome = _one(meter, "hdlc-long-frame", hdlc=True)
    assert outcome.verdict is Verdict.FAIL
    assert "discarded silently" in outcome.finding and "requires FRMR" in outcome.finding


def test_clock_time_zone_and_deviation_must_agree_in_sign():
    from meterreader.dlms.axdr import Data, DataTag
    with SimulatedMeter(category="C", seed=3, days_of_block_load=1) as meter:
        clock = meter.device.management.object("0.0.1.0.0.255")
        clock.get_filters = {3: lambda value, _sel: Data(DataTag.LONG, -value.value)}
        outcome = _one(meter, "clock-zone-status")
    assert outcome.verdict is Verdict.FAIL
    assert "time_zone 330 min and the date-time's deviation -330 min use opposite sign " \
           "conventions" in outcome.finding
    with SimulatedMeter(category="C", seed=3, days_of_block_load=1, deviation_sign=1) as meter:
        outcome = _one(meter, "clock-zone-status")  # +330 both ways: IST, noted
    assert outcome.verdict is Verdict.PASS and "sign opposite" in outcome.finding


def test_bad_time_zone_fails_the_zone_branch():
    with SimulatedMeter(category="C", seed=3, days_of_block_load=1,
                        defects=("bad-time-zone",)) as meter:
        outcome = _one(meter, "clock-zone-status")
    assert outcome.verdict is Verdict.FAIL
    assert "time_zone -60 min, expected -330 (IST)" in outcome.finding
    assert "opposite sign" not in outcome.finding  # consistent, only not IST


def test_order_problems_without_rows():
    from meterreader.conformance.checks_profiles import _order_problems
    from meterreader.cosem.obis import Obis
    assert _order_problems(None, Obis(1, 0, 99, 1, 0, 255), True) == []
