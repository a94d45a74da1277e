"""Association checks: each IS 15959 association is accepted with its secret, refused with a
wrong one, and an unknown client SAP is refused.

IS 15959 Part 1 (associations): public client SAP 16 without authentication, meter reader SAP 32
with LLS, utility settings SAP 48 with HLS. Green Book ed.9 (ACSE, AARQ/AARE): a refused
association is answered by an AARE with result rejected-permanent/transient, or — for a client
address the server does not know — not at all (the data link layer discards the frame).

A correct association that the meter refuses is a FAIL of its accept check. A wrong secret is
tried only after the right one was accepted: a meter that refuses everything proves nothing.
"""

from __future__ import annotations

from meterreader.client.errors import AssociationRejected, ConnectionLost, MeterNotAnswering
from meterreader.conformance.context import CheckContext
from meterreader.conformance.registry import CheckFailed, CheckSkipped, check
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.secret import SecretBytes
from meterreader.india.associations import get_association

__all__ = ["UNKNOWN_CLIENT_SAP", "wrong_secret"]

#: A client SAP that no IS 15959 association uses.
UNKNOWN_CLIENT_SAP = 99
#: Negative cases wait at most this long for an answer that should not come (seconds).
NEGATIVE_TIMEOUT = 3.0

#: What each association authenticates with, for the findings.
_SECRET_NAME = {"pc": "no authentication", "mr": "given LLS password",
                "us": "given HLS key"}

_CLAUSE = "IS 15959 Part 1, associations (PC/MR/US); Green Book ed.9, ACSE association"


def _accept(ctx: CheckContext, key: str) -> str:
    adef = get_association(key)
    sap = ctx.profile(key).client_sap
    try:
        with ctx.session(key) as s:
            accepted = s.association
            obj = s.object_list()
    except AssociationRejected as exc:
        # The meter answered and said no to a correct AARQ: a finding, not a bench error.
        raise CheckFailed(f"{adef.name} (client {sap}) with the {_SECRET_NAME[key]} was "
                          f"refused: {exc.reason_text}") from None
    ctx.store_object_list(key, obj)  # later checks reuse it
    conformance = getattr(accepted, "negotiated_conformance", None)
    pdu = getattr(accepted, "server_max_receive_pdu_size", None)
    return (f"{adef.name} (client {sap}) associated; "
            f"{len(obj)} objects listed, max PDU {pdu}, conformance "
            f"{int(conformance or 0):#08x}")


@check(check_id="assoc-accept-pc", title="Public client association is accepted",
       clause=_CLAUSE, group="association", needs=("pc",))
def accept_pc(ctx: CheckContext) -> str:
    """PC (SAP 16, no authentication) associates and reads its object list."""
    return _accept(ctx, "pc")


@check(check_id="assoc-accept-mr", title="Meter reader association (LLS) is accepted",
       clause=_CLAUSE, group="association", needs=("mr",))
def accept_mr(ctx: CheckContext) -> str:
    """MR (SAP 32, LLS with the given password) associates and reads its object list."""
    return _accept(ctx, "mr")


@check(check_id="assoc-accept-us", title="Utility settings association (HLS) is accepted",
       clause=_CLAUSE, group="association", needs=("us",))
def accept_us(ctx: CheckContext) -> str:
    """US (SAP 48, HLS with the given key) associates and reads its object list."""
    return _accept(ctx, "us")


def wrong_secret(secret: bytes) -> bytes:
    """A secret of the same length that differs in every byte (``b"wrong-pw"`` if empty)."""
    return bytes(b ^ 0x01 for b in secret) if secret else b"wrong-pw"


def _negative_settings(ctx: CheckContext) -> dict[str, float]:
    timeout = float(ctx.target.settings.get("response_timeout",
                                            ctx.target.profile.response_timeout))
    return {"response_timeout": min(timeout, NEGATIVE_TIMEOUT)}


