"""IC 7 Profile generic (version 1) of the meter simulator.

Rows are kept as ready-made ``Data`` structures (one per entry, oldest first: sort_method FIFO),
so a GET of 10 000 rows only slices a list; for the clock column a parallel list of POSIX
timestamps makes read-by-range a bisection. Selective access (Blue Book, Profile generic,
attribute 2 ``buffer``):

* by range (selector 1): rows whose restricting object (the clock column, another date-time
  column such as the billing date register, or a numeric column) lies in [from_value, to_value],
  both ends inclusive; date-time bounds compare as instants. Bounds may be null-data (open end),
  carry deviation "not specified" (read as meter local time), or have wildcarded fields as some
  IS 15959 clients send them: a wildcarded date makes that end open, a wildcarded
  hour/minute/second reads as the start (from) or the end (to) of its range.
  ``selected_values`` picks columns (empty: all).
* by entry (selector 2): entries from_entry..to_entry (1-based; to_entry 0 = the last) and
  columns from_selected_value..to_selected_value (1-based; 0 = the last). A from_entry beyond
  entries_in_use gives an empty array.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_left, bisect_right
from typing import Any, Callable, Iterable, Sequence

from meterreader.cosem.interface_classes import SortMethod
from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.cosem_time import NOT_SPECIFIED, CosemDateTime
from meterreader.dlms.errors import DlmsError, LocalProtocolError
from meterreader.dlms.xdlms.common import (CaptureObjectDefinition,
                                           DataAccessResult, EntryDescriptor, RangeDescriptor,
                                           SelectiveAccessDescriptor)

from .objects import (NULL, AccessError, CosemObject, _check_zero_param, expect, parse_date_time)

_NUMERIC = frozenset({DataTag.DOUBLE_LONG, DataTag.DOUBLE_LONG_UNSIGNED, DataTag.INTEGER,
                      DataTag.LONG, DataTag.UNSIGNED, DataTag.LONG_UNSIGNED, DataTag.LONG64,
                      DataTag.LONG64_UNSIGNED, DataTag.FLOAT32, DataTag.FLOAT64,
                      DataTag.FLOATING_POINT})
_NO_SORT_OBJECT = CaptureObjectDefinition(class_id=0, logical_name=Obis(0, 0, 0, 0, 0, 0),
                                          attribute_index=0, data_index=0)
_OTHER = DataAccessResult.OTHER_REASON


def _is_date_time(value: Data) -> bool:
    """A date-time as the Blue Book types it: date-time (25) or an octet-string of 12 bytes."""
    return value.tag == DataTag.DATE_TIME or (
        value.tag == DataTag.OCTET_STRING and len(value.value) == 12)


def column_key(c: CaptureObjectDefinition) -> tuple[int, Obis, int]:
    """How a capture object is matched against a selective-access column reference."""
    return c.class_id, c.logical_name, c.attribute_index


class ProfileGeneric(CosemObject):
    """IC 7 Profile generic, version 1; methods reset (1) and capture (2).

    ``capture_on_read``: a GET of the buffer captures first (the instantaneous profile, whose
    single row shows the present values). ``on_capture_period_set(old, new)`` is called after a
    SET of capture_period (the meter logs a transaction event).
    """

    class_id = 7
    version = 1
    _GETTERS = {2: "_get_buffer", 3: "_get_capture_objects", 4: "_get_capture_period",
                5: "_get_sort_method", 6: "_get_sort_object", 7: "_get_entries_in_use",
                8: "_get_profile_entries"}
    _SETTERS = {3: "_set_capture_objects", 4: "_set_capture_period", 8: "_set_profile_entries"}
    _METHODS = {1: "_reset", 2: "_capture"}
    _SELECTORS = {2: (1, 2)}

    def __init__(self, logical_name: Obis | str, capture_objects: Iterable[CaptureObjectDefinition],
                 *, capture_period: int = 0, profile_entries: int = 1,
                 capture_on_read: bool = False,
                 on_capture_period_set: Callable[[int, int], None] | None = None) -> None:
        super().__init__(logical_name)
        self.capture_period = capture_period
        self.profile_entries = profile_entries
        self.capture_on_read = capture_on_read
        self.on_capture_period_set = on_capture_period_set
        self._rows: list[Data] = []
        self._keys: list[float | None] = []
        self._sorted = True
        self._set_columns(tuple(capture_objects))

    def _set_columns(self, capture_objects: tuple[CaptureObjectDefinition, ...]) -> None:
        self.capture_objects = capture_objects
        self._columns = {column_key(c): i for i, c in reversed(list(enumerate(capture_objects)))}
        self.clock_column = next((i for i, c in enumerate(capture_objects)
                                  if c.class_id == 8 and c.attribute_index == 2), None)
        self.reset()

    # -- buffer maintenance (used by the data generator and by capture) --

    @property
    def entries_in_use(self) -> int:
        return len(self._rows)

    @property
    def rows(self) -> tuple[Data, ...]:
        """All entries, oldest first, each a structure with one element per capture object."""
        return tuple(self._rows)

    def reset(self) -> None:
        """Empty the buffer (method 1)."""
        self._rows.clear()
        self._keys.clear()
        self._sorted = True

    def append_rows(self, rows: Iterable[Sequence[Data]],
                    keys: Iterable[float | None] | None = None) -> None:
        """Append entries (oldest first); ``keys`` are the clock column's POSIX timestamps when
        the caller knows them (else they are parsed from the clock column). FIFO: the oldest
        entries beyond profile_entries are dropped."""
        n = len(self.capture_objects)
        key_iter = iter(keys) if keys is not None else None
        for row in rows:
            if len(row) != n:
                raise LocalProtocolError(f"{self}: a row needs {n} values, got {len(row)}")
            key = next(key_iter) if key_iter is not None else self._key_of(row)
            if self._keys and key is not None and self._keys[-1] is not None \
                    and key < self._keys[-1]:
                self._sorted = False
            self._rows.append(Data(DataTag.STRUCTURE, tuple(row)))
            self._keys.append(key)
        self._trim()

    def _trim(self) -> None:
        excess = len(self._rows) - self.profile_entries
        if excess > 0:
            del self._rows[:excess]
            del self._keys[:excess]

    def _key_of(self, row: Sequence[Data]) -> float | None:
        if self.clock_column is None:
            return None
        cell = row[self.clock_column]
        if cell.tag == DataTag.NULL_DATA and self._keys and self._keys[-1] is not None:
            # A "compressed" profile omits the time: it is the previous entry's + capture_period.
            return self._keys[-1] + self.capture_period
        try:
            return self._instant(parse_date_time(cell)).timestamp()
        except (AccessError, DlmsError):
            return None

    def _instant(self, value: CosemDateTime) -> Any:
        clock = getattr(self.device, "clock", None)
        if clock is not None:
            return clock.instant(value)
        return value.to_datetime()

    def capture(self) -> None:
        """Append one entry read from the live capture objects (method 2)."""
        read = getattr(self.device, "read_internal", None)
        row = []
        for c in self.capture_objects:
            value = NULL
            if read is not None:
                value = read(c.class_id, c.logical_name, c.attribute_index)
                if c.data_index and value.tag in (DataTag.ARRAY, DataTag.STRUCTURE):
                    items = value.value
                    value = items[c.data_index - 1] if c.data_index <= len(items) else NULL
            row.append(value)
        self.append_rows((row,))

    # -- attributes --

    def _get_buffer(self, selection: SelectiveAccessDescriptor | None, ctx: Any) -> Data:
        if self.capture_on_read:
            self.capture()
        if selection is None:
            return Data(DataTag.ARRAY, tuple(self._rows))
        try:
            descriptor = selection.parameters()
        except DlmsError as exc:
            raise AccessError(_OTHER, f"bad selective access parameters: {exc}") from None
        if isinstance(descriptor, RangeDescriptor):
            rows = self._select_range(descriptor)
            columns = self._columns_of(descriptor.selected_values)
        else:
            rows, columns = self._select_entries(descriptor)
        if columns is None:
            return Data(DataTag.ARRAY, tuple(rows))
        return Data(DataTag.ARRAY, tuple(
            Data(DataTag.STRUCTURE, tuple(row.value[i] for i in columns)) for row in rows))

    def _columns_of(self, selected: tuple[CaptureObjectDefinition, ...]) -> list[int] | None:
        if not selected:
            return None
        columns = []
        for c in selected:
            index = self._columns.get(column_key(c))
            if index is None:
                raise AccessError(_OTHER, f"selected value {c.logical_name} is not captured")
            columns.append(index)
        return columns

    def _select_range(self, d: RangeDescriptor) -> list[Data]:
        column = self._columns.get(column_key(d.restricting_object))
        if column is None:
            raise AccessError(_OTHER, "the restricting object is not a captured column")
        if column == self.clock_column:
            lo, hi = self._time_bound(d.from_value, False), self._time_bound(d.to_value, True)
            keys: Sequence[float | None] = self._keys
        elif self._is_time_range(d, column):
            # Another date-time column (IS 15959 billing: the billing date register
            # 0.0.0.1.2.255 holds a date-time octet-string): compare as instants.
            lo, hi = self._time_bound(d.from_value, False), self._time_bound(d.to_value, True)
            keys = [self._cell_instant(row.value[column]) for row in self._rows]
        else:
            lo, hi = self._number_bound(d.from_value), self._number_bound(d.to_value)
            keys = [row.value[column].value if row.value[column].tag in _NUMERIC else None
                    for row in self._rows]
        if column == self.clock_column and self._sorted and None not in self._keys:
            first = 0 if lo is None else bisect_left(self._keys, lo)  # type: ignore[arg-type]
            stop = len(self._keys) if hi is None else bisect_right(self._keys, hi)  # type: ignore
            return self._rows[first:stop]
        return [self._rows[i] for i, k in enumerate(keys) if k is not None
                and (lo is None or k >= lo) and (hi is None or k <= hi)]

    def _is_time_range(self, d: RangeDescriptor, column: int) -> bool:
        """Date-time bounds, or open bounds on a column holding date-times."""
        bounds = (d.from_value, d.to_value)
        if any(_is_date_time(b) for b in bounds):
            return True
        return all(b.tag == DataTag.NULL_DATA for b in bounds) and any(
            _is_date_time(row.value[column]) for row in self._rows[:1])

    def _cell_instant(self, cell: Data) -> float | None:
        """A date-time cell as POSIX seconds; None for null-data or anything else."""
        if not _is_date_time(cell):
            return None
        try:
            return self._instant(parse_date_time(cell)).timestamp()
        except (AccessError, DlmsError, ValueError, OverflowError):
            return None  # wildcarded or invalid: never in range

    def _time_bound(self, value: Data, upper: bool) -> float | None:
        if value.tag == DataTag.NULL_DATA:
            return None
        bound = parse_date_time(value, _OTHER)
        if not bound.date.is_complete:
            return None  # wildcarded date: this end is open
        fill = {"hour": 23, "minute": 59, "second": 59} if upper else {
            "hour": 0, "minute": 0, "second": 0}
        bound = dataclasses.replace(bound, **{f: v for f, v in fill.items()
                                              if getattr(bound, f) == NOT_SPECIFIED})
        if upper and bound.hundredths == NOT_SPECIFIED:
            bound = dataclasses.replace(bound, hundredths=99)
        try:
            return self._instant(bound).timestamp()
        except (DlmsError, ValueError, OverflowError):
            raise AccessError(_OTHER, f"range bound {bound} is not a valid date-time") from None

    @staticmethod
    def _number_bound(value: Data) -> float | None:
        if value.tag == DataTag.NULL_DATA:
            return None
        if value.tag not in _NUMERIC:
            raise AccessError(_OTHER, "a numeric column needs numeric range bounds")
        return value.value

    def _select_entries(self, d: EntryDescriptor) -> tuple[list[Data], list[int] | None]:
        n = len(self._rows)
        first = max(d.from_entry, 1) - 1
        stop = n if d.to_entry == 0 else min(d.to_entry, n)
        rows = self._rows[first:stop] if first < stop else []
        width = len(self.capture_objects)
        col_first = max(d.from_selected_value, 1) - 1
        col_stop = width if d.to_selected_value == 0 else min(d.to_selected_value, width)
        if col_first == 0 and col_stop == width:
            return rows, None
        return rows, list(range(col_first, max(col_first, col_stop)))

    def _get_capture_objects(self, selection: Any, ctx: Any) -> Data:
        return Data(DataTag.ARRAY, tuple(c.to_data() for c in self.capture_objects))

    def _get_capture_period(self, selection: Any, ctx: Any) -> Data:
        return Data(DataTag.DOUBLE_LONG_UNSIGNED, self.capture_period)

    def _get_sort_method(self, selection: Any, ctx: Any) -> Data:
        return Data(DataTag.ENUM, int(SortMethod.FIFO))

    def _get_sort_object(self, selection: Any, ctx: Any) -> Data:
        # Blue Book: with no sort object the buffer is in capture order (FIFO here).
        return _NO_SORT_OBJECT.to_data()

    def _get_entries_in_use(self, selection: Any, ctx: Any) -> Data:
        return Data(DataTag.DOUBLE_LONG_UNSIGNED, len(self._rows))

    def _get_profile_entries(self, selection: Any, ctx: Any) -> Data:
        return Data(DataTag.DOUBLE_LONG_UNSIGNED, self.profile_entries)

    def _set_capture_objects(self, value: Data, ctx: Any) -> None:
        # Blue Book: changing capture_objects empties the buffer.
        try:
            columns = tuple(CaptureObjectDefinition.from_data(item)
                            for item in expect(value, DataTag.ARRAY).value)
        except DlmsError:
            raise AccessError(DataAccessResult.TYPE_UNMATCHED,
                              "expected an array of capture object definitions") from None
        self._set_columns(columns)

    def _set_capture_period(self, value: Data, ctx: Any) -> None:
        old, self.capture_period = self.capture_period, expect(
            value, DataTag.DOUBLE_LONG_UNSIGNED).value
        if self.on_capture_period_set is not None:
            self.on_capture_period_set(old, self.capture_period)

    def _set_profile_entries(self, value: Data, ctx: Any) -> None:
        entries = expect(value, DataTag.DOUBLE_LONG_UNSIGNED).value
        if entries < 1:
            raise AccessError(_OTHER, "profile_entries must be at least 1")
        self.profile_entries = entries
        self._trim()

    # -- methods --

    def _reset(self, params: Data | None, ctx: Any) -> None:
        _check_zero_param(params)
        self.reset()

    def _capture(self, params: Data | None, ctx: Any) -> None:
        _check_zero_param(params)
        self.capture()


__all__ = ["ProfileGeneric", "column_key"]
