"""Types shared by the xDLMS service APDUs (Green Book ed.9 §9.3, LN referencing).

APDU tags, Invoke-Id-And-Priority, the COSEM attribute/method descriptors, selective access
(profile generic range/entry descriptors) and the result enumerations.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, unique
from typing import ClassVar

from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.errors import DecodeError, DlmsError, LocalProtocolError, Reason

from . import _wire as w


@unique
class ApduTag(IntEnum):
    """Tags of the xDLMS-APDU and ACSE-APDU CHOICEs (Green Book ed.9, ASN.1 of the COSEM APDUs)."""

    INITIATE_REQUEST = 0x01
    INITIATE_RESPONSE = 0x08
    CONFIRMED_SERVICE_ERROR = 0x0E
    DATA_NOTIFICATION = 0x0F
    GLO_INITIATE_REQUEST = 0x21
    GLO_INITIATE_RESPONSE = 0x28
    GLO_CONFIRMED_SERVICE_ERROR = 0x2E
    DED_INITIATE_REQUEST = 0x41
    DED_INITIATE_RESPONSE = 0x48
    DED_CONFIRMED_SERVICE_ERROR = 0x4E
    AARQ = 0x60
    AARE = 0x61
    RLRQ = 0x62
    RLRE = 0x63
    GET_REQUEST = 0xC0
    SET_REQUEST = 0xC1
    EVENT_NOTIFICATION_REQUEST = 0xC2
    ACTION_REQUEST = 0xC3
    GET_RESPONSE = 0xC4
    SET_RESPONSE = 0xC5
    ACTION_RESPONSE = 0xC7
    GLO_GET_REQUEST = 0xC8
    GLO_SET_REQUEST = 0xC9
    GLO_EVENT_NOTIFICATION_REQUEST = 0xCA
    GLO_ACTION_REQUEST = 0xCB
    GLO_GET_RESPONSE = 0xCC
    GLO_SET_RESPONSE = 0xCD
    GLO_ACTION_RESPONSE = 0xCF
    DED_GET_REQUEST = 0xD0
    DED_SET_REQUEST = 0xD1
    DED_EVENT_NOTIFICATION_REQUEST = 0xD2
    DED_ACTION_REQUEST = 0xD3
    DED_GET_RESPONSE = 0xD4
    DED_SET_RESPONSE = 0xD5
    DED_ACTION_RESPONSE = 0xD7
    EXCEPTION_RESPONSE = 0xD8
    GENERAL_GLO_CIPHERING = 0xDB
    GENERAL_DED_CIPHERING = 0xDC
    GENERAL_CIPHERING = 0xDD
    GENERAL_SIGNING = 0xDF
    GENERAL_BLOCK_TRANSFER = 0xE0


# -- Invoke-Id-And-Priority ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class InvokeIdAndPriority:
    """Invoke-Id-And-Priority (Unsigned8, Green Book ed.9 ASN.1): bits 0-3 invoke-id, bits 4-5
    reserved, bit 6 service-class (1 = confirmed), bit 7 priority (1 = high). Default 0xC1."""

    invoke_id: int = 1
    confirmed: bool = True
    high_priority: bool = True
    reserved: int = 0  # bits 4-5, kept so that any received byte re-encodes identically

    @classmethod
    def from_byte(cls, value: int) -> "InvokeIdAndPriority":
        return cls(invoke_id=value & 0x0F, confirmed=bool(value & 0x40),
                   high_priority=bool(value & 0x80), reserved=(value >> 4) & 0x03)

    def to_byte(self) -> int:
        w._check(self.invoke_id, 0, 15, "invoke-id")
        w._check(self.reserved, 0, 3, "reserved bits of invoke-id-and-priority")
        return ((0x80 if self.high_priority else 0) | (0x40 if self.confirmed else 0)
                | self.reserved << 4 | self.invoke_id)

    def encode(self) -> bytes:
        return bytes((self.to_byte(),))

    @classmethod
    def decode_from(cls, buf: bytes, offset: int) -> tuple["InvokeIdAndPriority", int]:
        raw, offset = w.read_u8(buf, offset, "invoke-id-and-priority")
        return cls.from_byte(raw), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class LongInvokeIdAndPriority:
    """Long-Invoke-Id-And-Priority (Unsigned32, Green Book ed.9 ASN.1): bits 0-23 long-invoke-id,
    24-27 reserved, 28 self-descriptive, 29 processing-option (1 = break on error),
    30 service-class (1 = confirmed), 31 priority (1 = high)."""

    long_invoke_id: int = 1
    self_descriptive: bool = False
    break_on_error: bool = False
    confirmed: bool = False
    high_priority: bool = False
    reserved: int = 0  # bits 24-27

    @classmethod
    def from_int(cls, value: int) -> "LongInvokeIdAndPriority":
        return cls(long_invoke_id=value & 0xFFFFFF, reserved=(value >> 24) & 0x0F,
                   self_descriptive=bool(value & 1 << 28), break_on_error=bool(value & 1 << 29),
                   confirmed=bool(value & 1 << 30), high_priority=bool(value & 1 << 31))

    def to_int(self) -> int:
        w._check(self.long_invoke_id, 0, 0xFFFFFF, "long-invoke-id")
        w._check(self.reserved, 0, 0x0F, "reserved bits of long-invoke-id-and-priority")
        return (self.long_invoke_id | self.reserved << 24 | int(self.self_descriptive) << 28
                | int(self.break_on_error) << 29 | int(self.confirmed) << 30
                | int(self.high_priority) << 31)

    def encode(self) -> bytes:
        return self.to_int().to_bytes(4, "big")

    @classmethod
    def decode_from(cls, buf: bytes, offset: int) -> tuple["LongInvokeIdAndPriority", int]:
        raw, offset = w.read_u32(buf, offset, "long-invoke-id-and-priority")
        return cls.from_int(raw), offset


# -- descriptors ---------------------------------------------------------------------------------

def _decode_descriptor_head(buf: bytes, offset: int, what: str) -> tuple[int, Obis, int, int]:
    class_id, offset = w.read_u16(buf, offset, f"{what} class-id")
    w.need(buf, offset, 6, f"{what} instance-id")
    instance = Obis(*buf[offset:offset + 6])
    member, offset = w.read_i8(buf, offset + 6, f"{what} member id")
    return class_id, instance, member, offset


def _encode_instance(instance: Obis) -> bytes:
    if not isinstance(instance, Obis):
        raise LocalProtocolError(f"instance-id must be an Obis, got {type(instance).__name__}")
    return bytes(instance)


@dataclass(frozen=True, slots=True, kw_only=True)
class CosemAttributeDescriptor:
    """Cosem-Attribute-Descriptor: class-id (Unsigned16), instance-id (6-byte logical name),
    attribute-id (Integer8; negative ids are manufacturer specific)."""

    class_id: int
    instance_id: Obis
    attribute_id: int

    def encode(self) -> bytes:
        return (w.u16(self.class_id, "class-id") + _encode_instance(self.instance_id)
                + w.i8(self.attribute_id, "attribute-id"))

    @classmethod
    def decode_from(cls, buf: bytes, offset: int) -> tuple["CosemAttributeDescriptor", int]:
        class_id, instance, attribute, offset = _decode_descriptor_head(
            buf, offset, "cosem-attribute-descriptor")
        return cls(class_id=class_id, instance_id=instance, attribute_id=attribute), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class CosemMethodDescriptor:
    """Cosem-Method-Descriptor: class-id, instance-id, method-id (Integer8)."""

    class_id: int
    instance_id: Obis
    method_id: int

    def encode(self) -> bytes:
        return (w.u16(self.class_id, "class-id") + _encode_instance(self.instance_id)
                + w.i8(self.method_id, "method-id"))

    @classmethod
    def decode_from(cls, buf: bytes, offset: int) -> tuple["CosemMethodDescriptor", int]:
        class_id, instance, method, offset = _decode_descriptor_head(
            buf, offset, "cosem-method-descriptor")
        return cls(class_id=class_id, instance_id=instance, method_id=method), offset


# -- selective access (profile generic, Blue Book IC 7 attribute 2) --------------------------------

@unique
class AccessSelector(IntEnum):
    """access-selector values of profile generic (IC 7) buffer selective access."""

    RANGE = 1
    ENTRY = 2


def _bad(value: Data, message: str) -> DecodeError:
    try:
        raw = w.data(value)
    except DlmsError:
        raw = b""
    return DecodeError(message, data=raw, offset=0, reason=Reason.BAD_VALUE)


def _fields(value: Data, types: tuple[DataTag | None, ...], what: str) -> tuple[Data, ...]:
    """Check that ``value`` is a structure whose elements have ``types`` (None = any type)."""
    if not isinstance(value, Data) or value.tag is not DataTag.STRUCTURE \
            or not isinstance(value.value, tuple) or len(value.value) != len(types):
        raise _bad(value, f"{what}: expected a structure of {len(types)} elements")
    for i, (element, tag) in enumerate(zip(value.value, types)):
        if tag is not None and (not isinstance(element, Data) or element.tag is not tag):
            raise _bad(value, f"{what}: element {i} must be {tag.name}")
    return value.value


@dataclass(frozen=True, slots=True, kw_only=True)
class CaptureObjectDefinition:
    """capture_object_definition: {class_id long-unsigned, logical_name octet-string,
    attribute_index integer, data_index long-unsigned}."""

    class_id: int
    logical_name: Obis
    attribute_index: int
    data_index: int = 0

    def to_data(self) -> Data:
        return Data(DataTag.STRUCTURE, (
            Data(DataTag.LONG_UNSIGNED, self.class_id),
            Data(DataTag.OCTET_STRING, bytes(self.logical_name)),
            Data(DataTag.INTEGER, self.attribute_index),
            Data(DataTag.LONG_UNSIGNED, self.data_index)))

    @classmethod
    def from_data(cls, value: Data) -> "CaptureObjectDefinition":
        class_id, name, attribute, index = _fields(value, (
            DataTag.LONG_UNSIGNED, DataTag.OCTET_STRING, DataTag.INTEGER, DataTag.LONG_UNSIGNED),
            "capture object definition")
        if not isinstance(name.value, bytes) or len(name.value) != 6:
            raise _bad(value, "capture object definition: logical_name must be 6 bytes")
        return cls(class_id=class_id.value, logical_name=Obis(*name.value),
                   attribute_index=attribute.value, data_index=index.value)


@dataclass(frozen=True, slots=True, kw_only=True)
class RangeDescriptor:
    """range_descriptor (access_selector 1): rows whose ``restricting_object`` value lies in
    [from_value, to_value]; ``selected_values`` empty = all columns."""

    restricting_object: CaptureObjectDefinition
    from_value: Data
    to_value: Data
    selected_values: tuple[CaptureObjectDefinition, ...] = ()

    SELECTOR: ClassVar[AccessSelector] = AccessSelector.RANGE

    def to_data(self) -> Data:
        return Data(DataTag.STRUCTURE, (
            self.restricting_object.to_data(), self.from_value, self.to_value,
            Data(DataTag.ARRAY, tuple(c.to_data() for c in self.selected_values))))

    @classmethod
    def from_data(cls, value: Data) -> "RangeDescriptor":
        restricting, from_value, to_value, selected = _fields(
            value, (DataTag.STRUCTURE, None, None, DataTag.ARRAY), "range descriptor")
        return cls(restricting_object=CaptureObjectDefinition.from_data(restricting),
                   from_value=from_value, to_value=to_value,
                   selected_values=tuple(CaptureObjectDefinition.from_data(c)
                                         for c in selected.value))


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryDescriptor:
    """entry_descriptor (access_selector 2): rows from_entry..to_entry (1-based, 0 = to the last)
    and columns from_selected_value..to_selected_value (0 = to the last)."""

    from_entry: int
    to_entry: int = 0
    from_selected_value: int = 1
    to_selected_value: int = 0

    SELECTOR: ClassVar[AccessSelector] = AccessSelector.ENTRY

    def to_data(self) -> Data:
        return Data(DataTag.STRUCTURE, (
            Data(DataTag.DOUBLE_LONG_UNSIGNED, self.from_entry),
            Data(DataTag.DOUBLE_LONG_UNSIGNED, self.to_entry),
            Data(DataTag.LONG_UNSIGNED, self.from_selected_value),
            Data(DataTag.LONG_UNSIGNED, self.to_selected_value)))

    @classmethod
    def from_data(cls, value: Data) -> "EntryDescriptor":
        fe, te, fs, ts = _fields(value, (
            DataTag.DOUBLE_LONG_UNSIGNED, DataTag.DOUBLE_LONG_UNSIGNED,
            DataTag.LONG_UNSIGNED, DataTag.LONG_UNSIGNED), "entry descriptor")
        return cls(from_entry=fe.value, to_entry=te.value,
                   from_selected_value=fs.value, to_selected_value=ts.value)


_SELECTOR_PARSERS = {AccessSelector.RANGE: RangeDescriptor.from_data,
                     AccessSelector.ENTRY: EntryDescriptor.from_data}


@dataclass(frozen=True, slots=True, kw_only=True)
class SelectiveAccessDescriptor:
    """Selective-Access-Descriptor: access-selector (Unsigned8) and access-parameters (Data).

    The meaning of the selector depends on the interface class; ``range``/``entry``/``parameters``
    implement the profile generic (IC 7) buffer selectors 1 and 2.
    """

    access_selector: int
    access_parameters: Data

    @classmethod
    def range(cls, descriptor: RangeDescriptor) -> "SelectiveAccessDescriptor":
        return cls(access_selector=AccessSelector.RANGE, access_parameters=descriptor.to_data())

    @classmethod
    def entry(cls, descriptor: EntryDescriptor) -> "SelectiveAccessDescriptor":
        return cls(access_selector=AccessSelector.ENTRY, access_parameters=descriptor.to_data())

    def parameters(self) -> RangeDescriptor | EntryDescriptor:
        """Parse the parameters as a profile generic range (1) or entry (2) descriptor.

        Raises DecodeError (BAD_VALUE) for another selector or a malformed structure."""
        parser = _SELECTOR_PARSERS.get(self.access_selector)
        if parser is None:
            raise _bad(self.access_parameters,
                       f"access selector {self.access_selector} is not range (1) or entry (2)")
        return parser(self.access_parameters)

    def encode(self) -> bytes:
        return w.u8(self.access_selector, "access-selector") + w.data(self.access_parameters)

    @classmethod
    def decode_from(cls, buf: bytes, offset: int) -> tuple["SelectiveAccessDescriptor", int]:
        selector, offset = w.read_u8(buf, offset, "access-selector")
        parameters, offset = w.read_data(buf, offset)
        return cls(access_selector=selector, access_parameters=parameters), offset


def encode_optional_selection(selection: SelectiveAccessDescriptor | None) -> bytes:
    """access-selection OPTIONAL: 0x00, or 0x01 followed by the descriptor."""
    return b"\x00" if selection is None else b"\x01" + selection.encode()


def decode_optional_selection(buf: bytes, offset: int
                              ) -> tuple[SelectiveAccessDescriptor | None, int]:
    present, offset = w.read_present(buf, offset, "access-selection")
    if not present:
        return None, offset
    return SelectiveAccessDescriptor.decode_from(buf, offset)


@dataclass(frozen=True, slots=True, kw_only=True)
class CosemAttributeDescriptorWithSelection:
    """Cosem-Attribute-Descriptor-With-Selection (used by the with-list services)."""

    cosem_attribute_descriptor: CosemAttributeDescriptor
    access_selection: SelectiveAccessDescriptor | None = None

    def encode(self) -> bytes:
        return (self.cosem_attribute_descriptor.encode()
                + encode_optional_selection(self.access_selection))

    @classmethod
    def decode_from(cls, buf: bytes, offset: int
                    ) -> tuple["CosemAttributeDescriptorWithSelection", int]:
        descriptor, offset = CosemAttributeDescriptor.decode_from(buf, offset)
        selection, offset = decode_optional_selection(buf, offset)
        return cls(cosem_attribute_descriptor=descriptor, access_selection=selection), offset


# -- results -------------------------------------------------------------------------------------

@unique
class DataAccessResult(IntEnum):
    """Data-Access-Result (Green Book ed.9 ASN.1 of the COSEM APDUs)."""

    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_GET_ABORTED = 15
    NO_LONG_GET_IN_PROGRESS = 16
    LONG_SET_ABORTED = 17
    NO_LONG_SET_IN_PROGRESS = 18
    DATA_BLOCK_NUMBER_INVALID = 19
    OTHER_REASON = 250

    def describe(self) -> str:
        return _DATA_ACCESS_WORDS[self]


_DATA_ACCESS_WORDS = {
    DataAccessResult.SUCCESS: "success",
    DataAccessResult.HARDWARE_FAULT: "the meter reports a hardware fault",
    DataAccessResult.TEMPORARY_FAILURE: "temporary failure in the meter; try again later",
    DataAccessResult.READ_WRITE_DENIED: "access denied for this association (read/write right)",
    DataAccessResult.OBJECT_UNDEFINED: "the object does not exist in this meter",
    DataAccessResult.OBJECT_CLASS_INCONSISTENT: "the object exists but with another class",
    DataAccessResult.OBJECT_UNAVAILABLE: "the object is currently unavailable",
    DataAccessResult.TYPE_UNMATCHED: "the value has the wrong data type",
    DataAccessResult.SCOPE_OF_ACCESS_VIOLATED: "outside the scope of access (e.g. selective "
                                                "access not supported)",
    DataAccessResult.DATA_BLOCK_UNAVAILABLE: "the requested data block is unavailable",
    DataAccessResult.LONG_GET_ABORTED: "the meter aborted the block transfer of the GET",
    DataAccessResult.NO_LONG_GET_IN_PROGRESS: "no GET block transfer is in progress",
    DataAccessResult.LONG_SET_ABORTED: "the meter aborted the block transfer of the SET",
    DataAccessResult.NO_LONG_SET_IN_PROGRESS: "no SET block transfer is in progress",
    DataAccessResult.DATA_BLOCK_NUMBER_INVALID: "the data block number is invalid",
    DataAccessResult.OTHER_REASON: "refused for another reason",
}


@unique
class ActionResult(IntEnum):
    """Action-Result (Green Book ed.9 ASN.1 of the COSEM APDUs)."""

    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_ACTION_ABORTED = 15
    NO_LONG_ACTION_IN_PROGRESS = 16
    OTHER_REASON = 250

    def describe(self) -> str:
        return _ACTION_WORDS[self]


_ACTION_WORDS = {
    ActionResult.SUCCESS: "success",
    ActionResult.HARDWARE_FAULT: "the meter reports a hardware fault",
    ActionResult.TEMPORARY_FAILURE: "temporary failure in the meter; try again later",
    ActionResult.READ_WRITE_DENIED: "access denied for this association (method right)",
    ActionResult.OBJECT_UNDEFINED: "the object does not exist in this meter",
    ActionResult.OBJECT_CLASS_INCONSISTENT: "the object exists but with another class",
    ActionResult.OBJECT_UNAVAILABLE: "the object is currently unavailable",
    ActionResult.TYPE_UNMATCHED: "the method parameter has the wrong data type",
    ActionResult.SCOPE_OF_ACCESS_VIOLATED: "outside the scope of access",
    ActionResult.DATA_BLOCK_UNAVAILABLE: "the requested data block is unavailable",
    ActionResult.LONG_ACTION_ABORTED: "the meter aborted the block transfer of the ACTION",
    ActionResult.NO_LONG_ACTION_IN_PROGRESS: "no ACTION block transfer is in progress",
    ActionResult.OTHER_REASON: "refused for another reason",
}


def encode_results(results: tuple[DataAccessResult, ...]) -> bytes:
    """SEQUENCE OF Data-Access-Result."""
    return w.count(len(results)) + b"".join(
        w.enum_byte(r, DataAccessResult, "data-access-result") for r in results)


def decode_results(buf: bytes, offset: int) -> tuple[tuple[DataAccessResult, ...], int]:
    n, offset = w.read_count(buf, offset, "SEQUENCE OF Data-Access-Result")
    out = []
    for _ in range(n):
        result, offset = w.read_enum(buf, offset, DataAccessResult, "data-access-result")
        out.append(result)
    return tuple(out), offset
