"""Data blocks and Get-Data-Result, shared by GET, SET and ACTION (Green Book ed.9 ASN.1)."""

from __future__ import annotations

from dataclasses import dataclass

from meterreader.dlms.axdr import Data
from meterreader.dlms.errors import LocalProtocolError, Reason

from . import _wire as w
from .common import DataAccessResult

#: Get-Data-Result ::= CHOICE { data [0] Data, data-access-result [1] IMPLICIT Data-Access-Result }
GetDataResult = Data | DataAccessResult

_DATA, _ACCESS_RESULT = 0, 1  # CHOICE tags of Get-Data-Result and of DataBlock-G's result


def encode_get_data_result(result: GetDataResult) -> bytes:
    if isinstance(result, DataAccessResult):
        return bytes((_ACCESS_RESULT, result))
    if isinstance(result, Data):
        return bytes((_DATA,)) + w.data(result)
    raise LocalProtocolError(f"Get-Data-Result must be Data or DataAccessResult, got {result!r}")


def decode_get_data_result(buf: bytes, offset: int) -> tuple[GetDataResult, int]:
    choice, offset = w.read_u8(buf, offset, "Get-Data-Result")
    if choice == _DATA:
        return w.read_data(buf, offset)
    if choice == _ACCESS_RESULT:
        return w.read_enum(buf, offset, DataAccessResult, "data-access-result")
    w.fail(buf, offset - 1, Reason.UNKNOWN_TAG, f"Get-Data-Result: unknown choice {choice}")


@dataclass(frozen=True, slots=True, kw_only=True)
class DataBlockG:
    """DataBlock-G (GET with block transfer): last-block, block-number (Unsigned32) and result
    CHOICE raw-data [0] OCTET STRING / data-access-result [1]. ``result`` is bytes or a
    DataAccessResult."""

    last_block: bool
    block_number: int
    result: bytes | DataAccessResult

    def encode(self) -> bytes:
        head = w.boolean(self.last_block) + w.u32(self.block_number, "block-number")
        if isinstance(self.result, DataAccessResult):
            return head + bytes((_ACCESS_RESULT, self.result))
        return head + bytes((_DATA,)) + w.octet_string(self.result, "raw-data")

    @classmethod
    def decode_from(cls, buf: bytes, offset: int) -> tuple["DataBlockG", int]:
        last, offset = w.read_bool(buf, offset, "last-block")
        number, offset = w.read_u32(buf, offset, "block-number")
        choice, offset = w.read_u8(buf, offset, "DataBlock-G result")
        if choice == _DATA:
            result, offset = w.read_octet_string(buf, offset, "raw-data")
        elif choice == _ACCESS_RESULT:
            result, offset = w.read_enum(buf, offset, DataAccessResult, "data-access-result")
        else:
            w.fail(buf, offset - 1, Reason.UNKNOWN_TAG, f"DataBlock-G: unknown choice {choice}")
        return cls(last_block=last, block_number=number, result=result), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class DataBlockSA:
    """DataBlock-SA (SET and ACTION with block transfer): last-block, block-number, raw-data."""

    last_block: bool
    block_number: int
    raw_data: bytes

    def encode(self) -> bytes:
        return (w.boolean(self.last_block) + w.u32(self.block_number, "block-number")
                + w.octet_string(self.raw_data, "raw-data"))

    @classmethod
    def decode_from(cls, buf: bytes, offset: int) -> tuple["DataBlockSA", int]:
        last, offset = w.read_bool(buf, offset, "last-block")
        number, offset = w.read_u32(buf, offset, "block-number")
        raw, offset = w.read_octet_string(buf, offset, "raw-data")
        return cls(last_block=last, block_number=number, raw_data=raw), offset
