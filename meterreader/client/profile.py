"""Named connection profiles: what the connection wizard edits and the GUI saves.

A :class:`ConnectionProfile` is a flat, frozen record of the user's choices (medium, addresses,
association, secrets, timeouts). It turns into the two objects a
:class:`~meterreader.client.session.Session` needs: ``to_transport()`` (TCP, serial or
IEC 62056-21 mode E) and ``to_settings()`` (:class:`ConnectionSettings`). ``validate()`` reports
bad fields by name, for in-place flagging in the wizard, without raising.

Secrets are :class:`SecretBytes`: ``repr`` and ``to_json()`` never show them; ``to_json(
include_secrets=True)`` (for the user's private secrets file only) writes them as hex.
"""

from __future__ import annotations

import dataclasses
import secrets as _random_secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from meterreader.client.settings import ConnectionSettings, Framing
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.connection_settings import SECRET_MECHANISMS, SUPPORTED_MECHANISMS
from meterreader.dlms.errors import LocalProtocolError
from meterreader.dlms.hdlc import HdlcAddress
from meterreader.dlms.secret import SecretBytes, SecretFormatError
from meterreader.dlms.security import CipheringMode, SecurityKeys
from meterreader.india.associations import WRAPPER_PORT, association_by_name
from meterreader.transport import ModeETransport, SerialTransport, TcpTransport, Transport
from meterreader.transport.mode_e import BAUD_CHARACTERS

__all__ = ["ASSOCIATION_CHOICES", "CIPHERING_CHOICES", "ConnectionProfile", "KEY_ERROR",
           "ProfileError", "SECRET_FIELDS", "SYSTEM_TITLE_ERROR", "key_error", "parse_key",
           "parse_system_title", "preset_values"]

SECRET_FIELDS = ("password", "hls_key", "encryption_key", "authentication_key")
ASSOCIATION_CHOICES = ("pc", "mr", "us", "custom")
CIPHERING_CHOICES = ("none", "global", "dedicated", "general")
MEDIUM_CHOICES = ("tcp", "serial")
FRAMING_CHOICES = ("wrapper", "hdlc")
PARITY_CHOICES = ("N", "E", "O")
KEY_ERROR = "key must be 32 hex digits"
SYSTEM_TITLE_ERROR = "system title must be 8 bytes (16 hex digits)"
KEY_LENGTH = 16
#: HLS mechanism 2 of IS 15959 meters uses the secret as an AES-128 key.
HLS2_ERROR = "HLS key must be 16 bytes (16 characters, or 0x and 32 hex digits)"

_CIPHERING = {"none": None, "global": CipheringMode.GLOBAL,
              "dedicated": CipheringMode.DEDICATED, "general": CipheringMode.GENERAL_GLOBAL}
_MODE_E_BAUDS = tuple(sorted(BAUD_CHARACTERS.values()))
_STR_FIELDS = ("name", "medium", "host", "framing", "serial_port", "parity", "association",
               "ciphering")
_INT_FIELDS = ("port", "baudrate", "client_sap", "server_logical", "server_physical",
               "address_size", "mechanism", "retries", "deviation_sign")
_BOOL_FIELDS = ("mode_e", "demo")
JSON_VERSION = 1


