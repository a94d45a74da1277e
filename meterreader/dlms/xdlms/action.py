"""ACTION service APDUs: Action-Request (0xC3) and Action-Response (0xC7), Green Book ed.9
§9.3."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, unique
from typing import ClassVar

from meterreader.dlms.axdr import Data

from . import _wire as w
from ._pdu import ServiceChoice
from .common import ActionResult, ApduTag, CosemMethodDescriptor, InvokeIdAndPriority
from .datablock import DataBlockSA, GetDataResult, decode_get_data_result, encode_get_data_result


@unique
class ActionRequestType(IntEnum):
    NORMAL = 1
    NEXT_PBLOCK = 2
    WITH_LIST = 3
    WITH_FIRST_PBLOCK = 4
    WITH_LIST_AND_FIRST_PBLOCK = 5
    WITH_PBLOCK = 6


@unique
class ActionResponseType(IntEnum):
    NORMAL = 1
    WITH_PBLOCK = 2
    WITH_LIST = 3
    NEXT_PBLOCK = 4


def _encode_methods(items: tuple[CosemMethodDescriptor, ...]) -> bytes:
    return w.count(len(items)) + b"".join(i.encode() for i in items)


def _decode_methods(buf: bytes, offset: int) -> tuple[tuple[CosemMethodDescriptor, ...], int]:
    n, offset = w.read_count(buf, offset, "cosem-method-descriptor-list")
    items = []
    for _ in range(n):
        item, offset = CosemMethodDescriptor.decode_from(buf, offset)
        items.append(item)
    return tuple(items), offset


class ActionRequest(ServiceChoice):
    """Action-Request CHOICE; ``ActionRequest.decode(data)`` returns the variant."""

    __slots__ = ()
    TAG = ApduTag.ACTION_REQUEST
    CHOICE = ActionRequestType


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionRequestNormal(ActionRequest):
    """action-request-normal: invoke one method, with optional parameters."""

    TYPE: ClassVar[ActionRequestType] = ActionRequestType.NORMAL
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    cosem_method_descriptor: CosemMethodDescriptor
    method_invocation_parameters: Data | None = None

    def _encode_body(self) -> bytes:
        params = self.method_invocation_parameters
        return (self.invoke_id_and_priority.encode() + self.cosem_method_descriptor.encode()
                + (b"\x00" if params is None else b"\x01" + w.data(params)))

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["ActionRequestNormal", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        method, offset = CosemMethodDescriptor.decode_from(buf, offset)
        present, offset = w.read_present(buf, offset, "method-invocation-parameters")
        params = None
        if present:
            params, offset = w.read_data(buf, offset)
        return cls(invoke_id_and_priority=iip, cosem_method_descriptor=method,
                   method_invocation_parameters=params), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionRequestNextPblock(ActionRequest):
    """action-request-next-pblock: ask for the return-parameter block after ``block_number``."""

    TYPE: ClassVar[ActionRequestType] = ActionRequestType.NEXT_PBLOCK
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    block_number: int

    def _encode_body(self) -> bytes:
        return self.invoke_id_and_priority.encode() + w.u32(self.block_number, "block-number")

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["ActionRequestNextPblock", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        number, offset = w.read_u32(buf, offset, "block-number")
        return cls(invoke_id_and_priority=iip, block_number=number), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionRequestWithList(ActionRequest):
    """action-request-with-list: several methods and their parameters."""

    TYPE: ClassVar[ActionRequestType] = ActionRequestType.WITH_LIST
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    cosem_method_descriptor_list: tuple[CosemMethodDescriptor, ...]
    method_invocation_parameters: tuple[Data, ...]

    def _encode_body(self) -> bytes:
        params = self.method_invocation_parameters
        return (self.invoke_id_and_priority.encode()
                + _encode_methods(self.cosem_method_descriptor_list)
                + w.count(len(params)) + b"".join(w.data(p) for p in params))

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["ActionRequestWithList", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        methods, offset = _decode_methods(buf, offset)
        n, offset = w.read_count(buf, offset, "method-invocation-parameters")
        params = []
        for _ in range(n):
            value, offset = w.read_data(buf, offset)
            params.append(value)
        return cls(invoke_id_and_priority=iip, cosem_method_descriptor_list=methods,
                   method_invocation_parameters=tuple(params)), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionRequestWithFirstPblock(ActionRequest):
    """action-request-with-first-pblock: one method, parameters in blocks."""

    TYPE: ClassVar[ActionRequestType] = ActionRequestType.WITH_FIRST_PBLOCK
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    cosem_method_descriptor: CosemMethodDescriptor
    pblock: DataBlockSA

    def _encode_body(self) -> bytes:
        return (self.invoke_id_and_priority.encode() + self.cosem_method_descriptor.encode()
                + self.pblock.encode())

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["ActionRequestWithFirstPblock", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        method, offset = CosemMethodDescriptor.decode_from(buf, offset)
        block, offset = DataBlockSA.decode_from(buf, offset)
        return cls(invoke_id_and_priority=iip, cosem_method_descriptor=method,
                   pblock=block), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionRequestWithListAndFirstPblock(ActionRequest):
    """action-request-with-list-and-first-pblock: several methods, parameters in blocks."""

    TYPE: ClassVar[ActionRequestType] = ActionRequestType.WITH_LIST_AND_FIRST_PBLOCK
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    cosem_method_descriptor_list: tuple[CosemMethodDescriptor, ...]
    pblock: DataBlockSA

    def _encode_body(self) -> bytes:
        return (self.invoke_id_and_priority.encode()
                + _encode_methods(self.cosem_method_descriptor_list) + self.pblock.encode())

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int
                     ) -> tuple["ActionRequestWithListAndFirstPblock", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        methods, offset = _decode_methods(buf, offset)
        block, offset = DataBlockSA.decode_from(buf, offset)
        return cls(invoke_id_and_priority=iip, cosem_method_descriptor_list=methods,
                   pblock=block), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionRequestWithPblock(ActionRequest):
    """action-request-with-pblock: a following parameter block."""

    TYPE: ClassVar[ActionRequestType] = ActionRequestType.WITH_PBLOCK
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    pblock: DataBlockSA

    def _encode_body(self) -> bytes:
        return self.invoke_id_and_priority.encode() + self.pblock.encode()

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["ActionRequestWithPblock", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        block, offset = DataBlockSA.decode_from(buf, offset)
        return cls(invoke_id_and_priority=iip, pblock=block), offset


ActionRequest.VARIANTS = {
    ActionRequestType.NORMAL: ActionRequestNormal,
    ActionRequestType.NEXT_PBLOCK: ActionRequestNextPblock,
    ActionRequestType.WITH_LIST: ActionRequestWithList,
    ActionRequestType.WITH_FIRST_PBLOCK: ActionRequestWithFirstPblock,
    ActionRequestType.WITH_LIST_AND_FIRST_PBLOCK: ActionRequestWithListAndFirstPblock,
    ActionRequestType.WITH_PBLOCK: ActionRequestWithPblock,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionResponseWithOptionalData:
    """Action-Response-With-Optional-Data: result and optional return-parameters
    (a Get-Data-Result: Data or DataAccessResult)."""

    result: ActionResult
    return_parameters: GetDataResult | None = None

    def encode(self) -> bytes:
        head = w.enum_byte(self.result, ActionResult, "action-result")
        if self.return_parameters is None:
            return head + b"\x00"
        return head + b"\x01" + encode_get_data_result(self.return_parameters)

    @classmethod
    def decode_from(cls, buf: bytes, offset: int
                    ) -> tuple["ActionResponseWithOptionalData", int]:
        result, offset = w.read_enum(buf, offset, ActionResult, "action-result")
        present, offset = w.read_present(buf, offset, "return-parameters")
        params = None
        if present:
            params, offset = decode_get_data_result(buf, offset)
        return cls(result=result, return_parameters=params), offset


class ActionResponse(ServiceChoice):
    """Action-Response CHOICE; ``ActionResponse.decode(data)`` returns the variant."""

    __slots__ = ()
    TAG = ApduTag.ACTION_RESPONSE
    CHOICE = ActionResponseType


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionResponseNormal(ActionResponse):
    """action-response-normal: the result of one method."""

    TYPE: ClassVar[ActionResponseType] = ActionResponseType.NORMAL
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    single_response: ActionResponseWithOptionalData

    def _encode_body(self) -> bytes:
        return self.invoke_id_and_priority.encode() + self.single_response.encode()

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["ActionResponseNormal", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        response, offset = ActionResponseWithOptionalData.decode_from(buf, offset)
        return cls(invoke_id_and_priority=iip, single_response=response), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionResponseWithPblock(ActionResponse):
    """action-response-with-pblock: one block of the encoded return parameters (DataBlock-SA)."""

    TYPE: ClassVar[ActionResponseType] = ActionResponseType.WITH_PBLOCK
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    pblock: DataBlockSA

    def _encode_body(self) -> bytes:
        return self.invoke_id_and_priority.encode() + self.pblock.encode()

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["ActionResponseWithPblock", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        block, offset = DataBlockSA.decode_from(buf, offset)
        return cls(invoke_id_and_priority=iip, pblock=block), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionResponseWithList(ActionResponse):
    """action-response-with-list: one response per method."""

    TYPE: ClassVar[ActionResponseType] = ActionResponseType.WITH_LIST
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    list_of_responses: tuple[ActionResponseWithOptionalData, ...]

    def _encode_body(self) -> bytes:
        return (self.invoke_id_and_priority.encode() + w.count(len(self.list_of_responses))
                + b"".join(r.encode() for r in self.list_of_responses))

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["ActionResponseWithList", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        n, offset = w.read_count(buf, offset, "list-of-responses")
        responses = []
        for _ in range(n):
            response, offset = ActionResponseWithOptionalData.decode_from(buf, offset)
            responses.append(response)
        return cls(invoke_id_and_priority=iip, list_of_responses=tuple(responses)), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionResponseNextPblock(ActionResponse):
    """action-response-next-pblock: acknowledges parameter block ``block_number``."""

    TYPE: ClassVar[ActionResponseType] = ActionResponseType.NEXT_PBLOCK
    invoke_id_and_priority: InvokeIdAndPriority = InvokeIdAndPriority()
    block_number: int

    def _encode_body(self) -> bytes:
        return self.invoke_id_and_priority.encode() + w.u32(self.block_number, "block-number")

    @classmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple["ActionResponseNextPblock", int]:
        iip, offset = InvokeIdAndPriority.decode_from(buf, offset)
        number, offset = w.read_u32(buf, offset, "block-number")
        return cls(invoke_id_and_priority=iip, block_number=number), offset


ActionResponse.VARIANTS = {
    ActionResponseType.NORMAL: ActionResponseNormal,
    ActionResponseType.WITH_PBLOCK: ActionResponseWithPblock,
    ActionResponseType.WITH_LIST: ActionResponseWithList,
    ActionResponseType.NEXT_PBLOCK: ActionResponseNextPblock,
}
