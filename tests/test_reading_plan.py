"""The one-click IS 15959 read (meterreader.reading.plan): the plan, full category A/B/C reads
against the simulator over TCP (wrapper and raw HDLC), refusals that do not stop the plan, and
interrupted reads (cancel from the progress callback, a link reset, Ctrl+C) that keep every row
read so far."""

from __future__ import annotations

import datetime as dt

import pytest

from meterreader.client import ConnectionSettings, ObjectUndefined, Session
from meterreader.dlms.axdr import Data, DataTag
from meterreader.india.catalogue import profiles
from meterreader.india.events import EventCompartment
from meterreader.reading.model import EVENT_SECTIONS, SECTION_TITLES
from meterreader.reading.plan import PlanStep, octet_dates, plan_for, read_meter, section_names
from meterreader.simulator.facade import SimulatedMeter
from meterreader.transport import CancelToken, TcpTransport

START = dt.datetime(2024, 3, 10, 12, 0)
IST = dt.timedelta(hours=5, minutes=30)
BLOCK_LOAD = "1.0.99.1.0.255"


def _meter(category: str, **kw) -> SimulatedMeter:
    values = dict(category=category, seed=21, start=START, days_of_block_load=3)
    values.update(kw)
    return SimulatedMeter(**values)


def _session(port: int, association: str = "mr", *, hdlc: bool = False,
             cancel: CancelToken | None = None) -> Session:
    settings = ConnectionSettings.for_association(
        association, framing="hdlc" if hdlc else "wrapper", response_timeout=1.0,
        close_timeout=0.5)
    session = Session(TcpTransport("127.0.0.1", port), settings, cancel=cancel)
    return session.connect()


def _profile(meter: SimulatedMeter, obis: str):
    return meter.device.logical_device(1)[obis]


@pytest.fixture(scope="module", params=["A", "B", "C"])
def full(request):
    """A full read of each category over the TCP wrapper, with its progress reports."""
    meter = _meter(request.param)
    port = meter.serve_tcp(port=0)
    seen = []
    session = _session(port)
    try:
        reading = read_meter(session, request.param, progress=seen.append,
                             connection="test", association="MR")
    finally:
        session.close()
        meter.stop()
    return request.param, meter, reading, seen


# -- the plan ---------------------------------------------------------------------------------

@pytest.mark.parametrize("category", ["A", "B", "C"])
def test_plan_reads_every_section_in_order(category):
    steps = plan_for(category)
    assert [s.section for s in steps] == list(SECTION_TITLES)
    assert steps[0].kind == "identity" and steps[0].obis == "0.0.94.91.10.255"
    assert all(s.kind == "profile" for s in steps[1:])
    known = {str(p.obis) for p in profiles(category)}
    assert all(s.obis in known for s in steps)
    block = next(s for s in steps if s.section == "block_load")
    assert block.days == 7 and block.obis == BLOCK_LOAD
    assert all(s.days is None for s in steps if s.section != "block_load")
    events = [s for s in steps if s.section in EVENT_SECTIONS]
    assert [s.event_code_obis for s in events] == [str(c.event_code_obis)
                                                   for c in EventCompartment]
    assert [s.obis for s in events] == [str(c.profile_obis) for c in EventCompartment]


def test_plan_sections_days_and_span():
    steps = plan_for("c", days=2, sections=["block_load", "events"])
    assert [s.section for s in steps] == ["name_plate", "block_load", *EVENT_SECTIONS]
    clock = dt.datetime(2024, 3, 10, 12, 0, tzinfo=dt.timezone(IST))
    # inclusive bounds: a clock on a capture boundary gives exactly 2 days of blocks
    assert steps[1].span(clock.replace(microsecond=90000)) == (
        clock - dt.timedelta(days=2) + dt.timedelta(seconds=1), clock)
    assert steps[2].span(clock) is None
    assert section_names("Billing, daily-load,billing") == ("billing", "daily_load")


@pytest.mark.parametrize("kwargs", [dict(category="D"), dict(category="C", days=0),
                                    dict(category="C", days=True),
                                    dict(category="C", sections=["billing", "bogus"])])