class ProfileError(LocalProtocolError, ValueError):
    """A profile that cannot be used; ``errors`` maps each bad field to its message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{field}: {text}" for field, text in self.errors.items()))


# -- parsing helpers for editors ------------------------------------------------------------------

def parse_key(text: str) -> SecretBytes:
    """An AES-128 key typed as 32 hex digits (spaces, ``:``, ``-`` and a ``0x`` prefix allowed);
    raises :class:`SecretFormatError` with :data:`KEY_ERROR` (never echoing the text)."""
    try:
        key = SecretBytes.from_hex(text)
    except SecretFormatError:
        raise SecretFormatError(KEY_ERROR) from None
    if len(key) != KEY_LENGTH:
        raise SecretFormatError(KEY_ERROR)
    return key


def key_error(text: str) -> str | None:
    """:data:`KEY_ERROR` when ``text`` is not a valid key, else None (for live validation)."""
    try:
        parse_key(text)
    except SecretFormatError as exc:
        return str(exc)
    return None


def parse_system_title(text: str) -> bytes:
    """A system title typed as 16 hex digits (separators allowed); ValueError if not 8 bytes."""
    digits = text.strip()
    digits = digits[2:] if digits[:2] in ("0x", "0X") else digits
    digits = "".join(c for c in digits if c not in " \t:-_")
    try:
        title = bytes.fromhex(digits)
    except ValueError:
        raise ValueError(SYSTEM_TITLE_ERROR) from None
    if len(title) != 8:
        raise ValueError(SYSTEM_TITLE_ERROR)
    return title


def preset_values(association: str) -> dict[str, Any]:
    """Field values of an IS 15959 preset ("pc", "mr", "us"): association, client SAP,
    mechanism and the default secret (LLS password or HLS key); {} for "custom"."""
    found = association_by_name(association) if association != "custom" else None
    if found is None:
        return {}
    values: dict[str, Any] = {"association": found.name.lower(), "client_sap": found.client_sap,
                              "mechanism": int(found.mechanism)}
    if found.mechanism is MechanismName.LOW:
        values["password"] = SecretBytes(found.default_secret)
    elif found.mechanism is not MechanismName.NONE:
        values["hls_key"] = SecretBytes(found.default_secret)
    return values


# -- the profile ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionProfile:
    """One named way to reach one meter (see the module docstring). ``demo`` marks the
    in-process demo meter (its port changes each run). ``mechanism`` is a MechanismName value.
    ``ciphering``: "none", "global" (glo-), "dedicated" (ded-, a fresh dedicated key per
    association) or "general" (general-glo-ciphering)."""

    name: str = "Demo meter"
    medium: str = "tcp"
    host: str = "127.0.0.1"
    port: int = WRAPPER_PORT
    framing: str = "wrapper"
    serial_port: str = ""
    baudrate: int = 9600
    parity: str = "N"
    mode_e: bool = False
    association: str = "pc"
    client_sap: int = 16
    server_logical: int = 1
    server_physical: int = 256
    address_size: int = 4
    mechanism: int = 0
    password: SecretBytes | None = None
    hls_key: SecretBytes | None = None
    encryption_key: SecretBytes | None = None
    authentication_key: SecretBytes | None = None
    system_title: bytes | None = None
    ciphering: str = "none"
    response_timeout: float = 5.0
    retries: int = 3
    #: How the meter's clock deviation reads: -1 Blue Book (IST is -330), +1 for meters that
    #: send +330 for IST (ConnectionSettings.deviation_sign).
    deviation_sign: int = -1
    demo: bool = False

    def __post_init__(self) -> None:
        for name in SECRET_FIELDS:  # plain bytes would show in repr: wrap them at once
            value = getattr(self, name)
            if isinstance(value, (bytes, bytearray, memoryview)):
                object.__setattr__(self, name, SecretBytes(value))
            elif value is not None and not isinstance(value, SecretBytes):
                raise ProfileError({name: f"must be SecretBytes or None, got "
                                          f"{type(value).__name__}"})
        if isinstance(self.system_title, (bytearray, memoryview)):
            object.__setattr__(self, "system_title", bytes(self.system_title))

    # -- construction -----------------------------------------------------------------------------

    @classmethod
    def for_association(cls, association: str, **overrides: Any) -> ConnectionProfile:
        """A profile with the IS 15959 preset ``association`` ("pc", "mr", "us": client SAP,
        mechanism, default secret) and ``overrides``."""
        values = preset_values(association)
        if not values:
            raise ProfileError({"association": f"no association preset {association!r}; "
                                               "expected pc, mr or us"})
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> ConnectionProfile:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)

    def with_secrets(self, secrets_map: Mapping[str, SecretBytes | bytes | None] | None = None,
                     **secret_values: SecretBytes | bytes | None) -> ConnectionProfile:
        """A copy with the given secrets (``password``, ``hls_key``, ``encryption_key``,
        ``authentication_key``) set; other keys are refused."""
        values = dict(secrets_map or {}, **secret_values)
        unknown = set(values) - set(SECRET_FIELDS)
        if unknown:
            raise ProfileError({name: "not a secret field" for name in sorted(unknown)})
        return dataclasses.replace(self, **values)

    def without_secrets(self) -> ConnectionProfile:
        """A copy with every secret removed."""
        return dataclasses.replace(self, **{name: None for name in SECRET_FIELDS})

    def secrets(self) -> dict[str, SecretBytes]:
        """The secrets that are set, by field name (for the secrets store)."""
        return {name: getattr(self, name) for name in SECRET_FIELDS
                if getattr(self, name) is not None}

    # -- validation -------------------------------------------------------------------------------

    def validate(self) -> dict[str, str]:
        """Field name → error text for every bad field; empty when the profile is usable."""
        errors: dict[str, str] = {}
        if not isinstance(self.name, str) or not self.name.strip():
            errors["name"] = "name is empty"
        _choice(errors, "medium", self.medium, MEDIUM_CHOICES)
        if self.medium == "tcp":
            self._validate_tcp(errors)
        elif self.medium == "serial":
            self._validate_serial(errors)
        _choice(errors, "association", self.association, ASSOCIATION_CHOICES)
        self._validate_addresses(errors)
        self._validate_security(errors)
        if not _is_number(self.response_timeout) or not 0 < self.response_timeout <= 600:
            errors["response_timeout"] = "response timeout must be 0..600 s (more than 0)"
        if not _is_int(self.retries) or not 0 <= self.retries <= 100:
            errors["retries"] = "retries must be 0..100"
        if self.deviation_sign not in (-1, 1) or _is_bool(self.deviation_sign):
            errors["deviation_sign"] = "deviation sign must be -1 or +1"
        return errors

    @property
    def is_valid(self) -> bool:
        return not self.validate()

    def check(self) -> None:
        """Raise :class:`ProfileError` if ``validate()`` finds anything."""
        errors = self.validate()
        if errors:
            raise ProfileError(errors)

    def _validate_tcp(self, errors: dict[str, str]) -> None:
        if not isinstance(self.host, str) or not self.host.strip():
            errors["host"] = "host is empty"
        elif any(c.isspace() for c in self.host.strip()):
            errors["host"] = "host must not contain spaces"
        if not _is_int(self.port) or not 1 <= self.port <= 65535:
            errors["port"] = "port must be 1..65535"
        _choice(errors, "framing", self.framing, FRAMING_CHOICES)

    def _validate_serial(self, errors: dict[str, str]) -> None:
        if not isinstance(self.serial_port, str) or not self.serial_port.strip():
            errors["serial_port"] = "choose a serial port"
        _choice(errors, "parity", self.parity, PARITY_CHOICES)
        if self.mode_e:
            if self.baudrate not in _MODE_E_BAUDS:
                errors["baudrate"] = ("mode E baud rate must be one of "
                                      + ", ".join(map(str, _MODE_E_BAUDS)))
        elif not _is_int(self.baudrate) or not 50 <= self.baudrate <= 4_000_000:
            errors["baudrate"] = "baud rate must be 50..4000000"

    def _validate_addresses(self, errors: dict[str, str]) -> None:
        if not _is_int(self.client_sap) or not 1 <= self.client_sap <= 0x7F:
            errors["client_sap"] = "client SAP must be 1..127"
        if self.address_size not in (1, 2, 4) or isinstance(self.address_size, bool):
            errors["address_size"] = "address size must be 1, 2 or 4 bytes"
            return
        high = 0x3FFF if self.address_size == 4 else 0x7F
        if not _is_int(self.server_logical) or not 0 <= self.server_logical <= high:
            errors["server_logical"] = (f"logical address must be 0..{high} with "
                                        f"{self.address_size}-byte addresses")
        if self.address_size > 1 and (not _is_int(self.server_physical)
                                      or not 0 <= self.server_physical <= high):
            errors["server_physical"] = (f"physical address must be 0..{high} with "
                                         f"{self.address_size}-byte addresses")

    def _validate_security(self, errors: dict[str, str]) -> None:
        try:
            mechanism = MechanismName(self.mechanism)
        except ValueError:
            mechanism = None
        if mechanism is None or mechanism not in SUPPORTED_MECHANISMS or _is_bool(self.mechanism):
            errors["mechanism"] = "unsupported authentication mechanism"
        elif mechanism is MechanismName.LOW and not self.password:
            errors["password"] = "low level security needs a password"
        elif mechanism in SECRET_MECHANISMS and not self.hls_key:
            errors["hls_key"] = "high level security needs a key"
        elif mechanism is MechanismName.HIGH and len(self.hls_key or b"") != KEY_LENGTH:
            errors["hls_key"] = HLS2_ERROR
        _choice(errors, "ciphering", self.ciphering, CIPHERING_CHOICES)
        keyed = self.ciphering in _CIPHERING and self.ciphering != "none" \
            or mechanism is MechanismName.HIGH_GMAC
        for name in ("encryption_key", "authentication_key"):
            key = getattr(self, name)
            if key is not None and len(key) != KEY_LENGTH:
                errors[name] = KEY_ERROR
            elif key is None and keyed:
                errors[name] = f"{KEY_ERROR} (needed for ciphering and HLS-GMAC)"
        title = self.system_title
        if title is not None and (not isinstance(title, bytes) or len(title) != 8):
            errors["system_title"] = SYSTEM_TITLE_ERROR
        elif title is None and (keyed or mechanism is MechanismName.HIGH_SHA256):
            errors["system_title"] = f"{SYSTEM_TITLE_ERROR} (needed for ciphering, " \
                                     "HLS-GMAC and HLS-SHA256)"

    # -- conversion -------------------------------------------------------------------------------

    @property
    def session_framing(self) -> Framing:
        """Wrapper only for TCP with the wrapper; HDLC for HDLC over TCP and every serial line."""
        if self.medium == "tcp" and self.framing == "wrapper":
            return Framing.WRAPPER
        return Framing.HDLC

    def to_transport(self) -> Transport:
        """A new, unopened transport for this profile (ProfileError if the medium is invalid)."""
        errors = {k: v for k, v in self.validate().items()
                  if k in ("medium", "host", "port", "serial_port", "baudrate", "parity")}
        if errors:
            raise ProfileError(errors)
        if self.medium == "tcp":
            return TcpTransport(self.host.strip(), self.port)
        if self.mode_e:
            # IEC 62056-21 mode E: sign-on at 300 baud 7E1, then HDLC at up to ``baudrate``.
            return ModeETransport(SerialTransport(self.serial_port.strip()),
                                  ack_baud=self.baudrate)
        return SerialTransport(self.serial_port.strip(), baudrate=self.baudrate,
                               parity=self.parity)

    def to_settings(self, **overrides: Any) -> ConnectionSettings:
        """The session settings (ProfileError if ``validate()`` finds anything); ``overrides``
        set other :class:`ConnectionSettings` fields (close_timeout, quirks …)."""
        self.check()
        mechanism = MechanismName(self.mechanism)
        ciphering = _CIPHERING[self.ciphering]
        dedicated = None
        if ciphering in (CipheringMode.DEDICATED, CipheringMode.GENERAL_DEDICATED):
            # A fresh dedicated key for every association.
            dedicated = SecretBytes(_random_secrets.token_bytes(KEY_LENGTH))
        values: dict[str, Any] = dict(
            framing=self.session_framing, client_sap=self.client_sap,
            server_logical_address=self.server_logical,
            server_physical_address=self.server_physical if self.address_size > 1 else 0,
            address_size=self.address_size, mechanism=mechanism,
            password=self.password if mechanism is MechanismName.LOW else None,
            hls_secret=self.hls_key if mechanism in SECRET_MECHANISMS else None,
            keys=SecurityKeys(encryption_key=self.encryption_key,
                              authentication_key=self.authentication_key,
                              dedicated_key=dedicated),
            client_system_title=self.system_title, ciphering=ciphering,
            response_timeout=float(self.response_timeout), retries=self.retries,
            deviation_sign=self.deviation_sign)
        values.update(overrides)
        return ConnectionSettings(**values)

    # -- texts ------------------------------------------------------------------------------------

    def server_address_bytes(self) -> bytes:
        """The encoded HDLC server address (IEC 62056-46 address field, extension bits set)."""
        if self.address_size == 1:
            return HdlcAddress.server(self.server_logical, size=1).encode()
        return HdlcAddress.server(self.server_logical, self.server_physical,
                                  size=self.address_size).encode()

    def client_address_bytes(self) -> bytes:
        """The encoded one-byte HDLC client address."""
        return HdlcAddress.client(self.client_sap).encode()

    def hdlc_address_preview(self) -> str:
        """E.g. ``"server 00 02 04 01 · client 21"``; a bad part reads ``(invalid)``."""
        return f"server {_hex_or_invalid(self.server_address_bytes)} · " \
               f"client {_hex_or_invalid(self.client_address_bytes)}"

    def association_label(self) -> str:
        """E.g. ``"MR (client 32)"`` or ``"custom (client 17)"``."""
        label = self.association.upper() if self.association in ("pc", "mr", "us") \
            else str(self.association)
        return f"{label} (client {self.client_sap})"

    def medium_label(self) -> str:
        """E.g. ``"TCP 127.0.0.1:4059 wrapper"``, ``"serial COM3 9600 8N1 HDLC"``,
        ``"serial COM3 mode E ≤9600 HDLC"``."""
        if self.medium == "tcp":
            host = f"[{self.host}]" if ":" in str(self.host) else self.host
            framing = "wrapper" if self.framing == "wrapper" else "HDLC"
            return f"TCP {host}:{self.port} {framing}"
        if self.mode_e:
            return f"serial {self.serial_port} mode E ≤{self.baudrate} HDLC"
        return f"serial {self.serial_port} {self.baudrate} 8{self.parity}1 HDLC"

    def describe(self) -> str:
        """One line for the status bar, e.g. ``"TCP 127.0.0.1:4059 wrapper · MR (client 32) → LD
        1/256"`` (prefixed ``demo`` for the demo meter)."""
        target = (f"LD {self.server_logical}" if self.address_size == 1
                  else f"LD {self.server_logical}/{self.server_physical}")
        text = f"{self.medium_label()} · {self.association_label()} → {target}"
        return f"demo {text}" if self.demo else text

    # -- JSON -------------------------------------------------------------------------------------

    def to_json(self, include_secrets: bool = False) -> dict[str, Any]:
        """A JSON-able dict; secrets (as hex) only with ``include_secrets=True``."""
        out: dict[str, Any] = {"version": JSON_VERSION}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS:
                if include_secrets and value is not None:
                    out[f.name] = value.reveal().hex()
                continue
            out[f.name] = value.hex() if isinstance(value, bytes) else value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConnectionProfile:
        """The profile ``to_json`` wrote; unknown keys are ignored, missing ones default.
        Raises :class:`ProfileError` for values of the wrong type."""
        if not isinstance(data, Mapping):
            raise ProfileError({"profile": "not a JSON object"})
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for f in dataclasses.fields(cls):
            if f.name not in data or data[f.name] is None:
                continue
            raw = data[f.name]
            try:
                values[f.name] = _from_json_value(f.name, raw)
            except (TypeError, ValueError):
                errors[f.name] = f"bad value in the saved profile ({type(raw).__name__})"
        if errors:
            raise ProfileError(errors)
        return cls(**values)

    def __str__(self) -> str:
        return f"{self.name}: {self.describe()}"


def _from_json_value(name: str, raw: Any) -> Any:
    if name in SECRET_FIELDS:
        if not isinstance(raw, str):
            raise TypeError(name)
        return SecretBytes(bytes.fromhex(raw))
    if name == "system_title":
        if not isinstance(raw, str):
            raise TypeError(name)
        return bytes.fromhex(raw)
    if name in _STR_FIELDS:
        if not isinstance(raw, str):
            raise TypeError(name)
        return raw
    if name in _BOOL_FIELDS:
        if not isinstance(raw, bool):
            raise TypeError(name)
        return raw
    if name in _INT_FIELDS:
        if isinstance(raw, bool) or not isinstance(raw, (int, str)):
            raise TypeError(name)
        return int(raw)
    if name == "response_timeout":
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise TypeError(name)
        return float(raw)
    raise TypeError(name)


def _choice(errors: dict[str, str], name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        errors[name] = f"{name.replace('_', ' ')} must be one of {', '.join(choices)}"


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _hex_or_invalid(encode: Any) -> str:
    try:
        return encode().hex(" ").upper()
    except (LocalProtocolError, TypeError, ValueError):
        return "(invalid)"
