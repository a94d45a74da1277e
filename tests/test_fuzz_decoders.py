"""Fuzzing of the A-XDR, block-transfer, xDLMS, ACSE/BER and initiate decoders (issue 11).

Starting from valid vectors (the shared published vectors, every xDLMS service of test_xdlms and
the APDUs of real in-memory associations), mutated and random bytes must only ever raise the
typed RemoteProtocolError family; whatever decodes must re-encode to bytes that decode to the
same bytes again; and a length prefix claiming 2**31 items with a few bytes present must be
refused at once, without allocating for the claim (tracemalloc peak bound).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from association_pair import make_pair
from fuzz_strategies import FUZZ, HUGE_LENGTHS, fuzz_input, peak_memory, remote_only
from shared_data import load_vectors
from test_xdlms import VECTORS as XDLMS_VECTORS

from meterreader.cosem.obis import Obis
from meterreader.dlms import acse
from meterreader.dlms import connection_events as ev
from meterreader.dlms import xdlms as x
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.axdr import D, TypeDescription, DataTag, decode_data, decode_length, \
    encode_data
from meterreader.dlms.blocks import decode_results, decode_values, encode_results, encode_values
from meterreader.dlms.cosem_time import CosemDateTime
from meterreader.dlms.errors import DecodeError, LocalProtocolError, Reason
from meterreader.dlms.initiate import Conformance, InitiateRequest, InitiateResponse
from meterreader.dlms.security import CipheringMode

VECTORS = load_vectors()
SUITE0 = VECTORS["security_suite0"]["authenticated_encryption_get_request"]
REGISTER = x.CosemAttributeDescriptor(class_id=3, instance_id=Obis(1, 0, 1, 8, 0, 255),
                                      attribute_id=2)


def _association_apdus() -> list[bytes]:
    """Every APDU of associate / GET / release for each mechanism (ciphered ones included)."""
    apdus: list[bytes] = []
    for mechanism, ciphering in ((MechanismName.NONE, None), (MechanismName.LOW, None),
                                 (MechanismName.HIGH, None),
                                 (MechanismName.HIGH_GMAC, CipheringMode.GLOBAL),
                                 (MechanismName.HIGH_GMAC, CipheringMode.DEDICATED)):
        pair = make_pair(mechanism, ciphering)
        pair.associate()
        pair.request(ev.Get(descriptor=REGISTER))
        pair.send(pair.client.our_role, ev.Release())
        apdus += [apdu for _, apdu in pair.trace]
    return apdus


_DT = CosemDateTime.from_bytes(bytes.fromhex("07E30C1F0217000000FFC400"))
AXDR_SEEDS: tuple[bytes, ...] = tuple(dict.fromkeys([
    *(bytes.fromhex(v["hex"]) for v in VECTORS["axdr"]),
    encode_data(D.structure(D.octet_string(bytes(300)), D.visible_string("abc"),
                            D.utf8_string("é"), D.bit_string("1010110011"), D.boolean(True),
                            D.float32(1.5), D.float64(-2.25), D.long64(-5), D.bcd(0x12),
                            D.date_time(_DT), D.date(_DT.date), D.time(_DT.time),
                            D.null(), D.dont_care(), D.enum(3), D.integer(-1), D.long(-300),
                            D.long_unsigned(0xFFFF), D.double_long(-1))),
    encode_data(D.compact_array(TypeDescription.structure(
        TypeDescription(DataTag.UNSIGNED), TypeDescription(DataTag.OCTET_STRING),
        TypeDescription.array(2, TypeDescription(DataTag.LONG_UNSIGNED))),
        *(D.structure(D.unsigned(i), D.octet_string(bytes(i)),
                      D.array(D.long_unsigned(i), D.long_unsigned(2 * i))) for i in range(3)))),
    encode_data(D.array(*(D.array(D.unsigned(i)) for i in range(5)))),
]))
APDU_SEEDS: tuple[bytes, ...] = tuple(dict.fromkeys([
    *(raw for _name, _pdu, raw in XDLMS_VECTORS),
    *(bytes.fromhex(v["hex"]) for v in VECTORS["apdu"]),
    bytes.fromhex(SUITE0["plaintext_apdu"]), bytes.fromhex(SUITE0["glo_get_request_apdu"]),
    bytes.fromhex(SUITE0["general_glo_ciphering_apdu"]),
    acse.RLRQ(reason=acse.ReleaseRequestReason.NORMAL).encode(),
    acse.RLRE(reason=acse.ReleaseResponseReason.NORMAL).encode(),
    *_association_apdus(),
]))
BLOCK_SEEDS = (encode_values((D.unsigned(1), D.octet_string(b"abc"))),
               encode_results((D.unsigned(1), x.DataAccessResult.OBJECT_UNDEFINED)))
ACSE_SEEDS = tuple(a for a in APDU_SEEDS if a[0] in (0x60, 0x61, 0x62, 0x63))


def test_seed_pools_are_valid() -> None:
    """The seeds themselves decode: mutations start from real, accepted bytes."""
    for seed in AXDR_SEEDS:
        assert decode_data(seed)[1] == len(seed)
    for seed in APDU_SEEDS:
        x.decode_apdu(seed)
    assert {0x60, 0x61, 0x62, 0x63} <= {a[0] for a in ACSE_SEEDS}
    assert {0xC8, 0xCC, 0xD0, 0xD4} & {a[0] for a in APDU_SEEDS}  # ciphered services
    assert len(APDU_SEEDS) > 60


# -- A-XDR ----------------------------------------------------------------------------------------

@FUZZ
@given(fuzz_input(AXDR_SEEDS))
def test_decode_data_raises_only_typed_errors_and_round_trips(data: bytes) -> None:
    result = remote_only(decode_data, data)
    if result is None:
        return
    value, end = result
    assert 0 < end <= len(data)
    again = encode_data(value)  # whatever decodes must be encodable
    assert encode_data(decode_data(again)[0]) == again
    assert decode_data(again)[1] == len(again)


@FUZZ
@given(st.binary(max_size=8), st.integers(0, 8))
def test_decode_length_raises_only_typed_errors(data: bytes, offset: int) -> None:
    result = remote_only(lambda b: decode_length(b, offset), data)
    if result is not None:
        n, end = result
        assert 0 <= n < 2**32 and offset < end <= len(data)


@FUZZ
@given(fuzz_input(BLOCK_SEEDS + AXDR_SEEDS))
def test_block_contents_raise_only_typed_errors(data: bytes) -> None:
    values = remote_only(decode_values, data)
    if values is not None:
        assert decode_values(encode_values(values)) == values
    results = remote_only(decode_results, data)
    if results is not None:
        assert len(encode_results(results)) <= len(data)


# -- xDLMS and ACSE -------------------------------------------------------------------------------

def _reencodes(pdu: Any) -> None:
    """A decoded PDU encodes, and that encoding is a fixed point of decode/encode."""
    try:
        raw = pdu.encode()
    except LocalProtocolError as exc:  # pragma: no cover - reported with the PDU on failure
        pytest.fail(f"decoded {pdu!r} does not re-encode: {exc}")
    assert x.decode_apdu(raw).encode() == raw


@settings(FUZZ, max_examples=1000)
@given(fuzz_input(APDU_SEEDS))
def test_decode_apdu_raises_only_typed_errors(data: bytes) -> None:
    pdu = remote_only(x.decode_apdu, data)
    if pdu is not None:
        _reencodes(pdu)


@FUZZ
@given(fuzz_input(ACSE_SEEDS, max_random=32))
def test_acse_decoders_raise_only_typed_errors(data: bytes) -> None:
    for decode in (acse.decode_acse, acse.AARQ.decode, acse.AARE.decode, acse.RLRQ.decode,
                   acse.RLRE.decode):
        pdu = remote_only(decode, data)
        if pdu is not None:
            assert type(pdu).decode(pdu.encode()) == pdu
            for view in ("initiate_request", "initiate_response"):
                remote_only(lambda _: getattr(pdu, view, None), data)


@FUZZ
@given(fuzz_input([a for a in APDU_SEEDS if a[0] in (0x01, 0x08)]
                  + [InitiateRequest(proposed_conformance=Conformance(0x007E1F),
                                     client_max_receive_pdu_size=0x400).encode(),
                     bytes.fromhex("0800065F1F040000501F01F40007")], max_random=24))
def test_initiate_decoders_raise_only_typed_errors(data: bytes) -> None:
    for cls in (InitiateRequest, InitiateResponse):
        pdu = remote_only(cls.decode, data)
        if pdu is not None:
            assert cls.decode(pdu.encode()) == pdu


# -- bounded allocation ---------------------------------------------------------------------------

HUGE_CLAIMS = {
    "array of 2**31 elements": bytes.fromhex("0184800000000000"),
    "array of 2**32-1 nulls": bytes.fromhex("0184FFFFFFFF") + bytes(16),
    "structure of 2**31 elements": bytes.fromhex("02847FFFFFFF0000"),
    "octet-string of 2**31 bytes": bytes.fromhex("09847FFFFFFF00"),
    "visible-string of 2**32-1 bytes": bytes.fromhex("0A84FFFFFFFF61"),
    "bit-string of 2**32-1 bits": bytes.fromhex("0484FFFFFFFF00"),
    "compact array of 2**31 content bytes": bytes.fromhex("131184800000000001"),
    "compact array: structure of 2**31 fields": bytes.fromhex("1302847FFFFFFF11"),
    "compact array: 65535 x 65535 x 65535 unsigned": bytes.fromhex("1301FFFF01FFFF01FFFF11"
                                                                   "8400FFFFFF00"),
    "compact array: 65535 x null-data": bytes.fromhex("1301FFFF008101"),
}
HUGE_APDUS = {
    "get-request-with-list of 2**31": bytes.fromhex("C003C1847FFFFFFF"),
    "get-response-with-list of 2**31": bytes.fromhex("C403C184FFFFFFFF00"),
    "set-request-with-list of 2**31": bytes.fromhex("C104C1847FFFFFFF"),
    "action-request-with-list of 2**31": bytes.fromhex("C304C1847FFFFFFF"),
    "datablock raw data of 2**31": bytes.fromhex("C402C1000000000100848000000000"),
    "get-response data: array of 2**31": bytes.fromhex("C401C1000184800000000000"),
    "glo-get-request of 2**31": bytes.fromhex("C884800000003001234567"),
    "general-glo-ciphering title of 2**31": bytes.fromhex("DB84800000004D4D"),
    "general-block-transfer of 2**31": bytes.fromhex("E0C00001000084800000000000"),
    "AARQ length 2**31": bytes.fromhex("6084800000A109"),
    "AARQ field length 2**31": bytes.fromhex("6008A184800000000607"),
    "AARE user-information of 2**31": bytes.fromhex("6108BE84800000000408"),
    "exception-response junk": bytes.fromhex("D8FFFF"),
}


@pytest.fixture(scope="module", autouse=True)
def _warm_up() -> None:
    """Import lazily loaded codecs before memory is measured."""
    for data in (*HUGE_CLAIMS.values(), *HUGE_APDUS.values(), *APDU_SEEDS):
        remote_only(decode_data, data)
        remote_only(x.decode_apdu, data)


@pytest.mark.parametrize("data", HUGE_CLAIMS.values(), ids=HUGE_CLAIMS.keys())
def test_huge_axdr_length_claims_fail_fast_without_allocating(data: bytes) -> None:
    for decode in (decode_data, decode_values, decode_results):
        peak, seconds, error = peak_memory(lambda: decode(data))
        assert isinstance(error, DecodeError), f"{decode.__name__} accepted {data.hex()}"
        assert seconds < 0.1 and peak < 256 * 1024, (decode.__name__, seconds, peak)


@pytest.mark.parametrize("data", HUGE_APDUS.values(), ids=HUGE_APDUS.keys())
def test_huge_apdu_length_claims_fail_fast_without_allocating(data: bytes) -> None:
    peak, seconds, error = peak_memory(lambda: x.decode_apdu(data))
    assert isinstance(error, DecodeError)
    assert error.reason in (Reason.TRUNCATED, Reason.BAD_LENGTH, Reason.TOO_LONG,
                            Reason.BAD_VALUE, Reason.UNKNOWN_TAG)
    assert seconds < 0.1 and peak < 256 * 1024, (seconds, peak)


@settings(FUZZ, max_examples=150)
@given(st.sampled_from(APDU_SEEDS + AXDR_SEEDS), st.integers(0, 200),
       st.sampled_from(HUGE_LENGTHS))
def test_any_length_claim_allocates_in_proportion_to_the_input(seed: bytes, at: int,
                                                               claim: bytes) -> None:
    """A huge length spliced anywhere into a valid value or APDU: memory stays proportional to
    the bytes actually present, never to the claim."""
    at = min(at, len(seed))
    data = seed[:at] + claim + seed[at:]
    for decode in (decode_data, x.decode_apdu):
        peak, seconds, _ = peak_memory(lambda: remote_only(decode, data))
        assert peak < 256 * 1024 + 400 * len(data), (decode.__name__, peak, data.hex())
        assert seconds < 0.25


@settings(FUZZ, max_examples=600)
@given(st.sampled_from(x.ApduTag), st.binary(max_size=48))
def test_every_apdu_tag_with_a_random_body_raises_only_typed_errors(tag: x.ApduTag,
                                                                    body: bytes) -> None:
    pdu = remote_only(x.decode_apdu, bytes((tag,)) + body)
    if pdu is not None:
        _reencodes(pdu)
