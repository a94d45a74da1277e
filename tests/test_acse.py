"""ACSE APDUs (AARQ/AARE/RLRQ/RLRE, BER) and xDLMS Initiate PDUs (A-XDR).

Vectors: /work/shared/vectors/dlms_vectors.json ("apdu" list; published Green Book-style AARQ/AARE
captures, each checked with an independent implementation). Other byte strings below are built
by hand from the ACSE/xDLMS ASN.1 and are cross-checked against the vectors' layout.
"""

from __future__ import annotations


import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterreader.dlms.acse import (
    AARE, AARQ, ACSE_REQUIREMENTS_AUTHENTICATION, PROTOCOL_VERSION_1, RLRE, RLRQ,
    AcseServiceProviderDiagnostic, AcseServiceUserDiagnostic, ApplicationContextName,
    AssociationResult, MechanismName, ReleaseRequestReason, ReleaseResponseReason, decode_acse,
)
from meterreader.dlms.axdr import BitString
from meterreader.dlms.errors import DecodeError, LocalProtocolError, Reason
from shared_data import load_vectors
from meterreader.dlms.initiate import (
    VAA_NAME_LN, VAA_NAME_SN, Conformance, InitiateRequest, InitiateResponse, decode_conformance,
    encode_conformance,
)

VECTORS = load_vectors()["apdu"]


def _vector(prefix: str) -> bytes:
    (hex_,) = [v["hex"] for v in VECTORS if v["name"].startswith(prefix)]
    return bytes.fromhex(hex_)


AARQ_VECTOR = _vector("AARQ")
AARE_VECTOR = _vector("AARE")
ALL_DECODERS = (AARQ.decode, AARE.decode, RLRQ.decode, RLRE.decode, decode_acse,
                InitiateRequest.decode, InitiateResponse.decode)

LN_CONFORMANCE = Conformance(0x007E1F)
SYSTEM_TITLE = bytes.fromhex("4D4D4D0000000001")
CONTEXT_LN_AND_TITLE = "A109060760857405080101" + "A60A0408" + SYSTEM_TITLE.hex()


def _initiate_request(**kw) -> InitiateRequest:
    kw.setdefault("proposed_conformance", LN_CONFORMANCE)
    kw.setdefault("client_max_receive_pdu_size", 0x04B0)
    return InitiateRequest(**kw)


def _initiate_response(**kw) -> InitiateResponse:
    kw.setdefault("negotiated_conformance", Conformance(0x00501F))
    kw.setdefault("server_max_receive_pdu_size", 0x01F4)
    return InitiateResponse(**kw)


