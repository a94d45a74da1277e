"""Deterministic load and history data of the simulated IS 15959 meter.

:class:`LoadModel` is a three-phase load defined for every instant from a seed: the day is cut
into 900-second slots, and each slot's average voltages (~230–250 V), currents (a daily curve:
low at night, peaks in the morning and evening, lower at weekends), power factors, and so active,
reactive and apparent power, come from a hash of (seed, slot) — so any slot can be evaluated in
any order and always gives the same values. Power failures zero the load. Cumulative energies are
the integral of that load (prefix sums over slots from an epoch, extrapolated linearly before it;
when the clock is set far ahead the skipped span grows at the average rate instead of being summed
slot by slot), so reading a register twice a minute apart gives a larger value.

The schedules of past events (power failures, tamper occurrences/restorations, transactions,
cover open) come from ``random.Random(seed)``. Same seed → identical data; different seed →
different data. Physical values are in SI units (V, A, W, var, VA, Wh, varh, VAh, Hz); the
builder scales them to raw integers with each object's scaler.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from dataclasses import dataclass
from typing import Sequence

SLOT = 900  #: seconds per load slot (also the demand integration period)
DAY = 86400
#: Most slots the energy integral computes one by one to reach an instant beyond the computed
#: ones (46 days: the block load's depth and a little more); farther (the clock was set far
#: ahead) the skipped span grows at the average rate.
MAX_EXTEND_SLOTS = 46 * DAY // SLOT
_MASK = (1 << 64) - 1

#: Energy channels of a slot, in this order: import Wh, lagging varh (QI), leading varh (QIV),
#: import VAh.
WH, VARH_LAG, VARH_LEAD, VAH = range(4)
ZONES = 8  #: time-of-day zones of three hours each (zone 1 = 00:00–03:00 local)


def _mix(x: int) -> int:
    """splitmix64 finaliser: a well-spread 64-bit hash of ``x``."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _daily_shape(hour: float) -> float:
    """Relative load over the day: ~0.25 at night, peaks ~0.8 at 09:00 and ~1.0 at 19:30."""
    morning = 0.55 * math.exp(-((hour - 9.0) / 1.6) ** 2)
    evening = 0.75 * math.exp(-((hour - 19.5) / 1.8) ** 2)
    day = 0.3 / (1 + math.exp(-(hour - 7.0))) / (1 + math.exp(hour - 22.0))
    return 0.25 + morning + evening + day


@dataclass(frozen=True, slots=True)
class Slot:
    """Averages over one 900-s slot: per-phase voltage (V), current (A), power factor; totals of
    active (W), reactive (var, > 0 lagging) and apparent (VA) power; ``powered`` = fraction of
    the slot with supply (0..1)."""

    voltage: tuple[float, float, float]
    current: tuple[float, float, float]
    pf: tuple[float, float, float]
    active: float
    reactive: float
    apparent: float
    powered: float


@dataclass(frozen=True, slots=True)
class Outage:
    """A power failure from ``off`` to ``on`` (POSIX seconds)."""

    off: float
    on: float


class _Segment:
    """Computed slots of the energy integral: ``prefix[k]`` = energies from the start of slot
    ``start_slot`` to the start of slot ``start_slot + k``; ``zone_prefix`` likewise per
    time-of-day zone (Wh, VAh). ``base``/``zone_base`` are the cumulative values at the start
    (``zone_base`` None: the base energies split by the zone shares)."""

    __slots__ = ("start_slot", "base", "zone_base", "prefix", "zone_prefix")

    def __init__(self, *, start_slot: int, base: tuple[float, ...],
                 zone_base: tuple[tuple[float, float], ...] | None = None) -> None:
        self.start_slot, self.base, self.zone_base = start_slot, base, zone_base
        self.prefix: list[tuple[float, float, float, float]] = [(0.0, 0.0, 0.0, 0.0)]
        self.zone_prefix: list[tuple[tuple[float, float], ...]] = [((0.0, 0.0),) * ZONES]


