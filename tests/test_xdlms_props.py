"""xDLMS APDUs: Hypothesis round trips of the main variants and fuzzing of decode_apdu."""

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.errors import DecodeError, RemoteProtocolError
from meterreader.dlms.xdlms import (
    ACSE_TAGS, ActionRequestNextPblock, ActionRequestNormal, ActionRequestWithList,
    ActionRequestWithPblock, ActionResponseNormal, ActionResponseWithList,
    ActionResponseWithOptionalData, ActionResponseWithPblock, ActionResult, ApduTag,
    CaptureObjectDefinition, CipheredApdu, CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection, CosemMethodDescriptor, DataAccessResult, DataBlockG,
    DataBlockSA, DataNotification, EntryDescriptor, EventNotificationRequest, ExceptionResponse,
    GeneralBlockTransfer, GetRequestNext, GetRequestNormal, GetRequestWithList,
    GetResponseNormal, GetResponseWithDatablock, GetResponseWithList, InvokeIdAndPriority,
    LongInvokeIdAndPriority, RangeDescriptor, SelectiveAccessDescriptor, ServiceError,
    SetRequestNormal, SetRequestWithDatablock, SetRequestWithFirstDatablock, SetRequestWithList,
    SetResponseLastDatablockWithList, SetResponseNormal, SetResponseWithList, StateError,
    decode_apdu)
from meterreader.dlms.xdlms.ciphered import GENERAL_CIPHERED_TAGS, SERVICE_SPECIFIC_CIPHERED_TAGS

from test_xdlms import VECTORS

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
octets = st.binary(max_size=300)  # > 127 so that long A-XDR lengths (81 xx, 82 xx xx) occur

iip = st.builds(InvokeIdAndPriority, invoke_id=st.integers(0, 15), confirmed=st.booleans(),
                high_priority=st.booleans(), reserved=st.integers(0, 3))
obis = st.builds(Obis, u8, u8, u8, u8, u8, u8)
attribute = st.builds(CosemAttributeDescriptor, class_id=u16, instance_id=obis,
                      attribute_id=st.integers(-128, 127))
method = st.builds(CosemMethodDescriptor, class_id=u16, instance_id=obis,
                   method_id=st.integers(-128, 127))

_scalars = st.one_of(
    st.just(Data(DataTag.NULL_DATA)),
    st.builds(Data, st.just(DataTag.BOOLEAN), st.booleans()),
    st.builds(Data, st.just(DataTag.INTEGER), st.integers(-128, 127)),
    st.builds(Data, st.just(DataTag.LONG), st.integers(-0x8000, 0x7FFF)),
    st.builds(Data, st.just(DataTag.UNSIGNED), u8),
    st.builds(Data, st.just(DataTag.LONG_UNSIGNED), u16),
    st.builds(Data, st.just(DataTag.DOUBLE_LONG), st.integers(-2**31, 2**31 - 1)),
    st.builds(Data, st.just(DataTag.DOUBLE_LONG_UNSIGNED), u32),
    st.builds(Data, st.just(DataTag.LONG64_UNSIGNED), st.integers(0, 2**64 - 1)),
    st.builds(Data, st.just(DataTag.ENUM), u8),
    st.builds(Data, st.just(DataTag.OCTET_STRING), octets),
)
data = st.recursive(_scalars, lambda inner: st.builds(
    Data, st.just(DataTag.STRUCTURE), st.lists(inner, max_size=4).map(tuple)), max_leaves=12)

capture = st.builds(CaptureObjectDefinition, class_id=u16, logical_name=obis,
                    attribute_index=st.integers(-128, 127), data_index=u16)
range_selection = st.builds(RangeDescriptor, restricting_object=capture, from_value=data,
                            to_value=data, selected_values=st.lists(capture, max_size=3).map(tuple)
                            ).map(SelectiveAccessDescriptor.range)
entry_selection = st.builds(EntryDescriptor, from_entry=u32, to_entry=u32,
                            from_selected_value=u16, to_selected_value=u16
                            ).map(SelectiveAccessDescriptor.entry)
any_selection = st.builds(SelectiveAccessDescriptor, access_selector=u8, access_parameters=data)
selection = st.none() | range_selection | entry_selection | any_selection
with_selection = st.builds(CosemAttributeDescriptorWithSelection,
                           cosem_attribute_descriptor=attribute, access_selection=selection)

access_result = st.sampled_from(DataAccessResult)
get_data_result = data | access_result
block_sa = st.builds(DataBlockSA, last_block=st.booleans(), block_number=u32, raw_data=octets)
block_g = st.builds(DataBlockG, last_block=st.booleans(), block_number=u32,
                    result=octets | access_result)
action_single = st.builds(ActionResponseWithOptionalData, result=st.sampled_from(ActionResult),
                          return_parameters=st.none() | get_data_result)
tuples = lambda s: st.lists(s, max_size=4).map(tuple)  # noqa: E731

