"""Defect switches of the meter simulator: each makes the meter break one rule on purpose, so
that every conformance check (:mod:`meterreader.conformance`) can be shown to fail when it should.

``SimulatedMeter(defects=("wrong-scaler", ...))`` / ``meterreader simulate --defect NAME``.
:data:`DEFECTS` maps each name to a one-line description; :func:`parse_defects` validates names.

Where each defect acts:

* the object model (:func:`apply_device_defects`, run once after ``build_meter``):
  missing-object, reject-correct-secret, wrong-access, wrong-declared-access, wrong-type,
  wrong-scaler, bad-sort-order, range-entry-mismatch, bad-event-code, no-billing-increment,
  bad-clock, bad-time-zone — through public attributes and two hooks:
  ``CosemObject.get_filters`` (rework a GET answer) and ``LogicalDevice.enforce`` (rights
  enforced other than declared);
* the association layer (:mod:`.server`): accept-wrong-password (:func:`with_password`),
  accept-unknown-client, no-block-transfer (:func:`send_unsplit`);
* the HDLC link (:mod:`.server_hdlc`): bad-hdlc-negotiation, ignore-bad-fcs, ignore-bad-hcs,
  ignore-wrong-ns, accept-long-frame, accept-unknown-control.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from meterreader.cosem.interface_classes import AttributeAccessMode
from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import Data, DataTag

if TYPE_CHECKING:
    from meterreader.dlms.connection import DlmsConnection
    from meterreader.dlms.connection_events import GetResponse

    from .device import LogicalDevice, PhysicalDevice

__all__ = ["DEFECTS", "MISSING_OBJECT", "REJECTING_PASSWORD", "WRONG_SCALER_REGISTER",
           "WRONG_ZONE_MINUTES", "apply_device_defects",
           "describe_defects", "parse_defects", "send_unsplit", "with_password"]

#: The mandatory object (MR and US object lists, every category) that missing-object removes.
MISSING_OBJECT = Obis(1, 0, 0, 8, 0, 255)  # demand integration period
#: The register whose scaler wrong-scaler changes (voltage L1, in the instantaneous scaler
#: profile 1.0.94.91.3.255 of every category).
WRONG_SCALER_REGISTER = Obis(1, 0, 32, 7, 0, 255)
_CLOCK = Obis(0, 0, 1, 0, 0, 255)
_BLOCK_LOAD = Obis(1, 0, 99, 1, 0, 255)
_BILLING_COUNT = Obis(0, 0, 0, 1, 0, 255)
#: The LLS password reject-correct-secret gives the MR association instead of the right one.
REJECTING_PASSWORD = b"\x00not-the-right-one\x00"
#: The UTC offset (minutes) bad-time-zone reports instead of IST's 330 (e.g. CET).
WRONG_ZONE_MINUTES = 60
_CLOCK_STATUS_INVALID = 0x01  # Blue Book, Clock: clock_status bit 0 "invalid value"
_RANGE_SELECTOR = 1
_MAX_APDU = 0xFFFF  # longest APDU the wrapper (16-bit length) can carry

DEFECTS: Mapping[str, str] = MappingProxyType({
    "missing-object": f"the mandatory object {MISSING_OBJECT} (demand integration period) is "
                      "in no association's object list and undefined",
    "accept-wrong-password": "MR (LLS) accepts any password",
    "reject-correct-secret": "MR (LLS) refuses even the right password (the meter holds "
                             "another one)",
    "accept-unknown-client": "an AARQ from an unknown client SAP (e.g. 99) is accepted, without "
                             "authentication and with the rights of PC",
    "wrong-access": "MR may SET the clock time (0.0.1.0.0.255 attribute 2), which its object "
                    "list declares read-only; the SET takes effect",
    "wrong-declared-access": "MR's object list declares the clock time (0.0.1.0.0.255 "
                             "attribute 2) read-write, where IS 15959 says read-only; a SET is "
                             "still refused (read-only enforced)",
    "wrong-type": "clock time_zone (0.0.1.0.0.255 attribute 3, long) comes back as "
                  "double-long (same value, e.g. -330)",
    "wrong-scaler": f"register {WRONG_SCALER_REGISTER} answers a scaler one higher than the "
                    "instantaneous scaler profile declares",
    "bad-sort-order": "the block load buffer (1.0.99.1.0.255) is delivered newest first "
                      "(clock column decreasing), whatever the selection",
    "range-entry-mismatch": "a read of the block load by range drops the middle row of the "
                            "answer (by entry is correct)",
    "bad-event-code": "the newest row of the first non-empty event log carries the first code "
                      "of the next compartment (outside its IS 15959 range)",
    "no-billing-increment": "the MD reset ACTION succeeds but the billing count 0.0.0.1.0.255 "
                            "never changes",
    "bad-clock": "the clock status has the invalid-value bit set (attribute 4 and the status "
                 "byte of attribute 2)",
    "bad-time-zone": f"the clock reports UTC{WRONG_ZONE_MINUTES // 60:+d} instead of IST: "
                     f"time_zone (attribute 3) and the deviation of attribute 2 are "
                     f"{WRONG_ZONE_MINUTES} minutes, in the meter's own sign convention",
    "bad-hdlc-negotiation": "the UA offers maximum information field lengths 128 bytes longer "
                            "and windows one larger (up to 7) than the SNRM proposed",
    "ignore-bad-fcs": "an HDLC frame with a wrong FCS is processed (and answered) as if valid",
    "ignore-bad-hcs": "an HDLC frame with a wrong HCS (and a right FCS) is processed as if "
                      "valid",
    "ignore-wrong-ns": "an I-frame with a wrong N(S) is accepted as the expected one",
    "accept-long-frame": "an I-frame whose information field is longer than negotiated is "
                         "accepted instead of answered with FRMR",
    "accept-unknown-control": "a frame with an undefined control field is answered with RR "
                              "(N(R) = V(R)) instead of FRMR",
    "no-block-transfer": "a GET answer longer than the client's max PDU size goes out as one "
                         "get-response-normal (other-reason when over 65535 bytes)",
})


def parse_defects(names: Iterable[str]) -> frozenset[str]:
    """The defect names as a set; ValueError naming the unknown ones and listing the known."""
    if isinstance(names, str):
        names = (names,)
    chosen = frozenset(str(n).strip().lower() for n in names)
    unknown = sorted(chosen - DEFECTS.keys())
    if unknown:
        raise ValueError(f"unknown defect(s) {', '.join(unknown)}; known: "
                         f"{', '.join(DEFECTS)}")
    return chosen


def describe_defects() -> str:
    """One line per defect: name and description (``--defect list``)."""
    width = max(map(len, DEFECTS))
    return "\n".join(f"{name:<{width}}  {text}" for name, text in DEFECTS.items())


# -- object model ---------------------------------------------------------------------------------

def apply_device_defects(device: PhysicalDevice, defects: Iterable[str]) -> None:
    """Break the management logical device as ``defects`` say (once, right after building)."""
    ld, chosen = device.management, parse_defects(defects)
    for name, action in _DEVICE_DEFECTS.items():  # a fixed order: filters compose the same
        if name in chosen:
            action(ld, device.model)


def _filter(ld: LogicalDevice, obis: Obis, attr: int,
            fn: Callable[[Data, Any], Data]) -> None:
    obj = ld.object(obis)
    if obj is None:
        raise ValueError(f"this meter has no {obis} to break")
    before = obj.get_filters.get(attr)
    if before is not None:  # two defects on one attribute: apply both
        fn = (lambda first, then: lambda v, sel: then(first(v, sel), sel))(before, fn)
    obj.get_filters = {**obj.get_filters, attr: fn}


def _missing_object(ld: LogicalDevice, model: Any) -> None:
    for association in ld.association_names:
        ld.revoke(association, MISSING_OBJECT)


def _wrong_access(ld: LogicalDevice, model: Any) -> None:
    declared = ld.rights("MR", _CLOCK)
    if declared is None:
        raise ValueError("MR does not list the clock")
    ld.enforce("MR", _CLOCK, dataclasses.replace(declared, attributes=MappingProxyType(
        {**declared.attributes, 2: AttributeAccessMode.READ_WRITE})))


def _reject_correct_secret(ld: LogicalDevice, model: Any) -> None:
    # The connection layer takes the LLS password from the Association LN object (attribute 7)
    # for every new association, so the right password no longer matches.
    from meterreader.dlms.secret import SecretBytes

    mr = ld.association("MR")
    if mr is None or mr.secret is None:
        raise ValueError("this meter has no MR association with a password to break")
    mr.secret = SecretBytes(REJECTING_PASSWORD)


def _wrong_declared_access(ld: LogicalDevice, model: Any) -> None:
    declared = ld.rights("MR", _CLOCK)
    if declared is None:
        raise ValueError("MR does not list the clock")
    ld.enforce("MR", _CLOCK, declared)  # what is checked stays read-only …
    ld.grant("MR", _CLOCK, dataclasses.replace(declared, attributes=MappingProxyType(
        {**declared.attributes, 2: AttributeAccessMode.READ_WRITE})))  # … the list says rw


def _wrong_type(ld: LogicalDevice, model: Any) -> None:
    # Same value and sign, so only the type is wrong (the clock check still sees IST).
    _filter(ld, _CLOCK, 3, lambda value, _sel: Data(DataTag.DOUBLE_LONG, value.value))


def _wrong_scaler(ld: LogicalDevice, model: Any) -> None:
    register = ld.object(WRONG_SCALER_REGISTER)
    if register is None:
        raise ValueError(f"this meter has no {WRONG_SCALER_REGISTER} to break")
    register.scaler += 1  # type: ignore[attr-defined]  # the scaler profile keeps the old one


def _bad_sort_order(ld: LogicalDevice, model: Any) -> None:
    _filter(ld, _BLOCK_LOAD, 2, lambda value, _sel: Data(DataTag.ARRAY, value.value[::-1]))


def _drop_middle_row(value: Data, selection: Any) -> Data:
    rows = value.value
    if selection is None or selection.access_selector != _RANGE_SELECTOR or not rows:
        return value
    middle = len(rows) // 2
    return Data(DataTag.ARRAY, rows[:middle] + rows[middle + 1:])


def _range_entry_mismatch(ld: LogicalDevice, model: Any) -> None:
    _filter(ld, _BLOCK_LOAD, 2, _drop_middle_row)


def _bad_event_code(ld: LogicalDevice, model: Any) -> None:
    from meterreader.india.events import CODE_RANGES, EventCompartment

    compartments = list(EventCompartment)
    for index, compartment in enumerate(compartments):
        log = ld.object(compartment.profile_obis)
        if log is None or not log.rows:  # type: ignore[attr-defined]
            continue
        column = next(i for i, c in enumerate(log.capture_objects)  # type: ignore[attr-defined]
                      if c.class_id == 1)
        wrong = CODE_RANGES[compartments[(index + 1) % len(compartments)]].start
        rows = [list(row.value) for row in log.rows]  # type: ignore[attr-defined]
        rows[-1][column] = Data(DataTag.LONG_UNSIGNED, wrong)
        log.reset()  # type: ignore[attr-defined]
        log.append_rows(rows)  # type: ignore[attr-defined]
        return
    raise ValueError("every event log is empty: no row to break")


def _no_billing_increment(ld: LogicalDevice, model: Any) -> None:
    counter = ld.object(_BILLING_COUNT)
    if counter is None:
        raise ValueError(f"this meter has no {_BILLING_COUNT} to break")
    counter.value = counter.get(2)  # type: ignore[attr-defined]  # frozen at today's count


def _invalid_status(value: Data, _selection: Any) -> Data:
    if value.tag == DataTag.UNSIGNED:
        return Data(DataTag.UNSIGNED, value.value | _CLOCK_STATUS_INVALID)
    raw = bytes(value.value)  # date-time octet-string: the status is its last byte
    return Data(value.tag, raw[:-1] + bytes((raw[-1] | _CLOCK_STATUS_INVALID,)))


def _bad_clock(ld: LogicalDevice, model: Any) -> None:
    _filter(ld, _CLOCK, 2, _invalid_status)
    _filter(ld, _CLOCK, 4, _invalid_status)


def _zone(value: Data, _selection: Any) -> Data:
    """time_zone: the wrong zone with the sign the meter uses (Blue Book: negative east)."""
    sign = -1 if isinstance(value.value, int) and value.value < 0 else 1
    return Data(value.tag, sign * WRONG_ZONE_MINUTES)


def _zone_deviation(value: Data, _selection: Any) -> Data:
    """The deviation (bytes 9-10, signed big-endian) of a date-time octet-string."""
    raw = value.value
    if not isinstance(raw, bytes) or len(raw) != 12:
        return value
    deviation = int.from_bytes(raw[9:11], "big", signed=True)
    if deviation == -0x8000:  # not specified: leave it
        return value
    sign = -1 if deviation < 0 else 1
    return Data(value.tag, raw[:9] + (sign * WRONG_ZONE_MINUTES).to_bytes(2, "big", signed=True)
                + raw[11:])


def _bad_time_zone(ld: LogicalDevice, model: Any) -> None:
    _filter(ld, _CLOCK, 3, _zone)
    _filter(ld, _CLOCK, 2, _zone_deviation)


_DEVICE_DEFECTS: dict[str, Callable[[LogicalDevice, Any], None]] = {
    "missing-object": _missing_object, "reject-correct-secret": _reject_correct_secret,
    "wrong-access": _wrong_access, "wrong-declared-access": _wrong_declared_access,
    "wrong-type": _wrong_type, "wrong-scaler": _wrong_scaler,
    "bad-sort-order": _bad_sort_order, "range-entry-mismatch": _range_entry_mismatch,
    "bad-event-code": _bad_event_code, "no-billing-increment": _no_billing_increment,
    "bad-clock": _bad_clock, "bad-time-zone": _bad_time_zone,
}


# -- association layer ----------------------------------------------------------------------------

def with_password(apdu: bytes, password: bytes) -> bytes:
    """accept-wrong-password: an LLS AARQ with its password replaced by ``password`` (any other
    APDU unchanged), so that the connection's check passes whatever the client sent."""
    from meterreader.dlms.acse import AARQ, AcseTag, MechanismName
    from meterreader.dlms.errors import DlmsError

    if not apdu or apdu[0] != AcseTag.AARQ:
        return apdu
    try:
        aarq = AARQ.decode(apdu)
    except DlmsError:
        return apdu  # let the connection refuse it
    if aarq.mechanism_name is not MechanismName.LOW:
        return apdu
    return dataclasses.replace(aarq, calling_authentication_value=password).encode()


def send_unsplit(conn: DlmsConnection, answer: GetResponse) -> bytes:
    """no-block-transfer: send a GET answer as one get-response-normal however long (the
    connection would cut it into blocks at the client's max PDU size); other-reason when even
    that cannot travel (over 65535 bytes)."""
    from meterreader.dlms import connection_events as ev
    from meterreader.dlms import xdlms as x
    from meterreader.dlms.axdr import encode_data

    if isinstance(answer.value, Data) and len(encode_data(answer.value)) + 8 > _MAX_APDU:
        return conn.send(ev.GetResponse(invoke_id=answer.invoke_id,
                                        value=x.DataAccessResult.OTHER_REASON))
    # The server side keeps the negotiated client limit privately: lift it for this answer.
    side = conn._side  # noqa: SLF001 - deliberate: a defect bypasses the connection's rule
    limit = side._client_limit  # noqa: SLF001
    side._client_limit = _MAX_APDU  # noqa: SLF001
    try:
        return conn.send(answer)
    finally:
        side._client_limit = limit  # noqa: SLF001
