"""GET service APDUs: Get-Request (0xC0) and Get-Response (0xC4), Green Book ed.9 §9.3."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, unique
from typing import ClassVar

from . import _wire as w
from ._pdu import ServiceChoice
from .common import (ApduTag, CosemAttributeDescriptor, CosemAttributeDescriptorWithSelection,
                     InvokeIdAndPriority, SelectiveAccessDescriptor, decode_optional_selection,
                     encode_optional_selection)
from .datablock import DataBlockG, GetDataResult, decode_get_data_result, encode_get_data_result


@unique
class GetRequestType(IntEnum):
    NORMAL = 1
    NEXT = 2
    WITH_LIST = 3


@unique
class GetResponseType(IntEnum):
    NORMAL = 1
    WITH_DATABLOCK = 2
    WITH_LIST = 3


class GetRequest(ServiceChoice):
    """Get-Request CHOICE; ``GetRequest.decode(data)`` returns the variant."""

    __slots__ = ()
    TAG = ApduTag.GET_REQUEST
    CHOICE = GetRequestType


@dataclass(frozen=True, slots=True, kw_only=True)
class GetRequestNormal(GetRequest):
    """get-request-normal: one attribute, optionally with selective access."""

    TYPE: ClassVar[GetRequestType] = GetRequestType.NORMAL
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    cosem_attribute_descriptor: CosemAttributeDescriptor
    access_selection: SelectiveAccessDescriptor | None = None

    def _encode_body(self) -> bytes:
        return (self.invoke_id_and_priority.encode() + self.cosem_attribute_descriptor.encode()
                + encode_optional_selection(self.access_selection))

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["GetRequestNormal", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        descriptor, offset = CosemAttributeDescriptor.decode_from(buf, offset)
        selection, offset = decode_optional_selection(buf, offset)
        return cls(invoke_id_and_priority=iip, cosem_attribute_descriptor=descriptor,
                   access_selection=selection), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class GetRequestNext(GetRequest):
    """get-request-next: ask for the data block after ``block_number``."""

    TYPE: ClassVar[GetRequestType] = GetRequestType.NEXT
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    block_number: int

    def _encode_body(self) -> bytes:
        return self.invoke_id_and_priority.encode() + w.u32(self.block_number, "block-number")

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["GetRequestNext", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        number, offset = w.read_u32(buf, offset, "block-number")
        return cls(invoke_id_and_priority=iip, block_number=number), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class GetRequestWithList(GetRequest):
    """get-request-with-list: several attributes in one request."""

    TYPE: ClassVar[GetRequestType] = GetRequestType.WITH_LIST
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    attribute_descriptor_list: tuple[CosemAttributeDescriptorWithSelection, ...]

    def _encode_body(self) -> bytes:
        return (self.invoke_id_and_priority.encode()
                + w.count(len(self.attribute_descriptor_list))
                + b"".join(d.encode() for d in self.attribute_descriptor_list))

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["GetRequestWithList", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        n, offset = w.read_count(buf, offset, "attribute-descriptor-list")
        items = []
        for _ in range(n):
            item, offset = CosemAttributeDescriptorWithSelection.decode_from(buf, offset)
            items.append(item)
        return cls(invoke_id_and_priority=iip, attribute_descriptor_list=tuple(items)), offset


GetRequest.VARIANTS = {GetRequestType.NORMAL: GetRequestNormal,
                       GetRequestType.NEXT: GetRequestNext,
                       GetRequestType.WITH_LIST: GetRequestWithList}


class GetResponse(ServiceChoice):
    """Get-Response CHOICE; ``GetResponse.decode(data)`` returns the variant."""

    __slots__ = ()
    TAG = ApduTag.GET_RESPONSE
    CHOICE = GetResponseType


@dataclass(frozen=True, slots=True, kw_only=True)
class GetResponseNormal(GetResponse):
    """get-response-normal: the value (Data) or a DataAccessResult."""

    TYPE: ClassVar[GetResponseType] = GetResponseType.NORMAL
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    result: GetDataResult

    def _encode_body(self) -> bytes:
        return self.invoke_id_and_priority.encode() + encode_get_data_result(self.result)

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["GetResponseNormal", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        result, offset = decode_get_data_result(buf, offset)
        return cls(invoke_id_and_priority=iip, result=result), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class GetResponseWithDatablock(GetResponse):
    """get-response-with-datablock: one block of the encoded value (DataBlock-G)."""

    TYPE: ClassVar[GetResponseType] = GetResponseType.WITH_DATABLOCK
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    result: DataBlockG

    def _encode_body(self) -> bytes:
        return self.invoke_id_and_priority.encode() + self.result.encode()

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["GetResponseWithDatablock", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        block, offset = DataBlockG.decode_from(buf, offset)
        return cls(invoke_id_and_priority=iip, result=block), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class GetResponseWithList(GetResponse):
    """get-response-with-list: one Get-Data-Result per requested attribute."""

    TYPE: ClassVar[GetResponseType] = GetResponseType.WITH_LIST
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    result: tuple[GetDataResult, ...]

    def _encode_body(self) -> bytes:
        return (self.invoke_id_and_priority.encode() + w.count(len(self.result))
                + b"".join(encode_get_data_result(r) for r in self.result))

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["GetResponseWithList", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        n, offset = w.read_count(buf, offset, "SEQUENCE OF Get-Data-Result")
        results: list[GetDataResult] = []
        for _ in range(n):
            result, offset = decode_get_data_result(buf, offset)
            results.append(result)
        return cls(invoke_id_and_priority=iip, result=tuple(results)), offset


GetResponse.VARIANTS = {GetResponseType.NORMAL: GetResponseNormal,
                        GetResponseType.WITH_DATABLOCK: GetResponseWithDatablock,
                        GetResponseType.WITH_LIST: GetResponseWithList}

__all__ = ["GetRequest", "GetRequestNext", "GetRequestNormal", "GetRequestType",
           "GetRequestWithList", "GetResponse", "GetResponseNormal", "GetResponseType",
           "GetResponseWithDatablock", "GetResponseWithList"]
