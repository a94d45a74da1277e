"""Block transfer helpers shared by both roles of the connection (Green Book ed.9, xDLMS service
block transfer: GET datablocks, SET datablocks, ACTION pblocks).

A long value travels as its A-XDR encoding cut into blocks numbered from 1; the receiver
concatenates the raw-data in order and decodes the whole once the last block arrived. What the
raw-data holds per service:

* GET (normal): the encoded ``Data``; GET with list: the SEQUENCE OF Get-Data-Result (count and
  results, i.e. the get-response-with-list body after invoke-id-and-priority);
* SET (normal): the encoded ``Data``; SET with list: the SEQUENCE OF Data of the values;
* ACTION request: the encoded method parameters; ACTION response: the encoded return ``Data``.

Sizes: an APDU must not exceed the peer's max-receive-PDU-size; :func:`payload_size` derives the
raw-data per block from an APDU header and the protection overhead. The number of blocks is not
limited by the protocol, so :class:`Reassembly` refuses to collect more than ``max_size`` bytes
(:data:`DEFAULT_MAX_REASSEMBLY`, enough for any profile a client reads in one GET); a server
collecting SET datablocks / ACTION pblocks should pass the tighter :data:`MAX_REQUEST_REASSEMBLY`.
"""

from __future__ import annotations

from meterreader.dlms import xdlms as x
from meterreader.dlms.axdr import Data, decode_data, decode_length, encode_data, encode_length
from meterreader.dlms.errors import DecodeError, LocalProtocolError, Reason, RemoteProtocolError
from meterreader.dlms.security import CipheringMode
from meterreader.dlms.xdlms.datablock import decode_get_data_result, encode_get_data_result

# Service-specific ciphered APDU: tag (1) + length (up to 3) + security control (1) + invocation
# counter (4) + GCM tag (12). General-glo/ded-ciphering adds the system title (1 + 8).
_SERVICE_SPECIFIC_OVERHEAD = 1 + 3 + 1 + 4 + 12
_GENERAL_OVERHEAD = _SERVICE_SPECIFIC_OVERHEAD + 1 + 8
#: APDU size used when a peer announces 0 ("no limit"): the Unsigned16 maximum.
NO_LIMIT = 0xFFFF
#: Most bytes a Reassembly collects by default (GET responses of long profiles included).
DEFAULT_MAX_REASSEMBLY = 16 << 20
#: Suggested limit for what a server reassembles from a client (SET values, ACTION parameters).
MAX_REQUEST_REASSEMBLY = 1 << 20


def effective_limit(size: int) -> int:
    """A max-receive-PDU-size with 0 (no limit) mapped to 0xFFFF."""
    return size or NO_LIMIT


def protection_overhead(mode: CipheringMode | None) -> int:
    """Bytes the ciphering adds around a plain APDU (an upper bound)."""
    if mode is None:
        return 0
    if mode in (CipheringMode.GENERAL_GLOBAL, CipheringMode.GENERAL_DEDICATED):
        return _GENERAL_OVERHEAD
    return _SERVICE_SPECIFIC_OVERHEAD


def payload_size(limit: int, empty_block_apdu: bytes, mode: CipheringMode | None) -> int:
    """Raw-data bytes per block so that the APDU fits ``limit``.

    ``empty_block_apdu`` is the block APDU encoded with empty raw-data (its length byte 00);
    the length field of a full block may take up to 3 bytes."""
    room = limit - protection_overhead(mode) - (len(empty_block_apdu) - 1)
    room -= len(encode_length(max(room, 0)))
    if room < 1:
        raise LocalProtocolError(f"a PDU size of {limit} leaves no room for block data")
    return room


def split(raw: bytes, size: int) -> list[bytes]:
    """``raw`` cut into blocks of ``size`` bytes (at least one block)."""
    return [raw[i:i + size] for i in range(0, len(raw), size)] or [b""]


