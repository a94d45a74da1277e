"""HDLC frame check sequence: CRC-16/X.25 (the HCS and FCS of IEC 62056-46 frames).

Polynomial x^16 + x^12 + x^5 + 1 (0x1021) processed LSB first (reflected: 0x8408), initial value
0xFFFF, final complement; the result is transmitted low byte first.

Fast path: the reflected CRC of ``data`` equals the bit-reversed non-reflected CRC (CRC-CCITT,
``binascii.crc_hqx``, C speed) of ``data`` with every byte bit-reversed (``bytes.translate``);
the initial value 0xFFFF is its own reversal.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable

__all__ = ["CRC16_TABLE", "crc16", "crc16_table", "fcs"]


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


CRC16_TABLE: tuple[int, ...] = _make_table()

_REVERSE8 = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))
_REVERSE16_LOW = tuple(_REVERSE8[b] << 8 for b in range(256))  # reversed low byte → high byte


def crc16(data: Iterable[int]) -> int:
    """Return the CRC-16/X.25 of ``data`` (bytes-like or an iterable of ints), complemented."""
    if not isinstance(data, bytes):
        data = bytes(data)
    crc = binascii.crc_hqx(data.translate(_REVERSE8), 0xFFFF)
    return (_REVERSE16_LOW[crc & 0xFF] | _REVERSE8[crc >> 8]) ^ 0xFFFF


def crc16_table(data: Iterable[int]) -> int:
    """The same CRC one table lookup per byte (the reference the fast path is tested against)."""
    crc = 0xFFFF
    table = CRC16_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFF


def fcs(data: Iterable[int]) -> bytes:
    """The two check-sequence bytes for ``data`` as they go on the wire (low byte first)."""
    return crc16(data).to_bytes(2, "little")
