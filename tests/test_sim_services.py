"""Simulator services end to end beyond the basics: clock jumps, ciphered SET/ACTION in every
ciphering mode, SET/ACTION over every HDLC medium, SET-with-list (with and without datablocks),
profile methods, read-by-range on the billing date, concurrent MD resets, 2-byte addresses,
ACTION-with-list and the reassembly limit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time

import pytest

from meterreader.cosem.obis import Obis
from meterreader.dlms import connection_events as ev
from meterreader.dlms import xdlms as x
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.blocks import DEFAULT_MAX_REASSEMBLY, MAX_REQUEST_REASSEMBLY, Reassembly
from meterreader.dlms.cosem_time import CosemDateTime
from meterreader.dlms.errors import LocalProtocolError, Reason, RemoteProtocolError
from meterreader.dlms.security import CipheringMode, SecurityKeys
from meterreader.dlms.secret import SecretBytes
from meterreader.dlms.wrapper import WrapperFrame, WrapperReader
from meterreader.dlms.xdlms.common import (CaptureObjectDefinition, RangeDescriptor,
                                           SelectiveAccessDescriptor)
from meterreader.simulator.facade import SimulatedMeter
from meterreader.simulator.server import Framing
from sim_driver import AK, EK, LineTimeout, open_client, settings_for

CLOCK = "0.0.1.0.0.255"
ENERGY = "1.0.1.8.0.255"
BLOCK_LOAD = "1.0.99.1.0.255"
DAILY_LOAD = "1.0.99.2.0.255"
BILLING = "1.0.98.1.0.255"
BILLING_DATE = "0.0.0.1.2.255"
BILLING_COUNT = "0.0.0.1.0.255"
MD_RESET = "0.0.10.0.1.255"
CALENDAR = "0.0.13.0.0.255"
DEDICATED_KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
RUN_MD_RESET = Data(DataTag.LONG_UNSIGNED, 1)


@pytest.fixture(scope="module")
def meter():
    with SimulatedMeter("C", seed=11, days_of_block_load=3, ciphered_client=64,
                        encryption_key=EK, authentication_key=AK) as m:
        m.targets = {"wrapper": m.serve_tcp(), "hdlc": m.serve_tcp(hdlc=True),
                     "pty": m.serve_pty()}
        yield m


def associated(kind, target, association, **kw):
    client = open_client(kind, target, association, **kw)
    try:
        result = client.associate()
        assert isinstance(result, ev.AssociationAccepted), result
    except BaseException:
        client.close()
        raise
    return client


def billing_count(client) -> int:
    return client.get(1, BILLING_COUNT, 2).value


def attribute(class_id: int, obis: str, attr: int) -> x.CosemAttributeDescriptor:
    return x.CosemAttributeDescriptor(class_id=class_id, instance_id=Obis.parse(obis),
                                      attribute_id=attr)


# -- clock jump (a clock SET must not freeze the meter) ------------------------------------------

def test_clock_set_ten_years_ahead_then_requests_answer_promptly():
    with SimulatedMeter("C", seed=12, days_of_block_load=2) as m:
        client = associated("wrapper", m.serve_tcp(), "US")
        try:
            before = client.get(3, ENERGY, 2).value
            count = billing_count(client)
            clock = CosemDateTime.from_bytes(client.get(8, CLOCK, 2).value)
            later = dataclasses.replace(clock, year=clock.year + 10, day=min(clock.day, 28),
                                        day_of_week=0xFF)
            assert client.set(8, CLOCK, 2, Data(DataTag.OCTET_STRING, bytes(later))) \
                is x.DataAccessResult.SUCCESS
            started = time.monotonic()
            after = client.get(3, ENERGY, 2).value
            assert time.monotonic() - started < 1.0
            assert after > before
            now = CosemDateTime.from_bytes(client.get(8, CLOCK, 2).value)
            assert now.year == clock.year + 10
            # only what the profiles hold was computed; the skipped billing dates were counted
            billing = client.get(7, BILLING, 2).value
            assert len(billing) == 13
            assert 118 <= billing_count(client) - count <= 122
            block = client.get(7, BLOCK_LOAD, 7).value
            assert block == 45 * 96
            last = CosemDateTime.from_bytes(m.device.model.profiles["block"].rows[-1].value[0]
                                            .value)
            assert last.year == now.year
            year_9999 = dataclasses.replace(clock, year=9999, day_of_week=0xFF)
            assert client.set(8, CLOCK, 2, Data(DataTag.OCTET_STRING, bytes(year_9999))) \
                is x.DataAccessResult.OTHER_REASON
            assert CosemDateTime.from_bytes(client.get(8, CLOCK, 2).value).year == now.year
        finally:
            client.close()


# -- ciphering: every mode, GET/SET/ACTION --------------------------------------------------------

@pytest.mark.parametrize("mode", list(CipheringMode))
def test_ciphered_association_in_every_mode_gets_sets_and_acts(meter, mode):
    keys = SecurityKeys(encryption_key=SecretBytes(EK), authentication_key=SecretBytes(AK),
                        dedicated_key=SecretBytes(DEDICATED_KEY))
    settings = dataclasses.replace(settings_for("CIPHERED"), ciphering=mode, keys=keys)
    client = associated("wrapper", meter.targets["wrapper"], "CIPHERED", settings=settings)
    try:
        assert client.get(8, CLOCK, 2).tag is DataTag.OCTET_STRING
        period = Data(DataTag.DOUBLE_LONG_UNSIGNED, 900)
        assert client.set(7, BLOCK_LOAD, 4, period) is x.DataAccessResult.SUCCESS
        count = billing_count(client)
        result = client.action(9, MD_RESET, 1, RUN_MD_RESET)
        assert result.result is x.ActionResult.SUCCESS
        assert billing_count(client) == count + 1
        assert isinstance(client.release(), ev.Released)
    finally:
        client.close()


# -- SET / ACTION over every HDLC medium ----------------------------------------------------------

@pytest.mark.parametrize("kind", ("hdlc", "pty"))
def test_set_and_action_over_hdlc_media(meter, kind):
    client = associated(kind, meter.targets[kind], "US")
    try:
        value = Data(DataTag.DOUBLE_LONG_UNSIGNED, 900)
        assert client.set(7, BLOCK_LOAD, 4, value) is x.DataAccessResult.SUCCESS
        assert client.get(7, BLOCK_LOAD, 4) == value
        count = billing_count(client)
        assert client.action(9, MD_RESET, 1, RUN_MD_RESET).result is x.ActionResult.SUCCESS
        assert billing_count(client) == count + 1
    finally:
        client.close()


# -- SET-with-list ------------------------------------------------------------------------------

@pytest.mark.parametrize("max_pdu_size", (0xFFFF, 128))
def test_set_with_list_with_and_without_datablocks(max_pdu_size):
    with SimulatedMeter("C", seed=13, days_of_block_load=1, max_pdu_size=max_pdu_size) as m:
        client = associated("wrapper", m.serve_tcp(), "US")
        try:
            days = client.get(20, CALENDAR, 9)  # day_profile_table_passive, 160 bytes
            changed = Data(DataTag.ARRAY, tuple(Data(DataTag.STRUCTURE, (day.value[0], Data(
                DataTag.ARRAY, tuple(Data(DataTag.STRUCTURE, (*action.value[:2], Data(
                    DataTag.LONG_UNSIGNED, action.value[2].value + 20)))
                    for action in day.value[1].value)))) for day in days.value))
            period = Data(DataTag.LONG_UNSIGNED, 1800)
            result = client.request(ev.SetList(
                descriptors=(attribute(20, CALENDAR, 9), attribute(1, "1.0.0.8.0.255", 2),
                             attribute(3, ENERGY, 2)),
                values=(changed, period, Data(DataTag.DOUBLE_LONG_UNSIGNED, 0))))
            assert result.results == (x.DataAccessResult.SUCCESS, x.DataAccessResult.SUCCESS,
                                      x.DataAccessResult.READ_WRITE_DENIED)
            assert client.get(20, CALENDAR, 9) == changed
            assert client.get(1, "1.0.0.8.0.255", 2) == period
            blocks = [e for e in client.dlms_events if isinstance(e, ev.BlockReceived)]
            assert bool(blocks) == (max_pdu_size == 128)  # the GETs came back in blocks too
        finally:
            client.close()


# -- profile methods (US only) ------------------------------------------------------------------

def test_utility_settings_may_capture_and_reset_a_profile():
    with SimulatedMeter("B", seed=14, days_of_block_load=2) as m:
        port = m.serve_tcp()
        us = associated("wrapper", port, "US")
        mr = associated("wrapper", port, "MR")
        pc = associated("wrapper", port, "PC")
        try:
            rows = us.get(7, DAILY_LOAD, 7).value
            assert us.action(7, DAILY_LOAD, 2, Data(DataTag.INTEGER, 0)).result \
                is x.ActionResult.SUCCESS
            assert us.get(7, DAILY_LOAD, 7).value == rows + 1
            assert mr.action(7, DAILY_LOAD, 2, Data(DataTag.INTEGER, 0)).result \
                is x.ActionResult.READ_WRITE_DENIED
            assert mr.action(7, DAILY_LOAD, 1, Data(DataTag.INTEGER, 0)).result \
                is x.ActionResult.READ_WRITE_DENIED
            assert pc.action(7, DAILY_LOAD, 2, Data(DataTag.INTEGER, 0)).result \
                is x.ActionResult.OBJECT_UNDEFINED
            assert us.get(7, DAILY_LOAD, 7).value == rows + 1
            assert us.action(7, DAILY_LOAD, 1, Data(DataTag.INTEGER, 0)).result \
                is x.ActionResult.SUCCESS
            assert us.get(7, DAILY_LOAD, 7).value == 0
            # the scaler profiles have no methods for anyone
            assert us.action(7, "1.0.94.91.5.255", 2, Data(DataTag.INTEGER, 0)).result \
                is x.ActionResult.READ_WRITE_DENIED
        finally:
            for client in (us, mr, pc):
                client.close()


# -- read by range on the billing date column ---------------------------------------------------

def test_billing_profile_read_by_range_of_its_billing_date(meter):
    client = associated("wrapper", meter.targets["wrapper"], "MR")
    try:
        rows = client.get(7, BILLING, 2).value
        assert len(rows) >= 8
        column = CaptureObjectDefinition(class_id=3, logical_name=Obis.parse(BILLING_DATE),
                                         attribute_index=2, data_index=0)
        first, last = rows[3].value[0], rows[6].value[0]
        assert first.tag is DataTag.OCTET_STRING and len(first.value) == 12
        selected = client.get(7, BILLING, 2, SelectiveAccessDescriptor.range(RangeDescriptor(
            restricting_object=column, from_value=first, to_value=last)))
        assert selected.value == rows[3:7]
        everything = client.get(7, BILLING, 2, SelectiveAccessDescriptor.range(RangeDescriptor(
            restricting_object=column, from_value=Data(DataTag.NULL_DATA),
            to_value=Data(DataTag.NULL_DATA))))
        assert everything.value == rows
    finally:
        client.close()


# -- several clients mutating at once ------------------------------------------------------------

def test_concurrent_md_resets_are_all_counted():
    with SimulatedMeter("C", seed=15, days_of_block_load=1) as m:
        port = m.serve_tcp()
        reader = associated("wrapper", port, "MR")
        before = billing_count(reader)
        clients = [associated("wrapper", port, "US") for _ in range(4)]
        barrier = threading.Barrier(4)
        results: list[object] = []

        def reset(client) -> None:
            barrier.wait(5)
            results.append(client.action(9, MD_RESET, 1, RUN_MD_RESET).result)

        threads = [threading.Thread(target=reset, args=(c,)) for c in clients]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
            assert results == [x.ActionResult.SUCCESS] * 4
            assert billing_count(reader) == before + 4
        finally:
            for client in (reader, *clients):
                client.close()


# -- addressing ---------------------------------------------------------------------------------

def test_two_byte_server_address_with_lower_address_17(meter):
    """Physical address 256 (low 7 bits 0): the common 2-byte lower address 17 is answered."""
    for physical in (17, 0):
        client = associated("hdlc", meter.targets["hdlc"], "MR", physical=physical,
                            address_size=2)
        try:
            assert client.get(3, ENERGY, 2).value > 0
        finally:
            client.close()
    with pytest.raises(LineTimeout):
        open_client("hdlc", meter.targets["hdlc"], "MR", physical=18, address_size=2,
                    timeout=0.15, max_retries=1)


# -- ACTION-with-list ----------------------------------------------------------------------------

def test_action_with_list_runs_each_method_and_answers_one_result_each(meter):
    client = associated("wrapper", meter.targets["wrapper"], "US")
    try:
        count = billing_count(client)
        # action-request-with-list: MD reset twice
        client._send_apdu(bytes.fromhex("C303C1 02 0009 00000A0001FF 01 0009 00000A0001FF 01"
                                        " 02 12 0001 12 0001"))
        answer = x.decode_apdu(client._next_apdu())
        assert isinstance(answer, x.ActionResponseWithList)
        assert [r.result for r in answer.list_of_responses] == [x.ActionResult.SUCCESS] * 2
        assert billing_count(client) == count + 2
    finally:
        client.close()


def test_action_with_list_denied_for_meter_reader(meter):
    client = associated("wrapper", meter.targets["wrapper"], "MR")
    try:
        count = billing_count(client)
        client._send_apdu(bytes.fromhex("C303C1 01 0009 00000A0001FF 01 01 12 0001"))
        answer = x.decode_apdu(client._next_apdu())
        assert isinstance(answer, x.ActionResponseWithList)
        assert answer.list_of_responses[0].result is not x.ActionResult.SUCCESS
        assert billing_count(client) == count
    finally:
        client.close()


# -- reassembly limit ---------------------------------------------------------------------------

def test_reassembly_refuses_more_than_its_limit():
    parts = Reassembly(max_size=10)
    assert parts.add(1, b"123456")
    with pytest.raises(RemoteProtocolError) as info:
        parts.add(2, b"78901")
    assert info.value.reason is Reason.TOO_LONG and info.value.data == b"78901"
    assert (parts.size, parts.raw, parts.expected) == (6, b"123456", 2)
    assert parts.add(2, b"7890") and parts.raw == b"1234567890"
    assert not parts.add(5, b"")  # out of order: refused without an exception
    with pytest.raises(LocalProtocolError):
        Reassembly(max_size=-1)
    assert Reassembly().max_size == DEFAULT_MAX_REASSEMBLY == 16 << 20


def test_endless_set_datablocks_are_cut_off_by_the_server():
    """A client sending SET datablocks without end: refused once the limit is passed, and the
    session goes on (a new association works)."""
    meter = SimulatedMeter("C", seed=16, days_of_block_load=1)
    session = meter.server.session(Framing.WRAPPER)
    aarq = bytes.fromhex("601DA109060760857405080101BE10040E01000000065F1F0400007E1FFFFF")

    def exchange(apdu: bytes) -> bytes:
        frames = session.receive_data(WrapperFrame(source_wport=16, destination_wport=1,
                                                   data=apdu).encode())
        [packet] = [p for f in frames for p in WrapperReader().feed(f)]
        return packet.data

    assert exchange(aarq)[0] == 0x61
    chunk = bytes(65000)
    descriptor = bytes.fromhex("0008 0000010000FF 02 00")
    header = bytes.fromhex("C102C1") + descriptor
    answer = exchange(header + b"\x00" + (1).to_bytes(4, "big") + b"\x82\xfd\xe8" + chunk)
    assert answer[:2] == bytes.fromhex("C502")  # set-response-datablock
    number = 1
    while number * len(chunk) <= DEFAULT_MAX_REASSEMBLY:
        number += 1
        answer = exchange(bytes.fromhex("C103C1") + b"\x00" + number.to_bytes(4, "big")
                          + b"\x82\xfd\xe8" + chunk)
        if answer[0] != 0xC5:
            break
        assert answer[:2] == bytes.fromhex("C502")
    assert answer[0] == x.ApduTag.EXCEPTION_RESPONSE
    # refused at the first block past the limit (the default, or the tighter request limit)
    assert MAX_REQUEST_REASSEMBLY < number * len(chunk)
    assert (number - 1) * len(chunk) <= DEFAULT_MAX_REASSEMBLY
    assert exchange(aarq)[0] == 0x61


# -- category A / B objects are modelled --------------------------------------------------------

def test_category_specific_block_load_columns_carry_live_values():
    for category in ("A", "B"):
        meter = SimulatedMeter(category, seed=17, days_of_block_load=1)
        block = meter.device.model.profiles["block"]
        names = [str(c.logical_name) for c in block.capture_objects]
        row = dict(zip(names, (cell.value for cell in block.rows[-1].value)))
        if category == "A":
            for pf in ("1.0.33.27.0.255", "1.0.53.27.0.255", "1.0.73.27.0.255"):
                assert 800 <= abs(row[pf]) <= 1000  # PF × 1000, signed
        else:
            assert 4990 <= row["1.0.14.27.0.255"] <= 5010  # Hz × 100
            net = row["1.0.1.29.0.255"] - row["1.0.2.29.0.255"]
            # each block energy is a difference of rounded cumulative values: ±1 each
            assert abs(row["1.0.16.29.0.255"] - net) <= 2 and row["1.0.16.29.0.255"] > 0
            daily = meter.device.model.profiles["daily"]
            net_total = daily.rows[-1].value[-1]
            assert net_total.tag is DataTag.DOUBLE_LONG and net_total.value > 0