def test_plan_rejects_bad_arguments(kwargs):
    category = kwargs.pop("category")
    with pytest.raises(ValueError):
        plan_for(category, **kwargs)


def test_octet_dates_converts_only_whole_date_columns():
    from meterreader.dlms.cosem_time import CosemDateTime
    from meterreader.reading.model import ReadingColumn, ReadingTable

    stamp = bytes(CosemDateTime(year=2024, month=3, day=1, day_of_week=5, hour=0, minute=0,
                                second=0, hundredths=0, deviation=-330, clock_status=0))
    cols = tuple(ReadingColumn(title=t, class_id=3, obis=f"1.0.{i}.8.0.255")
                 for i, t in enumerate("abc"))
    table = ReadingTable(section="billing", title="B", obis="1.0.98.1.0.255", columns=cols,
                         rows=((stamp, stamp, 1), (None, b"x" * 12, 2)))
    out = octet_dates(table)
    assert out.columns[0].kind == "datetime" and out.columns[1].kind == "value"
    assert out.rows[0][0] == dt.datetime(2024, 3, 1, tzinfo=dt.timezone(IST))
    assert out.rows[1][0] is None and out.rows[0][1] == stamp and out.rows[1][2] == 2


# -- full reads ---------------------------------------------------------------------------------

def test_full_read_identity_and_every_section(full):
    category, meter, reading, _ = full
    assert reading.complete and reading.errors == () and reading.category == category
    assert list(reading.tables) == list(SECTION_TITLES)
    ident = reading.identity
    assert ident.serial == meter.device.serial and ident.category == category
    assert ident.manufacturer and ident.firmware and ident.meter_type
    assert ident.logical_device_name.endswith(meter.device.serial)
    assert dict(ident.extra)["Meter category"].startswith(category)
    assert reading.connection == "test" and reading.association == "MR"
    assert reading.meter_clock.utcoffset() == IST
    assert abs(reading.meter_clock.replace(tzinfo=None) - START) < dt.timedelta(minutes=5)
    assert reading.started <= reading.finished and reading.started.tzinfo is not None
    for name, table in reading.tables.items():
        assert table.complete and table.error == "" and table.title == SECTION_TITLES[name]
        assert all(len(row) == len(table.columns) for row in table.rows)
        if name not in ("block_load", "name_plate"):  # whole buffers, row for row
            assert len(table.rows) == _profile(meter, table.obis).entries_in_use


def test_full_read_columns_follow_the_category(full):
    category, meter, reading, _ = full
    block = reading.tables["block_load"]
    obis = [c.obis for c in block.columns]
    assert block.columns[0].kind == "datetime" and block.capture_period == 900
    assert ("1.0.33.27.0.255" in obis) == (category == "A")  # average PF per phase
    assert ("1.0.16.29.0.255" in obis) == (category == "B")  # ABT net block energy
    billing = [c.obis for c in reading.tables["billing"].columns]
    assert ("1.0.1.8.1.255" in billing) == (category == "C")  # time-of-day zones
    assert reading.tables["billing"].columns[0].kind == "datetime"  # billing date octets
    assert isinstance(reading.tables["billing"].rows[0][0], dt.datetime)
    for name in EVENT_SECTIONS:
        table = reading.tables[name]
        kinds = [c.kind for c in table.columns]
        assert kinds[:2] == ["datetime", "event_code"]
        assert all(type(row[1]) is int for row in table.rows)
    plate = reading.tables["name_plate"]
    assert plate.rows[0][plate.column_index(obis="0.0.96.1.0.255")] == meter.device.serial
    assert block.columns[1].unit == "A" and block.columns[1].scaler == -3


def test_full_read_block_load_is_the_last_days_up_to_the_clock(full):
    _, meter, reading, _ = full
    block = reading.tables["block_load"]
    times = [row[0] for row in block.rows]
    assert len(times) == _profile(meter, BLOCK_LOAD).entries_in_use > 200  # 3 days < 7
    assert all(reading.meter_clock - dt.timedelta(days=7) <= t <= reading.meter_clock
               for t in times)
    assert times == sorted(times)


