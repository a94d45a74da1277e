"""Access control of the simulated meter, end to end over real TCP sockets (IEC 62056-47 wrapper
and raw HDLC): no service before association, the public client cannot SET/ACTION, wrong
secrets are refused, the ciphered association refuses replayed and tampered APDUs, and the
per-connection limits (max PDU, HDLC segmented transfers, request reassembly, idle time-out,
max clients) hold against a hostile client."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from meterreader.cosem.obis import Obis
from meterreader.dlms import connection_events as ev
from meterreader.dlms import connection_server
from meterreader.dlms import xdlms as x
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.blocks import MAX_REQUEST_REASSEMBLY
from meterreader.dlms.connection_settings import AssociationSettings
from meterreader.dlms.hdlc import (LLC_COMMAND, FrameReader, FrameType, HdlcAddress, HdlcFrame,
                                   encode_frame)
from meterreader.dlms.secret import SecretBytes
from meterreader.dlms.security import CipheringMode, SecurityKeys
from meterreader.simulator import cli
from meterreader.simulator.facade import SimulatedMeter
from meterreader.simulator.server import Framing, ServerOptions
from sim_driver import (AK, CLIENT_TITLE, EK, LineLost, LineTimeout, LinkDown, SimClient,
                        SocketLine, attribute, open_client, settings_for)

CLOCK = "0.0.1.0.0.255"
BILLING_COUNT = "0.0.0.1.0.255"
MD_RESET = "0.0.10.0.1.255"
CALENDAR = "0.0.13.0.0.255"
KINDS = ("wrapper", "hdlc")
NOT_ALLOWED = x.StateError.SERVICE_NOT_ALLOWED


@pytest.fixture(scope="module")
def meter():
    with SimulatedMeter("C", seed=21, ciphered_client=64, encryption_key=EK,
                        authentication_key=AK) as m:
        m.targets = {"wrapper": m.serve_tcp(), "hdlc": m.serve_tcp(hdlc=True)}
        yield m


@pytest.fixture
def connect(meter):
    clients = []

    def make(kind, association, target=None, **kw):
        client = open_client(kind, target or meter.targets[kind], association, **kw)
        clients.append(client)
        return client
    yield make
    for client in clients:
        try:
            client.close()
        except OSError:
            pass


def associated(connect, kind, association, **kw):
    client = connect(kind, association, **kw)
    result = client.associate()
    assert isinstance(result, ev.AssociationAccepted), result
    return client


def exception(apdu: bytes) -> x.ExceptionResponse:
    assert apdu[0] == x.ApduTag.EXCEPTION_RESPONSE, apdu.hex()
    return x.ExceptionResponse.decode(apdu)


def raw_get(obis: str = CLOCK) -> bytes:
    return x.GetRequestNormal(cosem_attribute_descriptor=attribute(8, obis, 2)).encode()


def raw_set(value: Data, obis: str = CLOCK, class_id: int = 8, attr: int = 2) -> bytes:
    return x.SetRequestNormal(cosem_attribute_descriptor=attribute(class_id, obis, attr),
                              value=value).encode()


def raw_action() -> bytes:
    return x.ActionRequestNormal(cosem_method_descriptor=x.CosemMethodDescriptor(
        class_id=9, instance_id=Obis.parse(MD_RESET), method_id=1),
        method_invocation_parameters=Data(DataTag.LONG_UNSIGNED, 1)).encode()


def billing_count(connect) -> int:
    client = associated(connect, "wrapper", "MR")
    return client.get(1, BILLING_COUNT, 2).value


# -- no service before association ----------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_no_get_set_or_action_before_the_aarq(connect, kind):
    count = billing_count(connect)
    client = connect(kind, "US")
    wrong_time = Data(DataTag.OCTET_STRING, bytes.fromhex("07D0010106000000FF800000"))
    for apdu in (raw_get(), raw_set(wrong_time), raw_action()):
        client._send_apdu(apdu)
        refusal = exception(client._next_apdu())
        assert refusal.state_error is NOT_ALLOWED
        assert refusal.service_error is x.ServiceError.OPERATION_NOT_POSSIBLE
    assert billing_count(connect) == count  # the ACTION was not carried out
    assert isinstance(client.associate(), ev.AssociationAccepted)  # the line still works
    assert client.get(8, CLOCK, 2).value != wrong_time.value  # nor the SET


def test_hdlc_information_frame_before_snrm_gets_dm(meter):
    line = SocketLine.connect(meter.targets["hdlc"])
    try:
        line.write(encode_frame(HdlcFrame(
            destination=HdlcAddress.server(1, 256), source=HdlcAddress.client(48),
            frame_type=FrameType.I, poll_final=True, info=LLC_COMMAND + raw_action())))
        reader, frames, deadline = FrameReader(), [], time.monotonic() + 2
        while not frames and time.monotonic() < deadline:
            frames = [f for f in reader.feed(line.read(0.2)) if isinstance(f, HdlcFrame)]
        assert [f.frame_type for f in frames] == [FrameType.DM]
    finally:
        line.close()


@pytest.mark.parametrize("kind", KINDS)
def test_requests_after_a_rejected_aarq_are_refused(connect, kind):
    client = connect(kind, "MR", password=b"00000000")
    assert isinstance(client.associate(), ev.AssociationRejected)
    client._send_apdu(raw_get())
    assert exception(client._next_apdu()).state_error is NOT_ALLOWED


# -- rights of the associations -------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_public_client_cannot_set_or_act(connect, kind):
    count = billing_count(connect)
    client = associated(connect, kind, "PC")
    clock = client.get(8, CLOCK, 2)
    assert client.set(8, CLOCK, 2, clock) is x.DataAccessResult.READ_WRITE_DENIED
    result = client.action(9, MD_RESET, 1, Data(DataTag.LONG_UNSIGNED, 1))
    assert result.result in (x.ActionResult.READ_WRITE_DENIED, x.ActionResult.OBJECT_UNDEFINED)
    assert billing_count(connect) == count


def test_public_client_cannot_read_the_secrets(connect):
    client = associated(connect, "wrapper", "PC")
    for name in ("0.0.40.0.3.255", "0.0.40.0.2.255"):  # Association LN of MR and US
        result = client.get(15, name, 7)  # attribute 7: secret
        assert isinstance(result, x.DataAccessResult), result


# -- wrong secrets ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("association,secret", [
    ("MR", {"password": b"87654321"}), ("MR", {"password": b"1234567"}),
    ("MR", {"password": b"12345678" + b"\x00"}), ("US", {"hls_key": b"2222222222222222"})])
def test_wrong_secret_is_rejected(connect, kind, association, secret):
    assert isinstance(connect(kind, association, **secret).associate(), ev.AssociationRejected)


def ciphered_settings(*, ek: bytes = EK, ak: bytes = AK, counter: int = 0) -> AssociationSettings:
    return AssociationSettings(
        client_sap=64, mechanism=MechanismName.HIGH_GMAC, ciphering=CipheringMode.GLOBAL,
        client_system_title=CLIENT_TITLE, invocation_counter_start=counter,
        keys=SecurityKeys(encryption_key=SecretBytes(ek), authentication_key=SecretBytes(ak)))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("keys", [{"ek": bytes(16)}, {"ak": bytes(16)}])
def test_ciphered_client_with_a_wrong_key_is_refused(connect, kind, keys):
    client = connect(kind, "CIPHERED", settings=ciphered_settings(**keys))
    try:
        result = client.associate()
    except Exception as exc:  # noqa: BLE001 - the client may give up on an undecipherable AARE
        result = exc
    assert not isinstance(result, ev.AssociationAccepted)
    client._send_apdu(raw_get())
    assert exception(client._next_apdu()).state_error is NOT_ALLOWED


# -- ciphered association: replays and tampering --------------------------------------------------

def _recording(client: SimClient) -> list[bytes]:
    sent: list[bytes] = []
    send = client._send_apdu

    def record(apdu: bytes) -> None:
        sent.append(apdu)
        send(apdu)
    client._send_apdu = record  # type: ignore[method-assign]
    return sent


@pytest.mark.parametrize("kind", KINDS)
def test_replayed_ciphered_request_is_refused_and_ends_the_association(connect, kind):
    client = associated(connect, kind, "CIPHERED")
    sent = _recording(client)
    assert client.get(8, CLOCK, 2).tag is DataTag.OCTET_STRING
    [request] = sent
    assert request[0] == 0xC8  # glo-get-request
    client._send_apdu(request)  # the same APDU, the same invocation counter
    refusal = exception(client._next_apdu())
    assert refusal.service_error is x.ServiceError.INVOCATION_COUNTER_ERROR
    assert refusal.invocation_counter == int.from_bytes(request[3:7], "big") + 1
    client._send_apdu(client.conn.send(ev.Get(descriptor=attribute(8, CLOCK, 2))))
    assert exception(client._next_apdu()).state_error is NOT_ALLOWED  # association gone


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("where", ("tag", "ciphertext", "counter", "security control"))
def test_tampered_ciphered_request_is_refused(connect, kind, where):
    client = associated(connect, kind, "CIPHERED")
    apdu = bytearray(client.conn.send(ev.Get(descriptor=attribute(8, CLOCK, 2))))
    position = {"tag": len(apdu) - 1, "ciphertext": 8, "counter": 6, "security control": 2}
    apdu[position[where]] ^= 0x01
    client._send_apdu(bytes(apdu))
    refusal = exception(client._next_apdu())
    assert refusal.service_error in (x.ServiceError.DECIPHERING_ERROR,
                                     x.ServiceError.INVOCATION_COUNTER_ERROR)
    # the meter does not answer the tampered GET and stays usable
    assert associated(connect, kind, "CIPHERED").get(8, CLOCK, 2).tag is DataTag.OCTET_STRING


def test_plain_request_inside_a_ciphered_association_is_refused(connect):
    client = associated(connect, "wrapper", "CIPHERED")
    client._send_apdu(raw_get())
    assert exception(client._next_apdu()).state_error is NOT_ALLOWED


def test_replay_guard_refuses_a_captured_session_in_a_new_connection():
    with SimulatedMeter("C", seed=3, ciphered_client=64, encryption_key=EK,
                        authentication_key=AK, replay_guard=True) as meter:
        port = meter.serve_tcp()
        first = open_client("wrapper", port, "CIPHERED", settings=ciphered_settings())
        sent = _recording(first)
        try:
            assert isinstance(first.associate(), ev.AssociationAccepted)
            assert first.get(8, CLOCK, 2).tag is DataTag.OCTET_STRING
            first.release()
            last = first.conn.invocation_counter
        finally:
            first.close()
        attacker = open_client("wrapper", port, "CIPHERED", settings=ciphered_settings())
        try:
            attacker._send_apdu(sent[0])  # the captured AARQ (its ciphered InitiateRequest)
            answer = attacker._next_apdu()
            assert answer[0] == 0x61 and b"\xa2\x03\x02\x01\x01" in answer  # AARE: rejected
            attacker._send_apdu(sent[2])  # the captured glo-get-request
            assert exception(attacker._next_apdu()).state_error is NOT_ALLOWED
        finally:
            attacker.close()
        # an honest client continues its counter and is served
        honest = open_client("wrapper", port, "CIPHERED",
                             settings=ciphered_settings(counter=last))
        try:
            assert isinstance(honest.associate(), ev.AssociationAccepted)
            assert honest.get(8, CLOCK, 2).tag is DataTag.OCTET_STRING
        finally:
            honest.close()


def test_captured_hls_gmac_session_cannot_be_replayed_without_the_guard(meter):
    """Even without replay_guard a captured session opens nothing: the meter's fresh StoC
    challenge makes the captured HLS pass 3 worthless."""
    port = meter.targets["wrapper"]
    first = open_client("wrapper", port, "CIPHERED", settings=ciphered_settings())
    sent = _recording(first)
    try:
        assert isinstance(first.associate(), ev.AssociationAccepted)
        assert first.get(8, CLOCK, 2).tag is DataTag.OCTET_STRING
        first.release()
    finally:
        first.close()
    aarq, pass3, get = sent[:3]
    attacker = open_client("wrapper", port, "CIPHERED", settings=ciphered_settings())
    try:
        attacker._send_apdu(aarq)
        assert attacker._next_apdu()[0] == 0x61
        attacker._send_apdu(pass3)
        attacker._next_apdu()  # HLS pass 3 fails
        attacker._send_apdu(get)
        assert exception(attacker._next_apdu()).state_error is NOT_ALLOWED
    finally:
        attacker.close()


# -- limits: max PDU, HDLC segmented transfers, request reassembly --------------------------------

@pytest.fixture(scope="module")
def small_pdu_meter():
    with SimulatedMeter("C", seed=4, max_pdu_size=256) as m:
        m.targets = {"wrapper": m.serve_tcp(), "hdlc": m.serve_tcp(hdlc=True)}
        yield m


@pytest.mark.parametrize("kind", KINDS)
def test_oversized_apdu_is_refused_with_pdu_too_long(connect, small_pdu_meter, kind):
    client = connect(kind, "US", target=small_pdu_meter.targets[kind])
    accepted = client.associate()
    assert accepted.server_max_receive_pdu_size == 256
    before = client.get(8, CLOCK, 2)
    client._send_apdu(raw_set(Data(DataTag.OCTET_STRING, bytes(300))))
    refusal = exception(client._next_apdu())
    assert refusal.service_error is x.ServiceError.PDU_TOO_LONG
    again = associated(connect, kind, "MR", target=small_pdu_meter.targets[kind])
    assert again.get(8, CLOCK, 2).tag is before.tag


def test_endless_hdlc_segmented_transfer_drops_the_link(connect, small_pdu_meter):
    client = associated(connect, "hdlc", "MR", target=small_pdu_meter.targets["hdlc"])
    with pytest.raises((LinkDown, LineTimeout)):
        client._send_apdu(raw_set(Data(DataTag.OCTET_STRING, bytes(3000))))
        client._next_apdu()
    again = associated(connect, "hdlc", "MR", target=small_pdu_meter.targets["hdlc"])
    assert again.get(8, CLOCK, 2).tag is DataTag.OCTET_STRING


def test_hdlc_segment_bound_at_the_session_level(small_pdu_meter):
    session = small_pdu_meter.server.session(Framing.HDLC)
    server, client = HdlcAddress.server(1, 256), HdlcAddress.client(32)

    def frame(kind, **kw):
        return encode_frame(HdlcFrame(destination=server, source=client, frame_type=kind,
                                      poll_final=True, **kw))
    session.receive_data(frame(FrameType.SNRM))
    assert session._links
    for n_s in range(5):
        session.receive_data(frame(FrameType.I, n_s=n_s, segmented=True, info=bytes(100)))
    assert session._segments and session._links
    session.receive_data(frame(FrameType.I, n_s=5, segmented=True, info=bytes(100)))
    assert not session._segments and not session._links  # 600 > 2 × 256 + 64: link dropped
    [answer] = [f for f in FrameReader().feed(b"".join(session.receive_data(
        frame(FrameType.I, n_s=6, segmented=True, info=bytes(100)))))]
    assert answer.frame_type is FrameType.DM


def test_request_reassembly_limit(monkeypatch):
    assert MAX_REQUEST_REASSEMBLY == 1 << 20
    monkeypatch.setattr(connection_server, "MAX_REQUEST_REASSEMBLY", 200)
    with SimulatedMeter("C", seed=5, max_pdu_size=128) as meter:
        client = open_client("wrapper", meter.serve_tcp(), "US")
        try:
            assert isinstance(client.associate(), ev.AssociationAccepted)
            days = client.get(20, CALENDAR, 9)  # day_profile_table_passive, ~160 bytes
            bigger = Data(DataTag.ARRAY, days.value * 3)
            try:
                result = client.set(20, CALENDAR, 9, bigger)  # in datablocks, > 200 bytes
            except Exception as exc:  # noqa: BLE001 - a refused transfer may end the request
                result = exc
            assert result is not x.DataAccessResult.SUCCESS
        finally:
            client.close()
        assert associated_get(meter) == days


def associated_get(meter):
    port = meter.listeners[0].port
    client = open_client("wrapper", port, "US")
    try:
        assert isinstance(client.associate(), ev.AssociationAccepted)
        return client.get(20, CALENDAR, 9)
    finally:
        client.close()


# -- limits: idle time-out, max clients -----------------------------------------------------------

def _closed_by_peer(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(100) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


@pytest.mark.parametrize("hdlc", (False, True))
def test_idle_connection_is_closed(hdlc):
    with SimulatedMeter("C", seed=6, idle_timeout=0.5) as meter:
        port = meter.serve_tcp(hdlc=hdlc)
        busy = open_client("hdlc" if hdlc else "wrapper", port, "MR")
        try:
            assert isinstance(busy.associate(), ev.AssociationAccepted)
            idle = socket.create_connection(("127.0.0.1", port))
            start = time.monotonic()
            for _ in range(5):  # a client that keeps talking is kept
                time.sleep(0.25)
                assert busy.get(8, CLOCK, 2).tag is DataTag.OCTET_STRING
            assert _closed_by_peer(idle, 2.0)
            assert 0.5 <= time.monotonic() - start
            idle.close()
            time.sleep(0.8)
            with pytest.raises((LineLost, LineTimeout, OSError)):
                busy.get(8, CLOCK, 2)
        finally:
            busy.line.close()


def test_max_clients_refuses_the_extra_connection():
    with SimulatedMeter("C", seed=8, max_clients=2) as meter:
        wrapper, hdlc = meter.serve_tcp(), meter.serve_tcp(hdlc=True)
        first = open_client("wrapper", wrapper, "MR")
        second = open_client("hdlc", hdlc, "MR")  # the limit covers every TCP listener
        try:
            for client in (first, second):
                assert isinstance(client.associate(), ev.AssociationAccepted)
            deadline = time.monotonic() + 2
            while meter.server.client_count < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            extra = socket.create_connection(("127.0.0.1", wrapper))
            assert _closed_by_peer(extra, 2.0)
            extra.close()
            assert first.get(8, CLOCK, 2).tag is DataTag.OCTET_STRING  # the others go on
        finally:
            first.close()
        deadline = time.monotonic() + 2
        while meter.server.client_count > 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        third = open_client("wrapper", wrapper, "MR")  # a slot is free again
        try:
            assert isinstance(third.associate(), ev.AssociationAccepted)
        finally:
            third.close()
            second.close()


def test_a_flood_of_connections_leaves_the_meter_serving():
    with SimulatedMeter("C", seed=9, max_clients=4) as meter:
        port = meter.serve_tcp()
        socks = []
        for _ in range(30):
            socks.append(socket.create_connection(("127.0.0.1", port)))
        time.sleep(0.3)
        assert meter.server.client_count == 4
        assert threading.active_count() < 30
        for sock in socks:
            sock.close()
        deadline = time.monotonic() + 3
        while meter.server.client_count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert meter.server.client_count == 0
        client = open_client("wrapper", port, "MR")
        try:
            assert isinstance(client.associate(), ev.AssociationAccepted)
        finally:
            client.close()


def _flood_without_reading(port: int, seconds: float = 1.5) -> socket.socket:
    """Associate, then send GET requests for the object list (a large answer) without ever
    reading, until the socket stops taking bytes (both directions are jammed)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.settimeout(5)
    client = SimClient(SocketLine(sock), settings_for("MR"))
    assert isinstance(client.associate(), ev.AssociationAccepted)
    request = client.link.send(x.GetRequestNormal(
        cosem_attribute_descriptor=attribute(15, "0.0.40.0.0.255", 2)).encode())
    sock.setblocking(False)
    stuck_since = None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            sock.send(request)
            stuck_since = None
        except BlockingIOError:
            stuck_since = stuck_since or time.monotonic()
            if time.monotonic() - stuck_since >= seconds:
                return sock
            time.sleep(0.01)
        except OSError:
            return sock  # already dropped by the meter
    raise AssertionError("the meter kept reading a client that never reads")