def _decode_error(func, data: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        func(data)
    assert info.value.data == bytes(data)
    return info.value


# --- the published vectors ----------------------------------------------------------------------

def test_aarq_vector_fields_and_reencode() -> None:
    aarq = AARQ.decode(AARQ_VECTOR)
    assert aarq.application_context_name is ApplicationContextName.LN
    assert aarq.sender_acse_requirements == ACSE_REQUIREMENTS_AUTHENTICATION
    assert aarq.mechanism_name is MechanismName.LOW
    assert aarq.calling_authentication_value == b"12345678"
    assert type(aarq.calling_authentication_value) is bytes
    assert aarq.calling_ap_title is None and aarq.protocol_version is None
    assert aarq.unknown_fields == ()
    assert aarq.user_information == bytes.fromhex("01000000065F1F0400007E1F04B0")
    assert aarq.initiate_request == InitiateRequest(
        dedicated_key=None, response_allowed=True, proposed_quality_of_service=None,
        proposed_dlms_version_number=6, proposed_conformance=Conformance(0x00007E1F),
        client_max_receive_pdu_size=0x04B0)
    assert aarq.encode() == AARQ_VECTOR
    built = AARQ(application_context_name=ApplicationContextName.LN,
                 sender_acse_requirements=ACSE_REQUIREMENTS_AUTHENTICATION,
                 mechanism_name=MechanismName.LOW, calling_authentication_value=b"12345678",
                 user_information=_initiate_request().encode())
    assert built.encode() == AARQ_VECTOR
    assert built == aarq


def test_aare_vector_fields_and_reencode() -> None:
    aare = AARE.decode(AARE_VECTOR)
    assert aare.application_context_name is ApplicationContextName.LN
    assert aare.result is AssociationResult.ACCEPTED
    assert type(aare.result_source_diagnostic) is AcseServiceUserDiagnostic
    assert aare.result_source_diagnostic is AcseServiceUserDiagnostic.NULL
    assert aare.mechanism_name is None and aare.responding_authentication_value is None
    response = aare.initiate_response
    # The vector's name says "0x00501F01": the bytes are 5F1F 04 00 00501F, then 01F4 = PDU size.
    assert response == InitiateResponse(negotiated_quality_of_service=None,
                                        negotiated_dlms_version_number=6,
                                        negotiated_conformance=Conformance(0x00501F),
                                        server_max_receive_pdu_size=0x01F4, vaa_name=0x0007)
    assert response.negotiated_conformance == (
        Conformance.PRIORITY_MGMT_SUPPORTED | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
        | Conformance.GET | Conformance.SET | Conformance.SELECTIVE_ACCESS
        | Conformance.EVENT_NOTIFICATION | Conformance.ACTION)
    assert aare.encode() == AARE_VECTOR
    built = AARE(application_context_name=ApplicationContextName.LN,
                 result=AssociationResult.ACCEPTED,
                 result_source_diagnostic=AcseServiceUserDiagnostic.NULL,
                 user_information=_initiate_response().encode())
    assert built.encode() == AARE_VECTOR


@pytest.mark.parametrize("vector", [AARQ_VECTOR, AARE_VECTOR], ids=["AARQ", "AARE"])
def test_every_strict_prefix_is_truncated(vector: bytes) -> None:
    for cut in range(len(vector)):
        for decoder in (decode_acse, type(decode_acse(vector)).decode):
            assert _decode_error(decoder, vector[:cut]).reason is Reason.TRUNCATED


@pytest.mark.parametrize("vector", [AARQ_VECTOR, AARE_VECTOR], ids=["AARQ", "AARE"])
def test_trailing_garbage(vector: bytes) -> None:
    error = _decode_error(decode_acse, vector + b"\x00")
    assert (error.reason, error.offset) == (Reason.TRAILING_DATA, len(vector))


def test_decode_acse_dispatch_and_wrong_tag() -> None:
    assert type(decode_acse(AARQ_VECTOR)) is AARQ
    assert type(decode_acse(AARE_VECTOR)) is AARE
    assert decode_acse(b"\x62\x00") == RLRQ()
    assert decode_acse(b"\x63\x00") == RLRE()
    assert _decode_error(decode_acse, b"\x64\x00").reason is Reason.UNKNOWN_TAG
    assert _decode_error(AARE.decode, AARQ_VECTOR).reason is Reason.UNKNOWN_TAG


# --- conformance block --------------------------------------------------------------------------

@pytest.mark.parametrize(("flag", "block"), [
    (Conformance.RESERVED_ZERO, "800000"),  # bit 0 = MSB of the first byte
    (Conformance.GENERAL_PROTECTION, "400000"),
    (Conformance.GENERAL_BLOCK_TRANSFER, "200000"),
    (Conformance.READ, "100000"),
    (Conformance.WRITE, "080000"),
    (Conformance.UNCONFIRMED_WRITE, "040000"),
    (Conformance.ATTRIBUTE0_SUPPORTED_WITH_SET, "008000"),
    (Conformance.PRIORITY_MGMT_SUPPORTED, "004000"),
    (Conformance.ATTRIBUTE0_SUPPORTED_WITH_GET, "002000"),
    (Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ, "001000"),
    (Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE, "000800"),
    (Conformance.BLOCK_TRANSFER_WITH_ACTION, "000400"),
    (Conformance.MULTIPLE_REFERENCES, "000200"),
    (Conformance.INFORMATION_REPORT, "000100"),
    (Conformance.DATA_NOTIFICATION, "000080"),
    (Conformance.ACCESS, "000040"),
    (Conformance.PARAMETERIZED_ACCESS, "000020"),
    (Conformance.GET, "000010"),
    (Conformance.SET, "000008"),
    (Conformance.SELECTIVE_ACCESS, "000004"),
    (Conformance.EVENT_NOTIFICATION, "000002"),
    (Conformance.ACTION, "000001"),
])
def test_conformance_bit_positions(flag: Conformance, block: str) -> None:
    encoded = encode_conformance(flag)
    assert encoded == bytes.fromhex("5F1F0400" + block)
    assert decode_conformance(encoded, 0) == (flag, 7)


def test_conformance_typical_ln_block() -> None:
    assert LN_CONFORMANCE == (
        Conformance.PRIORITY_MGMT_SUPPORTED | Conformance.ATTRIBUTE0_SUPPORTED_WITH_GET
        | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ | Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE
        | Conformance.BLOCK_TRANSFER_WITH_ACTION | Conformance.MULTIPLE_REFERENCES
        | Conformance.GET | Conformance.SET | Conformance.SELECTIVE_ACCESS
        | Conformance.EVENT_NOTIFICATION | Conformance.ACTION)
    with pytest.raises(LocalProtocolError):
        encode_conformance(Conformance(0x1000000))
    assert _decode_error(lambda d: decode_conformance(d, 0),
                         bytes.fromhex("5F1F0401007E1F")).reason is Reason.UNKNOWN_TAG


# --- AARQ / AARE builds --------------------------------------------------------------------------

@pytest.mark.parametrize("context", list(ApplicationContextName))
@pytest.mark.parametrize("mechanism", list(MechanismName))
def test_aarq_every_mechanism_and_context(context: ApplicationContextName,
                                           mechanism: MechanismName) -> None:
    aarq = AARQ(application_context_name=context, calling_ap_title=SYSTEM_TITLE,
                sender_acse_requirements=ACSE_REQUIREMENTS_AUTHENTICATION,
                mechanism_name=mechanism, calling_authentication_value=b"K56iVagY",
                user_information=_initiate_request(dedicated_key=bytes(16)).encode())
    encoded = aarq.encode()
    assert bytes.fromhex("A109060760857405080100")[:-1] + bytes((context,)) in encoded
    assert bytes.fromhex("8B07608574050802") + bytes((mechanism,)) in encoded
    assert bytes.fromhex("A60A0408") + SYSTEM_TITLE in encoded
    decoded = AARQ.decode(encoded)
    assert decoded == aarq
    assert decoded.mechanism_name is mechanism and decoded.encode() == encoded


def test_mechanism_wire_values() -> None:
    # Green Book numbering: SHA-256 is mechanism_id(6), ECDSA mechanism_id(7).
    high = (MechanismName.HIGH_GMAC, MechanismName.HIGH_SHA256, MechanismName.HIGH_ECDSA)
    assert high == (5, 6, 7)
    encoded = AARQ(application_context_name=1, mechanism_name=MechanismName.HIGH_SHA256).encode()
    assert encoded == bytes.fromhex("6014" "A109060760857405080101" "8B07608574050802" "06")


@pytest.mark.parametrize("mechanism", list(MechanismName))
def test_aare_every_mechanism(mechanism: MechanismName) -> None:
    aare = AARE(application_context_name=ApplicationContextName.LN_CIPHERING,
                result=AssociationResult.ACCEPTED,
                result_source_diagnostic=AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED,
                responding_ap_title=bytes.fromhex("4D4D4D0000BC614E"),
                responder_acse_requirements=ACSE_REQUIREMENTS_AUTHENTICATION,
                mechanism_name=mechanism, responding_authentication_value=b"P6wRJ21F",
                user_information=bytes.fromhex("281F3000000001") + bytes(18))  # ciphered
    decoded = AARE.decode(aare.encode())
    assert decoded == aare and decoded.encode() == aare.encode()
    assert decoded.initiate_response is None  # glo-initiate-response: kept raw
    assert "P6wRJ21F" not in repr(decoded) and "'***'" in repr(decoded)


@pytest.mark.parametrize("diagnostic", list(AcseServiceUserDiagnostic)
                         + list(AcseServiceProviderDiagnostic))
@pytest.mark.parametrize("result", [AssociationResult.REJECTED_PERMANENT,
                                    AssociationResult.REJECTED_TRANSIENT])
def test_rejected_aare_each_diagnostic(result: AssociationResult, diagnostic) -> None:
    aare = AARE(application_context_name=ApplicationContextName.LN, result=result,
                result_source_diagnostic=diagnostic,
                user_information=bytes.fromhex("0E010601"))  # confirmedServiceError, kept raw
    encoded = aare.encode()
    choice = 0xA1 if isinstance(diagnostic, AcseServiceUserDiagnostic) else 0xA2
    assert bytes((0xA2, 3, 2, 1, result, 0xA3, 5, choice, 3, 2, 1, diagnostic)) in encoded
    decoded = AARE.decode(encoded)
    assert decoded == aare
    assert type(decoded.result_source_diagnostic) is type(diagnostic)
    assert decoded.initiate_response is None and decoded.user_information == b"\x0e\x01\x06\x01"
    assert decoded.encode() == encoded
    assert isinstance(diagnostic.describe(), str) and diagnostic.describe()


def test_describe_plain_words() -> None:
    assert AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE.describe() == "authentication failure"
    assert (AcseServiceUserDiagnostic.CALLING_AP_TITLE_NOT_RECOGNIZED.describe()
            == "calling AP title not recognized")
    assert (AcseServiceProviderDiagnostic.NO_COMMON_ACSE_VERSION.describe()
            == "no common ACSE version")
    assert AssociationResult.REJECTED_PERMANENT.describe() == "rejected (permanent)"


def test_aare_old_protocol_version_field() -> None:
    # INTEROP.md: older AAREs carry protocol-version 80 02 07 80 before the context name.
    body = bytes.fromhex("80020780") + AARE_VECTOR[2:]
    encoded = bytes((0x61, len(body))) + body
    aare = AARE.decode(encoded)
    assert aare.protocol_version == PROTOCOL_VERSION_1 == BitString(length=1, data=b"\x80")
    assert aare.initiate_response.server_max_receive_pdu_size == 0x01F4
    assert aare.encode() == encoded
    assert AARE.decode(aare.encode()) == aare


def test_aarq_all_optional_fields_round_trip() -> None:
    aarq = AARQ(protocol_version=PROTOCOL_VERSION_1, application_context_name=3,
                called_ap_title=b"\x01\x02", called_ae_qualifier=b"\x03",
                called_ap_invocation_id=-129, called_ae_invocation_id=255,
                calling_ap_title=SYSTEM_TITLE, calling_ae_qualifier=b"\x30" * 200,
                calling_ap_invocation_id=0, calling_ae_invocation_id=70000,
                sender_acse_requirements=ACSE_REQUIREMENTS_AUTHENTICATION, mechanism_name=5,
                calling_authentication_value=b"\x00" * 64, implementation_information=b"mr",
                user_information=_initiate_request(
                    dedicated_key=bytes(range(16)), response_allowed=False,
                    proposed_quality_of_service=-3).encode())
    encoded = aarq.encode()
    assert encoded[:3] == b"\x60\x82\x01"  # long-form length: > 255 bytes of content
    assert bytes.fromhex("A4040202FF7F") in encoded  # -129
    assert AARQ.decode(encoded) == aarq
    assert AARQ.decode(encoded).initiate_request.dedicated_key == bytes(range(16))


def test_unknown_fields_are_kept_and_reencoded() -> None:
    # A context [13] primitive and a [31] (multi-byte identifier) element, in tag order.
    extra13, extra31 = bytes.fromhex("8D01AA"), bytes.fromhex("9F1F0155")
    body = AARQ_VECTOR[2:-18] + extra13 + AARQ_VECTOR[-18:] + extra31
    encoded = bytes((0x60, len(body))) + body
    aarq = AARQ.decode(encoded)
    assert aarq.unknown_fields == ((13, extra13), (31, extra31))
    assert aarq.encode() == encoded
    assert aarq.initiate_request is not None


def test_unknown_fields_out_of_order_keep_their_order() -> None:
    body = bytes.fromhex(CONTEXT_LN_AND_TITLE + "9401AA" + "8D00")  # [20] before [13]
    aarq = AARQ.decode(bytes((0x60, len(body))) + body)
    assert [number for number, _ in aarq.unknown_fields] == [20, 13]
    assert AARQ.decode(aarq.encode()) == aarq


def test_memoryview_input() -> None:
    assert AARQ.decode(memoryview(AARQ_VECTOR)) == AARQ.decode(AARQ_VECTOR)
    assert decode_acse(memoryview(AARE_VECTOR)).encode() == AARE_VECTOR
    assert InitiateRequest.decode(memoryview(AARQ_VECTOR)[-14:]) == _initiate_request()


def test_rlrq_rlre() -> None:
    assert RLRQ().encode() == b"\x62\x00"
    assert RLRQ(reason=ReleaseRequestReason.NORMAL).encode() == bytes.fromhex("6203800100")
    assert RLRE(reason=ReleaseResponseReason.NORMAL).encode() == bytes.fromhex("6303800100")
    info_q = _initiate_request().encode()
    info_r = _initiate_response().encode()
    for reason in [None, *ReleaseRequestReason]:
        for info in (None, info_q):
            pdu = RLRQ(reason=reason, user_information=info)
            assert RLRQ.decode(pdu.encode()) == pdu
            assert (pdu.initiate_request is None) == (info is None)
    for reason in [None, *ReleaseResponseReason]:
        for info in (None, info_r):
            pdu = RLRE(reason=reason, user_information=info)
            assert RLRE.decode(pdu.encode()) == pdu
            assert decode_acse(pdu.encode()) == pdu
    rlrq = RLRQ.decode(bytes.fromhex("6215800100BE10") + AARQ_VECTOR[-16:])
    assert rlrq.reason is ReleaseRequestReason.NORMAL
    assert rlrq.initiate_request == _initiate_request()
    error = _decode_error(RLRE.decode, bytes.fromhex("6303800102"))
    assert (error.reason, error.offset) == (Reason.BAD_VALUE, 4)


def test_repr_hides_secrets() -> None:
    aarq = AARQ.decode(AARQ_VECTOR)
    text = repr(aarq)
    assert "calling_authentication_value='***'" in text
    for leak in ("12345678", "3132333435363738", "31 32 33"):
        assert leak not in text
    key = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
    request = _initiate_request(dedicated_key=key)
    assert "dedicated_key='***'" in repr(request) and "\\x0e" not in repr(request)
    assert "calling_authentication_value=None" in repr(AARQ(application_context_name=1))


# --- initiate PDUs ------------------------------------------------------------------------------

def test_initiate_request_encodings() -> None:
    assert _initiate_request().encode() == bytes.fromhex("01000000065F1F0400007E1F04B0")
    assert _initiate_request(response_allowed=False, proposed_quality_of_service=1).encode() \
        == bytes.fromhex("0100010001 01 065F1F0400007E1F04B0".replace(" ", ""))
    assert _initiate_request(dedicated_key=b"\xAA\xBB").encode()[:5] == bytes.fromhex("010102AABB")
    # response-allowed sent explicitly TRUE decodes as TRUE (and re-encodes as the default).
    explicit = InitiateRequest.decode(bytes.fromhex("0100010100065F1F0400007E1F04B0"))
    assert explicit == _initiate_request()


def test_initiate_response_encodings() -> None:
    sn = _initiate_response(vaa_name=VAA_NAME_SN, negotiated_quality_of_service=-1)
    assert sn.encode() == bytes.fromhex("0801FF065F1F040000501F01F4FA00")
    assert InitiateResponse.decode(sn.encode()) == sn
    assert _initiate_response().vaa_name == VAA_NAME_LN


@pytest.mark.parametrize(("data", "reason"), [
    ("", Reason.TRUNCATED),
    ("08000600", Reason.UNKNOWN_TAG),  # InitiateResponse tag given to the request decoder
    ("0102000000065F1F0400007E1F04B0", Reason.BAD_VALUE),  # presence flag 02
    ("01010A0000", Reason.TRUNCATED),  # dedicated key longer than the data
    ("0101FF", Reason.BAD_LENGTH),  # 127-octet length field
    ("01000000065F1F0300007E1F04B0", Reason.UNKNOWN_TAG),  # conformance header
    ("01000000065F1F0400007E1F04B000", Reason.TRAILING_DATA),
])
def test_initiate_request_errors(data: str, reason: Reason) -> None:
    assert _decode_error(InitiateRequest.decode, bytes.fromhex(data)).reason is reason


CONTEXT_LN = "A109060760857405080101"  # application-context-name, bytes 2..12 of an AARQ


@pytest.mark.parametrize(("body", "reason", "offset"), [
    # inner InitiateRequest cut short inside a consistent BER wrapper: bounded by the OCTET STRING
    (CONTEXT_LN + "BE0404020100", Reason.BAD_LENGTH, 19),
    (CONTEXT_LN + "BE050403010000" + "8D01AA", Reason.BAD_LENGTH, 20),
    # bytes after the InitiateRequest inside the OCTET STRING
    (CONTEXT_LN + "BE11040F01000000065F1F0400007E1F04B0EE", Reason.TRAILING_DATA, 31),
    ("", Reason.BAD_VALUE, 0),  # application-context-name is mandatory
    ("A1050603608574", Reason.BAD_VALUE, 6),  # OID 2.16.756 is not a DLMS context name
    ("A1070605608574050A", Reason.BAD_VALUE, 6),  # 2.16.756.5.10 not under 2.16.756.5.8.1
    ("A109060760857405080105", Reason.BAD_VALUE, 6),  # context name 5 undefined
    (CONTEXT_LN + CONTEXT_LN, Reason.BAD_VALUE, 13),  # component twice
    (CONTEXT_LN + "8B01", Reason.BAD_LENGTH, 15),  # element longer than the APDU says
    (CONTEXT_LN + "8B0760857405080208", Reason.BAD_VALUE, 15),  # mechanism 8 undefined
    (CONTEXT_LN + "8B0760857405080282", Reason.BAD_VALUE, 21),  # OID ends mid-subidentifier
    (CONTEXT_LN + "AC03810131", Reason.UNKNOWN_TAG, 15),  # bitstring authentication value
    (CONTEXT_LN + "8A020880", Reason.BAD_VALUE, 15),  # 8 unused bits
    (CONTEXT_LN + "A8020200", Reason.BAD_LENGTH, 15),  # INTEGER with no content octets
    (CONTEXT_LN + "A80402010000", Reason.TRAILING_DATA, 18),  # two values in an explicit tag
    ("8109060760857405080101", Reason.BAD_VALUE, 2),  # [1] must be constructed (explicit)
    ("A109040760857405080101", Reason.UNKNOWN_TAG, 4),  # [1] holds an OCTET STRING, not an OID
    ("A109060760857405080101" + "9F80010100", Reason.BAD_VALUE, 14),  # tag number 80 01
    ("A109060760857405080101" + "8C8500000000", Reason.BAD_LENGTH, 14),  # 5-octet length
])
def test_aarq_malformed(body: str, reason: Reason, offset: int) -> None:
    content = bytes.fromhex(body)
    error = _decode_error(AARQ.decode, bytes((0x60, len(content))) + content)
    assert (error.reason, error.offset) == (reason, offset)


def test_indefinite_length_refused() -> None:
    error = _decode_error(AARQ.decode, bytes.fromhex("6080") + bytes.fromhex(CONTEXT_LN) + b"\0\0")
    assert (error.reason, error.offset) == (Reason.BAD_LENGTH, 1)


def test_aare_malformed() -> None:
    body = AARE_VECTOR[2:]
    no_result = body.replace(bytes.fromhex("A203020100"), b"")
    error = _decode_error(AARE.decode, bytes((0x61, len(no_result))) + no_result)
    assert error.reason is Reason.BAD_VALUE
    bad_choice = body.replace(bytes.fromhex("A305A103020100"), bytes.fromhex("A305A303020100"))
    assert _decode_error(AARE.decode, bytes((0x61, len(bad_choice))) + bad_choice).reason \
        is Reason.UNKNOWN_TAG
    bad_value = body.replace(bytes.fromhex("A305A103020100"), bytes.fromhex("A305A20302010F"))
    assert _decode_error(AARE.decode, bytes((0x61, len(bad_value))) + bad_value).reason \
        is Reason.BAD_VALUE
    bad_result = body.replace(bytes.fromhex("A203020100"), bytes.fromhex("A203020103"))
    assert _decode_error(AARE.decode, bytes((0x61, len(bad_result))) + bad_result).reason \
        is Reason.BAD_VALUE


def test_local_errors_on_bad_construction() -> None:
    with pytest.raises(LocalProtocolError):
        AARQ(application_context_name=9)
    with pytest.raises(LocalProtocolError):
        AARQ(application_context_name=1, calling_ap_title=bytearray(8))
    with pytest.raises(LocalProtocolError):
        AARQ(application_context_name=1, unknown_fields=((1,),))
    with pytest.raises(LocalProtocolError):
        AARE(application_context_name=1, result=0, result_source_diagnostic=0)  # ambiguous int
    with pytest.raises(LocalProtocolError):
        _initiate_request(client_max_receive_pdu_size=0x10000)
    with pytest.raises(LocalProtocolError):
        _initiate_response(negotiated_conformance=0x1000000)
    with pytest.raises(LocalProtocolError):
        AARQ(application_context_name=1,
             sender_acse_requirements=BitString(length=9, data=b"\x80")).encode()


# --- property tests -----------------------------------------------------------------------------

def _mutations(vector: bytes):
    return st.tuples(st.integers(0, len(vector) - 1), st.integers(0, 255)).map(
        lambda m: vector[:m[0]] + bytes((m[1],)) + vector[m[0] + 1:])


@settings(max_examples=400)
@given(st.one_of(
    st.binary(max_size=80),
    _mutations(AARQ_VECTOR), _mutations(AARE_VECTOR),
    st.tuples(st.sampled_from([0x60, 0x61, 0x62, 0x63]), st.binary(max_size=60)).map(
        lambda t: bytes((t[0], len(t[1]))) + t[1]),
    st.binary(max_size=30).map(lambda b: b"\x01" + b), st.binary(max_size=30).map(
        lambda b: b"\x08" + b),
))
def test_fuzz_decoders_raise_only_decode_error(data: bytes) -> None:
    for decoder in ALL_DECODERS:
        try:
            pdu = decoder(data)
        except DecodeError as error:
            assert error.data == data and 0 <= error.offset <= len(data)
            continue
        assert type(pdu).decode(pdu.encode()) == pdu


_opt_bytes = st.none() | st.binary(max_size=20)
_opt_int = st.none() | st.integers(-2**40, 2**40)


@settings(max_examples=200)
@given(st.builds(
    AARQ, protocol_version=st.none() | st.just(PROTOCOL_VERSION_1),
    application_context_name=st.sampled_from(ApplicationContextName),
    called_ap_title=_opt_bytes, called_ae_qualifier=_opt_bytes, called_ap_invocation_id=_opt_int,
    called_ae_invocation_id=_opt_int, calling_ap_title=_opt_bytes,
    calling_ae_qualifier=_opt_bytes, calling_ap_invocation_id=_opt_int,
    calling_ae_invocation_id=_opt_int,
    sender_acse_requirements=st.none() | st.just(ACSE_REQUIREMENTS_AUTHENTICATION),
    mechanism_name=st.none() | st.sampled_from(MechanismName),
    calling_authentication_value=_opt_bytes, implementation_information=_opt_bytes,
    user_information=st.none() | st.builds(
        lambda c, n, k: _initiate_request(proposed_conformance=c, client_max_receive_pdu_size=n,
                                          dedicated_key=k).encode(),
        st.integers(0, 0xFFFFFF), st.integers(0, 0xFFFF), _opt_bytes)))
def test_aarq_round_trip_property(aarq: AARQ) -> None:
    encoded = aarq.encode()
    assert AARQ.decode(encoded) == aarq
    assert AARQ.decode(encoded).encode() == encoded