def test_full_read_progress(full):
    _, _, reading, seen = full
    steps = len(SECTION_TITLES)
    assert {p.steps for p in seen} == {steps}
    done = [p for p in seen if p.done]
    assert [p.step for p in done] == list(range(1, steps + 1))
    assert [p.section for p in done] == list(SECTION_TITLES)
    assert [p.rows for p in done] == [len(t.rows) for t in reading.tables.values()]
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    block = next(p for p in done if p.section == "block_load")
    assert block.message == f"Block load survey: {block.rows} rows"
    assert all(0.0 <= f <= 1.0 for f in fractions)


def test_hdlc_over_tcp_read_with_sections_and_one_day():
    meter = _meter("B", max_pdu_size=400)
    port = meter.serve_tcp(port=0, hdlc=True)
    seen = []
    session = _session(port, hdlc=True)
    try:
        reading = read_meter(session, "B", days=1, sections=["block_load", "events_power"],
                             progress=seen.append)
    finally:
        session.close()
        meter.stop()
    assert reading.complete and list(reading.tables) == ["name_plate", "block_load",
                                                         "events_power"]
    assert reading.block_load_days == 1
    times = [row[0] for row in reading.tables["block_load"].rows]
    assert 48 <= len(times) <= 96 < _profile(meter, BLOCK_LOAD).entries_in_use
    clock = reading.meter_clock.replace(microsecond=0)
    assert all(clock - dt.timedelta(days=1) <= t <= clock for t in times)
    # the block load came in several datablocks: progress between the steps' reports
    inner = [p for p in seen if p.section == "block_load" and not p.done and p.rows]
    assert len(inner) > 3 and all(a.rows <= b.rows for a, b in zip(inner, inner[1:]))


# -- refusals, cancel, lost link ------------------------------------------------------------------

def test_public_client_refusals_are_recorded_and_the_plan_goes_on():
    meter = _meter("C")
    port = meter.serve_tcp(port=0)
    session = _session(port, "pc")
    try:
        reading = read_meter(session, "C")
        assert session.is_ready  # refusals leave the session usable
    finally:
        session.close()
        meter.stop()
    assert not reading.complete and list(reading.tables) == ["name_plate"]
    assert reading.identity.serial == meter.device.serial
    assert len(reading.errors) == len(SECTION_TITLES) - 1
    assert all("object-undefined" in e or "does not exist" in e for e in reading.errors)
    assert reading.errors[0].startswith("Instantaneous parameters: ")


def _cancel_during_block_load(token: CancelToken, seen: list):
    def progress(p):
        seen.append(p)
        if p.section == "block_load" and p.rows >= 40 and not p.done:
            token.cancel()
    return progress


def test_cancel_from_progress_keeps_partial_rows_and_skips_the_rest():
    meter = _meter("C", max_pdu_size=512)
    port = meter.serve_tcp(port=0)
    token = CancelToken()
    seen: list = []
    session = _session(port, cancel=token)
    try:
        reading = read_meter(session, "C", progress=_cancel_during_block_load(token, seen))
    finally:
        session.close()
        meter.stop()
    assert not reading.complete
    assert list(reading.tables) == ["name_plate", "instantaneous", "billing", "block_load"]
    assert all(reading.tables[s].complete for s in ("name_plate", "instantaneous", "billing"))
    block = reading.tables["block_load"]
    assert not block.complete and block.error == "cancelled"
    assert 40 <= len(block.rows) < _profile(meter, BLOCK_LOAD).entries_in_use
    assert all(len(row) == len(block.columns) for row in block.rows)
    assert reading.errors[0] == f"Block load survey: stopped after {len(block.rows)} rows: " \
                                "cancelled"
    skipped = [SECTION_TITLES[s] for s in list(SECTION_TITLES)[4:]]
    assert list(reading.errors[1:]) == [f"{t}: not read: cancelled" for t in skipped]
    assert seen[-1].done and seen[-1].section == "events_control"