def _drained_to_close(sock: socket.socket, within: float) -> bool:
    """Read what is queued; True when the peer closed or reset the connection in time."""
    sock.setblocking(True)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not sock.recv(1 << 20):
                return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
    return False


def test_clients_that_never_read_do_not_hold_their_slots():
    with SimulatedMeter("C", seed=10, max_clients=2, idle_timeout=1) as meter:
        port = meter.serve_tcp()
        hogs = [_flood_without_reading(port) for _ in range(2)]
        try:
            start = time.monotonic()
            while True:  # a new client is served within a few seconds
                try:
                    client = open_client("wrapper", port, "MR")
                    try:
                        assert isinstance(client.associate(), ev.AssociationAccepted)
                        assert client.get(8, CLOCK, 2).tag is DataTag.OCTET_STRING
                    finally:
                        client.close()
                    break
                except (LineLost, LineTimeout, OSError):
                    assert time.monotonic() - start < 6, "slots still held by the hogs"
                    time.sleep(0.1)
            # the meter dropped them (generous bound: a loaded machine may still be busy)
            assert all(_drained_to_close(hog, 10.0) for hog in hogs)
        finally:
            for hog in hogs:
                hog.close()


def test_stop_does_not_hang_on_a_client_that_never_reads():
    meter = SimulatedMeter("C", seed=11, idle_timeout=None)
    port = meter.serve_tcp()
    hog = _flood_without_reading(port)
    try:
        start = time.monotonic()
        meter.stop()
        assert time.monotonic() - start < 2
        assert not [t for t in threading.enumerate() if t.name.startswith("sim-client")]
    finally:
        hog.close()


