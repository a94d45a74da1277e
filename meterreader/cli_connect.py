"""Shared connection options of the meter subcommands: arguments → Transport + ConnectionSettings,
secrets (arguments, environment, prompt) and exceptions → exit codes and messages. Running a
command over a session is :mod:`meterreader.cli_run`.

Exit codes (every ``meterreader`` subcommand): 0 success, 1 other failure (protocol error,
malformed data, I/O), 2 bad arguments, 3 connection failure (refused, no such port, meter not
answering, timeout, link lost), 4 association rejected (wrong password/key/client), 5 access
denied, object undefined or another refusal of a service by the meter.
"""

from __future__ import annotations

import argparse
import os
import secrets as _random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from meterreader.dlms.errors import DlmsError, LocalProtocolError

__all__ = [
    "AUTH_MECHANISMS", "CIPHER_MODES", "EXIT_CODES_TEXT", "EXIT_CONNECTION", "EXIT_FAILURE",
    "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_REJECTED", "EXIT_SERVICE", "EXIT_USAGE", "Secrets",
    "UsageError", "add_connection_options", "build_settings", "build_transport", "failure",
    "resolve_secrets", "tcp_address", "DIAGNOSE_ENV", "TrafficTail", "diagnosis_lines",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_CONNECTION = 3
EXIT_REJECTED = 4
EXIT_SERVICE = 5
EXIT_INTERRUPTED = 130

EXIT_CODES_TEXT = """\
exit status:
  0  success
  1  other failure (protocol error, malformed data from the meter, file I/O)
  2  bad arguments
  3  connection failure: refused, no such port, meter not answering, timeout, link lost
  4  association rejected: wrong password or key, unknown client
  5  access denied, object undefined or another refusal of the service by the meter"""

#: ``--auth`` choices → the mechanism_id on the wire (Green Book: HLS-SHA256 is 6, not 7).
AUTH_MECHANISMS = {"none": 0, "low": 1, "high": 2, "md5": 3, "sha1": 4, "gmac": 5, "sha256": 6}
#: ``--cipher`` choices → CipheringMode value (None: no ciphering).
CIPHER_MODES = {"none": None, "global": "glo", "dedicated": "ded", "general": "general-glo"}
_ENV = {"password": "METERREADER_PASSWORD", "key": "METERREADER_KEY", "ek": "METERREADER_EK",
        "ak": "METERREADER_AK"}


class UsageError(Exception):
    """Bad arguments found after parsing (exit status 2)."""


# -- argument types -------------------------------------------------------------------------------

def tcp_address(text: str) -> tuple[str, int]:
    """argparse type: ``HOST:PORT``, ``[IPv6]:PORT`` or ``HOST`` (port 4059)."""
    host, port = text.strip(), "4059"
    if host.startswith("["):
        end = host.find("]")
        if end < 0 or (host[end + 1:] and not host[end + 1:].startswith(":")):
            raise argparse.ArgumentTypeError(f"not HOST:PORT: {text!r}")
        host, port = host[1:end], host[end + 2:] or port
    elif host.count(":") == 1:
        host, port = host.split(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"not HOST:PORT (port 1..65535): {text!r}")
    return host, int(port)


def _system_title(text: str) -> bytes:
    try:
        value = bytes.fromhex(text.replace(" ", "").replace(":", "").removeprefix("0x"))
    except ValueError:
        raise argparse.ArgumentTypeError("not hex (16 hex digits expected)") from None
    if len(value) != 8:
        raise argparse.ArgumentTypeError(f"a system title is 8 bytes, got {len(value)}")
    return value


def seconds_type(limit: float) -> Callable[[str], float]:
    """An argparse type for a number of seconds in (0, ``limit``]."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not 0 < value <= limit:
            raise argparse.ArgumentTypeError(f"must be > 0 and <= {limit:g} seconds")
        return value
    return parse


_positive = seconds_type(3600)


def _deviation_sign(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not -1 or +1: {text!r}") from None


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """The shared options: transport, addressing, association, secrets, timing, output."""
    link = parser.add_argument_group("connection")
    where = link.add_mutually_exclusive_group(required=True)
    where.add_argument("--tcp", type=tcp_address, metavar="HOST:PORT",
                       help="meter or converter on TCP (IEC 62056-47 wrapper; port 4059 if "
                            "omitted)")
    where.add_argument("--serial", metavar="PORT",
                       help="serial port or optical probe (COM3, /dev/ttyUSB0), HDLC framing")
    link.add_argument("--hdlc", action="store_true",
                      help="with --tcp: raw HDLC (serial-to-Ethernet converter) instead of the "
                           "wrapper")
    link.add_argument("--baud", type=int, metavar="N",
                      help="serial baud rate (default 9600; with --mode-e: the highest rate to "
                           "accept)")
    link.add_argument("--parity", choices=("N", "E", "O"), default="N", type=str.upper,
                      help="serial parity, 8 data bits, 1 stop bit (default N)")
    link.add_argument("--mode-e", action="store_true",
                      help="IEC 62056-21 mode E opening at 300 baud 7E1, then HDLC at the "
                           "meter's proposed rate")
    addr = parser.add_argument_group("addressing and association")
    who = addr.add_mutually_exclusive_group()
    who.add_argument("--association", choices=("pc", "mr", "us"), type=str.lower,
                     help="IS 15959 preset: pc = public client 16, no security (default); mr = "
                          "meter reader 32, LLS password; us = utility settings 48, HLS key")
    who.add_argument("--client", type=int, metavar="N",
                     help="client SAP (16, 32, 48 pick the IS 15959 mechanism; others need "
                          "--auth)")
    addr.add_argument("--logical", type=int, default=1, metavar="N",
                      help="server logical device / wrapper destination port (default 1)")
    addr.add_argument("--physical", type=int, default=256, metavar="N",
                      help="HDLC server physical address (default 256)")
    addr.add_argument("--address-size", type=int, choices=(1, 2, 4), default=4,
                      help="HDLC server address size in bytes (default 4)")
    addr.add_argument("--auth", choices=tuple(AUTH_MECHANISMS),
                      help="authentication mechanism (default: the association's); sha256 is "
                           "HLS-SHA256, mechanism_id 6 on the wire per the Green Book")
    addr.add_argument("--deviation-sign", type=_deviation_sign, choices=(-1, 1), default=-1,
                      metavar="{-1,+1}",
                      help="how the meter's clock deviation reads: -1 Blue Book, IST = -330 "
                           "(default); +1 for meters that send +330 for IST (their clock "
                           "otherwise reads 11 h off)")
    sec = parser.add_argument_group(
        "secrets", "Never echoed. Prefer the environment variables or '-' (prompt without echo "
                   "on a terminal, else one line of standard input): command lines are visible "
                   "to other users.")
    sec.add_argument("--password", metavar="TEXT",
                     help="LLS password (or METERREADER_PASSWORD; '-' prompts); 0x… = hex")
    sec.add_argument("--key", metavar="TEXT",
                     help="HLS secret: 16 ASCII characters or 0x-prefixed hex (or "
                          "METERREADER_KEY; '-' prompts)")
    sec.add_argument("--ek", metavar="HEX",
                     help="global encryption key, 32 hex digits (or METERREADER_EK)")
    sec.add_argument("--ak", metavar="HEX",
                     help="authentication key, 32 hex digits (or METERREADER_AK)")
    sec.add_argument("--system-title", type=_system_title, metavar="HEX",
                     help="client system title, 8 bytes in hex (default when ciphering or "
                          "mechanism 5/6 needs one: 'MRC' + 5 random bytes)")
    sec.add_argument("--cipher", choices=tuple(CIPHER_MODES), default="none",
                     help="APDU ciphering: global (glo-), dedicated (ded-, random dedicated "
                          "key), general (general-glo-ciphering); default none")
    run = parser.add_argument_group("timing and output")
    run.add_argument("--timeout", type=_positive, default=5.0, metavar="S",
                     help="wait for each answer and for the TCP connect (default 5 s)")
    run.add_argument("--retries", type=int, default=3, metavar="N",
                     help="HDLC repetitions of an unanswered frame (default 3)")
    run.add_argument("--trace", action="store_true",
                     help="print every frame and APDU on standard error (secrets masked)")
    run.add_argument("--json", action="store_true", help="JSON output")


# -- secrets --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Secrets:
    """The secrets of one run (SecretBytes or None)."""

    password: Any = None
    key: Any = None
    ek: Any = None
    ak: Any = None

    def revealed(self) -> list[bytes]:
        """The secret bytes worth masking in output (4 bytes or longer)."""
        return [s.reveal() for s in (self.password, self.key, self.ek, self.ak)
                if s is not None and len(s) >= 4]


def _read_secret(what: str, stdin: IO[str] | None) -> str:
    import getpass

    if stdin is None or stdin.closed:
        raise UsageError(f"--{what} -: no standard input to read the {what} from; use "
                         f"{_ENV[what]}")
    if stdin.isatty():
        try:
            return getpass.getpass(f"{what}: ")
        except EOFError:
            raise UsageError(f"--{what} -: no {what} entered") from None
    line = stdin.readline()
    if not line:
        raise UsageError(f"--{what} -: standard input is empty (no terminal to prompt on); "
                         f"pipe the {what} in or use {_ENV[what]}")
    return line.rstrip("\r\n")


def resolve_secrets(args: argparse.Namespace, *, environ: Any = None,
                    stdin: IO[str] | None = None) -> Secrets:
    """Secrets from the arguments, else the environment; ``-`` reads them without echo."""
    from meterreader.dlms.secret import SecretBytes, SecretFormatError

    environ = os.environ if environ is None else environ
    stdin = sys.stdin if stdin is None else stdin
    found: dict[str, Any] = {}
    for name in ("password", "key", "ek", "ak"):
        text = getattr(args, name, None)
        source = f"--{name}"
        if text is None:
            text, source = environ.get(_ENV[name]) or None, _ENV[name]
        elif text == "-" and name in ("password", "key"):
            text = _read_secret(name, stdin)
        if text is None:
            continue
        try:
            if name in ("ek", "ak"):
                value = SecretBytes.from_hex(text)
                if len(value) != 16:
                    raise SecretFormatError(f"an AES-128 key is 16 bytes (32 hex digits), got "
                                            f"{len(value)} bytes")
            else:
                value = SecretBytes.parse(text)
        except SecretFormatError as exc:
            raise UsageError(f"{source}: {exc}") from None
        if not value:
            raise UsageError(f"{source} is empty")
        found[name] = value
    return Secrets(**found)


# -- settings and transport -----------------------------------------------------------------------

def build_settings(args: argparse.Namespace, found: Secrets) -> Any:
    """The :class:`ConnectionSettings` the arguments describe (UsageError when inconsistent)."""
    from meterreader.client import ConnectionSettings, Framing
    from meterreader.dlms.acse import MechanismName
    from meterreader.dlms.connection_settings import SECRET_MECHANISMS, TITLE_MECHANISMS
    from meterreader.dlms.security import CipheringMode, SecurityKeys
    from meterreader.india.associations import association_by_client_sap, get_association

    if args.client is not None:
        assoc = association_by_client_sap(args.client)
        client = args.client
    else:
        assoc = get_association(args.association or "pc")
        client = assoc.client_sap
    if args.auth is not None:
        mechanism = MechanismName(AUTH_MECHANISMS[args.auth])
    else:
        mechanism = assoc.mechanism if assoc is not None else MechanismName.NONE
    ciphering = CIPHER_MODES[args.cipher]
    mode = CipheringMode(ciphering) if ciphering else None
    who = f"client {client}" + (f" ({assoc.title})" if assoc is not None else "")
    values: dict[str, Any] = {}
    if mechanism is MechanismName.LOW:
        if found.password is None:
            raise UsageError(f"{who} authenticates with a password (LLS): give --password, "
                             f"--password - (prompt) or {_ENV['password']}")
        values["password"] = found.password
    elif mechanism in SECRET_MECHANISMS:
        secret = found.key if found.key is not None else found.password
        if secret is None:
            raise UsageError(f"{who} with HLS mechanism {int(mechanism)} needs the secret: give "
                             f"--key, --key - (prompt) or {_ENV['key']}")
        if mechanism is MechanismName.HIGH and len(secret) != 16:
            raise UsageError(f"HLS mechanism 2 needs a 16-byte key (16 ASCII characters or "
                             f"32 hex digits after 0x), got {len(secret)} bytes")
        values["hls_secret"] = secret
    needs_keys = mode is not None or mechanism is MechanismName.HIGH_GMAC
    if needs_keys and (found.ek is None or found.ak is None):
        raise UsageError("ciphering and HLS-GMAC need --ek and --ak (or METERREADER_EK and "
                         "METERREADER_AK)")
    dedicated = None
    if mode in (CipheringMode.DEDICATED, CipheringMode.GENERAL_DEDICATED):
        dedicated = _random.token_bytes(16)
    if needs_keys or found.ek is not None or found.ak is not None:
        values["keys"] = SecurityKeys(encryption_key=found.ek, authentication_key=found.ak,
                                      dedicated_key=dedicated)
    title = args.system_title
    if title is None and (mode is not None or mechanism in TITLE_MECHANISMS):
        title = b"MRC" + _random.token_bytes(5)
    framing = Framing.WRAPPER if args.tcp is not None and not args.hdlc else Framing.HDLC
    try:
        return ConnectionSettings(
            framing=framing, client_sap=client, server_logical_address=args.logical,
            server_physical_address=args.physical, address_size=args.address_size,
            mechanism=mechanism, client_system_title=title, ciphering=mode,
            response_timeout=args.timeout, retries=args.retries,
            close_timeout=min(2.0, args.timeout),
            deviation_sign=getattr(args, "deviation_sign", -1), **values)
    except LocalProtocolError as exc:
        raise UsageError(str(exc).removeprefix("ConnectionSettings.")) from None


def build_transport(args: argparse.Namespace) -> Any:
    """TcpTransport, SerialTransport or ModeETransport for the arguments; what it sends and
    receives is recorded (the last few KiB) for the diagnosis of a failed connect."""
    from meterreader.transport import ModeETransport, SerialTransport, TcpTransport

    try:
        if args.tcp is not None:
            host, port = args.tcp
            transport: Any = TcpTransport(host, port, connect_timeout=args.timeout)
        elif args.mode_e:
            transport = ModeETransport(SerialTransport(args.serial), ack_baud=args.baud)
        else:
            transport = SerialTransport(args.serial, baudrate=args.baud or 9600,
                                        parity=args.parity)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    global _recorder
    _recorder = TrafficTail(medium="tcp" if args.tcp is not None else "serial",
                            framing="hdlc" if args.tcp is None or args.hdlc else "wrapper")
    transport.on_traffic = _recorder
    return transport


# -- diagnosis of connect failures ----------------------------------------------------------------

class TrafficTail:
    """An ``on_traffic`` hook keeping the last :attr:`LIMIT` bytes each way (for
    :func:`diagnosis_lines`); ``medium``/``framing`` tailor the diagnosis' wording."""

    LIMIT = 4096

    def __init__(self, *, medium: str = "serial", framing: str = "hdlc") -> None:
        self.medium = medium
        self.framing = framing
        self.tx = b""
        self.rx = b""

    def __call__(self, direction: str, data: bytes) -> None:
        if direction == "tx":
            self.tx = (self.tx + data)[-self.LIMIT:]
        else:
            self.rx = (self.rx + data)[-self.LIMIT:]


_recorder: TrafficTail | None = None
#: Environment variable: the diagnosis follows a connect failure's message by default;
#: METERREADER_DIAGNOSE=0 turns it off (scripts that want the one-line message only).
DIAGNOSE_ENV = "METERREADER_DIAGNOSE"


def diagnosis_lines(exc: BaseException, traffic: TrafficTail | None = None) -> list[str]:
    """The plain-language diagnosis of a failed connect (:func:`meterreader.finder.diagnose`)
    from the error and the bytes ``traffic`` saw (default: those of the transport
    :func:`build_transport` built last, which are then forgotten), as indented lines."""
    from meterreader.finder import diagnose

    global _recorder
    if traffic is None:  # the last built transport's bytes, used once
        traffic, _recorder = _recorder, None
    rx = traffic.rx if traffic is not None else b""
    tx = traffic.tx if traffic is not None else b""
    try:
        found = diagnose(exc, rx=rx, tx=tx, profile=traffic)
    except Exception:  # noqa: BLE001 - a diagnosis must never hide the failure itself
        return []
    return [f"  {line}" for line in found.lines()]


def _diagnose_enabled() -> bool:
    """Diagnosis lines follow a connect failure unless METERREADER_DIAGNOSE=0 (scripts that
    want the one-line message only)."""
    return os.environ.get(DIAGNOSE_ENV, "").strip() != "0"


# -- errors ---------------------------------------------------------------------------------------

def failure(exc: BaseException) -> tuple[int, str]:
    """Exit code and message for an exception of a meter command: one line; for a connection
    failure (3) or a rejected association (4) followed by the diagnosis (what the bytes seen
    mean, what to try) unless METERREADER_DIAGNOSE=0."""
    code, message = _failure_line(exc)
    if code in (EXIT_CONNECTION, EXIT_REJECTED) and _diagnose_enabled():
        lines = diagnosis_lines(exc)
        if lines:
            message = "\n".join([message, *lines])
    return code, message


def _failure_line(exc: BaseException) -> tuple[int, str]:
    """Exit code and one-line message for an exception of a meter command."""
    from meterreader.client import (AccessDenied, AssociationRejected, Cancelled,
                                    ConnectionFailed, ConnectionLost, MeterNotAnswering,
                                    ObjectUndefined, ServiceFailed)
    from meterreader.transport import ReadTimeout

    if isinstance(exc, UsageError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, (KeyboardInterrupt, Cancelled)):
        return EXIT_INTERRUPTED, "interrupted"
    if isinstance(exc, AssociationRejected):
        hint = (" (wrong password or key?)" if exc.authentication_failed
                and "wrong" not in exc.reason_text else "")
        return EXIT_REJECTED, f"association rejected: {exc.reason_text}{hint}"
    if isinstance(exc, AccessDenied):
        return EXIT_SERVICE, f"access denied ({result_words(exc.result)}): {exc}"
    if isinstance(exc, ObjectUndefined):
        return EXIT_SERVICE, f"object undefined: {exc}"
    if isinstance(exc, ServiceFailed):
        return EXIT_SERVICE, f"the meter refused: {exc}"
    if isinstance(exc, MeterNotAnswering):
        return EXIT_CONNECTION, f"meter not answering: {exc}"
    if isinstance(exc, ConnectionFailed):
        return EXIT_CONNECTION, f"cannot connect: {exc}{_ports_hint(exc)}"
    if isinstance(exc, (ConnectionLost, ReadTimeout)):
        return EXIT_CONNECTION, f"connection lost: {exc}"
    if isinstance(exc, LocalProtocolError):
        return EXIT_FAILURE, f"error: {exc}"
    if isinstance(exc, DlmsError):
        return EXIT_FAILURE, f"protocol error: {exc}"
    if isinstance(exc, OSError):
        return EXIT_FAILURE, f"I/O error: {exc}"
    return EXIT_FAILURE, f"unexpected error: {type(exc).__name__}: {exc}"


def result_words(result: Any) -> str:
    """``DataAccessResult.READ_WRITE_DENIED`` → ``"read-write denied"``."""
    if result is None:
        return "refused"
    words = result.name.lower().replace("_", " ")
    return words.replace("read write", "read-write")


def _ports_hint(exc: BaseException) -> str:
    if "serial" not in str(exc):
        return ""
    try:
        from meterreader.transport import list_ports
        ports = [p.device for p in list_ports()]
    except Exception:  # noqa: BLE001 - only a hint
        return ""
    return f" (serial ports present: {', '.join(ports) if ports else 'none'})"
