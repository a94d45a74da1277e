"""The fault matrix (docs/fault-matrix.md): every simulator fault × every medium, client Session
↔ SimulatedMeter over real sockets and a pty, reading a one-day block load in 256-byte PDUs
(about 21 datablocks) and comparing with a clean read of the same meter seed.

Expected (IEC 62056-46): where HDLC can recover (retransmission after the response timeout, or
the RR poll carrying V(R) after a discarded frame) the read completes with the clean data;
otherwise a typed error within the timeout bound, the rows already read are kept, and
``resume_profile`` continues from the last capture time until the data equals the clean read —
no duplicates, no gaps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import pytest

from session_meter import START

from meterreader.client import (ConnectionLost, ConnectionSettings, MeterNotAnswering,
                                ServiceFailed, Session, SessionState)
from meterreader.client.resume import ResumePoint, merge, read_rest, resume_profile
from meterreader.client.session_profile import ProfileResult
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.errors import DlmsError
from meterreader.dlms.hdlc import (ConnectRequest, Disconnected, DmReceived, FrameType,
                                   HdlcAddress, HdlcConfig, HdlcFrame, HdlcLink, Role, SendData,
                                   decode_frame, encode_frame)
from meterreader.dlms.security import CipheringMode, SecurityKeys
from meterreader.dlms.connection_events import BlockTransferError
from meterreader.simulator.facade import SimulatedMeter
from meterreader.simulator.faults import (Fault, FaultInjector, FaultKind, Write,
                                          renumber_frame)
from meterreader.transport import SerialTransport, TcpTransport

BLOCK_LOAD = "1.0.99.1.0.255"
MEDIA = ("wrapper", "hdlc-tcp", "pty")
TIMEOUT = 0.25
RETRIES = 2
CLOSE = 0.25
#: Longest a failing operation may take: every HDLC retry, the close, and scheduling slack.
BOUND = (RETRIES + 1) * TIMEOUT + CLOSE + 1.0
SEED = 11

#: The fault of each matrix row, sized to hit the middle of the block transfer.
FAULTS = {
    "delay beyond timeout": "delay=1.5",
    "dropped frame": "drop=12",
    "corrupt FCS": "corrupt=7",
    "duplicated frame": "duplicate=7",
    "wrong N(S)": "wrong-ns=3",
    "stall": "stall=3000",
    "TCP reset mid block transfer": "reset=3000",
    "association lost (meter reboot)": "reboot=15",
}


@dataclass(frozen=True)
class Expect:
    """``error`` None: the read completes with the clean data, and the session counter
    ``counter`` (when given) shows the recovery. Else that typed error within BOUND, on
    ``at`` ("connect" or "read"), rows kept and resumed."""

    error: type[BaseException] | None = None
    counter: str | None = None
    at: str = "read"
    silent_corruption: bool = False


RECOVERED_RETX = Expect(counter="retransmissions")
RECOVERED_REJECT = Expect(counter="frames_rejected")
EXPECTED: dict[tuple[str, str], Expect] = {}
for _medium in MEDIA:
    hdlc = _medium != "wrapper"
    EXPECTED.update({
        ("delay beyond timeout", _medium): Expect(error=MeterNotAnswering, at="connect"),
        # IEC 62056-47 has nothing to repeat: a lost packet is final; HDLC retransmits.
        ("dropped frame", _medium): RECOVERED_RETX if hdlc else Expect(error=MeterNotAnswering),
        # The wrapper has no frame check (TCP's checksum covers it on a real network).
        ("corrupt FCS", _medium): RECOVERED_RETX if hdlc else Expect(silent_corruption=True),
        # HDLC discards the repeated N(S); the wrapper sees a repeated datablock number.
        ("duplicated frame", _medium): RECOVERED_REJECT if hdlc
        else Expect(error=BlockTransferError),
        # No sequence numbers in the wrapper: the fault does not apply, the read completes.
        ("wrong N(S)", _medium): RECOVERED_REJECT if hdlc else Expect(),
        ("stall", _medium): Expect(error=MeterNotAnswering),
        ("TCP reset mid block transfer", _medium): Expect(error=ConnectionLost),
        # HDLC: the rebooted meter answers DM; wrapper: an ExceptionResponse (no association).
        ("association lost (meter reboot)", _medium): Expect(
            error=ConnectionLost if hdlc else ServiceFailed),
    })


def _settings(medium: str, timeout: float = TIMEOUT) -> ConnectionSettings:
    return ConnectionSettings.for_association(
        "mr", framing="wrapper" if medium == "wrapper" else "hdlc", response_timeout=timeout,
        retries=RETRIES, close_timeout=CLOSE)


def _meter(*faults: str, **options) -> SimulatedMeter:
    return SimulatedMeter(category="C", seed=SEED, start=START, days_of_block_load=1,
                          max_pdu_size=256, faults=faults, **options)


class Line:
    """Opens client transports to one medium of a meter; a pty line is replugged (a new pty,
    its fault counters afresh) for every new session, a TCP port is connected again."""

    def __init__(self, meter: SimulatedMeter, medium: str,
                 settings: ConnectionSettings | None = None) -> None:
        self.meter, self.medium = meter, medium
        self.settings = settings or _settings(medium)
        self.port = None if medium == "pty" else meter.serve_tcp(hdlc=medium == "hdlc-tcp")

    def session(self) -> Session:
        if self.medium == "pty":
            transport = SerialTransport(self.meter.serve_pty(), baudrate=9600)
        else:
            transport = TcpTransport("127.0.0.1", self.port)
        return Session(transport, self.settings)


@pytest.fixture(scope="module")
def clean() -> ProfileResult:
    """The block load of the same meter seed, read without faults."""
    with _meter() as meter:
        with Line(meter, "wrapper", _settings("wrapper", timeout=3.0)).session() as session:
            result = session.read_profile(BLOCK_LOAD)
    assert result.complete and result.blocks >= 15 and len(result.rows) > 60
    return result


def _resume_until_complete(line: Line, partial: ProfileResult, attempts: int = 12
                           ) -> tuple[ProfileResult, int]:
    result, used = partial, 0
    while not result.complete:
        assert used < attempts, f"still incomplete after {used} resumes: {result.error!r}"
        used += 1
        session = line.session()
        try:
            session.connect()
            result = resume_profile(session, result)
        except DlmsError:
            continue  # failed before the first new datablock: try again, nothing was lost
        finally:
            session.close()
    return result, used


@pytest.mark.parametrize("medium", MEDIA)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_matrix(fault: str, medium: str, clean: ProfileResult) -> None:
    expect = EXPECTED[(fault, medium)]
    with _meter(FAULTS[fault]) as meter:
        line = Line(meter, medium)
        session = line.session()
        started = time.monotonic()
        if expect.at == "connect":
            with pytest.raises(expect.error):
                session.connect()
            assert time.monotonic() - started < BOUND
            assert session.state is SessionState.CLOSED
            return
        session.connect()
        started = time.monotonic()
        result = session.read_profile(BLOCK_LOAD)
        elapsed = time.monotonic() - started
        stats = session.stats
        session.close()

        if expect.silent_corruption:
            assert any(a != b for a, b in zip(result.rows, clean.rows))
            assert elapsed < BOUND
            return
        if expect.error is None:
            assert result.complete, result.error
            assert result.rows == clean.rows and result.raw_rows == clean.raw_rows
            if expect.counter is not None:
                assert getattr(stats, expect.counter) >= 1
            return

        # A clear typed error within the bound; the rows read so far are kept, exact.
        assert not result.complete and isinstance(result.error, expect.error), result.error
        assert elapsed < BOUND
        assert session.state is SessionState.CLOSED
        assert 0 < len(result.rows) < len(clean.rows)
        assert result.rows == clean.rows[:len(result.rows)]
        resumed, used = _resume_until_complete(line, result)
    assert used >= 1
    assert resumed.rows == clean.rows and resumed.raw_rows == clean.raw_rows


# -- the wrong-N(S) fault and the partial frame at a timeout, sans-IO -----------------------------

def test_renumber_frame_moves_n_s_and_keeps_the_checksums_valid() -> None:
    frame = encode_frame(HdlcFrame(destination=HdlcAddress.client(16),
                                   source=HdlcAddress.server(1, 256), frame_type=FrameType.I,
                                   n_s=7, n_r=3, poll_final=True, info=b"\xe6\xe7\x00\xc4\x01"))
    moved, _ = decode_frame(renumber_frame(frame))
    original, _ = decode_frame(frame)
    assert moved == replace(original, n_s=0)  # modulo 8
    rr = encode_frame(HdlcFrame(destination=HdlcAddress.client(16),
                                source=HdlcAddress.server(1, 256), frame_type=FrameType.RR,
                                n_r=2, poll_final=True))
    packet = bytes.fromhex("0001000100100003c40101")
    assert renumber_frame(rr) == rr and renumber_frame(packet) == packet
    assert renumber_frame(frame[:-3] + b"\x00\x00\x7e") == frame[:-3] + b"\x00\x00\x7e"
    assert Fault.parse("wrong-ns=3") == Fault(kind=FaultKind.WRONG_NS, value=3)
    assert FaultInjector([Fault.parse("wrong-ns=2")]).outgoing([frame, frame]) == [
        Write(data=frame), Write(data=renumber_frame(frame))]


def test_a_timeout_discards_the_half_frame_so_the_next_frame_is_seen() -> None:
    """IEC 62056-46: a frame cut off by silence is discarded at the time-out; the peer's next
    frame (here the DM of a meter that hung up) must not be read as the rest of it."""
    client = HdlcLink(Role.CLIENT, HdlcConfig(client_address=HdlcAddress.client(16),
                                              server_address=HdlcAddress.server(1, 17)))
    server = HdlcLink(Role.SERVER, HdlcConfig(server_address=HdlcAddress.server(1, 17)))
    server.receive_data(client.send(ConnectRequest()))
    client.receive_data(server.data_to_send())
    server.receive_data(client.send(SendData(lsdu=b"\xc0\x01")))
    assert server.data_to_send() == b""
    answer = server.send(SendData(lsdu=bytes(200)))
    assert client.receive_data(answer[:60]) == []  # half a frame, then the line falls silent
    client.timeout_expired()
    dm = encode_frame(HdlcFrame(destination=HdlcAddress.client(16),
                                source=HdlcAddress.server(1, 17), frame_type=FrameType.DM,
                                poll_final=True))
    assert [type(e) for e in client.receive_data(dm)] == [DmReceived, Disconnected]


# -- recovery details ---------------------------------------------------------------------------

@pytest.mark.parametrize("medium", ["hdlc-tcp", "pty"])
def test_wrong_ns_recovers_by_rr_poll_without_waiting(medium: str, clean: ProfileResult) -> None:
    """IEC 62056-46: the out-of-sequence I-frame is discarded and the poll answered with RR
    N(R) = V(R): the meter repeats from there, no response timeout is spent."""
    with _meter("wrong-ns=3") as meter:
        session = Line(meter, medium, _settings(medium, timeout=2.0)).session()
        with session:
            started = time.monotonic()
            result = session.read_profile(BLOCK_LOAD)
            elapsed = time.monotonic() - started
            stats = session.stats
    assert result.rows == clean.rows
    assert stats.frames_rejected >= 5 and stats.retransmissions == 0 and elapsed < 1.5


def test_hung_up_pty_mid_frame_ends_with_dm_not_silence() -> None:
    """A meter that hangs up mid-frame (pty "reset") leaves half a frame in the client's
    reader; it is discarded at the response timeout, so the meter's DM is seen: ConnectionLost
    after one timeout rather than MeterNotAnswering after every retry."""
    with _meter("reset=3000") as meter:
        session = Line(meter, "pty").session()
        session.connect()
        started = time.monotonic()
        result = session.read_profile(BLOCK_LOAD)
        elapsed = time.monotonic() - started
        session.close()
    assert isinstance(result.error, ConnectionLost) and "DM" in str(result.error)
    assert elapsed < 2 * TIMEOUT + 0.5


def test_corrupted_wrapper_packet_is_caught_by_authenticated_ciphering(
        clean: ProfileResult) -> None:
    """Where the wrapper cannot see corruption, the GMAC tag of authenticated ciphering does:
    a typed error, the rows before it kept, and the resume completes the clean data."""
    ek, ak = bytes(range(16)), bytes(range(16, 32))
    with _meter("corrupt=13", ciphered_client=64, encryption_key=ek,
                authentication_key=ak) as meter:
        settings = ConnectionSettings(
            client_sap=64, mechanism=MechanismName.HIGH_GMAC, ciphering=CipheringMode.GLOBAL,
            keys=SecurityKeys(encryption_key=ek, authentication_key=ak),
            client_system_title=b"MRC00001", response_timeout=TIMEOUT, retries=RETRIES,
            close_timeout=CLOSE)
        line = Line(meter, "wrapper", settings)
        session = line.session()
        session.connect()
        started = time.monotonic()
        result = session.read_profile(BLOCK_LOAD)
        elapsed = time.monotonic() - started
        session.close()
        assert not result.complete and isinstance(result.error, DlmsError)
        assert elapsed < BOUND
        assert result.rows == clean.rows[:len(result.rows)]
        resumed, _ = _resume_until_complete(line, result)
    assert resumed.rows == clean.rows


# -- resume -------------------------------------------------------------------------------------

def test_resume_point_counts_the_rows_at_the_last_capture_time(clean: ProfileResult) -> None:
    point = ResumePoint.of(ProfileResult(
        obis=clean.obis, columns=clean.columns, rows=clean.rows[:10] + (clean.rows[9],),
        raw_rows=clean.raw_rows[:10] + (clean.raw_rows[9],), complete=False))
    assert point.last == clean.rows[9][0] and point.at_last == 2 and point.kept == 11
    assert point.request() == {"range": (clean.rows[9][0], None)}
    by_entry = ResumePoint.of(clean, entries=(5, 90))
    assert by_entry.request() == {"entries": (5 + len(clean.rows), 90)}


@pytest.mark.parametrize("cut", [1, 17, 40])
def test_resume_by_range_and_by_entry_has_no_duplicates_or_gaps(clean: ProfileResult,
                                                                cut: int) -> None:
    span = (clean.rows[5][0], clean.rows[60][0])
    with _meter() as meter:
        line = Line(meter, "hdlc-tcp")
        with line.session() as session:
            by_range = session.read_profile(BLOCK_LOAD, range=span)
            partial = ProfileResult(obis=by_range.obis, columns=by_range.columns,
                                    rows=by_range.rows[:cut], raw_rows=by_range.raw_rows[:cut],
                                    complete=False)
            resumed = resume_profile(session, partial, span=span)
            by_entry = session.read_profile(BLOCK_LOAD, entries=(3, 50))
            cut_entry = ProfileResult(obis=by_entry.obis, columns=by_entry.columns,
                                      rows=by_entry.rows[:cut], raw_rows=by_entry.raw_rows[:cut],
                                      complete=False)
            resumed_entry = resume_profile(session, cut_entry, entries=(3, 50))
            rest = read_rest(session, ResumePoint.of(by_range, span=span))
    assert by_range.rows == clean.rows[5:61] and resumed.rows == by_range.rows
    assert resumed.complete and resumed_entry.rows == clean.rows[2:50]
    assert rest.rows == () and merge(by_range, rest).rows == by_range.rows


# -- the command line: meterreader profile ... --resume FILE ------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_cli_profile_resume_appends_only_the_missing_rows(tmp_path, capsys, fmt: str) -> None:
    from meterreader.cli import main

    def profile(port: int, *extra: str) -> int:
        return main(["profile", "--tcp", f"127.0.0.1:{port}", "--association", "mr",
                     "--password", "12345678", BLOCK_LOAD, "--format", fmt, *extra])

    clean_file, saved = tmp_path / f"clean.{fmt}", tmp_path / f"saved.{fmt}"
    with _meter() as meter:
        assert profile(meter.serve_tcp(), "--output", str(clean_file)) == 0
    with _meter("reset=3000") as meter:
        port = meter.serve_tcp()
        assert profile(port, "--output", str(saved)) == 3  # connection lost part-way
        assert "transfer failed part-way" in capsys.readouterr().err
        first = saved.read_text(encoding="utf-8")
        codes = []
        while not codes or codes[-1] != 0:
            assert len(codes) < 8, (codes, capsys.readouterr().err)
            codes.append(profile(port, "--resume", str(saved)))
        err = capsys.readouterr().err
    assert codes[-1] == 0 and set(codes[:-1]) <= {3} and "new rows" in err, err
    text = saved.read_text(encoding="utf-8")
    assert text == clean_file.read_text(encoding="utf-8")
    if fmt == "csv":
        assert text.startswith(first)  # the rows already saved are kept as they were


def test_cli_resume_refuses_another_profile(tmp_path, capsys) -> None:
    from meterreader.cli import main

    saved = tmp_path / "other.json"
    saved.write_text('{"obis": "1.0.98.1.0.255", "columns": [], "rows": []}', encoding="utf-8")
    with _meter() as meter:
        code = main(["profile", "--tcp", f"127.0.0.1:{meter.serve_tcp()}", "--association",
                     "mr", "--password", "12345678", BLOCK_LOAD, "--resume", str(saved)])
    assert code == 2 and "holds profile 1.0.98.1.0.255" in capsys.readouterr().err
    assert saved.read_text(encoding="utf-8").startswith('{"obis": "1.0.98.1.0.255"')


def test_rows_sharing_the_last_timestamp_are_neither_lost_nor_repeated(clean) -> None:
    """An event log may capture several rows at one instant: the continuation re-reads that
    instant, and only the rows at it not kept yet are new."""
    from meterreader.client.resume import new_rows

    t = clean.rows[3][0]
    row = lambda when, n: (when,) + clean.rows[3][1:-1] + (n,)  # noqa: E731
    kept = ProfileResult(obis=clean.obis, columns=clean.columns, raw_rows=(),
                         rows=(row(clean.rows[2][0], 0), row(t, 1), row(t, 2)), complete=False)
    point = ResumePoint.of(kept)
    assert (point.last, point.at_last) == (t, 2)
    again = ProfileResult(obis=clean.obis, columns=clean.columns, raw_rows=(),
                          rows=(row(t, 1), row(t, 2), row(t, 3), row(clean.rows[4][0], 4)))
    assert new_rows(point, again) == (2, 2)


def _profile_cli(port: int, *extra: str) -> int:
    from meterreader.cli import main

    return main(["profile", "--tcp", f"127.0.0.1:{port}", "--association", "mr",
                 "--password", "12345678", BLOCK_LOAD, *extra])


@pytest.mark.parametrize("cut", ["mid-cell", "after-comma"])
def test_cli_resume_rereads_a_row_cut_in_the_middle(tmp_path, capsys, cut: str) -> None:
    """A CSV cut in the middle of a row (a crash of an older writer, a copy cut short): the
    partial last row is dropped, read again, and the file ends equal to a clean read."""
    clean_file, saved = tmp_path / "clean.csv", tmp_path / "saved.csv"
    with _meter() as meter:
        port = meter.serve_tcp()
        assert _profile_cli(port, "--output", str(clean_file)) == 0
        clean = clean_file.read_text(encoding="utf-8")
        lines = clean.splitlines(keepends=True)
        assert len(lines) > 20
        row = lines[20]
        part = row[:row.rindex(",") - 2] if cut == "mid-cell" else row[:row.index(",") + 1]
        saved.write_text("".join(lines[:20]) + part, encoding="utf-8")
        capsys.readouterr()
        assert _profile_cli(port, "--resume", str(saved)) == 0
        err = capsys.readouterr().err
    assert "last row is incomplete" in err and "read again" in err, err
    assert saved.read_text(encoding="utf-8") == clean


@pytest.mark.parametrize("rows", ['{"a": 1}', '[1, 2]', '[["x"], 5]', '[["x"], ["y", "z"], []]'])
def test_cli_resume_refuses_json_rows_that_are_not_lists(tmp_path, capsys, rows: str) -> None:
    saved = tmp_path / "saved.json"
    saved.write_text('{"obis": "%s", "columns": [{"title": "Clock", "class_id": 8, '
                     '"attribute": 2}, {"title": "V"}], "rows": %s}' % (BLOCK_LOAD, rows),
                     encoding="utf-8")
    code = _profile_cli(1, "--resume", str(saved))  # refused before any connection
    err = capsys.readouterr().err
    assert code == 2, err
    assert "--resume" in err and "Traceback" not in err and "TypeError" not in err, err


def test_cli_profile_output_is_written_atomically(tmp_path, capsys, monkeypatch) -> None:
    """An export that fails while writing leaves the old file, not half a new one."""
    import meterreader.cli_profile as cli_profile

    target = tmp_path / "block.csv"
    target.write_text("old complete file\n", encoding="utf-8")

    def half_then_fail(result, out) -> None:
        out.write("Clock,half a ro")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli_profile, "write_csv", half_then_fail)
    with _meter() as meter:
        code = _profile_cli(meter.serve_tcp(), "--output", str(target))
    assert code != 0
    assert target.read_text(encoding="utf-8") == "old complete file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["block.csv"]