PDUS = st.one_of(
    st.builds(GetRequestNormal, invoke_id_and_priority=iip, cosem_attribute_descriptor=attribute,
              access_selection=selection),
    st.builds(GetRequestNext, invoke_id_and_priority=iip, block_number=u32),
    st.builds(GetRequestWithList, invoke_id_and_priority=iip,
              attribute_descriptor_list=tuples(with_selection)),
    st.builds(GetResponseNormal, invoke_id_and_priority=iip, result=get_data_result),
    st.builds(GetResponseWithDatablock, invoke_id_and_priority=iip, result=block_g),
    st.builds(GetResponseWithList, invoke_id_and_priority=iip, result=tuples(get_data_result)),
    st.builds(SetRequestNormal, invoke_id_and_priority=iip, cosem_attribute_descriptor=attribute,
              access_selection=selection, value=data),
    st.builds(SetRequestWithFirstDatablock, invoke_id_and_priority=iip,
              cosem_attribute_descriptor=attribute, access_selection=selection,
              datablock=block_sa),
    st.builds(SetRequestWithDatablock, invoke_id_and_priority=iip, datablock=block_sa),
    st.builds(SetRequestWithList, invoke_id_and_priority=iip,
              attribute_descriptor_list=tuples(with_selection), value_list=tuples(data)),
    st.builds(SetResponseNormal, invoke_id_and_priority=iip, result=access_result),
    st.builds(SetResponseWithList, invoke_id_and_priority=iip, result=tuples(access_result)),
    st.builds(SetResponseLastDatablockWithList, invoke_id_and_priority=iip,
              result=tuples(access_result), block_number=u32),
    st.builds(ActionRequestNormal, invoke_id_and_priority=iip, cosem_method_descriptor=method,
              method_invocation_parameters=st.none() | data),
    st.builds(ActionRequestNextPblock, invoke_id_and_priority=iip, block_number=u32),
    st.builds(ActionRequestWithList, invoke_id_and_priority=iip,
              cosem_method_descriptor_list=tuples(method),
              method_invocation_parameters=tuples(data)),
    st.builds(ActionRequestWithPblock, invoke_id_and_priority=iip, pblock=block_sa),
    st.builds(ActionResponseNormal, invoke_id_and_priority=iip, single_response=action_single),
    st.builds(ActionResponseWithPblock, invoke_id_and_priority=iip, pblock=block_sa),
    st.builds(ActionResponseWithList, invoke_id_and_priority=iip,
              list_of_responses=tuples(action_single)),
    st.builds(EventNotificationRequest, time=st.none() | octets,
              cosem_attribute_descriptor=attribute, attribute_value=data),
    st.builds(DataNotification, long_invoke_id_and_priority=u32.map(
        LongInvokeIdAndPriority.from_int), date_time=octets, notification_body=data),
    st.builds(GeneralBlockTransfer, last_block=st.booleans(), streaming=st.booleans(),
              window=st.integers(0, 63), block_number=u16, block_number_ack=u16,
              block_data=octets),
    st.builds(ExceptionResponse, state_error=st.sampled_from(StateError),
              service_error=st.sampled_from(
                  [e for e in ServiceError if e != ServiceError.INVOCATION_COUNTER_ERROR])),
    st.builds(ExceptionResponse, state_error=st.sampled_from(StateError),
              service_error=st.just(ServiceError.INVOCATION_COUNTER_ERROR),
              invocation_counter=u32),
    st.builds(CipheredApdu, tag=st.sampled_from(sorted(SERVICE_SPECIFIC_CIPHERED_TAGS)),
              security_control=u8, invocation_counter=u32, ciphered_text=octets),
    st.builds(CipheredApdu, tag=st.sampled_from(sorted(GENERAL_CIPHERED_TAGS)),
              system_title=st.binary(max_size=8), security_control=u8, invocation_counter=u32,
              ciphered_text=octets),
)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(PDUS)
def test_round_trip(pdu):
    raw = pdu.encode()
    assert type(raw) is bytes
    assert decode_apdu(raw) == pdu
    assert type(pdu).decode(raw) == pdu


@given(range_selection | entry_selection)
def test_selective_access_parameters_round_trip(selection):
    parsed = selection.parameters()
    rebuilt = (SelectiveAccessDescriptor.range(parsed) if isinstance(parsed, RangeDescriptor)
               else SelectiveAccessDescriptor.entry(parsed))
    assert rebuilt == selection


def _decode_only_protocol_errors(raw: bytes) -> None:
    try:
        pdu = decode_apdu(raw)
    except RemoteProtocolError as exc:  # DecodeError is a RemoteProtocolError
        assert exc.data is not None and 0 <= exc.offset <= len(raw)
        return
    # Whatever decodes must re-encode to something that decodes to the same PDU.
    assert decode_apdu(pdu.encode()) == pdu


XDLMS_TAGS = sorted(set(ApduTag) - ACSE_TAGS)


@settings(max_examples=2000)
@given(st.sampled_from(XDLMS_TAGS), st.binary(max_size=64))
def test_fuzz_xdlms_tags(tag, body):
    _decode_only_protocol_errors(bytes((tag,)) + body)


@settings(max_examples=500)
@given(st.binary(max_size=64))
def test_fuzz_any_bytes(raw):
    if raw and raw[0] in ACSE_TAGS:
        pytest.importorskip("meterreader.dlms.acse")
        pytest.importorskip("meterreader.dlms.initiate")
    _decode_only_protocol_errors(raw)


@settings(max_examples=2000)
@given(st.sampled_from([raw for _name, _pdu, raw in VECTORS]), st.data())
def test_fuzz_mutated_vectors(raw, draw):
    """Flip, insert or delete bytes of a valid APDU: it decodes or raises a protocol error."""
    buf = bytearray(raw)
    for _ in range(draw.draw(st.integers(1, 4))):
        op = draw.draw(st.sampled_from(["flip", "insert", "delete"]))
        pos = draw.draw(st.integers(0, len(buf)))
        if op == "insert":
            buf.insert(pos, draw.draw(u8))
        elif buf and pos < len(buf):
            if op == "flip":
                buf[pos] = draw.draw(u8)
            else:
                del buf[pos]
    _decode_only_protocol_errors(bytes(buf))


@settings(max_examples=300)
@given(st.sampled_from([raw for _name, _pdu, raw in VECTORS]), st.integers(0, 200))
def test_prefixes_raise_decode_error(raw, cut):
    assume(cut < len(raw))
    with pytest.raises(DecodeError):
        decode_apdu(raw[:cut])
