"""Chart series from profile tables, without Qt (a worker thread may prepare them).

:func:`chart_data` turns a :class:`~meterreader.reading.ReadingTable` into numpy series grouped
by unit (energy, voltage, current, power, power factor, frequency, other); the section picks
the group titles (block load: "Energy per interval", "Average voltage", "Current"). ``x`` is
the meter's wall clock read as UTC seconds (naive and aware cells alike), or the row number
for billing history (charted per period, labelled with the billing dates).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from meterreader.dlms.cosem_time import CosemDateTime
from meterreader.reading.model import ReadingTable

__all__ = ["BILLING_DATE_OBIS", "CLOCK_OBIS", "ChartData", "ChartSeries", "GROUP_ORDER",
           "bare_title", "chart_data", "default_visible", "display_scale", "has_clock",
           "short_names", "value_text"]

GROUP_ORDER = ("energy", "voltage", "current", "power", "power_factor", "frequency", "other")
_UNIT_GROUP = {
    **dict.fromkeys(("Wh", "kWh", "MWh", "varh", "kvarh", "Mvarh", "VAh", "kVAh", "MVAh"),
                    "energy"),
    **dict.fromkeys(("V", "kV"), "voltage"), **dict.fromkeys(("A", "kA"), "current"),
    **dict.fromkeys(("W", "kW", "MW", "var", "kvar", "VA", "kVA"), "power"), "Hz": "frequency",
}
_TITLES = {"energy": "Energy", "voltage": "Voltage", "current": "Current", "power": "Power",
           "power_factor": "Power factor", "frequency": "Frequency", "other": "Other"}
_PRESET_TITLES = {
    "block_load": {"energy": "Energy per interval", "voltage": "Average voltage",
                   "current": "Current"},
    "daily_load": {"energy": "Daily energy"},
    "billing": {"energy": "Cumulative energy", "power": "Maximum demand"},
}
# Distinct mid tones readable on light and dark backgrounds; R/Y/B phases get their colours.
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#17becf", "#bcbd22", "#7f7f7f")
_PHASE_COLOURS = (("L1", "#d62728"), ("L2", "#d4a017"), ("L3", "#1f62b4"))
_UTC = dt.timezone.utc


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartSeries:
    """One numeric column: index in the table, title, unit, group and its values (NaN = gap)."""

    column: int
    title: str
    unit: str
    group: str
    y: np.ndarray
    colour: str = "#1f77b4"
    obis_e: int | None = None  # value group E of the OBIS (tariff zone of a register)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartData:
    """What a chart draws: ``x`` in seconds of the meter's wall clock read as UTC (None for a
    table without a clock column: then the row number), ``labels`` per row (dates, for bars)."""

    section: str
    title: str
    x: np.ndarray
    labels: tuple[str, ...]
    series: tuple[ChartSeries, ...]
    dated: bool

    def groups(self) -> list[str]:
        present = {s.group for s in self.series}
        return [g for g in GROUP_ORDER if g in present]

    def group_title(self, group: str) -> str:
        return _PRESET_TITLES.get(self.section, {}).get(group, _TITLES[group])


CLOCK_OBIS = "0.0.1.0.0.255"
BILLING_DATE_OBIS = "0.0.0.1.2.255"


def _clock_index(table: ReadingTable) -> int | None:
    """The profile's clock column (the clock object, else a leading date-time column)."""
    index = table.column_index(obis=CLOCK_OBIS)
    if index is None and table.columns and table.columns[0].kind == "datetime":
        index = 0
    return index


def has_clock(table: ReadingTable) -> bool:
    """True when the table has a clock column holding date-times (a chartable profile)."""
    index = _clock_index(table)
    return index is not None and any(isinstance(row[index], dt.datetime)
                                     for row in table.rows[:50] if index < len(row))


def _date_label(value: object) -> str:
    if isinstance(value, bytes) and len(value) == 12:
        when = CosemDateTime.try_from_bytes(value)
        if when is not None:
            return f"{when.year:04d}-{when.month:02d}-{when.day:02d}" \
                if 0 < when.month < 13 and 0 < when.day < 32 else str(when)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.strftime("%Y-%m-%d")
    return "" if value is None else str(value)


def _obis_e(obis: str) -> int | None:
    parts = obis.split(".")
    return int(parts[4]) if len(parts) == 6 and parts[4].isdigit() else None


def _wall_seconds(value: object) -> float:
    if not isinstance(value, dt.datetime):
        return math.nan
    return value.replace(tzinfo=_UTC).timestamp()  # the meter's wall clock, aware or not


def _group(unit: str, title: str) -> str:
    if unit in _UNIT_GROUP:
        return _UNIT_GROUP[unit]
    return "power_factor" if "power factor" in title.lower() else "other"


