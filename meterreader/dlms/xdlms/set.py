"""SET service APDUs: Set-Request (0xC1) and Set-Response (0xC5), Green Book ed.9 §9.3."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, unique
from typing import ClassVar

from meterreader.dlms.axdr import Data

from . import _wire as w
from ._pdu import ServiceChoice
from .common import (ApduTag, CosemAttributeDescriptor, CosemAttributeDescriptorWithSelection,
                     DataAccessResult, InvokeIdAndPriority, SelectiveAccessDescriptor,
                     decode_optional_selection, decode_results, encode_optional_selection,
                     encode_results)
from .datablock import DataBlockSA


@unique
class SetRequestType(IntEnum):
    NORMAL = 1
    WITH_FIRST_DATABLOCK = 2
    WITH_DATABLOCK = 3
    WITH_LIST = 4
    WITH_LIST_AND_FIRST_DATABLOCK = 5


@unique
class SetResponseType(IntEnum):
    NORMAL = 1
    DATABLOCK = 2
    LAST_DATABLOCK = 3
    LAST_DATABLOCK_WITH_LIST = 4
    WITH_LIST = 5


def _encode_descriptor_list(items: tuple[CosemAttributeDescriptorWithSelection, ...]) -> bytes:
    return w.count(len(items)) + b"".join(i.encode() for i in items)


def _decode_descriptor_list(buf: bytes, offset: int
                            ) -> tuple[tuple[CosemAttributeDescriptorWithSelection, ...], int]:
    n, offset = w.read_count(buf, offset, "attribute-descriptor-list")
    items = []
    for _ in range(n):
        item, offset = CosemAttributeDescriptorWithSelection.decode_from(buf, offset)
        items.append(item)
    return tuple(items), offset


class SetRequest(ServiceChoice):
    """Set-Request CHOICE; ``SetRequest.decode(data)`` returns the variant."""

    __slots__ = ()
    TAG = ApduTag.SET_REQUEST
    CHOICE = SetRequestType


@dataclass(frozen=True, slots=True, kw_only=True)
class SetRequestNormal(SetRequest):
    """set-request-normal: write ``value`` to one attribute."""

    TYPE: ClassVar[SetRequestType] = SetRequestType.NORMAL
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    cosem_attribute_descriptor: CosemAttributeDescriptor
    access_selection: SelectiveAccessDescriptor | None = None
    value: Data

    def _encode_body(self) -> bytes:
        return (self.invoke_id_and_priority.encode() + self.cosem_attribute_descriptor.encode()
                + encode_optional_selection(self.access_selection) + w.data(self.value))

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["SetRequestNormal", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        descriptor, offset = CosemAttributeDescriptor.decode_from(buf, offset)
        selection, offset = decode_optional_selection(buf, offset)
        value, offset = w.read_data(buf, offset)
        return cls(invoke_id_and_priority=iip, cosem_attribute_descriptor=descriptor,
                   access_selection=selection, value=value), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class SetRequestWithFirstDatablock(SetRequest):
    """set-request-with-first-datablock: the first block of an encoded value."""

    TYPE: ClassVar[SetRequestType] = SetRequestType.WITH_FIRST_DATABLOCK
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    cosem_attribute_descriptor: CosemAttributeDescriptor
    access_selection: SelectiveAccessDescriptor | None = None
    datablock: DataBlockSA

    def _encode_body(self) -> bytes:
        return (self.invoke_id_and_priority.encode() + self.cosem_attribute_descriptor.encode()
                + encode_optional_selection(self.access_selection) + self.datablock.encode())

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["SetRequestWithFirstDatablock", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        descriptor, offset = CosemAttributeDescriptor.decode_from(buf, offset)
        selection, offset = decode_optional_selection(buf, offset)
        block, offset = DataBlockSA.decode_from(buf, offset)
        return cls(invoke_id_and_priority=iip, cosem_attribute_descriptor=descriptor,
                   access_selection=selection, datablock=block), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class SetRequestWithDatablock(SetRequest):
    """set-request-with-datablock: a following block."""

    TYPE: ClassVar[SetRequestType] = SetRequestType.WITH_DATABLOCK
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    datablock: DataBlockSA

    def _encode_body(self) -> bytes:
        return self.invoke_id_and_priority.encode() + self.datablock.encode()

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["SetRequestWithDatablock", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        block, offset = DataBlockSA.decode_from(buf, offset)
        return cls(invoke_id_and_priority=iip, datablock=block), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class SetRequestWithList(SetRequest):
    """set-request-with-list: several attributes and their values."""

    TYPE: ClassVar[SetRequestType] = SetRequestType.WITH_LIST
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    attribute_descriptor_list: tuple[CosemAttributeDescriptorWithSelection, ...]
    value_list: tuple[Data, ...]

    def _encode_body(self) -> bytes:
        return (self.invoke_id_and_priority.encode()
                + _encode_descriptor_list(self.attribute_descriptor_list)
                + w.count(len(self.value_list)) + b"".join(w.data(v) for v in self.value_list))

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["SetRequestWithList", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        descriptors, offset = _decode_descriptor_list(buf, offset)
        n, offset = w.read_count(buf, offset, "value-list")
        values = []
        for _ in range(n):
            value, offset = w.read_data(buf, offset)
            values.append(value)
        return cls(invoke_id_and_priority=iip, attribute_descriptor_list=descriptors,
                   value_list=tuple(values)), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class SetRequestWithListAndFirstDatablock(SetRequest):
    """set-request-with-list-and-first-datablock: several attributes, values in blocks."""

    TYPE: ClassVar[SetRequestType] = SetRequestType.WITH_LIST_AND_FIRST_DATABLOCK
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    attribute_descriptor_list: tuple[CosemAttributeDescriptorWithSelection, ...]
    datablock: DataBlockSA

    def _encode_body(self) -> bytes:
        return (self.invoke_id_and_priority.encode()
                + _encode_descriptor_list(self.attribute_descriptor_list)
                + self.datablock.encode())

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int
                     ) -> tuple["SetRequestWithListAndFirstDatablock", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        descriptors, offset = _decode_descriptor_list(buf, offset)
        block, offset = DataBlockSA.decode_from(buf, offset)
        return cls(invoke_id_and_priority=iip, attribute_descriptor_list=descriptors,
                   datablock=block), offset


SetRequest.VARIANTS = {
    SetRequestType.NORMAL: SetRequestNormal,
    SetRequestType.WITH_FIRST_DATABLOCK: SetRequestWithFirstDatablock,
    SetRequestType.WITH_DATABLOCK: SetRequestWithDatablock,
    SetRequestType.WITH_LIST: SetRequestWithList,
    SetRequestType.WITH_LIST_AND_FIRST_DATABLOCK: SetRequestWithListAndFirstDatablock,
}


class SetResponse(ServiceChoice):
    """Set-Response CHOICE; ``SetResponse.decode(data)`` returns the variant."""

    __slots__ = ()
    TAG = ApduTag.SET_RESPONSE
    CHOICE = SetResponseType


@dataclass(frozen=True, slots=True, kw_only=True)
class SetResponseNormal(SetResponse):
    """set-response-normal: the result of a set-request-normal."""

    TYPE: ClassVar[SetResponseType] = SetResponseType.NORMAL
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    result: DataAccessResult

    def _encode_body(self) -> bytes:
        return (self.invoke_id_and_priority.encode()
                + w.enum_byte(self.result, DataAccessResult, "result"))

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["SetResponseNormal", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        result, offset = w.read_enum(buf, offset, DataAccessResult, "data-access-result")
        return cls(invoke_id_and_priority=iip, result=result), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class SetResponseDatablock(SetResponse):
    """set-response-datablock: acknowledges block ``block_number``."""

    TYPE: ClassVar[SetResponseType] = SetResponseType.DATABLOCK
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    block_number: int

    def _encode_body(self) -> bytes:
        return self.invoke_id_and_priority.encode() + w.u32(self.block_number, "block-number")

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["SetResponseDatablock", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        number, offset = w.read_u32(buf, offset, "block-number")
        return cls(invoke_id_and_priority=iip, block_number=number), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class SetResponseLastDatablock(SetResponse):
    """set-response-last-datablock: the result after the last block."""

    TYPE: ClassVar[SetResponseType] = SetResponseType.LAST_DATABLOCK
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    result: DataAccessResult
    block_number: int

    def _encode_body(self) -> bytes:
        return (self.invoke_id_and_priority.encode()
                + w.enum_byte(self.result, DataAccessResult, "result")
                + w.u32(self.block_number, "block-number"))

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["SetResponseLastDatablock", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        result, offset = w.read_enum(buf, offset, DataAccessResult, "data-access-result")
        number, offset = w.read_u32(buf, offset, "block-number")
        return cls(invoke_id_and_priority=iip, result=result, block_number=number), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class SetResponseLastDatablockWithList(SetResponse):
    """set-response-last-datablock-with-list: one result per attribute after the last block."""

    TYPE: ClassVar[SetResponseType] = SetResponseType.LAST_DATABLOCK_WITH_LIST
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    result: tuple[DataAccessResult, ...]
    block_number: int

    def _encode_body(self) -> bytes:
        return (self.invoke_id_and_priority.encode() + encode_results(self.result)
                + w.u32(self.block_number, "block-number"))

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int
                     ) -> tuple["SetResponseLastDatablockWithList", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        results, offset = decode_results(buf, offset)
        number, offset = w.read_u32(buf, offset, "block-number")
        return cls(invoke_id_and_priority=iip, result=results, block_number=number), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class SetResponseWithList(SetResponse):
    """set-response-with-list: one result per attribute."""

    TYPE: ClassVar[SetResponseType] = SetResponseType.WITH_LIST
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    result: tuple[DataAccessResult, ...]

    def _encode_body(self) -> bytes:
        return self.invoke_id_and_priority.encode() + encode_results(self.result)

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["SetResponseWithList", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        results, offset = decode_results(buf, offset)
        return cls(invoke_id_and_priority=iip, result=results), offset


SetResponse.VARIANTS = {
    SetResponseType.NORMAL: SetResponseNormal,
    SetResponseType.DATABLOCK: SetResponseDatablock,
    SetResponseType.LAST_DATABLOCK: SetResponseLastDatablock,
    SetResponseType.LAST_DATABLOCK_WITH_LIST: SetResponseLastDatablockWithList,
    SetResponseType.WITH_LIST: SetResponseWithList,
}
