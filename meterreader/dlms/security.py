"""DLMS/COSEM security, sans-IO: security suite 0 (AES-128-GCM) APDU protection and counters.

* :func:`gcm_protect` / :func:`gcm_unprotect`: the cryptographic transformation of one APDU
  (Green Book ed.9, security suite 0): IV = system title (8) || invocation counter (4, big
  endian); authentication tag truncated to 12 bytes; key = the block cipher key EK (global
  unicast, global broadcast or dedicated); AAD = security control || AK (|| plaintext when only
  authenticated).
* :func:`protect_apdu` / :func:`unprotect_apdu`: the whole ciphered APDU (glo-/ded- service
  specific, general-glo-ciphering, general-ded-ciphering); the framing itself is
  :class:`meterreader.dlms.xdlms.ciphered.CipheredApdu`, shared with the translator.
* :class:`InvocationCounter` (our sending counter) and :class:`ReplayGuard` (the peer's) live in
  :mod:`meterreader.dlms.security_counters`, HLS (mechanisms 2-6) in
  :mod:`meterreader.dlms.security_hls`, the errors in :mod:`meterreader.dlms.security_errors`;
  all are re-exported here.

No randomness, clock or I/O: keys, system titles, counters and challenges are inputs. Keys are
:class:`~meterreader.dlms.secret.SecretBytes` (plain ``bytes`` are accepted too) and are revealed
only at the call into ``cryptography``; no message ever contains key bytes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from enum import Enum, unique
from typing import Any, Callable, ClassVar, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from meterreader.dlms.errors import DecodeError, LocalProtocolError, Reason, RemoteProtocolError
from meterreader.dlms.secret import SecretBytes
from meterreader.dlms.security_errors import (UNDECODABLE_PLAINTEXT_TEXT,
                                              AuthenticationDowngrade, AuthenticationTagMismatch,
                                              CounterExhausted, HlsVerificationFailed,
                                              KeyNotAvailable, ReplayError, SecurityError,
                                              SecurityPolicyViolation, UndecodablePlaintext,
                                              UnsupportedSecurity)
from meterreader.dlms.xdlms.ciphered import (GENERAL_CIPHERED_TAGS,
                                             SERVICE_SPECIFIC_CIPHERED_TAGS, CipheredApdu)
from meterreader.dlms.xdlms.common import ApduTag

__all__ = [
    "SecurityError", "AuthenticationTagMismatch", "ReplayError", "HlsVerificationFailed",
    "CounterExhausted", "UnsupportedSecurity", "SecurityPolicyViolation",
    "AuthenticationDowngrade", "KeyNotAvailable", "UndecodablePlaintext",
    "AUTHENTICATED_ONLY", "ENCRYPTED_ONLY", "AUTHENTICATED_AND_ENCRYPTED", "TAG_LENGTH",
    "SYSTEM_TITLE_LENGTH", "SecurityControl", "SecurityKeys", "gcm_protect", "gcm_unprotect",
    "CipheringMode", "UnprotectedApdu", "protect_apdu", "unprotect_apdu", "is_ciphered_tag",
    "ciphered_tag_for", "decode_plaintext",
    # re-exported from security_counters / security_hls (loaded lazily, see __getattr__)
    "InvocationCounter", "ReplayGuard", "hls_challenge", "hls_response", "verify_hls_response",
    "gmac_response_counter",
]


T = TypeVar("T")

# -- security control byte -------------------------------------------------------------------------

# Green Book ed.9, security header: security control byte = bits 0-3 security suite id,
# bit 4 authentication, bit 5 encryption, bit 6 key set (0 unicast, 1 broadcast), bit 7 compression.
AUTHENTICATED_ONLY = 0x10
ENCRYPTED_ONLY = 0x20
AUTHENTICATED_AND_ENCRYPTED = 0x30
TAG_LENGTH = 12  # suite 0 truncates the GCM tag to 96 bits
SYSTEM_TITLE_LENGTH = 8
KEY_LENGTH = 16  # AES-128
MAX_INVOCATION_COUNTER = 0xFFFFFFFF
_SUPPORTED_SUITES = {0: "AES-GCM-128"}


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityControl:
    """The security control byte of the security header."""

    AUTHENTICATED_ONLY: ClassVar[int] = AUTHENTICATED_ONLY
    ENCRYPTED_ONLY: ClassVar[int] = ENCRYPTED_ONLY
    AUTHENTICATED_AND_ENCRYPTED: ClassVar[int] = AUTHENTICATED_AND_ENCRYPTED

    suite: int = 0
    authenticated: bool = False
    encrypted: bool = False
    broadcast_key: bool = False
    compressed: bool = False

    def to_byte(self) -> int:
        if not isinstance(self.suite, int) or not 0 <= self.suite <= 15:
            raise LocalProtocolError(f"security suite must be 0..15, got {self.suite!r}")
        return (self.suite | self.authenticated << 4 | self.encrypted << 5
                | self.broadcast_key << 6 | self.compressed << 7)

    @classmethod
    def from_byte(cls, b: int) -> "SecurityControl":
        if not isinstance(b, int) or not 0 <= b <= 0xFF:
            raise LocalProtocolError(f"security control must be one byte, got {b!r}")
        return cls(suite=b & 0x0F, authenticated=bool(b & 0x10), encrypted=bool(b & 0x20),
                   broadcast_key=bool(b & 0x40), compressed=bool(b & 0x80))


def _control(security_control: int | SecurityControl) -> tuple[int, SecurityControl]:
    if isinstance(security_control, SecurityControl):
        return security_control.to_byte(), security_control
    return security_control, SecurityControl.from_byte(security_control)


# -- keys ------------------------------------------------------------------------------------------

Key = SecretBytes | bytes


def _as_secret(value: object, what: str) -> SecretBytes | None:
    if value is None or isinstance(value, SecretBytes):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return SecretBytes(value)
    raise LocalProtocolError(f"{what} must be SecretBytes, bytes or None, got "
                             f"{type(value).__name__}")


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityKeys:
    """The symmetric keys of an association (security suite 0: 16 bytes each).

    ``encryption_key`` is the global unicast encryption key (EK), ``authentication_key`` the AK,
    ``dedicated_key`` the dedicated key of the association (used by ded-/general-ded APDUs) and
    ``broadcast_key`` the global broadcast encryption key (security control bit 6). Plain bytes
    are wrapped into SecretBytes; ``repr`` shows only ``***``."""

    encryption_key: SecretBytes | None = None
    authentication_key: SecretBytes | None = None
    dedicated_key: SecretBytes | None = None
    broadcast_key: SecretBytes | None = None

    def __post_init__(self) -> None:
        for name in ("encryption_key", "authentication_key", "dedicated_key", "broadcast_key"):
            object.__setattr__(self, name, _as_secret(getattr(self, name), name))


def _key_bytes(key: Any, what: str) -> bytes:
    """Reveal a 16-byte key at the last moment; LocalProtocolError if missing or mis-sized."""
    if key is None:
        raise LocalProtocolError(f"the {what} is needed but not configured")
    secret = _as_secret(key, what)
    if len(secret) != KEY_LENGTH:
        raise LocalProtocolError(f"the {what} must be {KEY_LENGTH} bytes (AES-128), "
                                 f"got {len(secret)}")
    return secret.reveal()


# -- the GCM transformation ------------------------------------------------------------------------

def _check_suite(control: SecurityControl) -> None:
    if control.suite not in _SUPPORTED_SUITES:
        raise UnsupportedSecurity(f"security suite {control.suite} is not supported (only "
                                  "suite 0, AES-GCM-128)")
    if control.compressed:
        raise UnsupportedSecurity("compressed APDUs (security control bit 7) are not supported")


def _iv(system_title: bytes, invocation_counter: int) -> bytes:
    # Green Book ed.9: IV = fixed field (system title, 8 octets) || invocation field (4 octets).
    if not isinstance(system_title, (bytes, bytearray)) or len(system_title) != SYSTEM_TITLE_LENGTH:
        raise LocalProtocolError(f"system title must be {SYSTEM_TITLE_LENGTH} bytes, got "
                                 f"{system_title!r}")
    if not isinstance(invocation_counter, int) or not 0 <= invocation_counter \
            <= MAX_INVOCATION_COUNTER:
        raise LocalProtocolError(f"invocation counter must be 0..0xFFFFFFFF, got "
                                 f"{invocation_counter!r}")
    return bytes(system_title) + invocation_counter.to_bytes(4, "big")


def _gcm_tag(key: bytes, iv: bytes, aad: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
    encryptor = Cipher(algorithms.AES(key), modes.GCM(iv)).encryptor()
    encryptor.authenticate_additional_data(aad)
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    return ciphertext, encryptor.tag[:TAG_LENGTH]


def _gcm_open(key: bytes, iv: bytes, aad: bytes, ciphertext: bytes, tag: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key),
                       modes.GCM(iv, tag, min_tag_length=TAG_LENGTH)).decryptor()
    decryptor.authenticate_additional_data(aad)
    plaintext = decryptor.update(ciphertext)
    try:
        decryptor.finalize()
    except InvalidTag:
        raise AuthenticationTagMismatch() from None
    return plaintext


def _ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    # GCM without authentication: the GCTR part alone, counter blocks starting at inc32(J0),
    # J0 = IV || 0x00000001 (NIST SP 800-38D), i.e. IV || 0x00000002.
    cipher = Cipher(algorithms.AES(key), modes.CTR(iv + b"\x00\x00\x00\x02")).encryptor()
    return cipher.update(data) + cipher.finalize()


def gcm_protect(security_control: int | SecurityControl, system_title: bytes,
                invocation_counter: int, plaintext: bytes, *, key: Key,
                authentication_key: Key | None) -> bytes:
    """Protect ``plaintext`` (a whole xDLMS APDU) with security suite 0.

    Returns what follows the security header: ciphertext || tag (authenticated and encrypted),
    plaintext || tag (authenticated only) or ciphertext (encrypted only, no tag). ``key`` is the
    block cipher key (EK, broadcast or dedicated key; also keys the GMAC when only authenticated),
    ``authentication_key`` the AK (unused and may be None when only encrypted)."""
    sc, control = _control(security_control)
    _check_suite(control)
    if not (control.authenticated or control.encrypted):
        raise LocalProtocolError(f"security control 0x{sc:02X} asks for neither authentication "
                                 "nor encryption")
    iv = _iv(system_title, invocation_counter)
    ek = _key_bytes(key, "encryption key")
    plaintext = bytes(plaintext)
    if not control.authenticated:
        return _ctr(ek, iv, plaintext)
    aad = bytes((sc,)) + _key_bytes(authentication_key, "authentication key")
    if not control.encrypted:
        return plaintext + _gcm_tag(ek, iv, aad + plaintext, b"")[1]
    ciphertext, tag = _gcm_tag(ek, iv, aad, plaintext)
    return ciphertext + tag


def gcm_unprotect(security_control: int | SecurityControl, system_title: bytes,
                  invocation_counter: int, content: bytes, *, key: Key,
                  authentication_key: Key | None) -> bytes:
    """Reverse :func:`gcm_protect`: ``content`` is what follows the security header.

    Raises :class:`AuthenticationTagMismatch` when the tag does not verify (wrong key, system
    title, counter or security control, or any byte changed) — plaintext is returned only after
    the tag verified. Encrypted-only content carries no tag, so a wrong key there yields garbage
    that cannot be detected here. Content shorter than the tag raises DecodeError (TRUNCATED)."""
    sc, control = _control(security_control)
    _check_suite(control)
    if not (control.authenticated or control.encrypted):
        raise UnsupportedSecurity(f"security control 0x{sc:02X} asks for neither authentication "
                                  "nor encryption")
    iv = _iv(system_title, invocation_counter)
    ek = _key_bytes(key, "encryption key")
    content = bytes(content)
    if not control.authenticated:
        return _ctr(ek, iv, content)
    ak = _key_bytes(authentication_key, "authentication key")
    if len(content) < TAG_LENGTH:
        raise DecodeError(f"ciphered content of {len(content)} byte(s) is shorter than the "
                          f"{TAG_LENGTH}-byte authentication tag", data=content,
                          offset=len(content), reason=Reason.TRUNCATED)
    body, tag = content[:-TAG_LENGTH], content[-TAG_LENGTH:]
    aad = bytes((sc,)) + ak
    if not control.encrypted:
        _gcm_open(ek, iv, aad + body, b"", tag)
        return body
    return _gcm_open(ek, iv, aad, body, tag)


# -- ciphered APDUs -------------------------------------------------------------------------------

@unique
class CipheringMode(Enum):
    """Which ciphered APDU wraps the plain one (Green Book ed.9, ciphered xDLMS APDUs)."""

    GLOBAL = "glo"  # service-specific glo-xxx, global key
    DEDICATED = "ded"  # service-specific ded-xxx, dedicated key
    GENERAL_GLOBAL = "general-glo"  # general-glo-ciphering (0xDB), global key, carries system title
    GENERAL_DEDICATED = "general-ded"  # general-ded-ciphering (0xDC), dedicated key


# The plain xDLMS APDUs that have service-specific glo-/ded- counterparts; the ciphered tag's
# name is the plain one prefixed GLO_/DED_ (e.g. GET_REQUEST 0xC0 → GLO_GET_REQUEST 0xC8).
_PLAIN_SERVICE_TAGS = (
    ApduTag.INITIATE_REQUEST, ApduTag.INITIATE_RESPONSE, ApduTag.CONFIRMED_SERVICE_ERROR,
    ApduTag.GET_REQUEST, ApduTag.SET_REQUEST, ApduTag.EVENT_NOTIFICATION_REQUEST,
    ApduTag.ACTION_REQUEST, ApduTag.GET_RESPONSE, ApduTag.SET_RESPONSE, ApduTag.ACTION_RESPONSE)
_SERVICE_TAG = {
    mode: {plain: ApduTag[f"{prefix}_{plain.name}"] for plain in _PLAIN_SERVICE_TAGS}
    for mode, prefix in ((CipheringMode.GLOBAL, "GLO"), (CipheringMode.DEDICATED, "DED"))}
_GENERAL_TAG = {CipheringMode.GENERAL_GLOBAL: ApduTag.GENERAL_GLO_CIPHERING,
                CipheringMode.GENERAL_DEDICATED: ApduTag.GENERAL_DED_CIPHERING}
_PLAIN_OF = {ciphered: plain for table in _SERVICE_TAG.values()
             for plain, ciphered in table.items()}
_MODE_OF_TAG = {ciphered: mode for mode, table in _SERVICE_TAG.items()
                for ciphered in table.values()}
_MODE_OF_TAG.update({tag: mode for mode, tag in _GENERAL_TAG.items()})
_DEDICATED_MODES = frozenset({CipheringMode.DEDICATED, CipheringMode.GENERAL_DEDICATED})
# general-ciphering / general-signing: ciphered or signed, but not handled by unprotect_apdu.
_OTHER_PROTECTED_TAGS = frozenset({ApduTag.GENERAL_CIPHERING, ApduTag.GENERAL_SIGNING})
assert set(_MODE_OF_TAG) == SERVICE_SPECIFIC_CIPHERED_TAGS | GENERAL_CIPHERED_TAGS


def is_ciphered_tag(tag: int) -> bool:
    """True for the tag of any protected APDU that must go through the security layer:
    glo-/ded- service specific, general-glo/ded-ciphering, and general-ciphering/general-signing
    (the last two make :func:`unprotect_apdu` raise UnsupportedSecurity)."""
    return isinstance(tag, int) and (tag in _MODE_OF_TAG or tag in _OTHER_PROTECTED_TAGS)


def ciphered_tag_for(plain_tag: int, mode: CipheringMode) -> ApduTag:
    """The ciphered APDU tag that carries a plain APDU with ``plain_tag`` in ``mode``."""
    if not isinstance(mode, CipheringMode):
        raise LocalProtocolError(f"mode must be a CipheringMode, got {mode!r}")
    if mode in _GENERAL_TAG:
        return _GENERAL_TAG[mode]
    ciphered = _SERVICE_TAG[mode].get(plain_tag)
    if ciphered is None:
        raise LocalProtocolError(f"APDU tag 0x{plain_tag:02X} has no service-specific "
                                 f"{mode.value}- ciphered form; use general-{mode.value} ciphering")
    return ciphered


def _block_cipher_key(keys: SecurityKeys, mode: CipheringMode,
                      control: SecurityControl) -> SecretBytes | None:
    if mode in _DEDICATED_MODES:
        return keys.dedicated_key
    return keys.broadcast_key if control.broadcast_key else keys.encryption_key


def _key_name(mode: CipheringMode, control: SecurityControl) -> str:
    if mode in _DEDICATED_MODES:
        return "dedicated key"
    return ("global broadcast key" if control.broadcast_key
            else "global unicast encryption key (EK)")


def _peer_keys(keys: SecurityKeys, mode: CipheringMode, control: SecurityControl,
               frame: CipheredApdu, buf: bytes) -> SecretBytes:
    """The keys the SENDER selected (mode, key-set bit, authentication bit); one we lack is the
    peer's choice, hence KeyNotAvailable (a RemoteProtocolError), not a local misuse."""
    key = _block_cipher_key(keys, mode, control)
    missing = None if key is not None else _key_name(mode, control)
    if missing is None and control.authenticated and keys.authentication_key is None:
        missing = "authentication key (AK)"
    if missing is not None:
        raise KeyNotAvailable(f"{frame.tag.name} (security control 0x{frame.security_control:02X})"
                              f" needs the {missing}, which is not configured here",
                              data=buf, offset=0, reason=Reason.UNEXPECTED)
    return key


