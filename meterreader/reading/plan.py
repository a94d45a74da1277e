"""The one-click IS 15959 meter read: a plan of steps and the loop that runs it on a session.

    plan = plan_for("C", days=7)                 # what will be read, in order
    reading = read_meter(session, "C", progress=print)

The plan is the identity (name plate profile, logical device name and clock), then the
instantaneous parameters, billing history, block load survey (the last ``days`` days up to the
meter's clock, by range), daily load survey and the seven event compartments
(:data:`~meterreader.reading.model.SECTION_TITLES` order).

Failures never lose what was read. A section the meter refuses (object undefined, access
denied) goes into ``errors`` and the plan goes on. A cancel (the session's cancel token, a
KeyboardInterrupt) or a lost link keeps the rows of the running section (``complete=False``),
marks the rest "not read" and returns the reading.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from meterreader import __version__
from meterreader.client.errors import MeterNotAnswering, ServiceFailed
from meterreader.dlms.axdr import Data
from meterreader.dlms.cosem_time import CosemDateTime
from meterreader.dlms.errors import DlmsError
from meterreader.india.catalogue import (BILLING, BLOCK_LOAD, DAILY_LOAD, INSTANTANEOUS,
                                         NAME_PLATE, MeterCategory, profile)
from meterreader.india.events import EventCompartment
from meterreader.reading.identity import IDENTITY_FIELDS, LOGICAL_DEVICE_NAME, cell_text, \
    identity_from_name_plate
from meterreader.reading.model import (SECTION_TITLES, MeterReading, ReadingTable,
                                       table_from_profile)
from meterreader.transport.base import Cancelled, TransportError

__all__ = ["DEFAULT_DAYS", "PlanStep", "ReadProgress", "error_text", "octet_dates", "plan_for",
           "read_meter", "section_names"]

DEFAULT_DAYS = 7
CLOCK = "0.0.1.0.0.255"
#: Blocks a day at the default IS 15959 block load capture period (900 s).
_BLOCKS_PER_DAY = 96

_EVENT_COMPARTMENTS = {f"events_{c.name.lower()}": c for c in EventCompartment}
_PROFILE_OBIS = {"name_plate": NAME_PLATE, "instantaneous": INSTANTANEOUS, "billing": BILLING,
                 "block_load": BLOCK_LOAD, "daily_load": DAILY_LOAD,
                 **{name: str(c.profile_obis) for name, c in _EVENT_COMPARTMENTS.items()}}


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanStep:
    """One step of a read: a section and the profile that fills it.

    ``kind`` "identity" (the name plate profile, logical device name and clock) or "profile";
    ``days``: read by range, the last ``days`` days up to the meter clock (block load), else
    None (the whole buffer); ``event_code_obis``: the event code column of an event log;
    ``weight`` and ``expected_rows`` shape the overall progress fraction."""

    section: str
    title: str
    obis: str
    kind: str = "profile"
    days: int | None = None
    event_code_obis: str = ""
    expected_rows: int | None = None
    weight: float = 1.0

    def span(self, clock: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
        """The range for ``read_profile`` given the meter clock (None: read whole)."""
        if self.days is None:
            return None
        clock = clock.replace(microsecond=0)  # a range bound carries whole seconds
        # Both bounds are inclusive: start one second after "N days ago" so a clock standing
        # exactly on a capture boundary gives N days of blocks, not N days + 1 row.
        return clock - dt.timedelta(days=self.days) + dt.timedelta(seconds=1), clock


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadProgress:
    """Progress of a whole read: step ``step`` of ``steps`` (1-based), rows and bytes of the
    running step, ``fraction`` (0..1) of the whole plan, a one-line ``message``; ``done`` on
    the last report of a step (``rows`` then is its final count)."""

    step: int
    steps: int
    section: str
    title: str
    rows: int = 0
    bytes: int = 0
    fraction: float = 0.0
    message: str = ""
    done: bool = False


def section_names(text: str | Iterable[str]) -> tuple[str, ...]:
    """Section names from a list or comma-separated text; "events" means every event section.
    ValueError names an unknown section."""
    items = text.split(",") if isinstance(text, str) else list(text)
    out: list[str] = []
    for item in (i.strip().lower().replace("-", "_") for i in items):
        if not item:
            continue
        names = [n for n in SECTION_TITLES if n.startswith("events_")] if item == "events" \
            else [item]
        for name in names:
            if name not in SECTION_TITLES:
                raise ValueError(f"unknown section {item!r}; sections are "
                                 f"{', '.join(SECTION_TITLES)} (or 'events')")
            if name not in out:
                out.append(name)
    return tuple(out)


def _category(category: str) -> MeterCategory:
    try:
        return MeterCategory.parse(category)
    except DlmsError as exc:
        raise ValueError(str(exc)) from None


def plan_for(category: str, *, days: int = DEFAULT_DAYS,
             sections: Sequence[str] | None = None) -> tuple[PlanStep, ...]:
    """The steps of a read of an IS 15959 meter of ``category`` (A, B or C).

    ``sections`` (names of SECTION_TITLES, "events" for all compartments) restricts the read;
    the identity step (name plate) always comes first. ValueError for a bad category, days
    or section."""
    cat = _category(category)
    if type(days) is not int or not 0 < days <= 3660:
        raise ValueError(f"days must be 1..3660, not {days!r}")
    wanted = set(section_names(sections)) if sections is not None else set(SECTION_TITLES)
    steps = [PlanStep(section="name_plate", title=SECTION_TITLES["name_plate"],
                      obis=NAME_PLATE, kind="identity", expected_rows=1)]
    for section, title in SECTION_TITLES.items():
        if section == "name_plate" or section not in wanted:
            continue
        obis = _PROFILE_OBIS[section]
        definition = profile(cat, obis)
        if definition is None:
            continue
        compartment = _EVENT_COMPARTMENTS.get(section)
        if section == "block_load":
            expected = days * _BLOCKS_PER_DAY
            steps.append(PlanStep(section=section, title=title, obis=obis, days=days,
                                  expected_rows=expected, weight=1.0 + expected / 96))
        else:
            steps.append(PlanStep(
                section=section, title=title, obis=obis,
                event_code_obis=(str(compartment.event_code_obis) if compartment is not None
                                 else ""),
                expected_rows=definition.profile_entries or None))
    return tuple(steps)


# -- running the plan -----------------------------------------------------------------------------

def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _is_cancel(exc: BaseException | None) -> bool:
    return isinstance(exc, (Cancelled, KeyboardInterrupt))


def error_text(exc: BaseException) -> str:
    """One line of words for a failure of a step."""
    if _is_cancel(exc):
        return "cancelled"
    if isinstance(exc, MeterNotAnswering):
        return f"meter not answering: {exc}"
    if isinstance(exc, TransportError):
        return f"connection lost: {exc}"
    if isinstance(exc, ServiceFailed):
        return str(exc)
    if isinstance(exc, DlmsError):
        return f"protocol error: {exc}"
    return f"unexpected error: {type(exc).__name__}: {exc}"


class _Run:
    """State of one read_meter call."""

    def __init__(self, session: Any, steps: Sequence[PlanStep],
                 progress: Callable[[ReadProgress], None] | None) -> None:
        self.session = session
        self.steps = steps
        self.progress = progress
        self.total = sum(s.weight for s in steps) or 1.0
        self.weight_done = 0.0
        self.tables: dict[str, ReadingTable] = {}
        self.errors: list[str] = []
        self.notes: list[str] = []
        self.complete = True
        self.stopped = ""  # why the remaining steps are not read
        self.clock: dt.datetime | None = None
        self.logical_device_name = ""
        self.fallback: list[tuple[str, Any]] = []
        self.last_bytes = 0

    def report(self, index: int, step: PlanStep, *, rows: int = 0, nbytes: int = 0,
               inner: float = 0.0, message: str = "", done: bool = False) -> None:
        if self.progress is None:
            return
        fraction = min(1.0, (self.weight_done + step.weight * min(inner, 1.0)) / self.total)
        self.progress(ReadProgress(step=index + 1, steps=len(self.steps), section=step.section,
                                   title=step.title, rows=rows, bytes=nbytes,
                                   fraction=fraction, message=message or step.title,
                                   done=done))

    def fail(self, step: PlanStep, exc: BaseException, rows: int = 0) -> None:
        self.complete = False
        text = error_text(exc)
        self.errors.append(f"{step.title}: stopped after {rows} rows: {text}" if rows
                           else f"{step.title}: {text}")
        self.check_link(exc)

    def check_link(self, exc: BaseException | None = None) -> None:
        """Set ``stopped`` when the session can no longer read (cancel, lost link)."""
        if self.stopped:
            return
        token = getattr(self.session, "cancel", None)
        if _is_cancel(exc) or (token is not None and token.cancelled):
            self.stopped = "cancelled"
        elif not self.session.is_ready:
            self.stopped = "connection lost"

    def read(self, index: int, step: PlanStep, span: Any = None) -> ReadingTable | None:
        """One profile read into a table; None when nothing was read."""
        def on_block(p: Any) -> None:
            rows = p.rows or 0
            inner = rows / step.expected_rows if step.expected_rows else 1 - 1 / (1 + p.blocks)
            self.report(index, step, rows=rows, nbytes=p.bytes, inner=min(inner, 0.95),
                        message=f"{step.title}: {_rows(rows)}")

        try:
            result = self.session.read_profile(step.obis, range=span, progress=on_block)
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - recorded, never lost
            self.fail(step, exc)
            return None
        self.last_bytes = result.bytes
        table = table_from_profile(
            step.section, result, title=step.title,
            capture_period=self._capture_period(step),
            event_code_obis=(step.event_code_obis,) if step.event_code_obis else ())
        table = octet_dates(table, getattr(self.session.settings, "deviation_sign", -1))
        if step.kind == "identity":
            table = _texts(table)
        if result.error is not None:
            self.fail(step, result.error, len(result.rows))
            table = replace(table, error=error_text(result.error))
        self.tables[step.section] = table
        return table

    def _capture_period(self, step: PlanStep) -> int | None:
        if step.section not in ("block_load", "daily_load") or not self.session.is_ready:
            return None
        try:
            value = self.session.get(7, step.obis, 4)
        except DlmsError:
            return None
        return value.value if type(value.value) is int and value.value > 0 else None

    def identity(self, index: int, step: PlanStep) -> None:
        self.read(index, step)
        for what, fn in (("logical device name", self._read_ldn), ("clock", self._read_clock),
                         ("identity objects", self._read_fallback)):
            self.check_link()
            if self.stopped:
                return
            try:
                fn()
            except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - recorded
                self.notes.append(f"{what} not read: {error_text(exc)}")
                self.check_link(exc)

    def _read_ldn(self) -> None:
        self.logical_device_name = cell_text(
            self.session.get(1, LOGICAL_DEVICE_NAME, 2).value)

    def _read_clock(self) -> None:
        when = self.session.read_clock()
        if isinstance(when, dt.datetime):
            self.clock = when
        else:
            self.notes.append(f"the meter clock is not a complete date-time: {when}")

    def _read_fallback(self) -> None:
        """The identity objects one by one when the name plate profile was not read."""
        if "name_plate" in self.tables and self.tables["name_plate"].rows:
            return
        wanted = list(IDENTITY_FIELDS)
        values = self.session.get_many([(1, obis, 2) for obis in wanted])
        self.fallback = [(obis, v.value) for obis, v in zip(wanted, values)
                         if isinstance(v, Data) and not isinstance(v.value, (list, tuple))]

    def profile(self, index: int, step: PlanStep) -> None:
        span = None
        if step.days is not None:
            clock = self.clock
            if clock is None:
                clock = _now()
                self.notes.append(f"{step.title}: the meter clock was not read; the last "
                                  f"{step.days} days are counted from this computer's clock")
            span = step.span(clock)
        self.read(index, step, span)


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def octet_dates(table: ReadingTable, deviation_sign: int = -1) -> ReadingTable:
    """``table`` with date-times sent as 12-byte octet strings (e.g. the billing date
    0.0.0.1.2.255, a register) turned into ``datetime`` cells of kind "datetime": only for a
    value column whose every non-null cell decodes as a complete COSEM date-time."""
    convert: dict[int, list[Any]] = {}
    for i, column in enumerate(table.columns):
        if column.kind != "value" or not table.rows:
            continue
        cells = [row[i] for row in table.rows]
        out = [None if c is None else _instant(c, deviation_sign) for c in cells]
        if any(o is not None for o in out) and all(
                (o is not None) == (c is not None) for c, o in zip(cells, out)):
            convert[i] = out
    if not convert:
        return table
    columns = tuple(replace(c, kind="datetime") if i in convert else c
                    for i, c in enumerate(table.columns))
    rows = tuple(tuple(convert[i][r] if i in convert else cell for i, cell in enumerate(row))
                 for r, row in enumerate(table.rows))
    return replace(table, columns=columns, rows=rows)


def _texts(table: ReadingTable) -> ReadingTable:
    """Name plate octet strings that are printable ASCII as text (serial, manufacturer …)."""
    def text(cell: Any) -> Any:
        if isinstance(cell, bytes) and cell and cell.isascii() and cell.decode().isprintable():
            return cell.decode()
        return cell
    return replace(table, rows=tuple(tuple(text(c) for c in row) for row in table.rows))


def _instant(cell: Any, sign: int) -> dt.datetime | None:
    if not isinstance(cell, bytes) or len(cell) != 12:
        return None
    cdt = CosemDateTime.try_from_bytes(cell)
    if cdt is None or not cdt.is_complete:
        return None
    try:
        return cdt.to_datetime(deviation_sign=sign)
    except DlmsError:
        return None


def read_meter(session: Any, category: str, *, days: int = DEFAULT_DAYS,
               sections: Sequence[str] | None = None,
               progress: Callable[[ReadProgress], None] | None = None,
               connection: str = "", association: str = "") -> MeterReading:
    """Run :func:`plan_for` on a connected ``session``; the reading of everything read.

    ``progress(ReadProgress)`` at the start and end of each step and after every datablock.
    Never raises for what the meter or the link does (see the module docstring); ValueError
    for bad arguments."""
    cat = _category(category)
    steps = plan_for(cat, days=days, sections=sections)
    run = _Run(session, steps, progress)
    started = _now()
    for index, step in enumerate(steps):
        run.check_link()
        if run.stopped:
            run.complete = False
            run.errors.append(f"{step.title}: not read: {run.stopped}")
            run.weight_done += step.weight
            run.report(index, step, done=True, message=f"{step.title}: not read ({run.stopped})")
            continue
        run.last_bytes = 0
        try:
            run.report(index, step, message=f"Reading {step.title.lower()}…")
            if step.kind == "identity":
                run.identity(index, step)
            else:
                run.profile(index, step)
            table = run.tables.get(step.section)
            rows = len(table.rows) if table is not None else 0
            run.weight_done += step.weight
            run.report(index, step, rows=rows, nbytes=run.last_bytes, done=True,
                       message=f"{step.title}: {_rows(rows)}" if table is not None
                       else f"{step.title}: not read")
        except KeyboardInterrupt as exc:  # Ctrl+C outside a profile read: keep what was read
            if step.section in run.tables:
                run.check_link(exc)
            else:
                run.fail(step, exc)
    ordered = {name: run.tables[name] for name in SECTION_TITLES if name in run.tables}
    identity = identity_from_name_plate(run.tables.get("name_plate"), category=str(cat),
                                        logical_device_name=run.logical_device_name,
                                        fallback=run.fallback)
    return MeterReading(
        category=str(cat), identity=identity, tables=ordered, started=started,
        finished=_now(), meter_clock=run.clock, connection=connection,
        association=association, block_load_days=days, complete=run.complete,
        errors=tuple(run.errors), software=f"meterreader {__version__}",
        notes=tuple(run.notes))
