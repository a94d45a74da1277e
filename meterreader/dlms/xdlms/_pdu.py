"""Base of the service APDUs whose body is a CHOICE of variants (GET, SET, ACTION).

``Choice.decode(data)`` reads the APDU tag and the variant byte and dispatches through the
``VARIANTS`` dict of the CHOICE class; called on a variant class it also checks the variant.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from enum import IntEnum
from typing import ClassVar, Self

from meterreader.dlms.errors import Reason

from . import _wire as w
from .common import ApduTag


class ServiceChoice(ABC):
    """A service APDU CHOICE such as Get-Request; the variants are frozen dataclasses below it."""

    __slots__ = ()
    TAG: ClassVar[ApduTag]
    CHOICE: ClassVar[type[IntEnum]]
    VARIANTS: ClassVar[dict[IntEnum, type["ServiceChoice"]]]
    TYPE: ClassVar[IntEnum]  # set on each variant

    def encode(self) -> bytes:
        """The complete APDU: tag, variant, body."""
        return bytes((self.TAG, self.TYPE)) + self._encode_body()

    @abstractmethod
    def _encode_body(self) -> bytes:
        """The variant's body after tag and variant byte."""

    @classmethod
    @abstractmethod
    def _decode_body(cls, buf: bytes, offset: int) -> tuple[Self, int]:
        """Decode the variant's body at ``offset``; returns it and the offset after it."""

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one complete APDU; raises DecodeError on any malformed or trailing byte."""
        buf = bytes(data)
        offset = w.expect_byte(buf, 0, cls.TAG, f"{cls.__name__} APDU tag", Reason.UNEXPECTED)
        kind, offset = w.read_choice(buf, offset, cls.CHOICE, cls.CHOICE.__name__)
        variant = cls.VARIANTS[kind]
        if not issubclass(variant, cls):
            w.fail(buf, 1, Reason.UNEXPECTED, f"expected {cls.__name__}, got {variant.__name__}")
        obj, offset = variant._decode_body(buf, offset)
        w.expect_end(buf, offset, variant.__name__)
        return obj
