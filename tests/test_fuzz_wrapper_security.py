"""Fuzzing of the wrapper layer, the ciphered APDUs and the association state machines (issue 11).

* wrapper: codec, stream reader (chunking invariant, bounded buffer) and link;
* ciphered APDUs: ``unprotect_apdu`` on random bytes and on mutations of valid protected APDUs —
  only typed errors, and a mutated APDU never yields anything but the original plaintext;
* HLS-GMAC responses: random answers are refused with HlsVerificationFailed only;
* DlmsConnection, server and client side, fed mutated APDUs: typed errors only.
"""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from association_pair import KEYS, REGISTER, SERVER_TITLE, make_pair, make_server
from fuzz_strategies import FUZZ, fuzz_input, mutated, only_typed, peak_memory, remote_only
from shared_data import load_vectors
from test_fuzz_decoders import APDU_SEEDS

from meterreader.dlms import connection_events as ev
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.errors import DecodeError, DlmsError, Reason, RemoteProtocolError
from meterreader.dlms.security import (CipheringMode, SecurityKeys, protect_apdu,
                                       unprotect_apdu)
from meterreader.dlms.security_errors import HlsVerificationFailed, SecurityError
from meterreader.dlms.security_hls import gmac_response_counter, verify_hls_response
from meterreader.dlms.wrapper import HEADER_LENGTH, Role, WrapperFrame, WrapperLink, WrapperReader
from meterreader.dlms.xdlms import CipheredApdu

SUITE0 = load_vectors()["security_suite0"]
VECTOR = SUITE0["authenticated_encryption_get_request"]
VECTOR_KEYS = SecurityKeys(encryption_key=bytes.fromhex(SUITE0["encryption_key"]),
                           authentication_key=bytes.fromhex(SUITE0["authentication_key"]),
                           dedicated_key=bytes(range(16)))
VECTOR_TITLE = bytes.fromhex(VECTOR["system_title"])

WRAPPER_SEEDS = tuple(WrapperFrame(source_wport=16, destination_wport=1, data=apdu).encode()
                      for apdu in APDU_SEEDS[:40]) + (
    WrapperFrame(source_wport=1, destination_wport=0x30, data=b"").encode(),)


# -- wrapper --------------------------------------------------------------------------------------

@FUZZ
@given(fuzz_input(WRAPPER_SEEDS))
def test_wrapper_frame_decode_raises_only_typed_errors(data: bytes) -> None:
    result = remote_only(WrapperFrame.decode, data)
    if result is not None:
        frame, end = result
        assert end == HEADER_LENGTH + len(frame.data) <= len(data)
        assert WrapperFrame.decode(frame.encode())[0] == frame


def _reader_items(chunks: list[bytes]) -> list[object]:
    """Packets and the error reason a reader reports for ``chunks`` (plus one empty feed, which
    raises an error found after packets that were returned first)."""
    reader, out = WrapperReader(max_length=0x1000), []
    for chunk in [*chunks, b""]:
        try:
            out += reader.feed(chunk)
        except RemoteProtocolError as exc:
            out.append(exc.reason)
            try:
                reader.feed(b"")
            except RemoteProtocolError as again:  # a broken stream stays broken
                assert again.reason is exc.reason
            return out
        assert reader.pending <= HEADER_LENGTH + 0x1000
    return out


@settings(FUZZ, max_examples=250)
@given(st.lists(fuzz_input(WRAPPER_SEEDS), min_size=1, max_size=5), st.data())
def test_wrapper_reader_is_typed_bounded_and_chunking_invariant(packets: list[bytes],
                                                                data: st.DataObject) -> None:
    stream = b"".join(packets)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)])]
    assert _reader_items(chunks) == _reader_items([stream])


def test_wrapper_length_claim_beyond_the_limit_is_refused_at_once() -> None:
    header = bytes.fromhex("00010010 0001 FFFF")
    reader = WrapperReader(max_length=0x800)
    peak, seconds, error = peak_memory(lambda: reader.feed(header + b"\xc0"))
    assert isinstance(error, DecodeError) and error.reason is Reason.TOO_LONG
    assert seconds < 0.05 and peak < 64 * 1024


@FUZZ
@given(st.lists(fuzz_input(WRAPPER_SEEDS), min_size=1, max_size=4))
def test_wrapper_link_raises_only_typed_errors(packets: list[bytes]) -> None:
    link = WrapperLink(role=Role.SERVER, local_wport=1, peer_wport=None)
    for packet in packets:
        if only_typed(link.receive_data, packet, RemoteProtocolError) is None:
            break


# -- ciphered APDUs -------------------------------------------------------------------------------

PLAIN = (bytes.fromhex(VECTOR["plaintext_apdu"]), bytes.fromhex("C40181000600000064"),
         bytes.fromhex("C1C1000300010108 00FF020000 0600000001".replace(" ", "")),
         bytes.fromhex("C5C10100"))