def _check_keys(keys: object) -> SecurityKeys:
    if not isinstance(keys, SecurityKeys):
        raise LocalProtocolError(f"keys must be SecurityKeys, got {type(keys).__name__}")
    return keys


_PROTECTION_BITS = AUTHENTICATED_AND_ENCRYPTED


def _check_policy(received: int, required: int | SecurityControl | None) -> None:
    if required is None:
        return
    missing = _control(required)[0] & _PROTECTION_BITS & ~received
    if missing:
        lacking = " and ".join(word for bit, word in ((0x10, "authentication"),
                                                      (0x20, "encryption")) if missing & bit)
        raise SecurityPolicyViolation(f"received APDU with security control 0x{received:02X} "
                                      f"lacks the required {lacking}")


@dataclass(frozen=True, slots=True, kw_only=True)
class UnprotectedApdu:
    """The result of :func:`unprotect_apdu`: the plain APDU and the security header it came in.

    ``system_title`` is the title used for the IV (the sender's); check ``invocation_counter``
    with the peer's :class:`ReplayGuard` after a successful unprotect."""

    apdu: bytes
    mode: CipheringMode
    security_control: int
    system_title: bytes | None
    invocation_counter: int


def protect_apdu(apdu: bytes, *, mode: CipheringMode, security_control: int | SecurityControl,
                 system_title: bytes, invocation_counter: int, keys: SecurityKeys) -> bytes:
    """Protect a whole plain xDLMS APDU and frame it as the ciphered APDU of ``mode``.

    ``system_title`` is OUR system title (the sender's; it forms the IV and general-* APDUs carry
    it). GLOBAL/GENERAL_GLOBAL use ``keys.encryption_key`` (``keys.broadcast_key`` when the
    security control has the key-set bit), DEDICATED/GENERAL_DEDICATED ``keys.dedicated_key``;
    authentication always uses ``keys.authentication_key``. Service-specific modes accept only
    APDUs that have a glo-/ded- form (see :func:`ciphered_tag_for`)."""
    keys = _check_keys(keys)
    apdu = bytes(apdu)
    if not apdu:
        raise LocalProtocolError("cannot protect an empty APDU")
    tag = ciphered_tag_for(apdu[0], mode)
    sc, control = _control(security_control)
    text = gcm_protect(sc, system_title, invocation_counter, apdu,
                       key=_block_cipher_key(keys, mode, control),
                       authentication_key=keys.authentication_key)
    carried = bytes(system_title) if tag in GENERAL_CIPHERED_TAGS else None
    return CipheredApdu(tag=tag, system_title=carried, security_control=sc,
                        invocation_counter=invocation_counter, ciphered_text=text).encode()


