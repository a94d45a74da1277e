"""HLS (high level security) authentication, passes 3 and 4, sans-IO.

After the AARQ (carrying CtoS) and the AARE (carrying StoC), each party proves it knows the
shared secret by answering the other's challenge: the client sends f(StoC) in the ACTION on
Association LN ``reply_to_HLS_authentication`` and the server answers with f(CtoS).

=====  ==============  =================================================================
mech   name            f(challenge) computed by the answering party
=====  ==============  =================================================================
2      HIGH            manufacturer specific; here the IS 15959 form: AES-128-ECB with the
                       HLS secret (16 bytes) as key, over the peer's challenge
3      HIGH_MD5        MD5(challenge || secret)
4      HIGH_SHA1       SHA-1(challenge || secret)
5      HIGH_GMAC       SC (0x10) || IC (4) || GMAC, GMAC = suite 0 GCM tag (12 bytes) with
                       key EK, IV = own system title || IC, AAD = SC || AK || challenge
6      HIGH_SHA256     SHA-256(secret || own system title || peer system title ||
                       challenge answered || own challenge); i.e. the client sends
                       SHA-256(secret || ST-C || ST-S || StoC || CtoS)
=====  ==============  =================================================================

(Green Book ed.9, HLS authentication mechanisms; IS 15959 for mechanism 2.) Mechanisms 0/1 have
no challenge-response and 7 (ECDSA) is not implemented: they raise UnsupportedSecurity.

Perspective: both functions take the caller's point of view. ``own_system_title`` is always the
caller's title and ``peer_system_title`` the other party's; in :func:`hls_response` the
``challenge`` is the PEER's challenge being answered, in :func:`verify_hls_response` it is OUR
challenge that the peer answered.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from meterreader.dlms.acse import MechanismName
from meterreader.dlms.errors import LocalProtocolError
from meterreader.dlms.secret import SecretBytes
from meterreader.dlms.security import (AUTHENTICATED_ONLY, KEY_LENGTH, TAG_LENGTH,
                                       HlsVerificationFailed, SecurityKeys, UnsupportedSecurity,
                                       _gcm_tag, _iv, _key_bytes)

__all__ = ["hls_challenge", "hls_response", "verify_hls_response", "gmac_response_counter",
           "MIN_CHALLENGE_LENGTH", "MAX_CHALLENGE_LENGTH", "ECDSA_UNSUPPORTED_TEXT"]

# Green Book ed.9: the challenges CtoS and StoC are 8 to 64 octets long.
MIN_CHALLENGE_LENGTH = 8
MAX_CHALLENGE_LENGTH = 64
_GMAC_RESPONSE_LENGTH = 1 + 4 + TAG_LENGTH
#: Texts that call HLS SHA-256 "mechanism 7" are wrong about the wire value (see MechanismName).
ECDSA_UNSUPPORTED_TEXT = "mechanism 7 (HLS ECDSA) is not supported; HLS SHA-256 is mechanism 6"


def hls_challenge(rng: Callable[[int], bytes], length: int = 16) -> bytes:
    """A fresh challenge (CtoS on the client) of ``length`` bytes (8..64) drawn from the injected
    ``rng(n) -> bytes`` — the caller passes ``secrets.token_bytes``; the core never draws
    randomness itself."""
    if not isinstance(length, int) or not MIN_CHALLENGE_LENGTH <= length <= MAX_CHALLENGE_LENGTH:
        raise LocalProtocolError(f"HLS challenge length must be {MIN_CHALLENGE_LENGTH}.."
                                 f"{MAX_CHALLENGE_LENGTH}, got {length!r}")
    value = rng(length)
    if not isinstance(value, (bytes, bytearray)) or len(value) != length:
        raise LocalProtocolError(f"rng({length}) must return {length} bytes")
    return bytes(value)


def _secret_bytes(secret: object, mechanism: MechanismName) -> bytes:
    if secret is None:
        raise LocalProtocolError(f"HLS mechanism {mechanism.value} ({mechanism.name}) needs the "
                                 "HLS secret")
    if isinstance(secret, SecretBytes):
        return secret.reveal()
    if isinstance(secret, (bytes, bytearray)):
        return bytes(secret)
    raise LocalProtocolError(f"HLS secret must be SecretBytes, got {type(secret).__name__}")


def _aes_ecb(secret: bytes, challenge: bytes) -> bytes:
    # IS 15959 HLS (mechanism_id 2): the challenge encrypted with AES-128, the secret as key.
    if len(secret) != KEY_LENGTH:
        raise LocalProtocolError(f"HLS mechanism 2 needs a {KEY_LENGTH}-byte secret (AES-128 "
                                 f"key), got {len(secret)} bytes")
    if not challenge or len(challenge) % 16:
        raise UnsupportedSecurity(f"HLS mechanism 2 (AES-128-ECB) needs a challenge of a "
                                  f"multiple of 16 bytes, got {len(challenge)}")
    encryptor = Cipher(algorithms.AES(secret), modes.ECB()).encryptor()
    return encryptor.update(challenge) + encryptor.finalize()


def _other_challenge(challenge: bytes, ctos: bytes, stoc: bytes) -> bytes:
    """The challenge of the party that computes f(challenge): CtoS if answering StoC, and back."""
    if not ctos or not stoc:
        raise LocalProtocolError("HLS mechanism 6 needs both challenges (ctos and stoc)")
    if challenge == stoc:
        return ctos
    if challenge == ctos:
        return stoc
    raise LocalProtocolError("HLS mechanism 6: the challenge must be ctos or stoc")


def _compute(mechanism: MechanismName, *, secret: object, challenge: bytes,
             own_system_title: bytes, peer_system_title: bytes, ctos: bytes, stoc: bytes,
             invocation_counter: int, keys: SecurityKeys | None) -> bytes:
    if mechanism is MechanismName.HIGH_GMAC:
        if not isinstance(keys, SecurityKeys):
            raise LocalProtocolError("HLS mechanism 5 (GMAC) needs SecurityKeys (EK and AK)")
        iv = _iv(own_system_title, invocation_counter)
        aad = (bytes((AUTHENTICATED_ONLY,))
               + _key_bytes(keys.authentication_key, "authentication key") + challenge)
        _, tag = _gcm_tag(_key_bytes(keys.encryption_key, "encryption key"), iv, aad, b"")
        return bytes((AUTHENTICATED_ONLY,)) + iv[-4:] + tag
    raw = _secret_bytes(secret, mechanism)
    if mechanism is MechanismName.HIGH:
        return _aes_ecb(raw, challenge)
    if mechanism is MechanismName.HIGH_SHA256:
        for title, what in ((own_system_title, "own"), (peer_system_title, "peer")):
            if not isinstance(title, (bytes, bytearray)) or len(title) != 8:
                raise LocalProtocolError(f"HLS mechanism 6 needs the {what} system title "
                                         "(8 bytes)")
        return hashlib.sha256(raw + bytes(own_system_title) + bytes(peer_system_title)
                              + challenge + _other_challenge(challenge, ctos, stoc)).digest()
    return _DIGESTS[mechanism](challenge + raw).digest()


_DIGESTS = {MechanismName.HIGH_MD5: hashlib.md5, MechanismName.HIGH_SHA1: hashlib.sha1}
_SUPPORTED = frozenset({MechanismName.HIGH, MechanismName.HIGH_MD5, MechanismName.HIGH_SHA1,
                        MechanismName.HIGH_GMAC, MechanismName.HIGH_SHA256})


def _mechanism(mechanism: int) -> MechanismName:
    try:
        name = MechanismName(mechanism)
    except ValueError:
        raise UnsupportedSecurity(f"unknown authentication mechanism {mechanism!r}") from None
    if name is MechanismName.HIGH_ECDSA:
        raise UnsupportedSecurity(ECDSA_UNSUPPORTED_TEXT)
    if name not in _SUPPORTED:
        raise UnsupportedSecurity(f"authentication mechanism {name.value} ({name.name}) has no "
                                  "HLS challenge-response implemented here")
    return name


def _challenge(challenge: object) -> bytes:
    if not isinstance(challenge, (bytes, bytearray)):
        raise LocalProtocolError(f"HLS challenge must be bytes, got {type(challenge).__name__}")
    return bytes(challenge)


def hls_response(mechanism: int, *, secret: SecretBytes | None = None, challenge: bytes,
                 own_system_title: bytes = b"", peer_system_title: bytes = b"",
                 ctos: bytes = b"", stoc: bytes = b"", invocation_counter: int = 0,
                 keys: SecurityKeys | None = None) -> bytes:
    """f(challenge): our answer to the PEER's ``challenge`` (StoC on the client, CtoS on a server).

    Needed per mechanism: 2/3/4 ``secret``; 5 ``keys`` (EK, AK), ``own_system_title`` and our
    ``invocation_counter`` (take it from our InvocationCounter); 6 ``secret``, both system titles
    and both ``ctos`` and ``stoc`` (``challenge`` must be one of them). Other arguments are
    ignored. The result is exactly the octet string sent in reply_to_HLS_authentication."""
    name = _mechanism(mechanism)
    return _compute(name, secret=secret, challenge=_challenge(challenge),
                    own_system_title=own_system_title, peer_system_title=peer_system_title,
                    ctos=ctos, stoc=stoc, invocation_counter=invocation_counter, keys=keys)


def verify_hls_response(mechanism: int, response: bytes, *, secret: SecretBytes | None = None,
                        challenge: bytes, own_system_title: bytes = b"",
                        peer_system_title: bytes = b"", ctos: bytes = b"", stoc: bytes = b"",
                        keys: SecurityKeys | None = None) -> None:
    """Check the peer's ``response`` to OUR ``challenge`` (CtoS on the client); raise
    :class:`HlsVerificationFailed` unless it is exactly what the peer should have computed.

    Arguments are from our point of view, as for :func:`hls_response` (``own_system_title`` is
    ours, ``peer_system_title`` the peer's, who computed the response). For mechanism 5 the
    peer's invocation counter is taken from the response itself, whose security control must be
    0x10; it is not replay-checked here (feed it to the peer's ReplayGuard if wanted). The final
    comparison is constant-time. A malformed response is a failed verification, not a decode
    error."""
    name = _mechanism(mechanism)
    challenge = _challenge(challenge)
    if not isinstance(response, (bytes, bytearray)):
        raise HlsVerificationFailed()
    response = bytes(response)
    invocation_counter = 0
    if name is MechanismName.HIGH_GMAC:
        if len(response) != _GMAC_RESPONSE_LENGTH or response[0] != AUTHENTICATED_ONLY:
            raise HlsVerificationFailed()
        invocation_counter = int.from_bytes(response[1:5], "big")
    # The peer computed f(our challenge) from its own point of view: swap the titles.
    expected = _compute(name, secret=secret, challenge=challenge,
                        own_system_title=peer_system_title, peer_system_title=own_system_title,
                        ctos=ctos, stoc=stoc, invocation_counter=invocation_counter, keys=keys)
    if not hmac.compare_digest(expected, response):
        raise HlsVerificationFailed()


def gmac_response_counter(response: bytes) -> int:
    """The invocation counter inside an HLS-GMAC (mechanism 5) answer SC || IC || GMAC — the
    sender's, to feed its ReplayGuard once :func:`verify_hls_response` accepted the answer."""
    if not isinstance(response, (bytes, bytearray)) or len(response) != _GMAC_RESPONSE_LENGTH:
        raise HlsVerificationFailed()
    return int.from_bytes(response[1:5], "big")
