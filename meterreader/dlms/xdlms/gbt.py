"""General-Block-Transfer (0xE0), Green Book ed.9: service-independent block transfer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from meterreader.dlms.errors import Reason

from . import _wire as w
from .common import ApduTag

_LAST_BLOCK, _STREAMING, _WINDOW = 0x80, 0x40, 0x3F


@dataclass(frozen=True, slots=True, kw_only=True)
class GeneralBlockTransfer:
    """General-Block-Transfer: block-control (bit 7 last-block, bit 6 streaming, bits 0-5
    window), block-number and block-number-ack (Unsigned16 each), block-data (OCTET STRING)."""

    TAG: ClassVar[ApduTag] = ApduTag.GENERAL_BLOCK_TRANSFER
    last_block: bool
    streaming: bool = False
    window: int = 1
    block_number: int
    block_number_ack: int = 0
    block_data: bytes

    def block_control(self) -> int:
        w._check(self.window, 0, _WINDOW, "GBT window")
        return (_LAST_BLOCK if self.last_block else 0) | (_STREAMING if self.streaming else 0) \
            | self.window

    def encode(self) -> bytes:
        return (bytes((self.TAG, self.block_control())) + w.u16(self.block_number, "block-number")
                + w.u16(self.block_number_ack, "block-number-ack")
                + w.octet_string(self.block_data, "block-data"))

    @classmethod
    def decode(cls, data: bytes) -> "GeneralBlockTransfer":
        buf = bytes(data)
        offset = w.expect_byte(buf, 0, cls.TAG, "General-Block-Transfer tag", Reason.UNEXPECTED)
        control, offset = w.read_u8(buf, offset, "block-control")
        number, offset = w.read_u16(buf, offset, "block-number")
        ack, offset = w.read_u16(buf, offset, "block-number-ack")
        block, offset = w.read_octet_string(buf, offset, "block-data")
        w.expect_end(buf, offset, "General-Block-Transfer")
        return cls(last_block=bool(control & _LAST_BLOCK), streaming=bool(control & _STREAMING),
                   window=control & _WINDOW, block_number=number, block_number_ack=ack,
                   block_data=block)
