"""The simulator's verbose log (``simulate -v``) never shows a secret: passwords in AARQs split
over several HDLC segments, new secrets in SET/ACTION (whole or in segments), key transfers,
frames that do not decode, and notes about refused APDUs."""

from __future__ import annotations

import logging
import socket

import pytest

from meterreader.cosem.obis import Obis
from meterreader.dlms import connection_events as ev
from meterreader.dlms import xdlms as x
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.hdlc import (LLC_COMMAND, FrameType, HdlcAddress, HdlcFrame, HdlcParameters,
                                   encode_frame)
from meterreader.simulator.facade import SimulatedMeter
from meterreader.simulator.server_log import mask_apdu_start
from sim_driver import open_client

LOGGER = "meterreader.simulator"
PASSWORD = b"Zq7#Pw9!"  # the meter's LLS password: recognisable in ASCII and in hex
NEW_PASSWORD = b"N3w-Pa55w0rd-Xy"
NEW_KEY = b"K3yK3yK3yK3y-Q9!"  # 16 bytes: a new HLS secret
WRAPPED_KEY = bytes.fromhex("C0FFEE00DEADBEEF0123456789ABCDEF1122334455667788")
#: A client that sends at most 16 bytes per I-frame: every AARQ / SET is segmented.
SMALL = HdlcParameters(max_info_field_length_transmit=16, max_info_field_length_receive=256)


def forms(secret: bytes) -> list[str]:
    out = [secret.hex(), secret.hex().upper(), secret.hex(" "), secret.hex(" ").upper()]
    try:
        out.append(secret.decode("ascii"))
    except UnicodeDecodeError:
        pass
    return out


def assert_absent(text: str, *secrets: bytes) -> None:
    """No form of the secrets, nor of any 4-byte piece of them (a secret cut by segments)."""
    for secret in secrets:
        pieces = [secret] + [secret[i:i + 4] for i in range(len(secret) - 3)]
        for piece in pieces:
            for form in forms(piece):
                assert form not in text, f"{secret!r} shown as {form!r}"


def _meter(**kw) -> SimulatedMeter:
    m = SimulatedMeter("C", seed=4, password=PASSWORD, days_of_block_load=2, **kw)
    m.targets = {"wrapper": m.serve_tcp(), "hdlc": m.serve_tcp(hdlc=True)}
    return m


@pytest.fixture(scope="module")
def meter():
    with _meter() as m:
        yield m


@pytest.fixture
def own_meter():
    with _meter() as m:
        yield m


def test_aarq_split_over_hdlc_segments_is_masked_in_every_segment(meter, caplog):
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        client = open_client("hdlc", meter.targets["hdlc"], "MR", password=PASSWORD,
                             parameters=SMALL)
        try:
            assert isinstance(client.associate(), ev.AssociationAccepted)
            assert client.get(3, "1.0.1.8.0.255", 2).value > 0
        finally:
            client.close()
    text = caplog.text
    assert text.count(" rx 7E") >= 4  # the AARQ went out in several frames, all logged
    assert "2A 2A 2A 2A" in text  # masked, not left out
    assert_absent(text, PASSWORD)


@pytest.mark.parametrize("kind", ("wrapper", "hdlc"))
def test_new_secrets_in_set_and_action_are_masked(own_meter, caplog, kind):
    meter = own_meter
    extra = {"parameters": SMALL} if kind == "hdlc" else {}
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        client = open_client(kind, meter.targets[kind], "US", **extra)
        try:
            assert isinstance(client.associate(), ev.AssociationAccepted)
            assert client.set(15, "0.0.40.0.2.255", 7, Data(DataTag.OCTET_STRING, NEW_PASSWORD)) \
                is x.DataAccessResult.SUCCESS
            result = client.action(15, "0.0.40.0.3.255", 2, Data(DataTag.OCTET_STRING, NEW_KEY))
            assert result.result is x.ActionResult.SUCCESS
            # a Security setup key transfer: no such object here, but never logged in clear
            wrapped = Data(DataTag.ARRAY, (Data(DataTag.STRUCTURE, (
                Data(DataTag.ENUM, 0), Data(DataTag.OCTET_STRING, WRAPPED_KEY))),))
            result = client.action(64, "0.0.43.0.0.255", 2, wrapped)
            assert result.result is x.ActionResult.OBJECT_UNDEFINED
        finally:
            client.close()
    device = meter.device.management
    assert device.association("MR").secret.reveal() == NEW_PASSWORD
    assert device.association("US").secret.reveal() == NEW_KEY
    text = caplog.text
    assert "SetRequest" in text or kind == "hdlc"  # the wrapper APDU still decodes
    assert_absent(text, NEW_PASSWORD, NEW_KEY, WRAPPED_KEY)