# -- options ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ({"max_clients": 0}, {"max_clients": True}, {"idle_timeout": 0},
                                 {"idle_timeout": -1.0}))
def test_bad_limits_are_refused(bad):
    with pytest.raises(ValueError):
        ServerOptions(**bad)


def test_cli_passes_the_limits(monkeypatch):
    seen = {}

    class Recorder:
        def __init__(self, *args, **kw):
            seen.update(kw)
            raise ValueError("recorded")

    monkeypatch.setattr("meterreader.simulator.facade.SimulatedMeter", Recorder)
    args = cli.build_parser().parse_args(["--max-clients", "3", "--idle-timeout", "0",
                                          "--replay-guard"])
    assert cli.run(args) == cli.EXIT_USAGE
    assert seen["max_clients"] == 3 and seen["idle_timeout"] is None
    assert seen["replay_guard"] is True
    defaults = cli.build_parser().parse_args([])
    options = ServerOptions()
    assert (defaults.max_clients, defaults.idle_timeout) == (options.max_clients,
                                                           options.idle_timeout)


def test_cli_max_pdu_option(capsys):
    """``meterreader simulate --max-pdu 256`` (the fault matrix's set-up): the AARE carries
    256, a longer request gets pdu-too-long; bad sizes are usage errors."""
    parser = cli.build_parser()
    assert parser.parse_args([]).max_pdu == ServerOptions().max_pdu_size
    for bad in ("63", "65536", "x", "-1"):
        with pytest.raises(SystemExit):
            parser.parse_args(["--max-pdu", bad])
        assert "PDU size 64..65535" in capsys.readouterr().err
    args = parser.parse_args(["--wrapper-port", "0", "--max-pdu", "256"])
    stop = threading.Event()
    code: list[int] = []
    runner = threading.Thread(target=lambda: code.append(cli.run(args, stop)))
    runner.start()
    try:
        deadline, out = time.monotonic() + 10, ""
        while "listening" not in out and time.monotonic() < deadline:
            time.sleep(0.05)
            out += capsys.readouterr().out
        port = int(out.split("127.0.0.1:")[1].split()[0])
        client = open_client("wrapper", port, "US")
        try:
            accepted = client.associate()
            assert accepted.server_max_receive_pdu_size == 256
            huge = Data(DataTag.OCTET_STRING, bytes(300))
            client._send_apdu(raw_set(huge))
            reply = exception(client._next_apdu())
            assert reply.service_error is x.ServiceError.PDU_TOO_LONG
        finally:
            client.close()
    finally:
        stop.set()
        runner.join(10)
    assert code == [0]
