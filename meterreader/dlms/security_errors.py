"""The security errors of :mod:`meterreader.dlms.security` (re-exported there).

All are :class:`SecurityError`; those caused by bytes a peer chose are also
:class:`~meterreader.dlms.errors.RemoteProtocolError` (``data``/``offset``/``reason``). Messages
never contain key or password bytes.
"""

from __future__ import annotations

from meterreader.dlms.errors import DecodeError, DlmsError, RemoteProtocolError

__all__ = ["SecurityError", "AuthenticationTagMismatch", "ReplayError", "HlsVerificationFailed",
           "AuthenticationDowngrade", "CounterExhausted", "UnsupportedSecurity",
           "KeyNotAvailable", "SecurityPolicyViolation", "UndecodablePlaintext",
           "UNDECODABLE_PLAINTEXT_TEXT"]


class SecurityError(DlmsError):
    """Base of the security errors. Messages never contain key or password bytes."""


class AuthenticationTagMismatch(SecurityError):
    """The GCM tag does not verify: wrong key (EK/AK), wrong system title/counter, or tampering.
    No plaintext is ever returned in that case."""

    def __init__(self, message: str = "authentication tag mismatch: wrong key or tampered APDU"
                 ) -> None:
        super().__init__(message)


class ReplayError(SecurityError):
    """The peer's invocation counter did not increase. ``counter`` / ``last`` are the values."""

    def __init__(self, counter: int, last: int) -> None:
        self.counter = counter
        self.last = last
        super().__init__(f"invocation counter {counter} not greater than last accepted "
                         f"{last}: replayed APDU")


class HlsVerificationFailed(SecurityError):
    """The peer's HLS answer f(challenge) to our challenge is wrong (wrong key/secret)."""

    def __init__(self, message: str = "server's HLS answer to our challenge is wrong: wrong "
                                      "key/secret") -> None:
        super().__init__(message)


class AuthenticationDowngrade(HlsVerificationFailed):
    """We proposed HLS (mechanism 2..6) but the server accepted without asking for the HLS
    exchange (AARE diagnostic not authentication-required), or named another mechanism: the
    server never proved it knows the secret — not the real meter, or a downgrade attack."""


class CounterExhausted(SecurityError):
    """Our invocation counter reached 0xFFFFFFFF: the key must be changed before sending more."""


class UnsupportedSecurity(SecurityError):
    """A security suite, option or mechanism this library does not implement."""


class KeyNotAvailable(UnsupportedSecurity, RemoteProtocolError):
    """A received APDU selects a key we do not have (the dedicated key in a global association,
    the broadcast key, the AK): the peer's choice, so a remote problem."""


class SecurityPolicyViolation(SecurityError):
    """A received APDU is protected less than required (e.g. encrypted only when authentication
    is required): the crypto layer cannot detect such a downgrade by itself."""


UNDECODABLE_PLAINTEXT_TEXT = ("cannot decode the decrypted APDU: wrong key? (encryption-only "
                              "APDUs carry no authentication tag)")


class UndecodablePlaintext(SecurityError, DecodeError):
    """An encryption-only APDU (security control without the authentication bit) decrypted to
    bytes that are not the expected APDU: most likely a wrong key, which only the tag of an
    authenticated APDU could have revealed. ``data`` is the ciphered APDU."""