def _protected() -> list[tuple[bytes, bytes, int]]:
    """(protected APDU, plaintext, security control) for every mode and protection level."""
    out = [(bytes.fromhex(VECTOR[k]), PLAIN[0], 0x30)
           for k in ("glo_get_request_apdu", "general_glo_ciphering_apdu")]
    counter = 0x10
    for mode in CipheringMode:
        for sc in (0x30, 0x10):
            for plain in PLAIN:
                counter += 1
                out.append((protect_apdu(plain, mode=mode, security_control=sc,
                                         system_title=VECTOR_TITLE, invocation_counter=counter,
                                         keys=VECTOR_KEYS), plain, sc))
    return out


PROTECTED = _protected()
CIPHERED_SEEDS = tuple(p for p, _, _ in PROTECTED)
_ALLOWED = (RemoteProtocolError, SecurityError)


def _unprotect(data: bytes, required: int | None = None) -> object:
    return unprotect_apdu(data, keys=VECTOR_KEYS, system_title=VECTOR_TITLE,
                          required_security_control=required)


def test_protected_seeds_unprotect() -> None:
    for protected, plain, sc in PROTECTED:
        result = _unprotect(protected, sc)
        assert result.apdu == plain and result.security_control == sc


@settings(FUZZ, max_examples=500)
@given(fuzz_input(CIPHERED_SEEDS + APDU_SEEDS[:20]))
def test_unprotect_raises_only_typed_errors(data: bytes) -> None:
    only_typed(_unprotect, data, _ALLOWED)
    remote_only(CipheredApdu.decode, data)


@settings(FUZZ, max_examples=500)
@given(st.sampled_from(PROTECTED), st.data())
def test_tampered_protected_apdus_never_yield_other_plaintext(case: tuple[bytes, bytes, int],
                                                              data: st.DataObject) -> None:
    """Under the policy the APDU was sent with, a mutation either fails to unprotect or (when
    it only re-encoded a length) yields exactly the original plaintext, counter and control."""
    protected, plain, sc = case
    tampered = data.draw(mutated((protected,)))
    original = _unprotect(protected, sc)
    result = only_typed(lambda b: _unprotect(b, sc), tampered, _ALLOWED)
    if result is not None:
        assert (result.apdu, result.invocation_counter, result.security_control) == (
            plain, original.invocation_counter, original.security_control)


# -- HLS responses --------------------------------------------------------------------------------

CHALLENGE = b"K56iVagY" * 2  # our CtoS (16 bytes, as mechanism 2 needs)
GMAC_ANSWER = bytes.fromhex(SUITE0["hls_gmac_mechanism_5"]["f_ctos_by_server"]["result"])


@FUZZ
@given(fuzz_input([GMAC_ANSWER], max_random=40), st.sampled_from((2, 3, 4, 5, 6)))
def test_hls_responses_refused_only_with_hls_verification_failed(response: bytes,
                                                                mechanism: int) -> None:
    try:
        verify_hls_response(mechanism, response, secret=b"0123456789ABCDEF",
                            challenge=CHALLENGE, own_system_title=VECTOR_TITLE,
                            peer_system_title=SERVER_TITLE, ctos=CHALLENGE, stoc=b"P6wRJ21F" * 2,
                            keys=KEYS)
    except HlsVerificationFailed:
        pass
    counter = only_typed(gmac_response_counter, response, HlsVerificationFailed)
    assert counter is None or 0 <= counter < 2**32


# -- association state machines -------------------------------------------------------------------

@settings(FUZZ, max_examples=250)
@given(st.lists(fuzz_input(APDU_SEEDS), min_size=1, max_size=4),
       st.sampled_from((MechanismName.NONE, MechanismName.LOW, MechanismName.HIGH)))
def test_server_connection_takes_any_apdus(apdus: list[bytes], mechanism: MechanismName) -> None:
    server = make_server(mechanism)
    for apdu in apdus:
        only_typed(server.receive_data, apdu, DlmsError)
        server.data_to_send()


@settings(FUZZ, max_examples=200)
@given(st.lists(fuzz_input(APDU_SEEDS), min_size=1, max_size=4), st.booleans(),
       st.sampled_from(((MechanismName.NONE, None), (MechanismName.LOW, None),
                        (MechanismName.HIGH_GMAC, CipheringMode.GLOBAL))))
def test_associated_client_takes_any_apdus(apdus: list[bytes], waiting: bool,
                                           kind: tuple[MechanismName, CipheringMode | None]
                                           ) -> None:
    """An associated client, idle or waiting for a GET answer, fed mutated server APDUs."""
    pair = make_pair(*kind)
    pair.associate()
    assert pair.client.is_associated
    if waiting:
        pair.client.send(ev.Get(descriptor=REGISTER))
    for apdu in apdus:
        only_typed(pair.client.receive_data, apdu, DlmsError)
        pair.client.data_to_send()
