"""IS 15959 event codes and the event-log compartments that hold them.

Each compartment is a profile generic 0.0.99.98.x.255 whose rows are (clock, event code, snapshot
values …); the event code of the latest event of that compartment is also in the Data object
0.0.96.11.x.255. Codes come in occurrence/restoration pairs (odd = occurrence) except for the
transaction, non-rollover and control compartments.

The codes listed are the ones IS 15959 documents; meters may log vendor codes too. The
numbering leaves a block of 50 codes per compartment (1–50 voltage, 51–100 current, …, 301–350
control); :func:`compartment_of_block` uses that layout for codes the table does not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, unique
from types import MappingProxyType
from typing import Mapping

from meterreader.cosem.obis import Obis
from meterreader.dlms.errors import DlmsError


@unique
class EventCompartment(IntEnum):
    """Event-log compartment; the value is value group E of its OBIS codes."""

    VOLTAGE = 0
    CURRENT = 1
    POWER = 2
    TRANSACTION = 3
    OTHER = 4
    NON_ROLLOVER = 5
    CONTROL = 6

    @property
    def title(self) -> str:
        return _TITLES[self]

    @property
    def profile_obis(self) -> Obis:
        """The event log (profile generic, class 7) 0.0.99.98.x.255."""
        return Obis(0, 0, 99, 98, int(self), 255)

    @property
    def event_code_obis(self) -> Obis:
        """The event code object (Data, class 1) 0.0.96.11.x.255."""
        return Obis(0, 0, 96, 11, int(self), 255)

    @property
    def code_range(self) -> range:
        """The documented codes of this compartment, as a contiguous range."""
        return CODE_RANGES[self]

    @property
    def code_block(self) -> range:
        """The block of 50 codes the numbering reserves for this compartment."""
        return range(50 * int(self) + 1, 50 * int(self) + 51)


_TITLES = {
    EventCompartment.VOLTAGE: "Voltage related events",
    EventCompartment.CURRENT: "Current related events",
    EventCompartment.POWER: "Power related events",
    EventCompartment.TRANSACTION: "Transaction related events",
    EventCompartment.OTHER: "Other events",
    EventCompartment.NON_ROLLOVER: "Non-rollover events",
    EventCompartment.CONTROL: "Control events",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class EventDef:
    """One documented event code. ``occurrence`` is None for events without a restoration."""

    code: int
    compartment: EventCompartment
    description: str
    occurrence: bool | None


def _pairs(compartment: EventCompartment, first: int,
           subjects: tuple[str, ...]) -> list[EventDef]:
    out = []
    for i, subject in enumerate(subjects):
        code = first + 2 * i
        out.append(EventDef(code=code, compartment=compartment, occurrence=True,
                            description=f"{subject} — occurrence"))
        out.append(EventDef(code=code + 1, compartment=compartment, occurrence=False,
                            description=f"{subject} — restoration"))
    return out


def _singles(compartment: EventCompartment, first: int,
             descriptions: tuple[str, ...]) -> list[EventDef]:
    return [EventDef(code=first + i, compartment=compartment, description=text, occurrence=None)
            for i, text in enumerate(descriptions)]


_EVENTS: tuple[EventDef, ...] = tuple(
    _pairs(EventCompartment.VOLTAGE, 1, (
        "R-phase PT link missing (missing potential)",
        "Y-phase PT link missing (missing potential)",
        "B-phase PT link missing (missing potential)",
        "Over voltage in any phase",
        "Low voltage in any phase",
        "Voltage unbalance",
    ))
    + _pairs(EventCompartment.CURRENT, 51, (
        "R-phase CT reversal",
        "Y-phase CT reversal",
        "B-phase CT reversal",
        "R-phase CT open",
        "Y-phase CT open",
        "B-phase CT open",
        "Current unbalance",
        "CT bypass",
        "Over current in any phase",
    ))
    + _pairs(EventCompartment.POWER, 101, ("Power failure (all three phases)",))
    + _singles(EventCompartment.TRANSACTION, 151, (
        "Real time clock — date and time changed",
        "Demand integration period changed",
        "Profile capture period changed",
        "Single-action schedule for billing dates changed",
        "Activity calendar for time zones changed",
    ))
    + _pairs(EventCompartment.OTHER, 201, (
        "Influence of permanent magnet or AC/DC electromagnet",
        "Neutral disturbance (HF and DC)",
        "Very low power factor",
    ))
    + [EventDef(code=251, compartment=EventCompartment.NON_ROLLOVER, occurrence=True,
                description="Meter cover opened — occurrence")]
    + _singles(EventCompartment.CONTROL, 301, (
        "Load switch disconnected",
        "Load switch connected",
    ))
)

#: Every documented event code → its definition.
EVENT_CODES: Mapping[int, EventDef] = MappingProxyType({e.code: e for e in _EVENTS})

#: Documented codes per compartment, as contiguous ranges (used by the conformance checks).
CODE_RANGES: Mapping[EventCompartment, range] = MappingProxyType({
    c: range(min(e.code for e in _EVENTS if e.compartment is c),
             max(e.code for e in _EVENTS if e.compartment is c) + 1)
    for c in EventCompartment})


def describe_event(code: int) -> str:
    """Plain description of an event code; ``"unknown event code N"`` when not documented."""
    event = EVENT_CODES.get(code) if isinstance(code, int) else None
    return event.description if event is not None else f"unknown event code {code}"


def compartment_of(code: int) -> EventCompartment | None:
    """The compartment of a documented event code, or None."""
    event = EVENT_CODES.get(code) if isinstance(code, int) else None
    return event.compartment if event is not None else None


def compartment_of_block(code: int) -> EventCompartment | None:
    """The compartment whose 50-code block holds ``code`` (documented or not), or None."""
    if isinstance(code, bool) or not isinstance(code, int) or code < 1:
        return None
    index = (code - 1) // 50
    return EventCompartment(index) if index <= EventCompartment.CONTROL else None


def events_of(compartment: EventCompartment) -> tuple[EventDef, ...]:
    """The documented events of one compartment, in code order."""
    return tuple(e for e in _EVENTS if e.compartment is compartment)


def compartment_by_obis(obis: Obis | str | bytes) -> EventCompartment | None:
    """The compartment whose event log or event code object is ``obis``, or None."""
    try:
        o = Obis.parse(obis)
    except DlmsError:  # unparsable input simply matches nothing
        return None
    for c in EventCompartment:
        if o in (c.profile_obis, c.event_code_obis):
            return c
    return None
