"""HDLC frame check sequence: CRC-16/X.25 (the HCS and FCS of IEC 62056-46 frames).

Polynomial x^16 + x^12 + x^5 + 1 (0x1021) processed LSB first (reflected: 0x8408), initial value
0xFFFF, final complement; the result is transmitted low byte first. One table lookup per byte.
"""

from __future__ import annotations

from collections.abc import Iterable


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


CRC16_TABLE: tuple[int, ...] = _make_table()


def crc16(data: Iterable[int]) -> int:
    """Return the CRC-16/X.25 of ``data`` (bytes, bytearray or memoryview), already complemented."""
    crc = 0xFFFF
    table = CRC16_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFF


def fcs(data: Iterable[int]) -> bytes:
    """The two check-sequence bytes for ``data`` as they go on the wire (low byte first)."""
    return crc16(data).to_bytes(2, "little")
