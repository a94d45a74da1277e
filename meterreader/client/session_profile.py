"""Profile generic (class 7) reads for the session: whole buffer, by range or by entry, with
scalers, progress, compressed clock columns and partial results.

Blue Book, Profile generic: attribute 3 ``capture_objects`` names the columns, attribute 2
``buffer`` holds the rows (an array of structures), attribute 4 ``capture_period``. Selective
access 1 (range, on the clock column) and 2 (entry) restrict the rows.

The order of work: capture_objects (cached per session), scalers (cached: the IS 15959 scaler
profile when the profile has one, else each register column's scaler_unit), then the buffer.
Each datablock of the buffer is decoded as it arrives (only the new rows), which feeds the
progress callback and keeps every complete row of an interrupted transfer: a failure after at
least one datablock returns ``ProfileResult(complete=False, error=...)`` with those rows; a
failure before any data raises as usual.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter, mul, truediv
from typing import TYPE_CHECKING, Any

from meterreader.client.errors import ServiceFailed, describe_target, refusal
from meterreader.client.values import REGISTER_ATTRIBUTES, parse_scaler_unit
from meterreader.cosem.interface_classes import attribute_name, unit_symbol
from meterreader.cosem.obis import Obis
from meterreader.dlms import connection_events as ev
from meterreader.dlms import xdlms as x
from meterreader.dlms.axdr import Data, DataTag, decode_data, decode_length
from meterreader.dlms.axdr_fast import columns_of, decode_array_elements, rows_of
from meterreader.dlms.cosem_time import DEVIATION_NOT_SPECIFIED, NOT_SPECIFIED, CosemDateTime
from meterreader.dlms.errors import DecodeError, DlmsError, LocalProtocolError, Reason
from meterreader.india.catalogue import MeterCategory, find_object, profile
from meterreader.india.profiles import apply_scaler, column_title, scalers_from_scaler_profile

if TYPE_CHECKING:
    from meterreader.client.session import Session

__all__ = ["ProfileCache", "ProfileColumn", "ProfileResult", "RowDecoder", "read_profile"]

CLOCK = Obis(0, 0, 1, 0, 0, 255)
_SCALER_MODES = frozenset({"auto", "attribute3", "scaler_profile", None})
ScalerMap = dict[tuple[int, Obis], tuple[int, int]]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileColumn:
    """One column of a profile read: its capture object, title, and scaler/unit when known."""

    index: int  # position in capture_objects
    title: str
    class_id: int
    obis: Obis
    attribute: int
    data_index: int = 0
    scaler: int | None = None
    unit: int | None = None
    unit_text: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileResult:
    """Rows of a profile: ``rows`` are tuples of Python values (scaled numbers, ``datetime``
    for clock columns, rebuilt when a compressed profile sends null-data), ``raw_rows`` the
    cells as received. ``complete`` is False when the transfer failed part-way; ``error`` then
    says why."""

    obis: Obis
    columns: tuple[ProfileColumn, ...]
    rows: tuple[tuple[Any, ...], ...]
    raw_rows: tuple[tuple[Data, ...], ...]
    complete: bool = True
    error: BaseException | None = None
    blocks: int = 0
    bytes: int = 0


@dataclass(slots=True)
class ProfileCache:
    """What a session remembers between profile reads (all static for a connection)."""

    capture_objects: dict[Obis, tuple[x.CaptureObjectDefinition, ...]] = field(
        default_factory=dict)
    scalers: dict[tuple[Obis, str], ScalerMap] = field(default_factory=dict)
    capture_period: dict[Obis, int | None] = field(default_factory=dict)
    # by scaler profile (IS 15959: all event logs share one): its scalers, or why it failed
    scaler_profiles: dict[Obis, ScalerMap | DlmsError] = field(default_factory=dict)
    deviation: list[int | None] = field(default_factory=list)  # [] = not read yet


class RowDecoder:
    """Decodes the complete rows at the front of a growing buffer encoding (array of
    structures), resuming where the previous call stopped."""

    def __init__(self) -> None:
        self.rows: list[Data] = []
        self._count = 0
        self._pos: int | None = None
        self._size = 0  # bytes of the last row decoded one by one

    def feed(self, raw: bytes) -> int:
        """Decode what ``raw`` (the whole raw-data so far) adds; return the row count."""
        if self._pos is None:
            if raw[:1] != bytes((DataTag.ARRAY,)):
                return 0  # a compact-array (or anything else) decodes only whole
            try:
                self._count, self._pos = decode_length(raw, 1)
            except DecodeError:
                return 0
        if self.rows and len(self.rows) < self._count:
            # Rows usually share the first row's size: decode the ones that fit in one go
            # (the A-XDR fast path); anything unusual is left to the row-by-row loop below.
            size = self._size or 1
            n = min(self._count - len(self.rows), (len(raw) - self._pos) // size)
            if n > 1:
                try:
                    more, end = decode_array_elements(raw, self._pos, len(raw), 1, n)
                    self.rows.extend(more)
                    self._pos = end
                except DecodeError:
                    pass
        while len(self.rows) < self._count:
            try:
                row, end = decode_data(raw, self._pos)
            except DecodeError as exc:
                if exc.reason is not Reason.TRUNCATED:
                    self._count = len(self.rows)  # garbage: keep what decoded
                break
            self.rows.append(row)
            self._size, self._pos = end - self._pos, end
        return len(self.rows)


# -- IS 15959 knowledge ---------------------------------------------------------------------------

def catalogue_class(obis: Obis) -> int | None:
    """The class of ``obis`` in any IS 15959 category catalogue, or None."""
    for category in MeterCategory:
        found = find_object(category, obis)
        if found is not None:
            return found.class_id
    return None


def scaler_profile_of(obis: Obis) -> Obis | None:
    """The IS 15959 scaler profile of a data profile, or None."""
    for category in MeterCategory:
        found = profile(category, obis)
        if found is not None and found.scaler_profile is not None:
            return found.scaler_profile
    return None


# -- the read -------------------------------------------------------------------------------------

def read_profile(session: Session, obis: Obis | str, *,
                 range: tuple[dt.datetime | None, dt.datetime | None] | None = None,  # noqa: A002
                 entries: tuple[int, int | None] | None = None,
                 columns: Sequence[int] | None = None, scalers: str | None = "auto",
                 progress: Callable[[Any], None] | None = None) -> ProfileResult:
    """Read a profile generic buffer.

    ``range=(from, to)``: rows whose clock lies in [from, to] (naive = meter local time, aware
    = converted to the meter's zone; None = open end); ``entries=(first, last)``: entries
    first..last, 1-based (last None or 0 = to the newest); neither: the whole buffer.
    ``columns``: indexes into capture_objects to keep (None = all). ``scalers``: "auto" (the
    IS 15959 scaler profile, else attribute 3 of each register column), "attribute3",
    "scaler_profile" or None (raw values). ``progress(Progress)`` after every datablock
    (default: the session's ``on_progress``).
    """
    from meterreader.client.session import Progress

    if scalers not in _SCALER_MODES:
        raise LocalProtocolError(f"scalers must be one of 'auto', 'attribute3', "
                                 f"'scaler_profile' or None, not {scalers!r}")
    if range is not None and entries is not None:
        raise LocalProtocolError("read_profile takes range= or entries=, not both")
    o = Obis.parse(obis)
    report = progress if progress is not None else session.on_progress
    with session.operation(f"profile {o}"):
        capture = capture_objects(session, o)
        wanted = _wanted_columns(columns, len(capture))
        scaler_map = _scalers(session, o, capture, scalers)
        unspecified = session.settings.quirks.range_bounds_without_deviation
        while True:
            selection, returned = _selection(session, capture, range, entries, wanted,
                                             unspecified)
            decoder = RowDecoder()
            state = {"blocks": 0, "bytes": 0}

            def on_block(block: ev.BlockReceived) -> None:
                state["blocks"], state["bytes"] = block.block_number, block.bytes_so_far
                if block.last:
                    return  # reported with the decoded value below
                rows = decoder.feed(session.partial_raw)
                if report is not None:
                    report(Progress(operation=f"profile {o}", blocks=block.block_number,
                                    bytes=block.bytes_so_far, rows=rows))

            d = x.CosemAttributeDescriptor(class_id=7, instance_id=o, attribute_id=2)
            try:
                event = session.get_event(d, selection, on_block)
            except DlmsError as exc:
                if not state["blocks"]:
                    raise
                decoder.feed(getattr(exc, "partial_raw", b"") or session.partial_raw)
                return _result(session, o, capture, returned, wanted, scaler_map,
                               decoder.rows, state, exc)
            error = _refused(event, d)
            if error is None:
                rows = _rows_of(event.value)  # type: ignore[attr-defined]
                if report is not None and state["blocks"]:
                    report(Progress(operation=f"profile {o}", blocks=state["blocks"],
                                    bytes=state["bytes"], rows=len(rows)))
                return _result(session, o, capture, returned, wanted, scaler_map, rows, state,
                               None)
            if state["blocks"]:
                decoder.feed(getattr(event, "partial_raw", b""))
                return _result(session, o, capture, returned, wanted, scaler_map,
                               decoder.rows, state, error)
            retry = (range is not None and not unspecified
                     and session.settings.quirks.retry_range_without_deviation)
            if not retry:
                raise error
            # IS15959.md: some meters reject range bounds that carry a deviation.
            unspecified = True


def capture_objects(session: Session, obis: Obis) -> tuple[x.CaptureObjectDefinition, ...]:
    """Attribute 3 of a profile, read once per session."""
    cache = session.profile_cache.capture_objects
    if obis not in cache:
        value = session.get(7, obis, 3)
        if value.tag is not DataTag.ARRAY:
            raise DecodeError(f"capture_objects of {obis} is not an array",
                              reason=Reason.BAD_VALUE)
        cache[obis] = tuple(x.CaptureObjectDefinition.from_data(item) for item in value.value)
    return cache[obis]


def _wanted_columns(columns: Sequence[int] | None, count: int) -> list[int]:
    if columns is None:
        return list(range(count))
    wanted = sorted(set(columns))
    if not wanted or any(type(i) is not int or not 0 <= i < count for i in wanted):
        raise LocalProtocolError(f"columns must be indexes 0..{count - 1} of the capture "
                                 f"objects, got {list(columns)!r}")
    return wanted


def _refused(event: ev.Event, d: x.CosemAttributeDescriptor) -> ServiceFailed | None:
    target = describe_target(7, d.instance_id, attribute=2)
    if isinstance(event, ev.ServiceError):
        return ServiceFailed(f"reading {target}: {event.text}", target=target)
    if isinstance(event, ev.GetResult):
        if isinstance(event.value, x.DataAccessResult):
            return refusal("reading", target, event.value)
        if event.value.tag not in (DataTag.ARRAY, DataTag.COMPACT_ARRAY):
            return ServiceFailed(f"reading {target}: the buffer is not an array",
                                 target=target)
        return None
    return ServiceFailed(f"reading {target}: unexpected answer {type(event).__name__}",
                         target=target)


def _rows_of(value: Data) -> list[Data]:
    if value.tag is DataTag.COMPACT_ARRAY:
        return list(value.value.contents)
    return list(value.value)


# -- scalers -------------------------------------------------------------------------------------

def _scalers(session: Session, obis: Obis, capture: Sequence[x.CaptureObjectDefinition],
             mode: str | None) -> ScalerMap:
    if mode is None:
        return {}
    cache = session.profile_cache.scalers
    if (obis, mode) in cache:
        return cache[(obis, mode)]
    found: ScalerMap | None = None
    if mode in ("auto", "scaler_profile"):
        found = _from_scaler_profile(session, obis, required=mode == "scaler_profile")
    if found is None:
        found = _from_attribute_3(session, capture)
    cache[(obis, mode)] = found
    return found


def _from_scaler_profile(session: Session, obis: Obis, *, required: bool) -> ScalerMap | None:
    sp = scaler_profile_of(obis)
    if sp is None:
        if required:
            raise LocalProtocolError(f"no IS 15959 scaler profile is known for {obis}")
        return None
    cache = session.profile_cache.scaler_profiles
    found = cache.get(sp)
    if found is None:
        try:
            found = _read_scaler_profile(session, sp)
        except (ServiceFailed, DecodeError) as exc:
            found = exc
        cache[sp] = found  # read once per session, whichever profile it scales
    if isinstance(found, DlmsError):
        if required:
            raise found
        return None  # fall back to attribute 3 of each column
    return found


def _read_scaler_profile(session: Session, sp: Obis) -> ScalerMap:
    sp_capture = capture_objects(session, sp)
    rows = _rows_of(session.get(7, sp, 2))
    if not rows:
        raise ServiceFailed(f"the scaler profile {sp} is empty")
    keys = [(c.class_id, c.logical_name, c.attribute_index) for c in sp_capture]
    return scalers_from_scaler_profile(keys, rows[0])


def _from_attribute_3(session: Session, capture: Sequence[x.CaptureObjectDefinition]
                      ) -> ScalerMap:
    keys = list(dict.fromkeys((c.class_id, c.logical_name) for c in capture
                              if c.class_id in REGISTER_ATTRIBUTES))
    if not keys:
        return {}
    results = session.get_many([(cid, o, REGISTER_ATTRIBUTES[cid][1]) for cid, o in keys])
    out: ScalerMap = {}
    for key, value in zip(keys, results):
        if isinstance(value, Data):
            out[key] = parse_scaler_unit(value, f"scaler_unit of {key[1]}")
    return out


# -- selective access ---------------------------------------------------------------------------

def _clock_column(capture: Sequence[x.CaptureObjectDefinition]) -> int | None:
    for i, c in enumerate(capture):
        if c.class_id == 8 and c.attribute_index == 2:
            return i
    return None


def _selection(session: Session, capture: Sequence[x.CaptureObjectDefinition],
               span: tuple[Any, Any] | None, entries: tuple[int, int | None] | None,
               wanted: list[int], unspecified: bool
               ) -> tuple[x.SelectiveAccessDescriptor | None, list[int]]:
    """The selective access and the capture indexes of the columns the meter will return."""
    every = list(range(len(capture)))
    if span is not None:
        start, end = span
        restricting = capture[_clock_column(capture) or 0]
        deviation = None if unspecified else _meter_deviation(session)
        sign = session.settings.deviation_sign
        selected = tuple(capture[i] for i in wanted) if wanted != every else ()
        return x.SelectiveAccessDescriptor.range(x.RangeDescriptor(
            restricting_object=restricting, from_value=range_bound(start, deviation, sign),
            to_value=range_bound(end, deviation, sign), selected_values=selected)), (
            wanted if selected else every)
    if entries is not None:
        first, last = entries
        if type(first) is not int or first < 1 or (last is not None and (
                type(last) is not int or 0 < last < first or last < 0)):
            raise LocalProtocolError(f"entries must be (first >= 1, last >= first or 0/None), "
                                     f"got {entries!r}")
        lo, hi = wanted[0], wanted[-1]
        span_cols = list(range(lo, hi + 1))
        return x.SelectiveAccessDescriptor.entry(x.EntryDescriptor(
            from_entry=first, to_entry=last or 0, from_selected_value=lo + 1,
            to_selected_value=0 if hi == len(capture) - 1 else hi + 1)), span_cols
    return None, every


def range_bound(when: dt.datetime | dt.date | None, deviation: int | None, sign: int) -> Data:
    """A read-by-range bound: a date-time octet-string in the meter's local time carrying the
    meter's own ``deviation`` (None: deviation and clock status "not specified"); null-data for
    an open end. Aware datetimes are converted to the meter's zone first."""
    if when is None:
        return Data(DataTag.NULL_DATA)
    if not isinstance(when, dt.datetime):
        when = dt.datetime.combine(when, dt.time())
    if when.tzinfo is not None and deviation is not None:
        when = when.astimezone(dt.timezone(dt.timedelta(minutes=sign * deviation)))
    cdt = CosemDateTime(
        year=when.year, month=when.month, day=when.day, day_of_week=NOT_SPECIFIED,
        hour=when.hour, minute=when.minute, second=when.second, hundredths=0,
        deviation=DEVIATION_NOT_SPECIFIED if deviation is None else deviation,
        clock_status=NOT_SPECIFIED if deviation is None else 0)
    return Data(DataTag.OCTET_STRING, bytes(cdt))


def _meter_deviation(session: Session) -> int | None:
    """The clock's time_zone (attribute 3), read once; None when unreadable."""
    cache = session.profile_cache.deviation
    if not cache:
        try:
            value = session.get(8, CLOCK, 3)
            zone = value.value if type(value.value) is int else None
            cache.append(zone if zone is None or -720 <= zone <= 840 else None)
        except ServiceFailed:
            cache.append(None)
    return cache[0]


# -- rows -----------------------------------------------------------------------------------------

def _columns(capture: Sequence[x.CaptureObjectDefinition], wanted: list[int],
             scalers: ScalerMap) -> tuple[ProfileColumn, ...]:
    out = []
    for i in wanted:
        c = capture[i]
        found = scalers.get((c.class_id, c.logical_name)) if _is_scaled(c) else None
        unit = found[1] if found else None
        text = "" if unit is None or unit in (254, 255) else unit_symbol(unit)
        out.append(ProfileColumn(
            index=i, title=column_title(c.logical_name, unit, class_id=c.class_id,
                                        attribute=c.attribute_index),
            class_id=c.class_id, obis=c.logical_name, attribute=c.attribute_index,
            data_index=c.data_index, scaler=found[0] if found else None, unit=unit,
            unit_text=text))
    return tuple(out)


def _is_scaled(c: x.CaptureObjectDefinition) -> bool:
    if c.class_id == 5:
        return c.attribute_index in (2, 3)
    return c.class_id in (3, 4) and c.attribute_index == 2


def _is_time(c: x.CaptureObjectDefinition) -> bool:
    return (c.class_id == 8 and c.attribute_index == 2) or "time" in attribute_name(
        c.class_id, c.attribute_index)


def _result(session: Session, obis: Obis, capture: Sequence[x.CaptureObjectDefinition],
            returned: list[int], wanted: list[int], scalers: ScalerMap, rows: list[Data],
            state: dict[str, int], error: BaseException | None) -> ProfileResult:
    columns = _columns(capture, wanted, scalers)
    first = rows[0].value if rows and rows[0].tag is DataTag.STRUCTURE else None
    if first is not None and len(first) == len(capture) != len(returned):
        returned = list(range(len(capture)))  # the meter ignored the column selection
    position = {cap: pos for pos, cap in enumerate(returned)}
    picks = [position[i] for i in wanted if i in position]
    pairs = list(zip(columns, picks))
    sign = session.settings.deviation_sign
    # Column by column (rows_of converts each cell as python_value would): the same rows as
    # converting cell by cell, several times faster for a long buffer.
    times = {p for column, p in pairs if _is_time(capture[column.index])}
    cells = [row.value if row.tag is DataTag.STRUCTURE else (row,) for row in rows]
    raw_rows = _pick(cells, picks, Data(DataTag.NULL_DATA))
    array = Data(DataTag.ARRAY, tuple(rows))
    by_column = columns_of(array, datetimes=times, deviation_sign=sign)
    if by_column is not None and all(p < len(by_column) for p in picks):
        values: list[Any] = [by_column[p] for _c, p in pairs]
    else:
        python = rows_of(array, datetimes=times, deviation_sign=sign)
        values = list(zip(*_pick(python, picks[:len(pairs)], None))) or [()] * len(pairs)
    for k, (column, _p) in enumerate(pairs):
        if column.scaler is not None:
            values[k] = _scaled(values[k], column.scaler)
    clock = _clock_column(capture)
    k = wanted.index(clock) if clock in wanted else None
    if k is not None and k < len(pairs) and any(
            r[k].tag is DataTag.NULL_DATA for r in raw_rows):
        values[k] = _rebuilt_clocks(session, obis, values[k], raw_rows, k)
    out_rows = list(zip(*values)) if pairs else [()] * len(rows)
    return ProfileResult(obis=obis, columns=columns, rows=tuple(out_rows),
                         raw_rows=tuple(raw_rows), complete=error is None, error=error,
                         blocks=state["blocks"], bytes=state["bytes"])


def _pick(rows: Sequence[Sequence[Any]], picks: list[int], fill: Any) -> list[tuple[Any, ...]]:
    """``tuple(row[p] (or fill past its end) for p in picks)`` of every row."""
    if not picks:
        return [()] * len(rows)
    if min(map(len, rows), default=0) > max(picks):
        if len(picks) == 1:
            return [(r[picks[0]],) for r in rows]
        return list(map(itemgetter(*picks), rows))
    return [tuple(r[p] if p < len(r) else fill for p in picks) for r in rows]


def _scaled(values: Sequence[Any], scaler: int) -> list[Any]:
    """``apply_scaler`` on the numbers of a column (not on bools, nulls or other values)."""
    if type(scaler) is not int or not -128 <= scaler <= 127:  # apply_scaler raises
        return [apply_scaler(v, scaler) if _is_number(v) else v for v in values]
    factor, op = 10 ** abs(scaler), (mul if scaler >= 0 else truediv)
    if set(map(type, values)) <= {int, float}:  # numbers only: one C-level map
        return list(map(op, values, repeat(factor)))
    return [op(v, factor) if _is_number(v) else v for v in values]


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _rebuilt_clocks(session: Session, obis: Obis, clocks: Sequence[Any],
                    raw_rows: list[tuple[Data, ...]], k: int) -> list[Any]:
    """INTEROP.md: a "compressed" profile leaves the clock null when it follows from the
    previous entry plus the capture period."""
    out, previous = [], None
    for when, raw in zip(clocks, raw_rows):
        if raw[k].tag is DataTag.NULL_DATA and previous is not None:
            period = _capture_period(session, obis)
            if period:
                when = previous + dt.timedelta(seconds=period)
        out.append(when)
        previous = when if isinstance(when, dt.datetime) else None
    return out


def _capture_period(session: Session, obis: Obis) -> int | None:
    cache = session.profile_cache.capture_period
    if obis not in cache:
        if not session.is_ready:
            return None
        try:
            value = session.get(7, obis, 4)
            cache[obis] = value.value if type(value.value) is int else None
        except DlmsError:
            cache[obis] = None
    return cache[obis]
