"""IC 8 Clock of the meter simulator.

The time comes from an injected ``now()`` callable (the real clock, or a test's fake) plus an
offset: a SET of ``time`` (or a shift/adjust method) stores the difference as that offset, so the
clock keeps running from the new value. A time outside the years 2000..2099 is refused with
other-reason. ``time_zone`` is the Blue Book deviation: minutes local
time is *behind* UTC, IST = -330; ``deviation_sign=+1`` mimics the many IS 15959 meters that send
+330 (see /work/shared/IS15959.md, time zone quirk).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from meterreader.cosem.interface_classes import ClockBase
from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.cosem_time import (BLUE_BOOK, CosemDateTime, DEVIATION_NOT_SPECIFIED,
                                         ClockStatus)
from meterreader.dlms.errors import LocalProtocolError
from meterreader.dlms.xdlms.common import ActionResult, DataAccessResult

from .objects import (AccessError, CosemObject, _check_zero_param, date_time_data, expect,
                      expect_structure, parse_date_time)

IST_MINUTES = 330  #: India Standard Time, +05:30
#: Years a client may set the clock to: a meter refuses a date it cannot represent in its
#: profiles (and the simulator would otherwise have decades of captures to catch up on).
SETTABLE_YEARS = range(2000, 2100)
_UTC = dt.timezone.utc


class Clock(CosemObject):
    """IC 8 Clock (version 0). ``now`` returns the real instant (aware; naive is taken as UTC).

    ``on_time_set(old, new)`` is called with both local datetimes whenever the time is changed
    through the object (SET time, shift_time, adjust_*): the meter logs an RTC change event.
    """

    class_id = 8
    version = 0
    _GETTERS = {2: "_get_time", 3: "_get_time_zone", 4: "_get_status", 5: "_get_dst_begin",
                6: "_get_dst_end", 7: "_get_dst_deviation", 8: "_get_dst_enabled",
                9: "_get_clock_base"}
    _SETTERS = {2: "_set_time", 3: "_set_time_zone", 5: "_set_dst_begin", 6: "_set_dst_end",
                7: "_set_dst_deviation", 8: "_set_dst_enabled"}
    _METHODS = {1: "_adjust_to_quarter", 3: "_adjust_to_minute", 4: "_adjust_to_preset_time",
                5: "_preset_adjusting_time", 6: "_shift_time"}

    def __init__(self, logical_name: Obis | str = "0.0.1.0.0.255", *,
                 now: Callable[[], dt.datetime], utc_offset_minutes: int = IST_MINUTES,
                 deviation_sign: int = BLUE_BOOK, clock_base: int = ClockBase.INTERNAL_CRYSTAL,
                 start: dt.datetime | None = None,
                 on_time_set: Callable[[dt.datetime, dt.datetime], None] | None = None) -> None:
        super().__init__(logical_name)
        if deviation_sign not in (-1, 1):
            raise LocalProtocolError(f"deviation_sign must be -1 or +1, got {deviation_sign!r}")
        self._now = now
        self.utc_offset_minutes = utc_offset_minutes
        self.deviation_sign = deviation_sign
        self.clock_base = int(clock_base)
        self.offset = dt.timedelta(0)
        self.on_time_set = on_time_set
        self.dst_begin = CosemDateTime()
        self.dst_end = CosemDateTime()
        self.dst_deviation = 0
        self.dst_enabled = False
        self._preset: tuple[dt.datetime, dt.datetime, dt.datetime] | None = None
        if start is not None:
            self.offset = self._aware(start) - self.real_now()

    # -- time arithmetic --

    @property
    def tz(self) -> dt.timezone:
        return dt.timezone(dt.timedelta(minutes=self.utc_offset_minutes))

    @property
    def deviation(self) -> int:
        """time_zone as sent: ``deviation_sign`` × UTC offset (Blue Book: -330 for IST)."""
        return self.deviation_sign * self.utc_offset_minutes

    def _aware(self, value: dt.datetime) -> dt.datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=self.tz)

    def real_now(self) -> dt.datetime:
        """The injected time source's instant (aware; naive values are taken as UTC)."""
        value = self._now()
        return value if value.tzinfo is not None else value.replace(tzinfo=_UTC)

    def now(self) -> dt.datetime:
        """The meter's current local time (aware, in the meter's time zone)."""
        return (self.real_now() + self.offset).astimezone(self.tz)

    def to_cosem(self, value: dt.datetime, *, hundredths: bool = True) -> CosemDateTime:
        """``value`` (aware; naive = meter local time) as a date-time in the meter's zone."""
        local = self._aware(value).astimezone(self.tz)
        if not hundredths:
            local = local.replace(microsecond=0)
        return CosemDateTime.from_datetime(local, deviation_sign=self.deviation_sign,
                                           clock_status=self.status_byte())

    def cosem_now(self) -> CosemDateTime:
        return self.to_cosem(self.now())

    def instant(self, value: CosemDateTime) -> dt.datetime:
        """The instant a received date-time names; deviation "not specified" = meter local time.

        LocalProtocolError when a date or time field is a wildcard."""
        if value.deviation == DEVIATION_NOT_SPECIFIED:
            return value.to_datetime().replace(tzinfo=self.tz)
        return value.to_datetime(deviation_sign=self.deviation_sign)

    def set_time(self, new: dt.datetime) -> None:
        """Move the clock to ``new`` (aware; naive = local); it keeps running from there."""
        old = self.now()
        self.offset = self._aware(new) - self.real_now()
        if self.on_time_set is not None:
            self.on_time_set(old, self.now())

    def status_byte(self) -> int:
        return int(ClockStatus.DAYLIGHT_SAVING_ACTIVE) if self.dst_enabled and self._in_dst() else 0

    def _in_dst(self) -> bool:
        try:
            begin, end = self.instant(self.dst_begin), self.instant(self.dst_end)
        except LocalProtocolError:  # recurring (wildcarded) DST dates are not evaluated
            return False
        return begin <= self.now() < end

    # -- attributes --

    def _get_time(self, selection: Any, ctx: Any) -> Data:
        return date_time_data(self.cosem_now())

    def _get_time_zone(self, selection: Any, ctx: Any) -> Data:
        return Data(DataTag.LONG, self.deviation)

    def _get_status(self, selection: Any, ctx: Any) -> Data:
        return Data(DataTag.UNSIGNED, self.status_byte())

    def _get_dst_begin(self, selection: Any, ctx: Any) -> Data:
        return date_time_data(self.dst_begin)

    def _get_dst_end(self, selection: Any, ctx: Any) -> Data:
        return date_time_data(self.dst_end)

    def _get_dst_deviation(self, selection: Any, ctx: Any) -> Data:
        return Data(DataTag.INTEGER, self.dst_deviation)

    def _get_dst_enabled(self, selection: Any, ctx: Any) -> Data:
        return Data(DataTag.BOOLEAN, self.dst_enabled)

    def _get_clock_base(self, selection: Any, ctx: Any) -> Data:
        return Data(DataTag.ENUM, self.clock_base)

    def _settable(self, new: dt.datetime, result: Any) -> dt.datetime:
        """``new`` if its local year is in :data:`SETTABLE_YEARS`, else AccessError(result)."""
        year = self._aware(new).astimezone(self.tz).year
        if year not in SETTABLE_YEARS:
            raise AccessError(result, f"year {year} is outside "
                                      f"{SETTABLE_YEARS.start}..{SETTABLE_YEARS.stop - 1}")
        return new

    def _set_time(self, value: Data, ctx: Any) -> None:
        try:
            new = self.instant(parse_date_time(value))
        except (LocalProtocolError, ValueError, OverflowError):
            raise AccessError(DataAccessResult.OTHER_REASON,
                              "time must be a complete date-time") from None
        self.set_time(self._settable(new, DataAccessResult.OTHER_REASON))

    def _set_time_zone(self, value: Data, ctx: Any) -> None:
        deviation = expect(value, DataTag.LONG).value
        if not -720 <= deviation <= 840:
            raise AccessError(DataAccessResult.OTHER_REASON, "time_zone out of -720..840")
        self.utc_offset_minutes = deviation * self.deviation_sign

    def _set_dst_begin(self, value: Data, ctx: Any) -> None:
        self.dst_begin = parse_date_time(value)

    def _set_dst_end(self, value: Data, ctx: Any) -> None:
        self.dst_end = parse_date_time(value)

    def _set_dst_deviation(self, value: Data, ctx: Any) -> None:
        self.dst_deviation = expect(value, DataTag.INTEGER).value

    def _set_dst_enabled(self, value: Data, ctx: Any) -> None:
        self.dst_enabled = expect(value, DataTag.BOOLEAN).value

    # -- methods --

    def _round_to(self, seconds: int) -> None:
        now = self.now()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        elapsed = (now - midnight).total_seconds()
        self.set_time(midnight + dt.timedelta(seconds=round(elapsed / seconds) * seconds))

    def _adjust_to_quarter(self, params: Data | None, ctx: Any) -> None:
        # Blue Book, Clock: sets the time to the nearest (+/-) quarter of an hour.
        _check_zero_param(params)
        self._round_to(900)

    def _adjust_to_minute(self, params: Data | None, ctx: Any) -> None:
        _check_zero_param(params)
        self._round_to(60)

    def _preset_adjusting_time(self, params: Data | None, ctx: Any) -> None:
        items = expect_structure(params, None, None, None, result=ActionResult.TYPE_UNMATCHED)
        try:
            preset = tuple(self.instant(parse_date_time(i, ActionResult.TYPE_UNMATCHED))
                           for i in items)
        except (LocalProtocolError, ValueError, OverflowError):
            raise AccessError(ActionResult.OTHER_REASON, "preset times must be complete") from None
        self._settable(preset[0], ActionResult.OTHER_REASON)
        self._preset = preset  # type: ignore[assignment]

    def _adjust_to_preset_time(self, params: Data | None, ctx: Any) -> None:
        _check_zero_param(params)
        if self._preset is None:
            raise AccessError(ActionResult.OTHER_REASON, "no preset time")
        preset, start, end = self._preset
        if not start <= self.now() <= end:
            raise AccessError(ActionResult.OTHER_REASON, "outside the preset validity interval")
        self._preset = None
        self.set_time(preset)

    def _shift_time(self, params: Data | None, ctx: Any) -> None:
        seconds = expect(params, DataTag.LONG, result=ActionResult.TYPE_UNMATCHED).value
        if not -900 <= seconds <= 900:
            raise AccessError(ActionResult.OTHER_REASON, "shift_time must be within ±900 s")
        self.set_time(self.now() + dt.timedelta(seconds=seconds))


__all__ = ["Clock", "IST_MINUTES", "SETTABLE_YEARS"]