def unprotect_apdu(data: bytes, *, keys: SecurityKeys, system_title: bytes | None,
                   required_security_control: int | SecurityControl | None = None
                   ) -> UnprotectedApdu:
    """Decode, authenticate and decrypt a received ciphered APDU.

    ``system_title`` is the SENDER's system title known from the association (the server's
    AARE responding-AP-title on the client side). Service-specific glo-/ded- APDUs need it.
    general-glo/ded-ciphering APDUs carry their own, which is used for the IV; when that carried
    title is empty (a meter quirk) the ``system_title`` argument is used instead.

    Raises DecodeError for malformed framing, a carried system title that is not 8 bytes, or a
    glo-/ded- APDU whose plaintext is not the matching service (e.g. glo-get-response holding a
    set-response) — :class:`UndecodablePlaintext` instead when the APDU was encryption-only
    (then a wrong key is the likely cause); AuthenticationTagMismatch for a tag that does not
    verify; UnsupportedSecurity for general-ciphering/general-signing, security suites other
    than 0, compression or a security control without protection; :class:`KeyNotAvailable` (also
    a RemoteProtocolError) when the APDU selects a key not in ``keys`` (e.g. a ded- APDU without
    a dedicated key); LocalProtocolError when ``system_title`` is needed but None.

    ``required_security_control`` (optional policy, e.g. 0x30): every protection bit it sets
    (authentication 0x10, encryption 0x20) must also be set in the received security control,
    else SecurityPolicyViolation — checked before any decryption. Without it, an APDU that is
    only encrypted (no tag) is accepted unauthenticated. The replay check is the caller's (see
    :class:`ReplayGuard`)."""
    keys = _check_keys(keys)
    buf = bytes(data)
    if buf and buf[0] in _OTHER_PROTECTED_TAGS:
        raise UnsupportedSecurity(f"{ApduTag(buf[0]).name} APDUs are not supported")
    frame = CipheredApdu.decode(buf)
    mode = _MODE_OF_TAG[frame.tag]
    title = frame.system_title or system_title
    if title is None:
        raise LocalProtocolError(f"{frame.tag.name} needs the sender's system title")
    if frame.system_title and len(frame.system_title) != SYSTEM_TITLE_LENGTH:
        raise DecodeError(f"system title of {len(frame.system_title)} byte(s) in "
                          f"{frame.tag.name}; security suite 0 needs {SYSTEM_TITLE_LENGTH}",
                          data=buf, offset=1, reason=Reason.BAD_LENGTH)
    control = SecurityControl.from_byte(frame.security_control)
    _check_policy(frame.security_control, required_security_control)
    _check_suite(control)
    if control.authenticated and len(frame.ciphered_text) < TAG_LENGTH:
        raise DecodeError(f"{frame.tag.name}: ciphered text of {len(frame.ciphered_text)} "
                          f"byte(s) cannot hold the {TAG_LENGTH}-byte tag", data=buf,
                          offset=len(buf), reason=Reason.TRUNCATED)
    key = _peer_keys(keys, mode, control, frame, buf)
    plain = gcm_unprotect(frame.security_control, title, frame.invocation_counter,
                          frame.ciphered_text, key=key,
                          authentication_key=keys.authentication_key)
    expected = _PLAIN_OF.get(frame.tag)
    if expected is not None and plain[:1] != bytes((expected,)):
        if not control.authenticated:
            raise UndecodablePlaintext(UNDECODABLE_PLAINTEXT_TEXT, data=buf, offset=0,
                                       reason=Reason.UNEXPECTED)
        got = f"0x{plain[0]:02X}" if plain else "nothing"
        raise DecodeError(f"{frame.tag.name} must carry a {expected.name} (0x{expected:02X}), "
                          f"got {got}", data=buf, offset=0, reason=Reason.UNEXPECTED)
    return UnprotectedApdu(apdu=plain, mode=mode, security_control=frame.security_control,
                           system_title=bytes(title), invocation_counter=frame.invocation_counter)


def decode_plaintext(result: UnprotectedApdu, decoder: Callable[[bytes], T]) -> T:
    """``decoder(result.apdu)``. When the APDU was encryption-only (no tag, so a wrong key went
    unnoticed so far) a decoding error becomes :class:`UndecodablePlaintext` ("wrong key?")."""
    try:
        return decoder(result.apdu)
    except RemoteProtocolError as exc:
        if result.security_control & AUTHENTICATED_ONLY or isinstance(exc, SecurityError):
            raise
        raise UndecodablePlaintext(UNDECODABLE_PLAINTEXT_TEXT, data=result.apdu,
                                   offset=exc.offset, reason=exc.reason) from None


# -- re-exports (PEP 562, lazy so that these modules can import this one) ------------------------

_LAZY = {"hls_challenge": "security_hls", "hls_response": "security_hls",
         "verify_hls_response": "security_hls", "gmac_response_counter": "security_hls",
         "InvocationCounter": "security_counters",
         "ReplayGuard": "security_counters"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"meterreader.dlms.{module}"), name)
