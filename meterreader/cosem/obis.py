"""OBIS codes (IEC 62056-6-1): parse, format, encode.

Accepted text forms: ``1.0.1.8.0.255``, ``1-0:1.8.0*255`` (F may be omitted there and defaults
to 255), and 6-byte hex (``0100010800FF``, spaces allowed). Shorter forms such as ``1.8.0`` are
refused, so that a typo never reads the wrong object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from meterreader.dlms.errors import DecodeError, LocalProtocolError, Reason

# re.ASCII: only ASCII digits and whitespace (``\d`` would accept e.g. Arabic-Indic digits, and a
# non-ASCII space inside the hex form would reach bytes.fromhex and raise ValueError).
_REDUCED = re.compile(
    r"^\s*(\d{1,3})-(\d{1,3}):(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:[*.&](\d{1,3}))?\s*$", re.ASCII)
_DOTTED = re.compile(
    r"^\s*(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\s*$", re.ASCII)
_HEX = re.compile(r"^\s*(?:0x)?((?:[0-9A-Fa-f]{2}\s*){6})$", re.ASCII)


@dataclass(frozen=True, slots=True, order=True)
class Obis:
    """A logical name: six value groups A–F, each 0–255 (IEC 62056-6-1 §4.1)."""

    a: int
    b: int
    c: int
    d: int
    e: int
    f: int = 255

    def __post_init__(self) -> None:
        for v in (self.a, self.b, self.c, self.d, self.e, self.f):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 255:
                raise LocalProtocolError(f"OBIS value group out of range 0..255: {v!r}")

    @classmethod
    def from_bytes(cls, data: bytes) -> "Obis":
        """Decode the 6-byte octet-string form used on the wire."""
        if len(data) != 6:
            raise DecodeError("logical name must be 6 bytes", data=data, offset=0,
                              reason=Reason.BAD_LENGTH)
        return cls(*data)

    @classmethod
    def parse(cls, text: "str | bytes | Obis") -> "Obis":
        """Parse ``1.0.1.8.0.255``, ``1-0:1.8.0*255`` or 6-byte hex. Raises LocalProtocolError."""
        if isinstance(text, Obis):
            return text
        if isinstance(text, (bytes, bytearray)):
            return cls.from_bytes(bytes(text))
        if not isinstance(text, str):
            raise LocalProtocolError(f"not an OBIS code: {text!r} (expected str, bytes or Obis)")
        for pattern in (_DOTTED, _REDUCED):
            m = pattern.match(text)
            if m:
                groups = [int(g) if g is not None else 255 for g in m.groups()]
                if any(g > 255 for g in groups):
                    break
                return cls(*groups)
        m = _HEX.match(text)
        if m:
            return cls(*bytes.fromhex(m.group(1)))
        raise LocalProtocolError(
            f"not an OBIS code: {text!r} (expected e.g. 1.0.1.8.0.255, 1-0:1.8.0*255 or 0100010800FF)")

    def __bytes__(self) -> bytes:
        return bytes((self.a, self.b, self.c, self.d, self.e, self.f))

    def __str__(self) -> str:
        return f"{self.a}.{self.b}.{self.c}.{self.d}.{self.e}.{self.f}"

    def reduced(self) -> str:
        """The IEC 62056-6-1 reduced form ``A-B:C.D.E*F``."""
        return f"{self.a}-{self.b}:{self.c}.{self.d}.{self.e}*{self.f}"

    @property
    def name(self) -> str | None:
        """Human-readable name (see :func:`meterreader.cosem.obis_names.obis_name`), or None."""
        from meterreader.cosem.obis_names import obis_name  # late: obis_names imports Obis

        return obis_name(self)
