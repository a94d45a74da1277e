"""Associate as the public client and read what identifies the meter: logical devices (SAP
assignment), serial number, manufacturer, firmware version and the association's object count."""

from __future__ import annotations

from typing import Any

from meterreader.client.errors import ServiceFailed
from meterreader.client.profile import ConnectionProfile
from meterreader.client.session import Session
from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.errors import DecodeError, RemoteProtocolError
from meterreader.finder.model import FoundMeter
from meterreader.transport.base import Cancelled, CancelToken, Transport

__all__ = ["CANCELLED_CLOSE_TIMEOUT", "CUT_SHORT", "FIRMWARE", "MANUFACTURER", "SERIAL_NUMBER",
           "identify", "text_of"]

#: IS 15959 / Blue Book: meter serial number, manufacturer name, firmware version (class 1).
SERIAL_NUMBER = Obis(0, 0, 96, 1, 0, 255)
MANUFACTURER = Obis(0, 0, 96, 1, 1, 255)
FIRMWARE = Obis(1, 0, 0, 2, 0, 255)
_DATA_CLASS = 1
_NAME_PLATE = ((_DATA_CLASS, SERIAL_NUMBER, 2), (_DATA_CLASS, MANUFACTURER, 2),
               (_DATA_CLASS, FIRMWARE, 2))
#: Seconds a cancelled identification may spend on RLRQ and DISC.
CANCELLED_CLOSE_TIMEOUT = 0.2
#: The note of an identification cut short (the meter answered; some items were not read).
CUT_SHORT = "identification cut short: some items were not read"
#: What a failed read of one item may raise without ending the identification.
_SOFT_ERRORS = (ServiceFailed, DecodeError, RemoteProtocolError)


def text_of(value: Any) -> str:
    """A name plate value as text: strings decoded (hex when not printable), numbers as digits,
    "" for a refusal or nothing."""
    if not isinstance(value, Data):
        return ""
    raw = value.value
    if isinstance(raw, (bytes, bytearray)):
        try:
            text = bytes(raw).decode("utf-8" if value.tag is DataTag.UTF8_STRING else "ascii")
        except UnicodeDecodeError:
            return bytes(raw).hex().upper()
        text = text.strip("\x00 ")
        return text if text.isprintable() else bytes(raw).hex().upper()
    if isinstance(raw, str):
        return raw.strip("\x00 ")
    if isinstance(raw, bool) or raw is None:
        return ""
    if isinstance(raw, int):
        return str(raw)
    return str(raw)


def identify(profile: ConnectionProfile, *, cancel: CancelToken | None = None,
             transport: Transport | None = None,
             response_timeout: float | None = None,
             partial_on_cancel: bool = False) -> FoundMeter:
    """Associate with ``profile`` (normally the public client), read the SAP assignment
    (0.0.41.0.0.255), serial number (0.0.96.1.0.255), manufacturer (0.0.96.1.1.255), firmware
    (1.0.0.2.0.255) and the number of objects the association lists, release and close.

    ``transport`` replaces ``profile.to_transport()`` (e.g. a port with an injected serial
    factory, or a link the finder already opened); ``response_timeout`` overrides the profile's.
    Items the meter refuses are left empty with a note. Raises what
    :meth:`Session.connect` raises (ConnectionFailed, MeterNotAnswering, AssociationRejected,
    Cancelled …) and transport errors during the reads. With ``partial_on_cancel`` a cancel
    after the association was accepted returns what was read so far (note
    :data:`CUT_SHORT`) instead of raising. A cancelled session closes within
    :data:`CANCELLED_CLOSE_TIMEOUT` (RLRQ/DISC must not outlive the caller's deadline).
    """
    overrides: dict[str, Any] = {"close_timeout": 1.0}
    if response_timeout is not None:
        overrides["response_timeout"] = response_timeout
    settings = profile.to_settings(**overrides)
    session = Session(transport if transport is not None else profile.to_transport(), settings,
                      cancel=cancel)
    notes: list[str] = []
    devices: tuple[tuple[int, str], ...] = ()
    values: list[Any] = [None, None, None]
    count: int | None = None
    try:
        session.connect()
        try:
            devices = tuple((d.sap, d.name) for d in session.logical_devices())
        except _SOFT_ERRORS as exc:
            notes.append(f"logical devices (SAP assignment) not readable: {exc}")
        try:
            values = list(session.get_many(list(_NAME_PLATE)))
        except _SOFT_ERRORS as exc:
            notes.append(f"name plate not readable: {exc}")
        for (_cid, obis, _attr), value in zip(_NAME_PLATE, values):
            if value is not None and not isinstance(value, Data):
                notes.append(f"{obis} not readable: {getattr(value, 'name', value)}")
        try:
            count = len(session.object_list())
        except _SOFT_ERRORS as exc:
            notes.append(f"object list not readable: {exc}")
    except Cancelled:
        # Stop or a search budget: release and disconnect briefly, never for close_timeout.
        session.settings = session.settings.replace(close_timeout=CANCELLED_CLOSE_TIMEOUT)
        if not (partial_on_cancel and session.association is not None):
            raise
        notes.append(CUT_SHORT)
    finally:
        session.close()
    serial, manufacturer, firmware = (text_of(v) for v in values)
    return FoundMeter(profile=profile, logical_devices=devices, serial=serial,
                      manufacturer=manufacturer, firmware=firmware, object_count=count,
                      notes=tuple(notes))
