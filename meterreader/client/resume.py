"""Resuming an interrupted profile download without duplicates or gaps.

A profile read that fails part-way keeps the complete rows it received
(``ProfileResult(complete=False)``, see :mod:`.session_profile`). Resuming reads the rest on a
new (or the same, still ready) session and appends it:

* by **capture time** (the normal case): the range ``[last, end]`` where ``last`` is the capture
  time of the last row kept and ``end`` the original range's end (None = to the newest). The
  range bounds of selective access 1 are inclusive (Blue Book, Profile generic), so the rows at
  ``last`` come again: as many as were already kept at that instant are skipped — the first row
  after them is the first new one. Rows are never matched by entry number here, because a full
  circular buffer shifts its entry numbers with every new capture.
* by **entry** when the original read was by entry (``entries=(first, last)``) or the columns
  kept carry no clock: the next entry is ``first + rows kept``.

:class:`ResumePoint` says where a read stopped; it can be built from a :class:`ProfileResult`
(:meth:`ResumePoint.of`) or from the last rows of a saved file (the CLI's ``--resume``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from meterreader.client.session_profile import ProfileColumn, ProfileResult
from meterreader.cosem.obis import Obis
from meterreader.dlms.errors import LocalProtocolError

if TYPE_CHECKING:
    from meterreader.client.session import Session

__all__ = ["ResumePoint", "clock_position", "merge", "read_rest", "resume_profile"]


def clock_position(columns: Sequence[ProfileColumn]) -> int | None:
    """Position of the clock column (Clock, class 8, attribute 2) among ``columns``, or None."""
    for position, column in enumerate(columns):
        if column.class_id == 8 and column.attribute == 2:
            return position
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class ResumePoint:
    """Where a profile read stopped.

    ``last``: capture time of the last row kept (None: no row, or no clock column);
    ``at_last``: rows kept whose capture time is ``last`` (skipped when they come again);
    ``kept``: rows kept in all; ``start``/``end``: the original range (None = open);
    ``first_entry``: the original read's first entry when it was by entry (else None).
    """

    obis: Obis
    last: dt.datetime | None = None
    at_last: int = 0
    kept: int = 0
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    first_entry: int | None = None
    last_entry: int | None = None

    def __post_init__(self) -> None:
        if self.kept < 0 or self.at_last < 0 or self.at_last > self.kept:
            raise LocalProtocolError(f"inconsistent resume point: kept={self.kept}, "
                                     f"at_last={self.at_last}")
        if self.last is not None and self.at_last < 1:
            raise LocalProtocolError("a resume point with a last capture time needs at_last >= 1")

    @classmethod
    def of(cls, result: ProfileResult, *,
           span: tuple[dt.datetime | None, dt.datetime | None] | None = None,
           entries: tuple[int, int | None] | None = None) -> ResumePoint:
        """The point where ``result`` stopped; ``span``/``entries``: its original request."""
        clock = clock_position(result.columns)
        times = [row[clock] for row in result.rows] if clock is not None else []
        return cls.from_times(result.obis, times, span=span, entries=entries)

    @classmethod
    def from_times(cls, obis: Obis, times: Sequence[Any], *,
                   span: tuple[dt.datetime | None, dt.datetime | None] | None = None,
                   entries: tuple[int, int | None] | None = None) -> ResumePoint:
        """The point after rows whose capture times are ``times`` (in order; non-datetimes
        such as unreadable cells are allowed, only the trailing run of the last time counts)."""
        start, end = span if span is not None else (None, None)
        first_entry, last_entry = entries if entries is not None else (None, None)
        last = times[-1] if times and isinstance(times[-1], dt.datetime) else None
        at_last = 0
        if last is not None:
            for when in reversed(times):
                if when != last:
                    break
                at_last += 1
        return cls(obis=obis, last=last, at_last=at_last, kept=len(times), start=start, end=end,
                   first_entry=first_entry, last_entry=last_entry)

    @property
    def by_entry(self) -> bool:
        return self.first_entry is not None or (self.last is None and self.kept > 0)

    def request(self) -> dict[str, Any]:
        """The ``read_profile`` keyword arguments that read the rest (``range=`` or
        ``entries=``)."""
        if self.by_entry:
            first = (self.first_entry or 1) + self.kept
            if self.last_entry and first > self.last_entry:
                return {"done": True}
            return {"entries": (first, self.last_entry)}
        if self.last is None:  # nothing kept: the original request again
            return {"range": (self.start, self.end) if (self.start or self.end) else None}
        return {"range": (self.last, self.end)}


def _comparable(when: dt.datetime, like: dt.datetime) -> dt.datetime:
    """``when`` made comparable with ``like`` (naive bounds are meter local time)."""
    if (when.tzinfo is None) == (like.tzinfo is None):
        return when
    if when.tzinfo is None:
        return when.replace(tzinfo=like.tzinfo)
    return when.astimezone(like.tzinfo).replace(tzinfo=None)


def new_rows(point: ResumePoint, result: ProfileResult) -> tuple[int, int]:
    """``(skip, count)``: the rows of a continuation ``result`` (read by :meth:`request`) that
    are new — rows before ``point.last`` and the ``at_last`` rows at it are skipped."""
    if point.by_entry or point.last is None:
        return 0, len(result.rows)
    clock = clock_position(result.columns)
    if clock is None:
        raise LocalProtocolError("the continuation has no clock column to align on")
    skip, seen = 0, 0
    for row in result.rows:
        when = row[clock]
        if not isinstance(when, dt.datetime):
            break
        when_c = _comparable(when, point.last)
        if when_c < point.last or (when_c == point.last and seen < point.at_last):
            seen += when_c == point.last
            skip += 1
            continue
        break
    return skip, len(result.rows) - skip


def read_rest(session: Session, point: ResumePoint, *, columns: Sequence[int] | None = None,
              scalers: str | None = "auto", progress: Callable[[Any], None] | None = None
              ) -> ProfileResult:
    """Read what comes after ``point`` on a ready ``session``: only the new rows (possibly
    none; ``complete=False`` again when this read fails part-way too)."""
    request = point.request()
    if request.pop("done", False):
        return ProfileResult(obis=point.obis, columns=(), rows=(), raw_rows=())
    result = session.read_profile(point.obis, columns=columns, scalers=scalers,
                                  progress=progress, **request)
    skip, _ = new_rows(point, result)
    if not skip:
        return result
    return ProfileResult(obis=result.obis, columns=result.columns, rows=result.rows[skip:],
                         raw_rows=result.raw_rows[skip:], complete=result.complete,
                         error=result.error, blocks=result.blocks, bytes=result.bytes)


def merge(previous: ProfileResult, rest: ProfileResult) -> ProfileResult:
    """``previous`` followed by ``rest`` (from :func:`read_rest`); complete when ``rest`` is."""
    if rest.columns and previous.columns and rest.columns != previous.columns:
        raise LocalProtocolError("the continuation's columns differ from the rows kept "
                                 "(another profile, column selection or scaler?)")
    return ProfileResult(obis=previous.obis, columns=previous.columns or rest.columns,
                         rows=previous.rows + rest.rows,
                         raw_rows=previous.raw_rows + rest.raw_rows, complete=rest.complete,
                         error=rest.error, blocks=previous.blocks + rest.blocks,
                         bytes=previous.bytes + rest.bytes)


def resume_profile(session: Session, previous: ProfileResult, *,
                   span: tuple[dt.datetime | None, dt.datetime | None] | None = None,
                   entries: tuple[int, int | None] | None = None, scalers: str | None = "auto",
                   progress: Callable[[Any], None] | None = None) -> ProfileResult:
    """Continue the interrupted read ``previous`` (requested with ``span`` or ``entries``, or
    neither for the whole buffer) on a ready ``session``; return the merged result. Call it
    again with the merged result while it is not complete."""
    point = ResumePoint.of(previous, span=span, entries=entries)
    if clock_position(previous.columns) is None and entries is None and previous.rows:
        raise LocalProtocolError("resuming a read without its clock column needs entries=")
    columns = [c.index for c in previous.columns] or None
    rest = read_rest(session, point, columns=columns, scalers=scalers, progress=progress)
    return merge(previous, rest)