def test_lost_link_keeps_partial_rows():
    meter = _meter("C", max_pdu_size=512, faults=["reset=15000"])
    port = meter.serve_tcp(port=0)
    session = _session(port)
    try:
        reading = read_meter(session, "C")
    finally:
        session.close()
        meter.stop()
    block = reading.tables["block_load"]
    assert not reading.complete and not block.complete and 0 < len(block.rows)
    assert block.error.startswith("connection lost")
    assert reading.errors[0].startswith(f"Block load survey: stopped after {len(block.rows)}")
    assert reading.errors[-1] == "Control events: not read: connection lost"
    assert reading.tables["billing"].complete and reading.identity.serial


# -- a scripted session: fallbacks ----------------------------------------------------------------

class _StubSession:
    """Answers like a meter whose name plate profile is missing and whose clock is unreadable;
    ``interrupt_on`` raises KeyboardInterrupt when that profile is read."""

    def __init__(self, interrupt_on: str = "") -> None:
        self.cancel = None
        self.is_ready = True
        self.settings = ConnectionSettings.for_association("pc")
        self.read: list[tuple[str, object]] = []
        self.interrupt_on = interrupt_on

    def read_profile(self, obis, *, range=None, progress=None):  # noqa: A002
        self.read.append((str(obis), range))
        if str(obis) == self.interrupt_on:
            raise KeyboardInterrupt
        raise ObjectUndefined(f"reading {obis}: the object does not exist in this meter")

    def get(self, class_id, obis, attribute):
        if str(obis) == "0.0.42.0.0.255":
            return Data(DataTag.OCTET_STRING, b"ABC0000001234")
        raise ObjectUndefined("no")

    def get_many(self, items):
        return [Data(DataTag.OCTET_STRING, b"SN-77"), Data(DataTag.OCTET_STRING, b"Acme"),
                ObjectUndefined, Data(DataTag.UNSIGNED, 5)][:len(items)]

    def read_clock(self):
        raise ObjectUndefined("clock refused")


def test_identity_falls_back_to_the_data_objects_and_the_computer_clock():
    stub = _StubSession()
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    reading = read_meter(stub, "A", sections=["block_load"])
    ident = reading.identity
    assert (ident.serial, ident.manufacturer, ident.firmware, ident.meter_type) == (
        "SN-77", "Acme", "", "5")
    assert ident.logical_device_name == "ABC0000001234" and reading.meter_clock is None
    assert any("clock not read" in n for n in reading.notes)
    assert any("this computer's clock" in n for n in reading.notes)
    (_, span), = [r for r in stub.read if r[0] == BLOCK_LOAD]
    assert span[1] >= before and span[1] - span[0] == dt.timedelta(days=7, seconds=-1)
    assert reading.tables == {} and len(reading.errors) == 2


def test_keyboard_interrupt_is_a_cancel_that_keeps_the_reading():
    stub = _StubSession(interrupt_on=BLOCK_LOAD)
    reading = read_meter(stub, "C", sections=["billing", "block_load", "daily_load"])
    assert reading.errors == (
        "Name plate details: reading 0.0.94.91.10.255: the object does not exist in this meter",
        "Billing history: reading 1.0.98.1.0.255: the object does not exist in this meter",
        "Block load survey: cancelled", "Daily load survey: not read: cancelled")
    assert [r[0] for r in stub.read] == ["0.0.94.91.10.255", "1.0.98.1.0.255", BLOCK_LOAD]


def test_plan_step_is_frozen():
    step = PlanStep(section="billing", title="Billing history", obis="1.0.98.1.0.255")
    with pytest.raises(AttributeError):
        step.days = 3  # type: ignore[misc]


def test_keyboard_interrupt_in_the_progress_callback_keeps_the_reading():
    stub = _StubSession()

    def progress(p):
        if p.section == "daily_load" and not p.done:
            raise KeyboardInterrupt

    reading = read_meter(stub, "C", sections=["billing", "daily_load", "events"],
                         progress=progress)
    assert reading.errors[2:4] == ("Daily load survey: cancelled",
                                   "Voltage related events: not read: cancelled")
    assert len(reading.errors) == 2 + 1 + 7 and not reading.complete
