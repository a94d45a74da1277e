"""The running meter: live register values, periodic captures, billing and event logging.

:class:`MeterRuntime` turns the physical values of :class:`~meterreader.simulator.datagen.LoadModel`
into the raw, scaled values of the catalogue's objects (``value(obis, t)``), builds profile rows
for any instant (the same code fills the history and the live captures), keeps the maximum demand
of the current billing period, closes billing periods (MD reset or billing date) and logs events.
Before each request the logical device calls :meth:`MeterRuntime.update`, which appends the
block-load and daily-load rows whose capture instants the clock has passed.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Callable, Mapping

from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.errors import LocalProtocolError

from meterreader.dlms.cosem_time import CosemDateTime

from .datagen import DAY, SLOT, VAH, VARH_LAG, VARH_LEAD, WH, LoadModel
from .objects import date_time_data
from .objects_clock import Clock
from .objects_profile import ProfileGeneric

#: The capture time of a maximum demand not reached yet (after an MD reset): a date-time with
#: every field "not specified" — its type stays date-time (Blue Book, Extended register).
NO_MD_TIME = date_time_data(CosemDateTime())

_RANGES = {DataTag.DOUBLE_LONG_UNSIGNED: (0, 2**32 - 1), DataTag.DOUBLE_LONG: (-2**31, 2**31 - 1),
           DataTag.LONG_UNSIGNED: (0, 2**16 - 1), DataTag.LONG: (-2**15, 2**15 - 1),
           DataTag.UNSIGNED: (0, 255), DataTag.INTEGER: (-128, 127),
           DataTag.LONG64: (-2**63, 2**63 - 1), DataTag.LONG64_UNSIGNED: (0, 2**64 - 1)}
_FLOATS = frozenset({DataTag.FLOAT32, DataTag.FLOAT64, DataTag.FLOATING_POINT})
_PER_PHASE = frozenset({31, 32, 33, 51, 52, 53, 71, 72, 73})
#: Energy channel (or a fraction of one) per value group C of the energy registers.
_CHANNEL = {1: (WH, 1.0), 5: (VARH_LAG, 1.0), 8: (VARH_LEAD, 1.0), 9: (VAH, 1.0),
            2: (WH, 0.02), 10: (VAH, 0.02), 6: (VARH_LEAD, 0.005), 7: (VARH_LAG, 0.005),
            16: (WH, 0.98)}  # 16 = net active energy: import − export (export = 2 % of import)
_MD_CHANNEL = {1: 0, 9: 1, 2: 0, 10: 1}  # 0 = W, 1 = VA
_MD_EXPORT = {2: 0.02, 10: 0.02}
MD_SCAN_SLOTS = 32 * DAY // SLOT  #: most demand slots one MD update looks at
Cell = Callable[[float, "tuple[float, float] | None"], Data]
Quantity = Callable[[float, "tuple[float, float] | None"], float]


def encode_number(value: float, scaler: int, tag: DataTag) -> Data:
    """Physical ``value`` as the raw integer ``value / 10**scaler`` of type ``tag`` (clamped)."""
    if tag in _FLOATS:
        return Data(tag, float(value))
    raw = round(value / 10.0 ** scaler) if scaler else round(value)
    lo, hi = _RANGES.get(tag, (0, 2**32 - 1))
    return Data(tag if tag in _RANGES else DataTag.DOUBLE_LONG_UNSIGNED, min(max(raw, lo), hi))


class MeterRuntime:
    """Live state of one simulated meter (see the module docstring).

    ``defs`` maps logical names to the catalogue's ObjectDefs (scaler, unit, value type);
    ``profiles`` and ``device`` are filled in by the builder.
    """

    def __init__(self, *, model: LoadModel, clock: Clock, defs: Mapping[Obis, Any],
                 billing_start: float) -> None:
        self.model = model
        self.clock = clock
        self.defs = dict(defs)
        self.device: Any = None
        self.profiles: dict[str, ProfileGeneric] = {}
        self.counters = {"power_failures": 0, "power_fail_minutes": 0, "tamper": 0,
                         "billing": 0, "programming": 0}
        self.last_code: dict[int, int] = {}
        self.event_profiles: dict[int, ProfileGeneric] = {}
        self.compartment_of: Callable[[int], int | None] = lambda code: None
        self.high_water = 0.0
        self._avg_memo: tuple[Any, Any] = (None, None)
        self._next_block = self._next_daily = self._next_billing = math.inf
        self.billing_start = billing_start
        self._reset_md(billing_start)

    # -- time --

    def now(self) -> float:
        return self.clock.now().timestamp()

    def energy_now(self) -> float:
        """Now for cumulative energies: never before a time already reported, so energies do
        not run backwards when the clock is set back."""
        self.high_water = max(self.high_water, self.now())
        return self.high_water

    def local(self, t: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(t, tz=self.clock.tz)

    def clock_cell(self, t: float) -> Data:
        return date_time_data(self.clock.to_cosem(self.local(t), hundredths=False))

    @property
    def capture_period(self) -> int:
        block = self.profiles.get("block")
        return block.capture_period if block is not None and block.capture_period > 0 else SLOT

    def block_of(self, t: float) -> tuple[float, float]:
        cp = self.capture_period
        return math.floor(t / cp) * cp, t

    # -- physical values --

    def _average(self, block: tuple[float, float]) -> tuple[tuple[float, ...], tuple[float, ...]]:
        key, value = self._avg_memo
        if key != block:
            value = self.model.average(*block)
            self._avg_memo = (block, value)
        return value

    def energy(self, c: int, e: int, t: float) -> float | None:
        """Cumulative energy of register 1.0.c.8.e at ``t`` (Wh, varh or VAh)."""
        channel = _CHANNEL.get(c)
        if channel is None:
            return None
        if e and c in (1, 9):
            return self.model.zone_energy(t, e)[0 if c == 1 else 1]
        return self.model.energy(t)[channel[0]] * channel[1]

    def quantity(self, obis: Obis) -> Quantity | None:
        """The function ``(t, block) -> physical value`` of register ``obis``, or None when the
        model has no such quantity. ``block`` is the capture period [start, stop) of block
        averages/energies (None: the period that contains ``t``)."""
        if obis.a != 1 or obis.b != 0:
            return None
        make = _QUANTITIES.get(obis.d)
        return make(self, obis.c, obis.e) if make is not None else None

    def physical(self, obis: Obis, t: float, block: tuple[float, float] | None = None
                 ) -> float | None:
        """The physical value of register ``obis`` at ``t`` (None: not a modelled quantity)."""
        q = self.quantity(obis)
        return None if q is None else q(t, block)

    def _q_instant(self, c: int, e: int) -> Quantity | None:
        if e != 0 or not (c in _PER_PHASE or c in (1, 3, 9, 13, 14)):
            return None
        return lambda t, block: self._instant(c, t)  # type: ignore[return-value]

    def _q_average(self, c: int, e: int) -> Quantity | None:
        if e != 0:
            return None
        if c == 14:  # average frequency of the block
            return lambda t, block: self.model.average_frequency(*(block or self.block_of(t)))
        if c in (33, 53, 73):  # average signed power factor per phase
            index = (c - 33) // 20
            return lambda t, block: self.model.average_pf(*(block or self.block_of(t)))[index]
        if c not in (31, 32, 51, 52, 71, 72):
            return None
        kind, phase = (0 if c % 10 == 2 else 1), (c - 31) // 20  # 0 = voltage, 1 = current

        def average(t: float, block: tuple[float, float] | None) -> float:
            return self._average(block or self.block_of(t))[kind][phase]
        return average

    def _q_energy(self, c: int, e: int) -> Quantity | None:
        if c not in _CHANNEL or (e and c not in (1, 9)) or e > 8:
            return None
        return lambda t, block: self.energy(c, e, t)  # type: ignore[return-value]

    def _q_block_energy(self, c: int, e: int) -> Quantity | None:
        if c not in _CHANNEL or e != 0:
            return None

        def block_energy(t: float, block: tuple[float, float] | None) -> float:
            start, stop = block or self.block_of(t)
            # differences of the rounded cumulative values, so blocks add up exactly
            return round(self.energy(c, 0, stop)) - round(self.energy(c, 0, start))  # type: ignore
        return block_energy

    def _q_demand(self, c: int, e: int) -> Quantity | None:
        if c not in _MD_CHANNEL or e > 8:
            return None
        return lambda t, block: self.md_value(c, e)[0]

    def _q_billing_pf(self, c: int, e: int) -> Quantity | None:
        if (c, e) != (13, 0):
            return None
        return lambda t, block: self.billing_pf(self.billing_start, t)

    def _instant(self, c: int, t: float) -> float | None:
        s = self.model.instant(t)
        if c in _PER_PHASE:
            phase, kind = divmod(c - 31, 20)  # C = 31/51/71 current, 32/52/72 voltage, 33/53/73 PF
            value = (s.current, s.voltage, s.pf)[kind][phase]
            # IS 15959 signed power factor: positive lagging, negative leading.
            return math.copysign(value, s.reactive or 1.0) if kind == 2 else value
        if c == 13:
            return math.copysign(s.active / s.apparent, s.reactive or 1.0) if s.apparent else 1.0
        if c == 14:
            return self.model.frequency(t) if s.powered else 0.0
        return {1: s.active, 3: s.reactive, 9: s.apparent}.get(c)

    def billing_pf(self, start: float, stop: float) -> float:
        """Average power factor over [start, stop): kWh / kVAh."""
        e0, e1 = self.model.energy(start), self.model.energy(stop)
        vah = e1[VAH] - e0[VAH]
        return (e1[WH] - e0[WH]) / vah if vah > 0 else 1.0

    # -- maximum demand of the current billing period --

    def _reset_md(self, start: float) -> None:
        self._md_next = math.ceil(start / SLOT)
        # (channel, zone) -> (demand, end of its slot); zone 0 = the whole day
        self._md: dict[tuple[int, int], tuple[float, float]] = {}

    def _scan_md(self, upto: float) -> None:
        last = math.floor(upto / SLOT)
        model, md = self.model, self._md
        # A billing period is at most a month: never scan more than that (clock jumps).
        for k in range(max(self._md_next, last - MD_SCAN_SLOTS), last):
            demand = model.demand(k)
            zone = model.zone(k * SLOT)
            end = float((k + 1) * SLOT)
            for channel in (0, 1):
                for key in ((channel, 0), (channel, zone)):
                    best = md.get(key)
                    if best is None or demand[channel] > best[0]:
                        md[key] = (demand[channel], end)
        self._md_next = max(self._md_next, last)

    def md_value(self, c: int, e: int = 0) -> tuple[float, float | None]:
        """(demand, instant it ended) of MD register 1.0.c.6.e since the billing start."""
        self._scan_md(self.now())
        value, when = self._md.get((_MD_CHANNEL[c], e), (0.0, None))
        return value * _MD_EXPORT.get(c, 1.0), when

    def md_time_cell(self, c: int, e: int = 0) -> Data:
        when = self.md_value(c, e)[1]
        return NO_MD_TIME if when is None else self.clock_cell(when)

    def sampled_md(self, start: float, stop: float) -> dict[tuple[int, int], tuple[float, float]]:
        """MD of a past billing period, estimated from the middle slot of each zone each day
        (cheap enough for 12 months of history)."""
        out: dict[tuple[int, int], tuple[float, float]] = {}
        day = math.floor((start + self.model.utc_offset) / DAY) * DAY - self.model.utc_offset
        while day < stop:
            for zone in range(1, 9):
                k = math.floor((day + (zone - 1) * 10800 + 5400) / SLOT)
                if not start <= k * SLOT < stop:
                    continue
                demand = self.model.demand(k)
                for channel in (0, 1):
                    for key in ((channel, 0), (channel, zone)):
                        if key not in out or demand[channel] > out[key][0]:
                            out[key] = (demand[channel], float((k + 1) * SLOT))
            day += DAY
        return out

    # -- profile rows --

    def compile(self, profile: ProfileGeneric) -> list[Cell]:
        """One cell function (t, block) -> Data per capture object of ``profile``."""
        return [self._cell(c.class_id, c.logical_name, c.attribute_index)
                for c in profile.capture_objects]

    def _cell(self, class_id: int, obis: Obis, attr: int) -> Cell:
        if class_id == 8 and attr == 2:
            return lambda t, block: self.clock_cell(t)
        od = self.defs.get(obis)
        if class_id == 4 and attr == 5 and obis.d == 6 and obis.c in _MD_CHANNEL:
            return lambda t, block: self.md_time_cell(obis.c, obis.e)
        q = self.quantity(obis) if attr == 2 and od is not None and od.value_type else None
        if q is not None:
            scaler, tag = od.scaler or 0, od.value_type

            def cell(t: float, block: tuple[float, float] | None) -> Data:
                return encode_number(q(t, block), scaler, tag)
            return cell
        return lambda t, block: self.device.read_internal(class_id, obis, attr)

    def row(self, cells: list[Cell], t: float, block: tuple[float, float] | None = None,
            overrides: Mapping[int, Data] | None = None) -> tuple[Data, ...]:
        """A profile row at instant ``t``; ``overrides`` replace columns by index."""
        if not overrides:
            return tuple(cell(t, block) for cell in cells)
        return tuple(overrides[i] if i in overrides else cell(t, block)
                     for i, cell in enumerate(cells))

    def live_value(self, od: Any) -> Callable[[], Data]:
        """The computed attribute 2 of a modelled register."""
        obis, scaler, tag = od.obis, od.scaler or 0, od.value_type
        q = self.quantity(obis)
        if q is None:
            raise LocalProtocolError(f"{obis} is not a modelled quantity")
        energy = obis.d in (8, 29) or (obis.c, obis.d) == (13, 0)

        def value() -> Data:
            return encode_number(q(self.energy_now() if energy else self.now(), None), scaler, tag)
        return value

    # -- periodic captures --

    def update(self) -> None:
        """Append the rows whose capture instants the clock has passed; close billing periods
        whose billing date has passed. After a jump of the clock (set far ahead) only the rows
        each profile can hold (its profile_entries) are computed; the skipped billing periods
        are counted, and their energies come from the model's average rate."""
        now = self.now()
        self._catch_up_block(now)
        self._catch_up_daily(now)
        self._catch_up_billing(now)

    def _catch_up_block(self, now: float) -> None:
        block = self.profiles.get("block")
        if block is None:
            return
        cp = self.capture_period
        if self._next_block % cp:  # the capture period changed: next boundary of the new one
            self._next_block = math.ceil(self._next_block / cp) * cp
        if self._next_block - cp > now:  # the clock was set back: restart from now
            self._next_block = (math.floor(now / cp) + 1) * cp
        if now - self._next_block > block.profile_entries * cp:  # far ahead: skip to the end
            self._next_block = (math.floor(now / cp) - block.profile_entries + 1) * cp
        cells = None
        while self._next_block <= now:
            t = self._next_block
            if self.model.is_powered(t):
                cells = cells or self.compile(block)
                block.append_rows((self.row(cells, t, (t - cp, t)),), (t,))
            self._next_block = t + cp

    def _catch_up_daily(self, now: float) -> None:
        daily = self.profiles.get("daily")
        if daily is None:
            return
        if self._next_daily - DAY > now:  # the clock was set back: next midnight after now
            self._next_daily = self.next_midnight(now)
        if now - self._next_daily > daily.profile_entries * DAY:  # far ahead: the last ones
            self._next_daily = self.next_midnight(now - daily.profile_entries * DAY)
        cells = None
        while self._next_daily <= now:
            t = self._next_daily
            cells = cells or self.compile(daily)
            daily.append_rows((self.row(cells, t),), (t,))
            self._next_daily = self.next_midnight(t)

    def _catch_up_billing(self, now: float) -> None:
        upcoming = self.next_billing_date(now)
        if upcoming < self._next_billing:  # the clock was set back
            self._next_billing = upcoming
        dates = []
        while self._next_billing <= now:
            dates.append(self._next_billing)
            self._next_billing = self.next_billing_date(self._next_billing)
        if not dates:
            return
        billing = self.profiles.get("billing")
        keep = billing.profile_entries if billing is not None else 0
        skipped, kept = dates[:max(len(dates) - keep, 0)], dates[max(len(dates) - keep, 0):]
        if skipped:  # periods no row is left for: counted only
            self.counters["billing"] += len(skipped)
            self.billing_start = skipped[-1]
            self._reset_md(skipped[-1])
        for t in kept:  # several at once: MD estimated by sampling, as for the history
            self.close_billing(t, sampled=len(dates) > 1)
        self._next_billing = self.next_billing_date(dates[-1])

    def next_midnight(self, t: float) -> float:
        local = self.local(t)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
        return midnight.timestamp()

    def next_billing_date(self, t: float) -> float:
        """The first day of the next month, 00:00 local (the IS 15959 default billing date)."""
        local = self.local(t)
        year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        return local.replace(year=year, month=month, day=1, hour=0, minute=0, second=0,
                             microsecond=0).timestamp()

    def schedule(self, now: float) -> None:
        """Set the next automatic captures after ``now`` (called once the history is built)."""
        cp = self.capture_period
        self._next_block = (math.floor(now / cp) + 1) * cp
        self._next_daily = self.next_midnight(now)
        self._next_billing = self.next_billing_date(now)

    # -- billing --

    def billing_overrides(self, cells_for: ProfileGeneric, t: float, start: float,
                          md: Mapping[tuple[int, int], tuple[float, float]]) -> dict[int, Data]:
        """Columns of a billing row that are not simple register values at ``t``: billing date,
        average PF of the period and the MD values/times."""
        out: dict[int, Data] = {}
        for i, c in enumerate(cells_for.capture_objects):
            obis = c.logical_name
            if obis == Obis(0, 0, 0, 1, 2, 255):
                out[i] = self.clock_cell(t)
            elif (obis.c, obis.d, obis.e) == (13, 0, 0) and obis.a == 1:
                od = self.defs.get(obis)
                out[i] = encode_number(self.billing_pf(start, t), od.scaler or 0, od.value_type)
            elif obis.a == 1 and obis.d == 6 and obis.c in _MD_CHANNEL:
                value, when = md.get((_MD_CHANNEL[obis.c], obis.e), (0.0, None))
                if c.attribute_index == 5:
                    out[i] = NO_MD_TIME if when is None else self.clock_cell(when)
                else:
                    od = self.defs.get(obis)
                    out[i] = encode_number(value * _MD_EXPORT.get(obis.c, 1.0),
                                           od.scaler or 0, od.value_type)
        return out

    def close_billing(self, t: float, sampled: bool = False) -> None:
        """End the billing period at ``t``: append a billing row, count it, reset the MD.
        ``sampled``: estimate the period's MD by sampling (a catch-up after a clock jump)."""
        billing = self.profiles.get("billing")
        if billing is not None:
            if sampled:
                md = self.sampled_md(self.billing_start, t)
            else:
                self._scan_md(t)
                md = dict(self._md)
            overrides = self.billing_overrides(billing, t, self.billing_start, md)
            billing.append_rows((self.row(self.compile(billing), t, None, overrides),), (t,))
        self.counters["billing"] += 1
        self.billing_start = t
        self._reset_md(t)
        self._next_billing = self.next_billing_date(t)

    def md_reset(self, ctx: Any = None) -> None:
        """The MD reset script: close the billing period now."""
        self.close_billing(self.now())

    # -- events --

    def log_event(self, code: int, t: float | None = None) -> None:
        """Append an event row to its compartment's log and update the counters."""
        t = self.now() if t is None else t
        compartment = self.compartment_of(code)
        if compartment is None:
            return
        self.last_code[compartment] = code
        if compartment == 3:
            self.counters["programming"] += 1
        elif compartment in (0, 1, 4, 5) and code % 2 == 1:
            self.counters["tamper"] += 1
        log = self.event_profiles.get(compartment)
        if log is not None:
            cells = self.compile(log)
            code_column = next((i for i, c in enumerate(log.capture_objects)
                                if c.class_id == 1), None)
            overrides = {} if code_column is None else {
                code_column: Data(DataTag.LONG_UNSIGNED, code)}
            log.append_rows((self.row(cells, t, None, overrides),), (t,))


#: Quantity makers by value group D: 7 instantaneous, 27 block average (voltage, current, power
#: factor, frequency), 8 cumulative energy,
#: 29 block energy, 6 maximum demand, 0 billing-period average (1.0.13.0.0.255 = PF).
_QUANTITIES: dict[int, Callable[[MeterRuntime, int, int], Quantity | None]] = {
    7: MeterRuntime._q_instant, 27: MeterRuntime._q_average, 8: MeterRuntime._q_energy,
    29: MeterRuntime._q_block_energy, 6: MeterRuntime._q_demand, 0: MeterRuntime._q_billing_pf,
}