def test_set_with_list_and_datablocks_of_a_secret_are_masked(caplog):
    with SimulatedMeter("C", seed=4, max_pdu_size=64, days_of_block_load=2) as m, \
            caplog.at_level(logging.DEBUG, logger=LOGGER):
        client = open_client("wrapper", m.serve_tcp(), "US")
        try:
            assert isinstance(client.associate(), ev.AssociationAccepted)
            long_secret = NEW_PASSWORD * 6  # 90 bytes: SET in datablocks of < 64 bytes
            assert client.set(15, "0.0.40.0.2.255", 7, Data(DataTag.OCTET_STRING, long_secret)) \
                is x.DataAccessResult.SUCCESS
            mr = x.CosemAttributeDescriptor(class_id=15, instance_id=Obis.parse("0.0.40.0.2.255"),
                                            attribute_id=7)
            result = client.request(ev.SetList(descriptors=(mr,),
                                               values=(Data(DataTag.OCTET_STRING, NEW_KEY),)))
            assert result.results == (x.DataAccessResult.SUCCESS,)
        finally:
            client.close()
    blocks = caplog.text.count(" rx 00 01 00 30 00 01")
    assert blocks >= 3
    assert_absent(caplog.text, NEW_PASSWORD, NEW_KEY)


def test_undecodable_frames_and_notes_do_not_show_known_secrets(meter, caplog):
    aarq = bytes.fromhex("6036A1090607608574050801018A0207808B0760857405080201AC0A8008"
                         ) + PASSWORD + bytes.fromhex("BE10040E01000000065F1F0400007E1F04B0")
    frame = encode_frame(HdlcFrame(destination=HdlcAddress.server(1, 256, size=4),
                                   source=HdlcAddress.client(32), frame_type=FrameType.I,
                                   poll_final=True, info=LLC_COMMAND + aarq))
    bad_fcs = frame[:-3] + bytes((frame[-3] ^ 0xFF,)) + frame[-2:]
    with caplog.at_level(logging.DEBUG, logger=LOGGER), \
            socket.create_connection(("127.0.0.1", meter.targets["hdlc"]), timeout=2) as sock:
        sock.sendall(bad_fcs)
        sock.sendall(b"\x7e\xa0\x0c" + PASSWORD + b"\x00\x00\x7e")  # broken, with the password
        sock.settimeout(0.3)
        with pytest.raises(socket.timeout):
            sock.recv(100)  # dropped without an answer
    assert "dropped" in caplog.text
    assert_absent(caplog.text, PASSWORD)


def test_refused_apdu_note_shows_no_bytes(meter, caplog):
    client = open_client("wrapper", meter.targets["wrapper"], "US")
    try:
        assert isinstance(client.associate(), ev.AssociationAccepted)
        with caplog.at_level(logging.DEBUG, logger=LOGGER):
            # a SET of the secret whose value is cut short: the connection refuses the APDU
            broken = bytes.fromhex("C101C1000F0000280002FF0700090F") + NEW_PASSWORD[:4]
            client._send_apdu(broken)
            answer = client._next_apdu()
    finally:
        client.close()
    assert answer[0] == x.ApduTag.EXCEPTION_RESPONSE
    assert "refused" in caplog.text
    assert_absent(caplog.text, NEW_PASSWORD[:4])


@pytest.mark.parametrize("apdu,complete,start", [
    # set-request-normal of 15/0.0.40.0.2.255/7: only the octet-string's contents
    ("C101C1000F0000280002FF070009034142 43", True, 15),
    # set-request-normal of a register: nothing
    ("C101C100030100010800FF0200060000000A", True, None),
    # the first 8 bytes of a set-request: cannot tell, masked after the header
    ("C101C1000F000028", False, 3),
    # action change_HLS_secret
    ("C301C1000F0000280003FF0201090141", True, 15),
    # action of Security setup (any method), parameters not an octet-string
    ("C301C1004000002B0000FF02010101", True, 12),
    # AARQ segment
    ("6036A109060760857405", False, 1),
    # get-request: nothing
    ("C001C100080000010000FF0200", True, None),
])
def test_mask_apdu_start_rules(apdu, complete, start):
    raw = bytes.fromhex(apdu.replace(" ", ""))
    masked, sensitive, _ = mask_apdu_start(raw, complete=complete)
    if start is None:
        assert (masked, sensitive) == (raw, False)
    else:
        assert sensitive and masked == raw[:start] + b"*" * (len(raw) - start)


def test_datablocks_of_a_secret_set_are_masked_until_the_last():
    first = bytes.fromhex("C102C1000F0000280002FF07 00 00 00000001 05 0910414243")
    masked, sensitive, transfer = mask_apdu_start(first, complete=True)
    assert sensitive and transfer is True and masked.endswith(b"*" * 5)
    middle = bytes.fromhex("C103C1 00 00000002 03 444546")
    masked, _, transfer = mask_apdu_start(middle, complete=True, in_transfer=True)
    assert masked == middle[:8] + b"****" and transfer is None
    last = bytes.fromhex("C103C1 01 00000003 02 4748")
    masked, _, transfer = mask_apdu_start(last, complete=True, in_transfer=True)
    assert masked == last[:8] + b"***" and transfer is False
    assert mask_apdu_start(last, complete=True, in_transfer=False)[0] == last
