"""Profile, event, billing, clock and block-transfer checks (IS 15959 / Blue Book).

All but the billing check read as the meter reader (MR), which IS 15959 lets read every profile:

* ``scaler-consistency`` — attribute 3 of each register equals what its scaler profile declares;
* ``profile-attributes`` — capture period, entries_in_use ≤ profile_entries, FIFO sort method and
  the clock column of the last rows in increasing order;
* ``range-vs-entry`` — read by entry and by range over the same period give the same rows;
* ``event-codes`` — every event log row and latest-event object within its compartment's codes;
* ``billing-increment`` — MD reset (US, destructive) increments the billing count;
* ``clock-zone-status`` — clock time zone IST, date-time deviation and clock status valid;
* ``block-transfer`` — a buffer larger than the client's PDU comes in datablocks no larger
  (the block load, or the object list when the block load answer fits one PDU).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from meterreader.client.session import Session
from meterreader.client.values import parse_scaler_unit
from meterreader.conformance.context import CheckContext
from meterreader.conformance.registry import CheckFailed, CheckSkipped, check
from meterreader.cosem.interface_classes import SortMethod
from meterreader.cosem.obis import Obis
from meterreader.dlms import xdlms as x
from meterreader.dlms.axdr import Data, DataTag, encode_data
from meterreader.dlms.cosem_time import ClockStatus, CosemDateTime, DEVIATION_NOT_SPECIFIED
from meterreader.india.catalogue import (
    BILLING, BLOCK_LOAD, DAILY_LOAD, MD_RESET_METHOD, MD_RESET_SCRIPT_ID, MD_RESET_SCRIPT_TABLE,
    ProfileDef, profile, profiles)
from meterreader.india.events import CODE_RANGES, EventCompartment, describe_event
from meterreader.india.profiles import scalers_from_scaler_profile

__all__ = ["BILLING_COUNT", "BLOCK_TRANSFER_PDU", "CLOCK", "IST_MINUTES"]

CLOCK = Obis(0, 0, 1, 0, 0, 255)
BILLING_COUNT = Obis(0, 0, 0, 1, 0, 255)
#: India Standard Time, minutes ahead of UTC.
IST_MINUTES = 330
#: Max receive PDU the block-transfer check proposes; far smaller than a block load read.
BLOCK_TRANSFER_PDU = 256
#: Rows the block-transfer check reads (at ~60 bytes each, many datablocks of 256 bytes).
_BLOCK_TRANSFER_ROWS = 60
#: Bytes of a get-response-normal before the data (tag, choice, invoke-id, result choice).
_GET_RESPONSE_HEADER = 4
#: The current association (Association LN), whose object list is the fallback large buffer.
_ASSOCIATION_LN = Obis(0, 0, 40, 0, 0, 255)
#: Rows at the end of a profile whose clock order is checked.
_ORDER_ROWS = 48
#: IS 15959 block load capture periods (15 or 30 minutes).
_BLOCK_LOAD_PERIODS = (900, 1800)
_BAD_STATUS = ClockStatus.INVALID_VALUE | ClockStatus.DOUBTFUL_VALUE \
    | ClockStatus.INVALID_CLOCK_STATUS
_IS15959 = "IS 15959 Part 1"
_BLUE_BOOK_PROFILE = "Blue Book, Profile generic (IC 7)"


# -- helpers --------------------------------------------------------------------------------------

def _data_profiles(ctx: CheckContext) -> tuple[ProfileDef, ...]:
    return tuple(p for p in profiles(ctx.category) if not p.is_scaler_profile)


def _int(value: Data | x.DataAccessResult, what: str) -> int:
    if not isinstance(value, Data) or isinstance(value.value, bool) \
            or not isinstance(value.value, int):
        raise CheckFailed(f"{what}: expected an integer, got {_show(value)}")
    return value.value


def _show(value: Any) -> str:
    if isinstance(value, x.DataAccessResult):
        return f"refused ({value.name.lower().replace('_', '-')})"
    if isinstance(value, Data):
        return f"{value.tag.name.lower().replace('_', '-')} {value.value!r}"
    return repr(value)


def _problems(problems: Sequence[str], head: str) -> None:
    if problems:
        more = f" (+{len(problems) - 4} more)" if len(problems) > 4 else ""
        raise CheckFailed(f"{head}: " + "; ".join(problems[:4]) + more)


def _clock_index(result: Any) -> int | None:
    """Position of the clock column (class 8, attribute 2) in a ProfileResult."""
    return next((i for i, c in enumerate(result.columns)
                 if c.class_id == 8 and c.attribute == 2), None)


def _instant(value: Any) -> dt.datetime | None:
    """A comparable naive UTC datetime (naive ones taken as they are), or None."""
    if not isinstance(value, dt.datetime):
        return None
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None) if value.tzinfo else value


def _entries_in_use(s: Session, obis: Obis | str) -> int:
    return _int(s.get(7, obis, 7), f"entries_in_use of {obis}")


def _last_entries(s: Session, obis: Obis | str, count: int, **options: Any) -> Any:
    """The last ``count`` entries of a profile (None when it is empty)."""
    n = _entries_in_use(s, obis)
    if n < 1:
        return None
    return s.read_profile(obis, entries=(max(1, n - count + 1), n), **options)


# -- scalers --------------------------------------------------------------------------------------

@check(check_id="scaler-consistency", title="Register scalers match the scaler profiles",
       clause=f"{_IS15959}, scaler profiles 1.0.94.91.3–7.255", group="scalers", needs=("mr",))
def scaler_consistency(ctx: CheckContext) -> str:
    declared: dict[tuple[int, Obis], tuple[int, int]] = {}
    source: dict[tuple[int, Obis], Obis] = {}
    problems: list[str] = []
    scaler_profiles = [p for p in profiles(ctx.category) if p.is_scaler_profile]
    with ctx.session("mr") as s:
        for sp in scaler_profiles:
            capture, buffer = s.get_many([(7, sp.obis, 3), (7, sp.obis, 2)])
            if not isinstance(capture, Data) or not isinstance(buffer, Data):
                problems.append(f"scaler profile {sp.obis} not readable "
                                f"({_show(capture)}, {_show(buffer)})")
                continue
            rows = buffer.value if buffer.tag is DataTag.ARRAY else ()
            if len(rows) != 1:
                problems.append(f"scaler profile {sp.obis} holds {len(rows)} entries, not 1")
                continue
            items = capture.value if capture.tag is DataTag.ARRAY else ()
            for key, value in scalers_from_scaler_profile(items, rows[0]).items():
                if key in declared and declared[key] != value:
                    problems.append(f"{key[1]} declared {declared[key]} in {source[key]} but "
                                    f"{value} in {sp.obis}")
                declared.setdefault(key, value)
                source.setdefault(key, sp.obis)
        keys = list(declared)
        actual = s.get_many([(class_id, obis, 3) for class_id, obis in keys])
    for key, value in zip(keys, actual):
        want = declared[key]
        try:
            got = parse_scaler_unit(value) if isinstance(value, Data) else None
        except Exception:  # noqa: BLE001 - a malformed scaler_unit is a finding
            got = None
        if got is None:
            problems.append(f"{key[1]} attribute 3 is {_show(value)}, not a scaler_unit")
        elif got != want:
            problems.append(f"{key[1]} scaler_unit {got} but {source[key]} declares {want}")
    _problems(problems, "scalers differ from the scaler profiles")
    return (f"{len(keys)} registers of {len(scaler_profiles)} scaler profiles: attribute 3 "
            "equals the declared scaler_unit")


# -- profile attributes ---------------------------------------------------------------------------

def _expected_period(p: ProfileDef) -> tuple[int, ...]:
    return _BLOCK_LOAD_PERIODS if str(p.obis) == BLOCK_LOAD else (p.capture_period,)


def _order_problems(result: Any, obis: Obis, strict: bool) -> list[str]:
    """Clock column of consecutive rows: increasing (strictly for periodic profiles)."""
    if result is None:
        return []
    index = _clock_index(result)
    if index is None:
        return []
    previous: tuple[dt.datetime, Any] | None = None
    for number, row in enumerate(result.rows, 1):
        when = _instant(row[index])
        if when is None:
            continue
        if previous is not None and (when < previous[0] or (strict and when == previous[0])):
            return [f"{obis} rows not in capture order (FIFO): row {number} at {row[index]} "
                    f"follows {previous[1]}"]
        previous = (when, row[index])
    return []


@check(check_id="profile-attributes", title="Profile attributes and row order",
       clause=f"{_BLUE_BOOK_PROFILE}; {_IS15959}, profiles", group="profiles", needs=("mr",))
def profile_attributes(ctx: CheckContext) -> str:
    problems: list[str] = []
    checked = 0
    with ctx.session("mr") as s:
        for p in _data_profiles(ctx):
            values = s.get_many([(7, p.obis, a) for a in (4, 5, 7, 8)])
            if not all(isinstance(v, Data) for v in values):
                problems.append(f"{p.obis} attributes 4/5/7/8 not readable: "
                                + ", ".join(_show(v) for v in values))
                continue
            period, sort_method, in_use, depth = (_int(v, f"{p.obis}") for v in values)
            checked += 1
            if period not in _expected_period(p):
                problems.append(f"{p.obis} capture_period {period} s, IS 15959: "
                                + " or ".join(map(str, _expected_period(p))))
            if in_use > depth:
                problems.append(f"{p.obis} entries_in_use {in_use} > profile_entries {depth}")
            if p.sort_method is SortMethod.FIFO and sort_method != SortMethod.FIFO:
                problems.append(f"{p.obis} sort_method {sort_method}, expected FIFO (1)")
            if in_use and any(c.class_id == 8 for c in p.capture_objects):
                result = _last_entries(s, p.obis, _ORDER_ROWS, scalers=None)
                problems += _order_problems(result, p.obis, strict=p.capture_period > 0)
    _problems(problems, "profile attributes")
    return (f"{checked} profiles: capture period as IS 15959, entries_in_use ≤ profile_entries, "
            f"FIFO, clock column increasing over the last {_ORDER_ROWS} rows")


# -- range vs entry -------------------------------------------------------------------------------

@check(check_id="range-vs-entry", title="Read by range and by entry give the same rows",
       clause=f"{_BLUE_BOOK_PROFILE}, selective access 1 and 2", group="profiles",
       needs=("mr",))
def range_vs_entry(ctx: CheckContext) -> str:
    done: list[str] = []
    with ctx.session("mr") as s:
        for obis, count in ((BLOCK_LOAD, 10), (DAILY_LOAD, 5)):
            if profile(ctx.category, obis) is None:
                continue
            by_entry = _last_entries(s, obis, count, scalers=None)
            index = _clock_index(by_entry) if by_entry is not None else None
            if by_entry is None or len(by_entry.rows) < 2 or index is None:
                continue
            clocks = [row[index] for row in by_entry.rows]
            if not all(isinstance(c, dt.datetime) for c in clocks):
                raise CheckFailed(f"{obis}: clock column of the rows read by entry is not a "
                                  f"date-time ({clocks[0]!r} …)")
            # The bounds are the earliest and latest clock (the row order is another check's).
            first, last = min(clocks, key=_instant), max(clocks, key=_instant)
            by_range = s.read_profile(obis, range=(first, last), scalers=None)
            a, b = by_entry.raw_rows, by_range.raw_rows
            if a != b:
                extra = [r for r in b if r not in a]
                missing = [i for i, r in enumerate(a) if r not in b]
                raise CheckFailed(
                    f"{obis}: by entry {len(a)} rows, by range {first} – {last} {len(b)} rows "
                    f"({len(missing)} missing, {len(extra)} extra"
                    + (f"; first missing: the row of {by_entry.rows[missing[0]][index]}"
                       if missing else "")
                    + ")")
            done.append(f"{obis} {len(a)} rows")
    if not done:
        raise CheckSkipped("no block or daily load profile with two or more entries")
    return "range and entry reads agree: " + ", ".join(done)


# -- events ---------------------------------------------------------------------------------------

@check(check_id="event-codes", title="Event codes within the IS 15959 ranges",
       clause=f"{_IS15959}, event codes per compartment", group="events", needs=("mr",))
def event_codes(ctx: CheckContext) -> str:
    problems: list[str] = []
    total = logs = 0
    with ctx.session("mr") as s:
        for compartment in EventCompartment:
            p = profile(ctx.category, compartment.profile_obis)
            if p is None:
                continue
            allowed = CODE_RANGES[compartment]
            span = f"{allowed.start}–{allowed.stop - 1}"
            result = s.read_profile(p.obis, scalers=None)
            logs += 1
            column = next((i for i, c in enumerate(result.columns)
                           if c.obis == compartment.event_code_obis), None)
            if column is None:
                problems.append(f"{p.obis} has no event code column "
                                f"{compartment.event_code_obis}")
                continue
            for number, row in enumerate(result.raw_rows, 1):
                total += 1
                code = row[column].value
                if isinstance(code, bool) or not isinstance(code, int) or code not in allowed:
                    problems.append(f"{p.obis} row {number}: code {code!r} "
                                    f"({describe_event(code) if isinstance(code, int) else '?'})"
                                    f" outside {compartment.name.lower()} {span}")
            latest_value = s.get_many([(1, compartment.event_code_obis, 2)])[0]
            latest = latest_value.value if isinstance(latest_value, Data) else None
            if latest not in (0, None) and latest not in allowed:
                problems.append(f"{compartment.event_code_obis} (latest event) = {latest!r} "
                                f"outside {span}")
    _problems(problems, "event codes outside their compartment")
    return f"{total} events in {logs} event logs, every code within its IS 15959 range"


# -- billing --------------------------------------------------------------------------------------

_MODULUS = {DataTag.UNSIGNED: 1 << 8, DataTag.LONG_UNSIGNED: 1 << 16,
            DataTag.DOUBLE_LONG_UNSIGNED: 1 << 32}


@check(check_id="billing-increment", title="MD reset increments the billing count",
       clause=f"{_IS15959}, MD reset (script table 0.0.10.0.1.255) and billing count "
              "0.0.0.1.0.255", group="billing", destructive=True, needs=("us",))
def billing_increment(ctx: CheckContext) -> str:
    if not ctx.allow_destructive:
        raise CheckSkipped("changes the meter (closes a billing period); not allowed in this run")
    with ctx.session("us") as s:
        before_value = s.get(1, BILLING_COUNT, 2)
        before = _int(before_value, f"billing count {BILLING_COUNT}")
        rows_before = _entries_in_use(s, BILLING)
        depth = _int(s.get(7, BILLING, 8), f"profile_entries of {BILLING}")
        ctx.note(f"billing count {before}, billing profile {rows_before}/{depth} entries; "
                 f"invoking the MD reset")
        s.action(9, MD_RESET_SCRIPT_TABLE, MD_RESET_METHOD,
                 Data(DataTag.LONG_UNSIGNED, MD_RESET_SCRIPT_ID))
        after = _int(s.get(1, BILLING_COUNT, 2), f"billing count {BILLING_COUNT}")
        rows_after = _entries_in_use(s, BILLING)
    modulus = _MODULUS.get(before_value.tag, 1 << 64)
    if (after - before) % modulus != 1:
        raise CheckFailed(f"billing count {before} → {after} after a successful MD reset; "
                          "expected +1")
    expected_rows = min(rows_before + 1, depth)
    if rows_after != expected_rows:
        raise CheckFailed(f"billing profile entries {rows_before} → {rows_after} after the MD "
                          f"reset; expected {expected_rows}")
    return f"MD reset accepted; billing count {before} → {after}, billing profile " \
           f"{rows_before} → {rows_after} entries"


# -- clock ----------------------------------------------------------------------------------------

def _date_time(value: Data | x.DataAccessResult) -> CosemDateTime | None:
    if not isinstance(value, Data):
        return None
    if isinstance(value.value, CosemDateTime):
        return value.value
    if isinstance(value.value, bytes) and len(value.value) == 12:
        return CosemDateTime.try_from_bytes(value.value)
    return None


def _status_problems(status: int, where: str) -> list[str]:
    if status == 0xFF:  # not specified
        return []
    out = []
    bad = [flag.name.lower().replace("_", " ") for flag in ClockStatus
           if flag & _BAD_STATUS and status & flag]
    if bad:
        out.append(f"{where} clock status 0x{status:02X} ({', '.join(bad)})")
    if status & ClockStatus.DAYLIGHT_SAVING_ACTIVE:
        out.append(f"{where} says daylight saving is active; IST has none")
    return out


@check(check_id="clock-zone-status", title="Clock time zone (IST) and status",
       clause="Blue Book, Clock (IC 8) time_zone and status; IS 15959 IST", group="clock",
       needs=("mr",))
def clock_zone_status(ctx: CheckContext) -> str:
    sign = ctx.profile("mr").to_settings(**ctx.target.settings).deviation_sign
    # Blue Book: deviation = minutes local time is behind UTC, so IST is -330. INTEROP.md: many
    # IS 15959 meters send +330; that is IST too, noted in the finding.
    expected = sign * IST_MINUTES
    ist = (expected, -expected)
    with ctx.session("mr") as s:
        time_value, zone_value, status_value = s.get_many([(8, CLOCK, a) for a in (2, 3, 4)])
    problems: list[str] = []
    when = _date_time(time_value)
    zone = _int(zone_value, "clock time_zone (attribute 3)")
    status = _int(status_value, "clock status (attribute 4)")
    if zone not in ist:
        problems.append(f"time_zone {zone} min, expected {expected} (IST)")
    if when is None:
        problems.append(f"time (attribute 2) is not a date-time: {_show(time_value)}")
    else:
        if when.deviation == DEVIATION_NOT_SPECIFIED:
            problems.append("the date-time's deviation is not specified (0x8000)")
        elif when.deviation not in ist:
            problems.append(f"the date-time's deviation {when.deviation} min is not IST "
                            f"({expected})")
        elif zone in ist and when.deviation != zone:
            # One meter, one sign convention: ±330 each way is IST only when both agree.
            problems.append(f"time_zone {zone} min and the date-time's deviation "
                            f"{when.deviation} min use opposite sign conventions")
        problems += _status_problems(when.clock_status, "the date-time's")
    problems += _status_problems(status, "attribute 4")
    _problems(problems, "clock")
    sign_note = "" if zone == expected else f", sign opposite to the expected {expected}"
    return (f"time {when.date} {when.time}, deviation {when.deviation} min, time_zone "
            f"{zone} min (IST{sign_note}), status 0x{status:02X}")


# -- block transfer -------------------------------------------------------------------------------

@check(check_id="block-transfer", title="Block transfer of a large buffer",
       clause="Green Book, xDLMS GET with datablocks (service-specific block transfer)",
       group="transfer", needs=("mr",))
def block_transfer(ctx: CheckContext) -> str:
    """With a small client max receive PDU, read the last block load rows (or, when they fit
    one PDU, the MR object list): every APDU must fit the PDU, and an answer larger than it
    must come in two or more datablocks."""
    pdu = BLOCK_TRANSFER_PDU
    sizes: list[int] = []
    blocks: list[int] = []

    def trace(direction: str, layer: str, data: bytes, summary: str) -> None:
        if direction == "rx" and layer == "apdu":
            sizes.append(len(data))  # before the evidence cuts long APDUs short
        ctx.record(direction, layer, data, summary)

    def largest_ok() -> None:
        largest = max(sizes, default=0)
        if largest > pdu:
            raise CheckFailed(f"the meter sent an APDU of {largest} bytes to a client whose max "
                              f"receive PDU is {pdu}")

    s = ctx.open_session("mr", settings={"max_pdu_size": pdu})
    s.on_trace = trace
    s.on_progress = lambda progress: blocks.append(progress.blocks)
    fitted: list[str] = []
    try:
        s.connect()
        n = _entries_in_use(s, BLOCK_LOAD)
        reads = []
        if n >= 1:
            count = min(n, _BLOCK_TRANSFER_ROWS)
            reads.append((f"the last {count} block load rows",
                          lambda: _read_rows(s, n, count)))
        reads.append((f"the MR object list ({_ASSOCIATION_LN} attribute 2)",
                      lambda: _read_object_list(s)))
        ctx.note(f"client max receive PDU {pdu} bytes")
        for what, read in reads:
            blocks.clear()
            ctx.note(f"reading {what}")
            try:
                size, got_blocks, detail = read()
            except CheckFailed:
                largest_ok()
                raise
            except Exception as exc:  # noqa: BLE001 - the failure is the finding
                largest_ok()
                raise CheckFailed(f"reading {what} with a {pdu}-byte PDU failed: {exc}") \
                    from None
            largest_ok()
            if got_blocks < 0:  # a plain GET: its datablocks were counted by on_progress
                got_blocks = max(blocks, default=0)
            if size <= pdu:
                # No blocks needed: whatever came is fine, but it proves nothing.
                how = ("a normal (unsegmented) response" if got_blocks == 0
                       else f"{got_blocks} datablocks")
                ctx.note(f"{what}: {size} bytes fit one {pdu}-byte PDU (came as {how}); "
                         "a larger buffer is needed")
                fitted.append(f"{what} ({size} bytes)")
                continue
            if got_blocks < 2:
                raise CheckFailed(f"{what} ({size} bytes) came as a normal (unsegmented) "
                                  f"response; an answer larger than the {pdu}-byte PDU needs "
                                  "block transfer")
            return (f"{what} ({size} bytes{detail}) in {got_blocks} datablocks, every APDU "
                    f"≤ {pdu} bytes")
    finally:
        s.close()
    raise CheckSkipped(f"nothing larger than the {pdu}-byte PDU to read: "
                       + ", ".join(fitted) + " fit one PDU")


def _read_rows(s: Session, n: int, count: int) -> tuple[int, int, str]:
    """(answer bytes, datablocks, "") of the last ``count`` block load rows; CheckFailed when
    rows are missing."""
    result = s.read_profile(BLOCK_LOAD, entries=(n - count + 1, n), scalers=None)
    if len(result.rows) != count or not result.complete:
        raise CheckFailed(f"block transfer delivered {len(result.rows)} of {count} rows"
                          + (f" ({result.error})" if result.error else ""))
    rows = Data(DataTag.ARRAY, tuple(Data(DataTag.STRUCTURE, tuple(r))
                                     for r in result.raw_rows))
    return _GET_RESPONSE_HEADER + len(encode_data(rows)), result.blocks, ""


def _read_object_list(s: Session) -> tuple[int, int, str]:
    """(answer bytes, -1, ", N objects") of the current association's object list (-1: the
    datablocks are counted through ``on_progress``)."""
    value = s.get(15, _ASSOCIATION_LN, 2)
    if not isinstance(value, Data):
        raise CheckFailed(f"the object list was refused: {_show(value)}")
    count = len(value.value) if value.tag is DataTag.ARRAY else 0
    return _GET_RESPONSE_HEADER + len(encode_data(value)), -1, f", {count} objects"
