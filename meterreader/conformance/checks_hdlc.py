"""HDLC checks (IEC 62056-46): parameter negotiation and the negative cases a client can send.

Each check drives a raw link (:mod:`~meterreader.conformance.raw_hdlc`) on the target's transport
as the public client: SNRM with an explicit proposal, then one crafted frame, then — where the
meter should have kept quiet — an RR poll that shows through N(R) whether the frame was taken in.
Every frame in both directions is recorded as evidence; the link ends with DISC.

What the standard requires, as these checks apply it:

* SNRM/UA: the UA carries the negotiated parameters, each no larger than the client's proposal.
* A frame with a wrong HCS or FCS is invalid and discarded without any answer; the link goes on.
* An I-frame whose N(S) is not the expected V(R) is discarded; the poll is answered with
  N(R) = V(R) (RR, or REJ) so that the sender retransmits; FRMR is also accepted.
* An information field longer than negotiated is rejected with FRMR (FRMR reason Y); a silent
  discard (or an RR/REJ answer) fails.
* A control field that IEC 62056-46 does not define is answered with FRMR (reason W).
"""

from __future__ import annotations

from meterreader.conformance.context import CheckContext
from meterreader.conformance.raw_hdlc import (
    NEGOTIATION_PROPOSAL, RawHdlcLink, RxFrame, first_of, kinds)
from meterreader.conformance.registry import CheckFailed, CheckSkipped, check
from meterreader.dlms import connection_events as ev
from meterreader.dlms.connection import DlmsConnection
from meterreader.dlms.connection_state import Role
from meterreader.dlms.hdlc import HdlcAddress, HdlcParameters

__all__ = ["UNKNOWN_CONTROL", "NEGOTIATION_CHECK_PROPOSAL"]

#: Asymmetric proposal of the negotiation check: a meter that swaps transmit and receive, or
#: answers with its own maxima, shows up.
NEGOTIATION_CHECK_PROPOSAL = HdlcParameters(
    max_info_field_length_transmit=256, max_info_field_length_receive=128,
    window_size_transmit=1, window_size_receive=1)
#: A U-format control byte (poll bit set) that IEC 62056-46 does not define.
UNKNOWN_CONTROL = 0x37
#: Bytes beyond the negotiated maximum in the long-frame check.
_EXCESS = 16
#: FRMR information field, third byte (ISO/IEC 13239): W undefined control field, X information
#: field not permitted, Y information field too long, Z invalid N(R).
_FRMR_REASONS = ((0x01, "W"), (0x02, "X"), (0x04, "Y"), (0x08, "Z"))

_CLAUSE = "IEC 62056-46 (HDLC, ISO/IEC 13239 normal response mode)"


# -- helpers --------------------------------------------------------------------------------------

def _link(ctx: CheckContext) -> tuple[RawHdlcLink, bytes]:
    """A raw link as the public client, and an AARQ to carry in I-frames."""
    if not ctx.target.is_hdlc:
        raise CheckSkipped("needs an HDLC link; the target uses the TCP wrapper")
    profile = ctx.profile("pc")
    settings = profile.to_settings(**ctx.target.settings)
    link = RawHdlcLink(profile.to_transport(), client=HdlcAddress.client(settings.client_sap),
                       server=settings.server_address, record=ctx.record, cancel=ctx.cancel,
                       response_timeout=settings.response_timeout)
    aarq = DlmsConnection(Role.CLIENT, settings.association_settings()).send(ev.Associate())
    return link, aarq


def _connect(link: RawHdlcLink, proposal: HdlcParameters = NEGOTIATION_PROPOSAL) -> None:
    """SNRM/UA, or an error (the negative case cannot be tried without a link)."""
    answer = link.connect(proposal)
    if link.parameters is None:
        raise RuntimeError(f"the meter answered the SNRM with {kinds(answer)}, not UA: the "
                           "negative case cannot be tried")


def _frmr_text(frame: RxFrame) -> str:
    info = frame.info
    if len(info) < 3:
        return "FRMR"
    reasons = "".join(name for bit, name in _FRMR_REASONS if info[2] & bit) or "none"
    return f"FRMR (rejected control 0x{info[0]:02X}, reason {reasons})"


def _still_at_zero(link: RawHdlcLink, what: str) -> str:
    """Poll with RR: the meter must answer N(R)=0 (nothing taken in). Returns the answer text."""
    answer = link.poll(0)
    if first_of(answer, "I") is not None:
        raise CheckFailed(f"{what} was taken in: the RR poll after it was answered with "
                          f"{kinds(answer)}")
    rr = first_of(answer, "RR") or first_of(answer, "RNR")
    if rr is None:
        raise CheckFailed(f"after {what} the meter did not answer an RR poll properly "
                          f"({kinds(answer)}): the link did not survive")
    if rr.n_r != 0:
        raise CheckFailed(f"{what} was taken in: the RR poll after it was answered with "
                          f"N(R)={rr.n_r}, expected 0")
    return rr.describe()