class LoadModel:
    """The seeded three-phase load and its energy integral (see the module docstring).

    ``utc_offset`` (minutes) places the daily curve on the meter's local time; ``epoch`` (POSIX
    seconds) is where the prefix sums start, ``base`` the cumulative energies at the epoch.
    """

    def __init__(self, seed: int, *, epoch: float, utc_offset: int = 330,
                 outages: Sequence[Outage] = (), rated_current: float = 40.0,
                 base: Sequence[float] = (5.0e8, 6.0e7, 2.0e6, 5.4e8)) -> None:
        self.seed = seed
        self._salt = _mix(seed & _MASK)
        self.utc_offset = utc_offset * 60
        self.rated_current = rated_current
        rng = random.Random(seed ^ 0x5EED)
        self.phase_scale = tuple(rng.uniform(0.8, 1.1) for _ in range(3))
        self.epoch_slot = math.floor(epoch / SLOT)
        self.epoch = self.epoch_slot * SLOT
        self.outages = tuple(sorted(outages, key=lambda o: o.off))
        self._outage_starts = [o.off for o in self.outages]
        self._slots: dict[int, Slot] = {}
        self.base = tuple(float(b) for b in base)
        self._segments = [_Segment(start_slot=self.epoch_slot, base=self.base)]
        self._segment_starts = [self.epoch_slot]
        self._zone_share: tuple[tuple[float, float], ...] = ((1.0 / ZONES, 1.0 / ZONES),) * ZONES
        self._rate: tuple[float, ...] | None = None

    # -- random numbers --

    def unit(self, *keys: int) -> float:
        """A deterministic number in [0, 1) for the given integer keys."""
        h = self._salt
        for k in keys:
            h = _mix(h ^ (k & _MASK))
        return h / 2.0 ** 64

    # -- slots --

    def local_hour(self, t: float) -> float:
        return ((t + self.utc_offset) % DAY) / 3600.0

    def zone(self, t: float) -> int:
        """Time-of-day zone 1..8 of instant ``t``."""
        return int(self.local_hour(t) // 3) + 1

    def powered_fraction(self, start: float, stop: float) -> float:
        """Fraction of [start, stop) with supply."""
        off = 0.0
        i = bisect_right(self._outage_starts, stop) - 1
        while i >= 0:
            o = self.outages[i]
            if o.on <= start:
                break
            off += max(0.0, min(o.on, stop) - max(o.off, start))
            i -= 1
        return max(0.0, 1.0 - off / (stop - start))

    def is_powered(self, t: float) -> bool:
        i = bisect_right(self._outage_starts, t) - 1
        return i < 0 or self.outages[i].on <= t

    def slot(self, k: int) -> Slot:
        """The averages of slot ``k`` (covering POSIX seconds [k·900, (k+1)·900))."""
        found = self._slots.get(k)
        if found is not None:
            return found
        t = k * SLOT
        hour = self.local_hour(t + SLOT / 2)
        weekday = int((t + self.utc_offset) // DAY + 3) % 7  # 1970-01-01 was a Thursday (3)
        shape = _daily_shape(hour) * (0.85 if weekday >= 5 else 1.0)
        night = hour < 5.0
        volts, amps, pfs = [], [], []
        active = apparent = 0.0
        for p in range(3):
            h = _mix((self._salt ^ (k * 4 + p)) & _MASK)  # three 21-bit uniforms from one hash
            u_i, u_v, u_pf = ((h & 0x1FFFFF) / 2097152.0, ((h >> 21) & 0x1FFFFF) / 2097152.0,
                              ((h >> 42) & 0x1FFFFF) / 2097152.0)
            amp = self.rated_current * self.phase_scale[p] * shape * (0.9 + 0.2 * u_i)
            volt = (240.0 + 4.0 * math.sin(2 * math.pi * (hour - 3.0) / 24.0) - 5.0 * shape
                    + 4.0 * (u_v - 0.5))
            pf = 0.90 + 0.08 * u_pf
            volts.append(volt)
            amps.append(amp)
            pfs.append(pf)
            active += volt * amp * pf
            apparent += volt * amp
        reactive = math.sqrt(max(apparent * apparent - active * active, 0.0))
        if night:  # capacitor banks left on at night: the load reads leading
            reactive = -reactive
        powered = self.powered_fraction(t, t + SLOT) if self.outages else 1.0
        if powered < 1.0:
            scale = powered
            volts = [v * scale for v in volts]
            amps = [a * scale for a in amps]
            active, reactive, apparent = active * scale, reactive * scale, apparent * scale
        found = Slot(voltage=tuple(volts), current=tuple(amps), pf=tuple(pfs),  # type: ignore
                     active=active, reactive=reactive, apparent=apparent, powered=powered)
        self._slots[k] = found
        return found

    # -- energy integral --

    def _extend(self, seg: _Segment, count: int) -> None:
        """Prefix sums of ``seg`` up to ``count`` slots after its start."""
        prefix, zone_prefix = seg.prefix, seg.zone_prefix
        h = SLOT / 3600.0
        while len(prefix) <= count:
            k = seg.start_slot + len(prefix) - 1
            s = self.slot(k)
            wh, vah = s.active * h, s.apparent * h
            lag, lead = (s.reactive * h, 0.0) if s.reactive >= 0 else (0.0, -s.reactive * h)
            a, b, c, d = prefix[-1]
            prefix.append((a + wh, b + lag, c + lead, d + vah))
            z = self.zone(k * SLOT) - 1
            zones = list(zone_prefix[-1])
            zones[z] = (zones[z][0] + wh, zones[z][1] + vah)
            zone_prefix.append(tuple(zones))

    def _average_rate(self) -> tuple[float, ...]:
        # Energy per second outside the computed slots (before the epoch, across a clock jump):
        # the average over the first 28 days after the epoch; the zones' shares of Wh and VAh
        # over the same days split the base energies.
        if self._rate is None:
            n = 28 * DAY // SLOT
            first = self._segments[0]
            self._extend(first, n)
            self._rate = tuple(v / (n * SLOT) for v in first.prefix[n])
            totals = first.prefix[n]
            self._zone_share = tuple(
                (z[0] / totals[WH] if totals[WH] else 1 / ZONES,
                 z[1] / totals[VAH] if totals[VAH] else 1 / ZONES)
                for z in first.zone_prefix[n])
        return self._rate

    def _zone_rate(self, zone: int) -> tuple[float, float]:
        rate, share = self._average_rate(), self._zone_share[zone - 1]
        return rate[WH] * share[0], rate[VAH] * share[1]

    def _zone_base(self, seg: _Segment, zone: int) -> tuple[float, float]:
        if seg.zone_base is not None:
            return seg.zone_base[zone - 1]
        self._average_rate()  # the first segment splits the base energies by the zone shares
        share = self._zone_share[zone - 1]
        return seg.base[WH] * share[0], seg.base[VAH] * share[1]

    def _end_of(self, seg: _Segment) -> tuple[float, tuple[float, ...], tuple[tuple[float, float],
                                                                          ...]]:
        """(instant, energies, zone energies) at the end of ``seg``'s computed slots."""
        n = len(seg.prefix) - 1
        energies = tuple(b + x for b, x in zip(seg.base, seg.prefix[n]))
        zones = tuple((self._zone_base(seg, z + 1)[0] + seg.zone_prefix[n][z][0],
                       self._zone_base(seg, z + 1)[1] + seg.zone_prefix[n][z][1])
                      for z in range(ZONES))
        return float((seg.start_slot + n) * SLOT), energies, zones

    def _locate(self, t: float) -> tuple[_Segment, _Segment | None]:
        """(segment, None) when the slot of ``t`` is computed in that segment (extending the
        last one as needed), else (segment ending before ``t``, None-or-next) for a gap.

        A query more than :data:`MAX_EXTEND_SLOTS` beyond the last computed slot (the clock was
        set far ahead) opens a new segment :data:`MAX_EXTEND_SLOTS` before it; the energy of
        the skipped span grows at the average rate, so nothing is computed slot by slot."""
        self._average_rate()  # first: it extends the first segment
        slot = math.floor(t / SLOT)
        i = bisect_right(self._segment_starts, slot) - 1
        seg = self._segments[i]
        computed_end = seg.start_slot + len(seg.prefix) - 1
        if slot < computed_end:
            return seg, None
        if i + 1 < len(self._segments):
            return seg, self._segments[i + 1]  # in the gap before the next segment
        if slot - computed_end > MAX_EXTEND_SLOTS:
            start = slot - MAX_EXTEND_SLOTS
            end_t, energies, zones = self._end_of(seg)
            gap = start * SLOT - end_t
            rate = self._average_rate()
            seg = _Segment(start_slot=start,
                           base=tuple(e + r * gap for e, r in zip(energies, rate)),
                           zone_base=tuple((z[0] + self._zone_rate(n + 1)[0] * gap,
                                            z[1] + self._zone_rate(n + 1)[1] * gap)
                                           for n, z in enumerate(zones)))
            self._segments.append(seg)
            self._segment_starts.append(start)
        self._extend(seg, slot - seg.start_slot + 1)
        return seg, None

    def energy(self, t: float) -> tuple[float, float, float, float]:
        """Cumulative (Wh, varh lag, varh lead, VAh) at instant ``t``."""
        if t < self.epoch:
            rate = self._average_rate()
            back = self.epoch - t
            return tuple(max(b - r * back, 0.0) for b, r in zip(self.base, rate))  # type: ignore
        seg, gap = self._locate(t)
        if gap is not None:
            end_t, energies, _ = self._end_of(seg)
            return tuple(e + r * (t - end_t)  # type: ignore[return-value]
                         for e, r in zip(energies, self._average_rate()))
        offset = t / SLOT - seg.start_slot
        k = int(offset)
        lo, hi = seg.prefix[k], seg.prefix[k + 1]
        frac = offset - k
        return tuple(b + x + (y - x) * frac for b, x, y in zip(seg.base, lo, hi))  # type: ignore

    def zone_energy(self, t: float, zone: int) -> tuple[float, float]:
        """Cumulative (Wh, VAh) of time-of-day zone 1..8 at instant ``t``."""
        rate = self._zone_rate(zone)
        if t < self.epoch:
            base = self._zone_base(self._segments[0], zone)
            back = self.epoch - t
            return max(base[0] - rate[0] * back, 0.0), max(base[1] - rate[1] * back, 0.0)
        seg, gap = self._locate(t)
        if gap is not None:
            end_t, _, zones = self._end_of(seg)
            z = zones[zone - 1]
            return z[0] + rate[0] * (t - end_t), z[1] + rate[1] * (t - end_t)
        base = self._zone_base(seg, zone)
        offset = t / SLOT - seg.start_slot
        k = int(offset)
        lo = seg.zone_prefix[k][zone - 1]
        hi = seg.zone_prefix[k + 1][zone - 1]
        frac = offset - k
        return (base[0] + lo[0] + (hi[0] - lo[0]) * frac, base[1] + lo[1] + (hi[1] - lo[1]) * frac)

    # -- averages and instants --

    def _weights(self, start: float, stop: float) -> list[tuple[int, float]]:
        """(slot, seconds of it inside [start, stop)); the slot of ``start`` when empty."""
        if stop <= start:
            return [(math.floor(start / SLOT), 1.0)]
        out, k = [], math.floor(start / SLOT)
        while k * SLOT < stop:
            out.append((k, min(stop, (k + 1) * SLOT) - max(start, k * SLOT)))
            k += 1
        return out

    def average(self, start: float, stop: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Average (voltages, currents) per phase over [start, stop), slot-weighted."""
        volts, amps, total = [0.0] * 3, [0.0] * 3, 0.0
        for k, weight in self._weights(start, stop):
            s = self.slot(k)
            for p in range(3):
                volts[p] += s.voltage[p] * weight
                amps[p] += s.current[p] * weight
            total += weight
        return tuple(v / total for v in volts), tuple(a / total for a in amps)

    def average_pf(self, start: float, stop: float) -> tuple[float, ...]:
        """Average signed power factor per phase over [start, stop) (IS 15959 sign: positive
        lagging, negative leading), slot-weighted; 1.0 for a period without supply."""
        pfs, total = [0.0] * 3, 0.0
        for k, weight in self._weights(start, stop):
            s = self.slot(k)
            if not s.powered:
                continue
            for p in range(3):
                pfs[p] += math.copysign(s.pf[p], s.reactive or 1.0) * weight
            total += weight
        return tuple(pf / total for pf in pfs) if total else (1.0, 1.0, 1.0)

    def average_frequency(self, start: float, stop: float) -> float:
        """Average grid frequency over [start, stop) (Hz): 50 Hz ± 0.05, per slot."""
        total = sum(w for _, w in self._weights(start, stop))
        return sum((50.0 + 0.1 * (self.unit(k, 11) - 0.5)) * w
                   for k, w in self._weights(start, stop)) / total

    def instant(self, t: float) -> Slot:
        """Values at instant ``t``: the slot's averages with a little per-second ripple."""
        if not self.is_powered(t):
            return Slot(voltage=(0.0,) * 3, current=(0.0,) * 3, pf=(1.0,) * 3, active=0.0,
                        reactive=0.0, apparent=0.0, powered=0.0)
        s = self.slot(math.floor(t / SLOT))
        sec = int(t)
        if s.powered < 1.0:  # the slot averages include the outage: undo that scaling
            undo = 1.0 / s.powered
            s = Slot(voltage=tuple(v * undo for v in s.voltage),  # type: ignore[arg-type]
                     current=tuple(a * undo for a in s.current),  # type: ignore[arg-type]
                     pf=s.pf, active=s.active * undo, reactive=s.reactive * undo,
                     apparent=s.apparent * undo, powered=1.0)
        ripple = [1.0 + 0.02 * (self.unit(sec, p, 7) - 0.5) for p in range(3)]
        volts = tuple(v * (1.0 + (r - 1.0) * 0.2) for v, r in zip(s.voltage, ripple))
        amps = tuple(a * r for a, r in zip(s.current, ripple))
        active = sum(v * a * pf for v, a, pf in zip(volts, amps, s.pf))
        apparent = sum(v * a for v, a in zip(volts, amps))
        reactive = math.copysign(math.sqrt(max(apparent ** 2 - active ** 2, 0.0)), s.reactive)
        return Slot(voltage=volts, current=amps, pf=s.pf, active=active,  # type: ignore
                    reactive=reactive, apparent=apparent, powered=1.0)

    def frequency(self, t: float) -> float:
        return 50.0 + 0.2 * (self.unit(int(t), 9) - 0.5)

    def demand(self, k: int) -> tuple[float, float]:
        """(W, VA) demand of slot ``k`` (its average power)."""
        s = self.slot(k)
        return s.active, s.apparent


# -- past events ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PastEvent:
    """One logged event: instant (POSIX seconds), IS 15959 event code, compartment index."""

    time: float
    code: int
    compartment: int


def generate_outages(rng: random.Random, start: float, stop: float,
                     count: tuple[int, int] = (3, 6)) -> list[Outage]:
    """A few power failures (5 minutes to 3 hours) between ``start`` and ``stop``, apart."""
    outages: list[Outage] = []
    span = stop - start
    for _ in range(rng.randint(*count)):
        for _attempt in range(10):
            off = start + rng.uniform(0.05, 0.95) * span
            on = off + rng.choice((300, 900, 1800, 3600, 7200, 10800)) + rng.randint(0, 299)
            if on < stop - 3600 and all(on + 3600 < o.off or off > o.on + 3600 for o in outages):
                outages.append(Outage(off=float(int(off)), on=float(int(on))))
                break
    return sorted(outages, key=lambda o: o.off)


def _paired(rng: random.Random, codes: Sequence[int], compartment: int, start: float,
            stop: float, n: int, model: LoadModel) -> list[PastEvent]:
    """``n`` occurrence/restoration pairs of codes chosen from ``codes`` (occurrence codes)."""
    events = []
    for _ in range(n):
        for _attempt in range(10):
            t = float(int(start + rng.uniform(0.02, 0.9) * (stop - start)))
            back = t + rng.randint(600, 6 * 3600)
            if back < stop and model.is_powered(t) and model.is_powered(back):
                code = rng.choice(codes)
                events += [PastEvent(t, code, compartment), PastEvent(back, code + 1, compartment)]
                break
    return events


def _singles(rng: random.Random, codes: Sequence[int], compartment: int, start: float,
             stop: float, n: int, model: LoadModel) -> list[PastEvent]:
    events = []
    for _ in range(n):
        t = float(int(start + rng.uniform(0.02, 0.98) * (stop - start)))
        if model.is_powered(t):
            events.append(PastEvent(t, rng.choice(codes), compartment))
    return events


def generate_events(rng: random.Random, model: LoadModel, start: float, stop: float,
                    codes: dict[int, Sequence[int]]) -> list[PastEvent]:
    """Past events of every compartment, sorted by time.

    ``codes`` maps a compartment index to its documented codes (IS 15959 numbering: voltage 0,
    current 1, power 2, transaction 3, other 4, non-rollover 5, control 6). Power failures come
    from the model's outages (101 occurrence, 102 restoration); the occurrence codes of the
    paired compartments are the odd ones.
    """
    events = [PastEvent(o.off, 101, 2) for o in model.outages]
    events += [PastEvent(o.on, 102, 2) for o in model.outages if o.on < stop]

    def odd(c: int) -> list[int]:
        return [code for code in codes.get(c, ()) if code % 2 == 1]

    for compartment, pairs in ((0, (2, 4)), (1, (2, 4)), (4, (1, 2))):
        if odd(compartment):
            events += _paired(rng, odd(compartment), compartment, start, stop,
                              rng.randint(*pairs), model)
    if codes.get(3):
        events += _singles(rng, [c for c in codes[3] if c in (151, 152, 153)] or list(codes[3]),
                           3, start, stop, rng.randint(1, 3), model)
    if codes.get(5):
        events += _singles(rng, list(codes[5]), 5, start, stop, 1, model)
    if codes.get(6) and rng.random() < 0.5:
        events += _paired(rng, [c for c in codes[6] if c % 2 == 1] or [codes[6][0]], 6, start,
                          stop, 1, model)
    return sorted(events, key=lambda e: (e.time, e.code))