class Reassembly:
    """Blocks received in order, numbered from 1, at most ``max_size`` bytes in all."""

    __slots__ = ("chunks", "size", "last_number", "max_size")

    def __init__(self, max_size: int = DEFAULT_MAX_REASSEMBLY) -> None:
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 0:
            raise LocalProtocolError(f"max_size must be a non-negative int, not {max_size!r}")
        self.chunks: list[bytes] = []
        self.size = 0
        self.last_number = 0
        self.max_size = max_size

    @property
    def expected(self) -> int:
        return self.last_number + 1

    def add(self, number: int, raw: bytes) -> bool:
        """Append block ``number``; False (nothing appended) when it is not the expected one.

        RemoteProtocolError (TOO_LONG, nothing appended) when the blocks would exceed
        ``max_size``."""
        if number != self.expected:
            return False
        if self.size + len(raw) > self.max_size:
            raise RemoteProtocolError(
                f"block {number} would make the reassembled data {self.size + len(raw)} bytes, "
                f"more than the limit of {self.max_size}", data=raw, offset=0,
                reason=Reason.TOO_LONG)
        self.chunks.append(raw)
        self.size += len(raw)
        self.last_number = number
        return True

    @property
    def raw(self) -> bytes:
        return b"".join(self.chunks)


class Outgoing:
    """Blocks still to send, numbered from 1."""

    __slots__ = ("blocks", "sent")

    def __init__(self, blocks: list[bytes]) -> None:
        self.blocks = blocks
        self.sent = 0

    def next_block(self) -> x.DataBlockSA:
        """The next block as DataBlock-SA (raises LocalProtocolError when none is left)."""
        if self.sent >= len(self.blocks):
            raise LocalProtocolError("no block left to send")
        raw = self.blocks[self.sent]
        self.sent += 1
        return x.DataBlockSA(last_block=self.sent == len(self.blocks), block_number=self.sent,
                             raw_data=raw)

    @property
    def done(self) -> bool:
        return self.sent >= len(self.blocks)


# -- raw-data codecs ------------------------------------------------------------------------------

def decode_value(raw: bytes) -> Data:
    """Exactly one Data value."""
    value, end = decode_data(raw, 0)
    if end != len(raw):
        raise DecodeError(f"{len(raw) - end} byte(s) after the reassembled value", data=raw,
                          offset=end, reason=Reason.TRAILING_DATA)
    return value


def _count(raw: bytes, what: str) -> tuple[int, int]:
    n, pos = decode_length(raw, 0)
    if n > len(raw) - pos:  # every element takes at least one byte
        raise DecodeError(f"{what}: {n} elements announced, {len(raw) - pos} byte(s) left",
                          data=raw, offset=len(raw), reason=Reason.TRUNCATED)
    return n, pos


def decode_values(raw: bytes) -> tuple[Data, ...]:
    """SEQUENCE OF Data (count, then the values)."""
    n, pos = _count(raw, "SEQUENCE OF Data")
    values = []
    for _ in range(n):
        value, pos = decode_data(raw, pos)
        values.append(value)
    if pos != len(raw):
        raise DecodeError("bytes after the reassembled values", data=raw, offset=pos,
                          reason=Reason.TRAILING_DATA)
    return tuple(values)


def encode_values(values: tuple[Data, ...]) -> bytes:
    return encode_length(len(values)) + b"".join(encode_data(v) for v in values)


def decode_results(raw: bytes) -> tuple[Data | x.DataAccessResult, ...]:
    """SEQUENCE OF Get-Data-Result (count, then data [0] / data-access-result [1])."""
    n, pos = _count(raw, "SEQUENCE OF Get-Data-Result")
    results = []
    for _ in range(n):
        result, pos = decode_get_data_result(raw, pos)
        results.append(result)
    if pos != len(raw):
        raise DecodeError("bytes after the reassembled results", data=raw, offset=pos,
                          reason=Reason.TRAILING_DATA)
    return tuple(results)


def encode_results(results: tuple[Data | x.DataAccessResult, ...]) -> bytes:
    return encode_length(len(results)) + b"".join(encode_get_data_result(r) for r in results)