def _recovers(link: RawHdlcLink, aarq: bytes, what: str) -> None:
    """The same I-frame sent correctly must be answered with an I-frame (the AARE)."""
    answer = link.exchange(link.i_frame(aarq), "I N(S)=0 N(R)=0 P/F, correct (AARQ)")
    if first_of(answer, "I") is None:
        raise CheckFailed(f"after {what} a correct I-frame was answered with {kinds(answer)}: "
                          "the link did not recover")


def _discarded_silently(ctx: CheckContext, *, bad_hcs: bool = False, bad_fcs: bool = False
                        ) -> str:
    link, aarq = _link(ctx)
    field = "HCS" if bad_hcs else "FCS"
    what = f"an I-frame with a wrong {field}"
    with link:
        _connect(link)
        ctx.note(f"sending {what} (AARQ inside); the meter must discard it without answering")
        frame = link.i_frame(aarq, bad_hcs=bad_hcs, bad_fcs=bad_fcs)
        answer = link.exchange(frame, f"I N(S)=0 N(R)=0 P/F, wrong {field} (AARQ)",
                               expect_answer=False)
        if answer:
            raise CheckFailed(f"the meter answered {what} with {kinds(answer)}; IEC 62056-46 "
                              "requires an invalid frame to be discarded")
        rr = _still_at_zero(link, what)
        _recovers(link, aarq, what)
    return (f"{what} was discarded (no answer within {link.quiet_time:g} s, RR poll answered "
            f"{rr}); the correct frame was then answered")


# -- checks ---------------------------------------------------------------------------------------

@check(check_id="hdlc-negotiation", title="HDLC parameter negotiation (SNRM/UA)",
       clause=f"{_CLAUSE}: SNRM/UA parameter negotiation", group="hdlc", needs=("hdlc",))
def hdlc_negotiation(ctx: CheckContext) -> str:
    link, _ = _link(ctx)
    proposal = NEGOTIATION_CHECK_PROPOSAL
    with link:
        answer = link.connect(proposal)
        ua = first_of(answer, "UA")
        if ua is None:
            raise CheckFailed(f"SNRM (info {proposal.max_info_field_length_transmit}/"
                              f"{proposal.max_info_field_length_receive}, window 1/1) answered "
                              f"with {kinds(answer)}, expected UA")
        p = link.parameters
        if p is None:
            raise CheckFailed(f"the UA's parameters do not decode: {link.ua_error}")
        limits = (
            ("information field the meter transmits", p.max_info_field_length_transmit,
             proposal.max_info_field_length_receive),
            ("information field the meter receives", p.max_info_field_length_receive,
             proposal.max_info_field_length_transmit),
            ("window the meter transmits", p.window_size_transmit, proposal.window_size_receive),
            ("window the meter receives", p.window_size_receive, proposal.window_size_transmit),
        )
        problems = [f"{name} {got} exceeds the proposed {limit}" for name, got, limit in limits
                    if got > limit]
        if not ua.final:
            problems.append("the UA does not carry the final bit")
    if problems:
        raise CheckFailed("UA offers more than the client proposed: " + "; ".join(problems))
    return (f"UA info {p.max_info_field_length_transmit}/{p.max_info_field_length_receive}, "
            f"window {p.window_size_transmit}/{p.window_size_receive} within the proposal "
            f"{proposal.max_info_field_length_receive}/{proposal.max_info_field_length_transmit}"
            ", 1/1")


@check(check_id="hdlc-bad-fcs", title="HDLC frame with a wrong FCS is discarded",
       clause=f"{_CLAUSE}: invalid frames (FCS)", group="hdlc", needs=("hdlc",))
def hdlc_bad_fcs(ctx: CheckContext) -> str:
    return _discarded_silently(ctx, bad_fcs=True)


@check(check_id="hdlc-bad-hcs", title="HDLC frame with a wrong HCS is discarded",
       clause=f"{_CLAUSE}: invalid frames (HCS)", group="hdlc", needs=("hdlc",))
def hdlc_bad_hcs(ctx: CheckContext) -> str:
    return _discarded_silently(ctx, bad_hcs=True)


@check(check_id="hdlc-wrong-ns", title="HDLC I-frame with a wrong N(S) is not accepted",
       clause=f"{_CLAUSE}: sequence numbers N(S)/N(R)", group="hdlc", needs=("hdlc",))