def _refused(ctx: CheckContext, key: str, what: str, **overrides: object) -> str | None:
    """None when the association was refused as it must be, else the finding."""
    ctx.note(f"trying {what}; the meter must refuse it")
    try:
        with ctx.session(key, settings=_negative_settings(ctx), **overrides):
            return f"{what} was accepted"
    except AssociationRejected as exc:
        ctx.note(f"refused: {exc.reason_text}")
        return None


def _correct_accepted(ctx: CheckContext, key: str, secret: str) -> bool:
    """Whether the association opens with the right secret (else a refusal of a wrong one
    proves nothing)."""
    ctx.note(f"first {key.upper()} with the {secret}: the meter must accept it")
    try:
        with ctx.session(key):
            return True
    except AssociationRejected as exc:
        ctx.note(f"{key.upper()} with the {secret} was refused too ({exc.reason_text})")
        return False


@check(check_id="assoc-reject-wrong-secret", title="Wrong password / key is refused",
       clause=_CLAUSE, group="association")
def reject_wrong_secret(ctx: CheckContext) -> str:
    """MR with a wrong LLS password (and US with a wrong HLS key) must be refused by the AARE
    (or HLS pass 4) — each tried only when the right secret is given and accepted, since a
    meter that refuses everything proves nothing."""
    problems: list[str] = []
    tried: list[str] = []
    untold: list[str] = []
    cases = []
    if ctx.target.available("mr") and ctx.profile("mr").password is not None:
        password = ctx.profile("mr").password
        assert password is not None
        cases.append(("mr", "right LLS password", "MR wrong password",
                      "MR with a wrong LLS password",
                      {"password": SecretBytes(wrong_secret(password.reveal()))}))
    us = ctx.profile("us") if ctx.target.available("us") else None
    if us is not None and us.mechanism == MechanismName.HIGH_GMAC \
            and us.authentication_key is not None:
        # HLS-GMAC proves the client with the authentication key, not an HLS key.
        ak = us.authentication_key
        cases.append(("us", "right authentication key", "US wrong authentication key",
                      "US (HLS-GMAC) with a wrong authentication key",
                      {"authentication_key": SecretBytes(wrong_secret(ak.reveal()))}))
    elif us is not None and us.hls_key is not None:
        key = us.hls_key
        cases.append(("us", "right HLS key", "US wrong key", "US with a wrong HLS key",
                      {"hls_key": SecretBytes(wrong_secret(key.reveal()))}))
    if not cases:
        raise CheckSkipped("no MR password or US key given: no wrong secret to try")
    for key, right, label, what, overrides in cases:
        if not _correct_accepted(ctx, key, right):
            untold.append(key.upper())
            continue
        tried.append(label)
        found = _refused(ctx, key, what, **overrides)
        if found:
            problems.append(found)
    if problems:
        raise CheckFailed("; ".join(problems))
    if not tried:
        raise CheckSkipped(f"correct secret also refused ({', '.join(untold)}); cannot tell "
                           "whether a wrong one is refused")
    more = (f"; {', '.join(untold)} not tried: the correct secret was refused too"
            if untold else "")
    return f"refused: {', '.join(tried)} (the right secret accepted){more}"


@check(check_id="assoc-reject-unknown-client", title="Unknown client SAP is refused",
       clause=_CLAUSE, group="association")
def reject_unknown_client(ctx: CheckContext) -> str:
    """An AARQ from client SAP 99 must not open an association: AARE rejected, or no answer
    at all (the link layer ignores an unknown client address)."""
    what = f"an association from the unknown client SAP {UNKNOWN_CLIENT_SAP}"
    ctx.note(f"trying {what} (no authentication); the meter must refuse or ignore it")
    try:
        with ctx.session("pc", client_sap=UNKNOWN_CLIENT_SAP,
                         settings=_negative_settings(ctx), retries=0):
            raise CheckFailed(f"{what} was accepted")
    except AssociationRejected as exc:
        return f"client SAP {UNKNOWN_CLIENT_SAP} refused: {exc.reason_text}"
    except MeterNotAnswering:
        return f"client SAP {UNKNOWN_CLIENT_SAP} ignored (no answer)"
    except ConnectionLost as exc:
        return f"client SAP {UNKNOWN_CLIENT_SAP} refused at the link layer: {exc}"
