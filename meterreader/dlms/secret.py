"""SecretBytes: a holder for passwords and keys that never shows them.

LLS passwords, HLS secrets and the AES keys (EK, AK, dedicated key) travel through configuration,
CLI arguments, dataclasses, log records and exception messages. Wrapping them in
:class:`SecretBytes` makes every textual rendering (``repr``, ``str``, ``format``, f-strings,
``%s``, ``json.dumps(default=str)``, logging) print ``***``; the bytes come out only through
:meth:`SecretBytes.reveal`, which the crypto code calls at the last moment.

Limits (Python cannot do better): the bytes stay in memory until garbage-collected and cannot be
wiped, and a determined caller can still reach the private slot.
"""

from __future__ import annotations

import hashlib
import hmac
import string
from argparse import ArgumentTypeError

from meterreader.dlms.errors import LocalProtocolError

__all__ = ["SecretBytes", "SecretFormatError"]

_MASK = "***"
_HASH_DOMAIN = b"meterreader.SecretBytes.__hash__\x00"
_HEX_SEPARATORS = str.maketrans("", "", " \t\r\n:-_")
_HEX_DIGITS = frozenset(string.hexdigits)


class SecretFormatError(LocalProtocolError, ArgumentTypeError, ValueError):
    """A password/key given as text could not be parsed.

    The message never repeats the offending text (it is a secret). Also an
    ``argparse.ArgumentTypeError``, so ``type=SecretBytes.parse`` makes argparse print this
    message instead of its default ``invalid parse value: '<the text>'``; and a ``ValueError``."""


class SecretBytes:
    """Immutable secret bytes (password, HLS secret or key) that render as ``***``.

    * ``SecretBytes(b"...")`` takes ``bytes``/``bytearray``/``memoryview`` (copied) or another
      ``SecretBytes``; ``from_text``, ``from_hex`` and ``parse`` build it from user text.
    * ``reveal()`` is the only way to get the bytes back. There is deliberately no ``__bytes__``,
      ``__iter__``, ``__getitem__`` or buffer support: ``bytes(secret)`` raises ``TypeError``.
    * ``len()`` and ``bool()`` work (the length is not considered secret).
    * ``==`` compares two ``SecretBytes`` in constant time (``hmac.compare_digest``; only the
      length can leak); comparing with anything else, ``bytes`` included, is ``False``.
    * ``hash()`` hashes a domain-separated SHA-256 digest, never the bytes themselves.
    * ``repr`` → ``SecretBytes(***)``; ``str`` and every ``format`` spec → ``***``.
    * ``copy``/``deepcopy`` return the same (immutable) object; pickling raises ``TypeError`` so a
      secret never ends up in a pickle file or a multiprocessing queue by accident.
    """

    __slots__ = ("__value",)

    def __init__(self, value: "bytes | bytearray | memoryview | SecretBytes") -> None:
        if isinstance(value, SecretBytes):
            raw = value.reveal()
        elif isinstance(value, (bytes, bytearray, memoryview)):
            raw = bytes(value)
        else:
            raise LocalProtocolError(
                f"SecretBytes needs bytes, got {type(value).__name__}; use SecretBytes.from_text "
                "or SecretBytes.from_hex for text")
        object.__setattr__(self, "_SecretBytes__value", raw)

    # -- construction from user text -----------------------------------------------------------

    @classmethod
    def from_text(cls, text: str) -> "SecretBytes":
        """The characters of ``text`` as latin-1 bytes (plain ASCII passwords such as the IS 15959
        LLS password ``"12345678"`` or HLS secret ``"1111111111111111"``)."""
        if not isinstance(text, str):
            raise SecretFormatError(f"secret text must be str, got {type(text).__name__}")
        try:
            return cls(text.encode("latin-1"))
        except UnicodeEncodeError:
            raise SecretFormatError(
                "secret text contains characters outside latin-1; give it as hex instead"
            ) from None

    @classmethod
    def from_hex(cls, text: str) -> "SecretBytes":
        """Hex digits, optionally prefixed ``0x`` and separated by spaces, ``:``, ``-`` or ``_``
        (``"00 01 02 …"``, ``"0x000102…"``, ``"00:01:02"``). An even number of digits is
        needed."""
        if not isinstance(text, str):
            raise SecretFormatError(f"hex secret must be str, got {type(text).__name__}")
        digits = text.strip()
        if digits[:2] in ("0x", "0X"):
            digits = digits[2:]
        digits = digits.translate(_HEX_SEPARATORS)
        if not digits:
            raise SecretFormatError("hex secret is empty")
        if not _HEX_DIGITS.issuperset(digits):
            raise SecretFormatError("hex secret contains a character that is not a hex digit")
        if len(digits) % 2:
            raise SecretFormatError(f"hex secret has an odd number of digits ({len(digits)})")
        return cls(bytes.fromhex(digits))

    @classmethod
    def parse(cls, text: str, *, as_hex: bool | None = None) -> "SecretBytes":
        """Parse a password/key given on the command line or in a settings file.

        ``as_hex=True`` (the CLI's ``--hex``): ``text`` is hex, see :meth:`from_hex`.
        ``as_hex=False``: ``text`` is taken literally, see :meth:`from_text`.
        ``as_hex=None`` (default, automatic): hex if ``text`` starts with ``0x``/``0X``, otherwise
        literal text. Digits alone are never guessed to be hex: the IS 15959 secret
        ``"1111111111111111"`` is 16 ASCII bytes, not 8 hex bytes. A literal password that really
        starts with ``0x`` needs ``as_hex=False``.
        """
        if not isinstance(text, str):
            raise SecretFormatError(f"secret text must be str, got {type(text).__name__}")
        if as_hex is None:
            as_hex = text.strip()[:2] in ("0x", "0X")
        return cls.from_hex(text) if as_hex else cls.from_text(text)

    # -- the only way out ----------------------------------------------------------------------

    def reveal(self) -> bytes:
        """The secret bytes. Call it only where the bytes are consumed (cipher, hash, AARQ)."""
        return self.__value

    # -- container protocol --------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.__value)

    def __bool__(self) -> bool:
        return bool(self.__value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretBytes):
            return NotImplemented
        return hmac.compare_digest(self.__value, other.reveal())

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        return hash(hashlib.sha256(_HASH_DOMAIN + self.__value).digest())

    # -- rendering: always masked --------------------------------------------------------------

    def __repr__(self) -> str:
        return f"SecretBytes({_MASK})"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, format_spec: str) -> str:
        return _MASK

    # -- immutability, copying, pickling -------------------------------------------------------

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("SecretBytes is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("SecretBytes is immutable")

    def __copy__(self) -> "SecretBytes":
        return self

    def __deepcopy__(self, memo: dict) -> "SecretBytes":
        return self

    def __reduce_ex__(self, protocol: object) -> tuple:
        raise TypeError("SecretBytes cannot be pickled (it would write the secret to disk)")

    def __reduce__(self) -> tuple:
        raise TypeError("SecretBytes cannot be pickled (it would write the secret to disk)")