def hdlc_wrong_ns(ctx: CheckContext) -> str:
    link, aarq = _link(ctx)
    with link:
        _connect(link)
        ctx.note("sending an I-frame with N(S)=1 where N(S)=0 is due (AARQ inside)")
        answer = link.exchange(link.i_frame(aarq, n_s=1), "I N(S)=1 N(R)=0 P/F, out of sequence")
        if first_of(answer, "I") is not None:
            raise CheckFailed(f"the meter took in an I-frame with N(S)=1 where 0 was due and "
                              f"answered {kinds(answer)}")
        frmr = first_of(answer, "FRMR")
        if frmr is not None:
            return f"the out-of-sequence I-frame was rejected with {_frmr_text(frmr)}"
        ack = next((f for f in answer if f.kind in ("RR", "RNR", "REJ")), None)
        if ack is None:
            raise CheckFailed(f"the poll of an out-of-sequence I-frame was answered with "
                              f"{kinds(answer)}; expected RR/REJ with N(R)=0 or FRMR")
        if ack.n_r != 0:
            raise CheckFailed(f"the meter acknowledged an out-of-sequence I-frame: {ack.kind} "
                              f"N(R)={ack.n_r}, expected N(R)=0")
        _recovers(link, aarq, "the out-of-sequence frame")
    return (f"the out-of-sequence I-frame was discarded and the poll answered with "
            f"{ack.describe()}; the frame with N(S)=0 was then answered")


@check(check_id="hdlc-long-frame", title="HDLC information field longer than negotiated",
       clause=f"{_CLAUSE}: FRMR, information field too long", group="hdlc", needs=("hdlc",))
def hdlc_long_frame(ctx: CheckContext) -> str:
    link, aarq = _link(ctx)
    with link:
        _connect(link)
        assert link.parameters is not None
        limit = link.parameters.max_info_field_length_receive
        size = limit + _EXCESS
        payload = (aarq + bytes(max(0, size - 3 - len(aarq))))[:size - 3]
        ctx.note(f"the meter receives information fields of up to {limit} bytes; sending an "
                 f"I-frame with {size}")
        try:
            frame = link.i_frame(payload)
        except ValueError as exc:
            raise CheckSkipped(f"no longer frame can be built: {exc}") from None
        answer = link.exchange(frame, f"I N(S)=0 N(R)=0 P/F, {size}-byte information field",
                               expect_answer=False)
        frmr = first_of(answer, "FRMR")
        if frmr is not None:
            return f"an information field of {size} bytes (limit {limit}) was rejected with " \
                   f"{_frmr_text(frmr)}"
        if first_of(answer, "I") is not None:
            raise CheckFailed(f"the meter took in an information field of {size} bytes (limit "
                              f"{limit}) and answered {kinds(answer)}; expected FRMR")
        ack = next((f for f in answer if f.kind in ("RR", "RNR", "REJ")), None)
        if ack is not None:
            raise CheckFailed(f"an information field of {size} bytes (limit {limit}) was "
                              f"answered with {ack.describe()}; IEC 62056-46 requires FRMR "
                              "(reason Y, information field too long)")
        if answer:
            raise CheckFailed(f"an information field of {size} bytes (limit {limit}) was "
                              f"answered with {kinds(answer)}; expected FRMR")
        # Nothing came back: find out whether the frame was taken in before failing.
        rr = _still_at_zero(link, f"an information field of {size} bytes")
    raise CheckFailed(f"an information field of {size} bytes (limit {limit}) was discarded "
                      f"silently (RR poll answered {rr}); IEC 62056-46 requires FRMR (reason "
                      "Y, information field too long)")


@check(check_id="hdlc-unknown-control", title="HDLC unknown control field is rejected (FRMR)",
       clause=f"{_CLAUSE}: FRMR, undefined control field", group="hdlc", needs=("hdlc",))
def hdlc_unknown_control(ctx: CheckContext) -> str:
    link, _ = _link(ctx)
    with link:
        _connect(link)
        ctx.note(f"sending a frame with the control field 0x{UNKNOWN_CONTROL:02X}, which "
                 "IEC 62056-46 does not define")
        answer = link.exchange(link.frame(UNKNOWN_CONTROL),
                               f"control 0x{UNKNOWN_CONTROL:02X} (undefined) P/F",
                               expect_answer=False)
        frmr = first_of(answer, "FRMR")
        if frmr is None:
            if not answer:
                raise CheckFailed(f"no answer to the undefined control field 0x"
                                  f"{UNKNOWN_CONTROL:02X} within {link.quiet_time:g} s; "
                                  "IEC 62056-46 requires FRMR")
            raise CheckFailed(f"the undefined control field 0x{UNKNOWN_CONTROL:02X} was "
                              f"answered as if valid: {kinds(answer)}; expected FRMR")
        echo = frmr.info[:1]
        if echo and echo[0] != UNKNOWN_CONTROL:
            raise CheckFailed(f"{_frmr_text(frmr)} names another control field than the "
                              f"rejected 0x{UNKNOWN_CONTROL:02X}")
    return f"the undefined control field 0x{UNKNOWN_CONTROL:02X} was rejected with " \
           f"{_frmr_text(frmr)}"
