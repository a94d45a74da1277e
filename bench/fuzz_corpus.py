"""Seed corpus and mutators of ``bench/fuzz.py`` (importable by tests too).

The corpus is recorded, not hand-written: real client sessions (public, LLS, HLS, HLS-GMAC with
global ciphering; wrapper and HDLC; a small PDU size so that block transfers occur) run against
the simulator's protocol glue in memory, and every byte string that crossed the line is kept —
HDLC frames, wrapper packets, the APDUs inside them and A-XDR values from GET answers. The
client's writes of each session are also kept in order (a *transcript*), so the live-simulator
fuzzer can replay a valid session with one step mutated.

Mutators (``mutate(rng, data, donors)``): bit flip, interesting byte, truncation, insertion,
deletion, duplication, splice from another corpus item and length-field tweaks (A-XDR/BER long
forms claiming up to 2**32 - 1 items, HDLC/wrapper length fields). ``fix_hdlc`` re-seals the HCS
and FCS of a mutated frame so that the mutation reaches the layers above the checksums.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Callable, Sequence

from meterreader.client import ConnectionSettings, Session
from meterreader.dlms import xdlms as x
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.axdr import Data, encode_data
from meterreader.dlms.errors import DlmsError
from meterreader.dlms.hdlc import FrameReader, HdlcFrame, encode_frame
from meterreader.dlms.hdlc.crc import fcs
from meterreader.dlms.security import CipheringMode, SecurityKeys
from meterreader.dlms.wrapper import WrapperReader
from meterreader.simulator.facade import SimulatedMeter
from meterreader.simulator.server import Framing as ServerFraming
from meterreader.transport import FakeTransport

#: Keys of the simulator's ciphered association used by the corpus and the live fuzzer.
EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
CLIENT_TITLE = b"MRC00001"
SERVER_TITLE = b"MRD\x00\x00\x00\x00\x01"
CIPHERED_SAP = 64
START = dt.datetime(2024, 3, 10, 12, 0)
BLOCK_LOAD = "1.0.99.1.0.255"


def seeded_rng(seed: int) -> Callable[[int], bytes]:
    """A reproducible stand-in for ``secrets.token_bytes`` (challenges, so the corpus is too)."""
    rng = random.Random(seed)
    return rng.randbytes


def build_meter(**extra: object) -> SimulatedMeter:
    """The meter every fuzz run talks to (deterministic: fixed seed, start and rng)."""
    return SimulatedMeter(category="C", seed=5, start=START, now=lambda: START,
                          days_of_block_load=1,
                          ciphered_client=CIPHERED_SAP, encryption_key=EK, authentication_key=AK,
                          system_title=SERVER_TITLE, rng=seeded_rng(1),
                          **extra)  # type: ignore[arg-type]


def connection_settings(association: str, framing: str, **overrides: object) -> ConnectionSettings:
    """Client settings of ``association`` ("pc", "mr", "us" or "ciphered") over ``framing``."""
    values: dict[str, object] = dict(framing=framing, response_timeout=2.0, close_timeout=1.0,
                                     keep_alive_interval=None)
    values.update(overrides)
    if association == "ciphered":
        return ConnectionSettings(
            client_sap=CIPHERED_SAP, mechanism=MechanismName.HIGH_GMAC,
            ciphering=CipheringMode.GLOBAL, client_system_title=CLIENT_TITLE,
            keys=SecurityKeys(encryption_key=EK, authentication_key=AK),
            **values)  # type: ignore[arg-type]
    return ConnectionSettings.for_association(association, **values)


@dataclass
class Corpus:
    """Valid byte strings by kind, plus the client transcripts by framing."""

    hdlc: list[bytes] = field(default_factory=list)
    wrapper: list[bytes] = field(default_factory=list)
    apdu: list[bytes] = field(default_factory=list)
    ciphered: list[bytes] = field(default_factory=list)
    axdr: list[bytes] = field(default_factory=list)
    transcripts: dict[str, list[list[bytes]]] = field(default_factory=dict)

    def all(self) -> list[bytes]:
        return self.hdlc + self.wrapper + self.apdu + self.ciphered + self.axdr


def _session_ops(session: Session) -> None:
    """What each recorded session does (an operation the association may not do is refused by
    the meter, which records a refusal: fine too)."""
    for op in (session.read_clock, lambda: session.read_register("1.0.1.8.0.255"),
               lambda: session.read_profile(BLOCK_LOAD, entries=(1, 4))):
        try:
            op()
        except DlmsError:
            pass


def _record(meter: SimulatedMeter, association: str, framing: str, corpus: Corpus,
            **overrides: object) -> None:
    line = meter.server.session(ServerFraming(framing))
    writes: list[bytes] = []
    answers: list[bytes] = []

    def respond(data: bytes) -> list[bytes]:
        writes.append(bytes(data))
        out = line.receive_data(data)
        answers.extend(out)
        return out

    transport = FakeTransport(description=f"corpus {framing}", responder=respond)
    with Session(transport, connection_settings(association, framing, **overrides),
                 rng=seeded_rng(2)) as session:
        _session_ops(session)
    corpus.transcripts.setdefault(framing, []).append(writes)
    _split(writes + answers, framing, corpus)


def _split(chunks: list[bytes], framing: str, corpus: Corpus) -> None:
    """File every frame/packet of ``chunks`` and the APDUs/values inside it."""
    units: list[bytes] = []
    if framing == "hdlc":
        for chunk in chunks:
            for item in FrameReader().feed(chunk):
                if isinstance(item, HdlcFrame):
                    corpus.hdlc.append(encode_frame(item))
                    if len(item.info) > 3:
                        units.append(item.info[3:])  # LLC header off
    else:
        for chunk in chunks:
            for packet in WrapperReader().feed(chunk):
                corpus.wrapper.append(packet.encode())
                units.append(packet.data)
    for apdu in units:
        (corpus.ciphered if apdu[:1] and apdu[0] in _CIPHERED else corpus.apdu).append(apdu)
        try:
            pdu = x.decode_apdu(apdu)
        except DlmsError:
            continue  # a segment of a longer APDU
        for name in ("result", "value", "parameters", "data"):
            value = getattr(pdu, name, None)
            if isinstance(value, Data):
                corpus.axdr.append(encode_data(value))


_CIPHERED = frozenset(int(t) for t in x.SERVICE_SPECIFIC_CIPHERED_TAGS | x.GENERAL_CIPHERED_TAGS)


def record_corpus() -> Corpus:
    """Run the reference sessions in memory and collect what crossed the line."""
    corpus = Corpus()
    meter = build_meter()
    for association, framing, extra in (
            ("pc", "wrapper", {}), ("mr", "hdlc", {}), ("us", "wrapper", {"max_pdu_size": 128}),
            ("ciphered", "wrapper", {}), ("ciphered", "hdlc", {"max_pdu_size": 256}),
            ("mr", "hdlc", {"max_pdu_size": 200})):
        _record(meter, association, framing, corpus, **extra)
    for kind in ("hdlc", "wrapper", "apdu", "ciphered", "axdr"):
        unique = list(dict.fromkeys(getattr(corpus, kind)))
        setattr(corpus, kind, unique)
    return corpus


# -- mutators --------------------------------------------------------------------------------

_INTERESTING = (0x00, 0x01, 0x7E, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0xFF, 0xFE, 0xA0, 0xA8)
_HUGE_LENGTHS = (b"\x84\xff\xff\xff\xff", b"\x84\x7f\xff\xff\xff", b"\x83\xff\xff\xff",
                 b"\x82\xff\xff", b"\x81\xff", b"\x80", b"\x85\x01\x00\x00\x00\x00")

Mutator = Callable[[random.Random, bytearray, Sequence[bytes]], None]


def _flip(rng: random.Random, b: bytearray, donors: Sequence[bytes]) -> None:
    if b:
        b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)


def _interesting(rng: random.Random, b: bytearray, donors: Sequence[bytes]) -> None:
    if b:
        b[rng.randrange(len(b))] = rng.choice(_INTERESTING)


def _truncate(rng: random.Random, b: bytearray, donors: Sequence[bytes]) -> None:
    del b[rng.randrange(len(b) + 1):]


def _insert(rng: random.Random, b: bytearray, donors: Sequence[bytes]) -> None:
    at = rng.randrange(len(b) + 1)
    b[at:at] = rng.randbytes(rng.randint(1, 8))


def _delete(rng: random.Random, b: bytearray, donors: Sequence[bytes]) -> None:
    if b:
        at = rng.randrange(len(b))
        del b[at:at + rng.randint(1, 8)]


def _duplicate(rng: random.Random, b: bytearray, donors: Sequence[bytes]) -> None:
    if b:
        at, src = rng.randrange(len(b)), rng.randrange(len(b))
        b[at:at] = b[src:src + rng.randint(1, 32)]


def _splice(rng: random.Random, b: bytearray, donors: Sequence[bytes]) -> None:
    donor = rng.choice(donors) if donors else b""
    if donor:
        at, src = rng.randrange(len(b) + 1), rng.randrange(len(donor))
        b[at:] = donor[src:src + rng.randint(1, 64)] + (b[at:] if rng.random() < 0.5 else b"")


def _length_tweak(rng: random.Random, b: bytearray, donors: Sequence[bytes]) -> None:
    """Replace a byte by a long-form length claiming many items, or nudge a byte by +-1."""
    if not b:
        return
    at = rng.randrange(len(b))
    if rng.random() < 0.5:
        b[at:at + 1] = rng.choice(_HUGE_LENGTHS)
    else:
        b[at] = (b[at] + rng.choice((-1, 1, 0x40, -0x40))) & 0xFF


MUTATORS: tuple[Mutator, ...] = (_flip, _interesting, _truncate, _insert, _delete, _duplicate,
                                 _splice, _length_tweak)


def mutate(rng: random.Random, data: bytes, donors: Sequence[bytes] = ()) -> bytes:
    """``data`` with 1-4 random mutations (``donors``: material for splices)."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        rng.choice(MUTATORS)(rng, b, donors)
    return bytes(b)


def fix_hdlc(frame: bytes) -> bytes:
    """Recompute the length, HCS and FCS of a (mutated) single HDLC frame, if it still looks like
    one (7E A? .. 7E); otherwise return it unchanged."""
    if len(frame) < 9 or frame[0] != 0x7E or frame[-1] != 0x7E or frame[1] & 0xF0 != 0xA0:
        return frame
    body = bytearray(frame[1:-1])
    length = len(body)
    if length > 0x7FF:
        return frame
    body[0] = (body[0] & 0xF8) | (length >> 8)
    body[1] = length & 0xFF
    # header: format (2), destination and source (self-delimiting), control
    pos = 2
    for _ in range(2):
        while pos < len(body) - 3 and not body[pos] & 1:
            pos += 1
        pos += 1
    header_end = pos + 1
    if header_end + 4 < length:  # room for HCS and a non-empty info field
        body[header_end:header_end + 2] = fcs(bytes(body[:header_end]))
    body[-2:] = fcs(bytes(body[:-2]))
    return b"\x7e" + bytes(body) + b"\x7e"