def _numeric(values: list) -> np.ndarray | None:
    sample = [v for v in values[:200] if v is not None]
    if not sample or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                             for v in sample):
        return None
    try:
        return np.asarray(values, dtype=float)  # None → NaN
    except (TypeError, ValueError):
        return np.fromiter((float(v) if isinstance(v, (int, float)) else math.nan
                            for v in values), dtype=float, count=len(values))


def _colour(title: str, used: int) -> str:
    for tag, colour in _PHASE_COLOURS:
        if tag in title:
            return colour
    return _PALETTE[used % len(_PALETTE)]


def chart_data(table: ReadingTable, columns: Sequence[int] | None = None) -> ChartData:
    """The numeric series of ``table`` (``columns``: column indexes to keep, default every
    numeric "value" column). Billing history is charted per period (x = row number, labels =
    billing dates); other profiles on their clock. Qt-free: safe on a worker thread."""
    rows = table.rows
    clock = _clock_index(table)
    bars = table.section == "billing"
    dated = not bars and clock is not None and has_clock(table)
    labels: tuple[str, ...] = ()
    if dated:
        x = np.fromiter((_wall_seconds(row[clock]) for row in rows), dtype=float,
                        count=len(rows))
    else:
        x = np.arange(len(rows), dtype=float)
        date_col = table.column_index(obis=BILLING_DATE_OBIS)
        date_col = clock if date_col is None else date_col
        if date_col is not None:
            labels = tuple(_date_label(row[date_col]) for row in rows)
    wanted = set(range(len(table.columns))) if columns is None else set(columns)
    series = []
    for i, column in enumerate(table.columns):
        if i not in wanted or i == clock or column.kind != "value" \
                or column.obis == BILLING_DATE_OBIS:
            continue
        y = _numeric([row[i] if i < len(row) else None for row in rows])
        if y is None:
            continue
        group = _group(column.unit, column.title)
        series.append(ChartSeries(column=i, title=column.title, unit=column.unit, group=group,
                                  y=y, obis_e=_obis_e(column.obis)))
    data = ChartData(section=table.section, title=table.title, x=x, labels=labels,
                     series=tuple(series), dated=dated)
    return _coloured(data)


def _coloured(data: ChartData) -> ChartData:
    # Colours per plot, the series shown at first taking the first (most distinct) ones.
    shown = default_visible(data)
    used: dict[str, int] = {}
    colours: dict[int, str] = {}
    for s in sorted(data.series, key=lambda s: s.column not in shown):
        colours[s.column] = _colour(s.title, used.get(s.group, 0))
        used[s.group] = used.get(s.group, 0) + 1
    series = tuple(replace(s, colour=colours[s.column]) for s in data.series)
    return replace(data, series=series)


def default_visible(data: ChartData) -> set[int]:
    """Columns shown at first: every series, but for billing only the totals (no tariff-zone
    registers, OBIS E = 0)."""
    if data.section != "billing":
        return {s.column for s in data.series}
    return {s.column for s in data.series if s.obis_e in (0, None)}


_PREFIXES = ((1e6, "M"), (1e3, "k"))


def display_scale(series: list[ChartSeries]) -> tuple[float, str]:
    """A display factor for one plot (values up to ~10^4 stay as they are) and its prefix, when
    every unit of the plot is a base SI unit (Wh, varh, VAh, W, var, VA, V, A)."""
    units = {s.unit for s in series}
    if not units or not all(u and u[0] not in "kM" and u not in ("Hz",) for u in units):
        return 1.0, ""
    peak = max((float(np.nanmax(np.abs(s.y))) for s in series
                if len(s.y) and not np.isnan(s.y).all()), default=0.0)
    for factor, prefix in _PREFIXES:
        if peak >= 10 * factor:
            return factor, prefix
    return 1.0, ""


def bare_title(s: ChartSeries) -> str:
    suffix = f" ({s.unit})"
    return s.title[:-len(suffix)] if s.unit and s.title.endswith(suffix) else s.title


def short_names(series: Sequence[ChartSeries]) -> list[str]:
    """Titles without their unit and without the words all of them start with
    ("Average voltage L1 (V)", "… L2 (V)" → "L1", "L2")."""
    titles = [bare_title(s) for s in series]
    if len(titles) < 2:
        return titles
    words = [t.split(" ") for t in titles]
    common = 0
    while all(len(w) > common + 1 and w[common] == words[0][common] for w in words):
        common += 1
    return [" ".join(w[common:]) for w in words]


def value_text(value: float, unit: str) -> str:
    """``"236.3 V"``, ``"3,000,000 Wh"``, ``"—"`` for a gap."""
    if math.isnan(value):
        return "—"
    text = f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:,.0f}"
    return f"{text} {unit}".rstrip()
