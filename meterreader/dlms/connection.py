"""DlmsConnection: the sans-IO xDLMS association and service machine, for both roles.

The connection works on whole APDUs (h2 style, see STYLE.md §1): the framing below it (HDLC LSDUs,
IEC 62056-47 wrapper packets) is the driver's business.

* ``send(event) -> bytes`` — exactly one APDU for the event (the first block when the machine
  splits a long SET/ACTION request or a long GET/ACTION response);
* ``receive_data(apdu) -> list[Event]`` — one whole received APDU in, the events it completed out
  (an empty list when it only advanced a transfer, e.g. a datablock acknowledgement);
* ``data_to_send() -> list[bytes]`` — APDUs the machine produced on its own, drained; a LIST of
  whole APDUs because each goes into its own wrapper packet / HDLC LSDU. Examples: HLS pass 3
  after the AARE (client), GetRequestNext after each datablock, the next SET/ACTION block after
  each acknowledgement, the AARE / RLRE / pass 4 / next datablock (server), an ExceptionResponse
  queued just before a security error is raised (server).

Driver loop: write ``send(x)``; read one APDU; ``events = receive_data(apdu)``; write every APDU
of ``data_to_send()``; handle the events; repeat the read while no final event arrived.

Client flow: ``send(Associate())`` → AARQ → AARE → :class:`AssociationAccepted` or
:class:`AssociationRejected` (for HLS mechanisms 2..6 pass 3 is queued automatically after the
AARE and the event comes with pass 4). Then ``Get``/``GetList``/``Set``/``SetList``/``Action`` →
``GetResult``/``GetListResult``/``SetResult``/``SetListResult``/``ActionResult``/``ServiceError``
(with ``BlockReceived`` progress events during datablock transfers), ``Release`` → ``Released``.
One confirmed request at a time; invoke-ids cycle 0..15.

Server flow: the AARQ is decided automatically from the :class:`ServerAssociationPolicy`
(AARE queued, :class:`ClientAssociated` / :class:`ClientRejected`); service requests become
``GetRequested`` … ``ActionRequested`` (after reassembly of SET/ACTION blocks) and are answered with
``send(GetResponse(...))`` etc.; requests outside an association are answered with an
ExceptionResponse (state-error service-not-allowed) and reported as :class:`RequestRefused`.
Inside an association the server may also ``send(EventNotification(...))`` (unconfirmed).

Invocation counters: ``invocation_counter`` is the last value we used; persist it and pass it
back as ``invocation_counter_start`` next session (the IV must never repeat under one key).

Errors (consistent for both roles): ``send`` raises :class:`LocalProtocolError` for misuse (an
event not allowed in the state, a request while one is outstanding, a value that cannot fit);
``receive_data`` raises :class:`RemoteProtocolError` (or :class:`BlockTransferError`, carrying
``partial_raw``) for a peer that breaks the protocol, and the security errors of
:mod:`meterreader.dlms.security` — :class:`AuthenticationTagMismatch` (wrong key or tampered APDU),
:class:`ReplayError`, :class:`SecurityPolicyViolation`, :class:`HlsVerificationFailed` (the
server's pass 4 answer is wrong: a wrong key, or not the real meter) and its subclass
:class:`AuthenticationDowngrade` (HLS proposed but the AARE skips it or names another mechanism),
:class:`KeyNotAvailable` (the peer selected a key we lack, e.g. a ded- APDU in a global
association), :class:`UndecodablePlaintext` (encryption-only content that does not decode: wrong
key?). After any exception the raising side's state is ERROR and every later call raises
LocalProtocolError; the driver drops the link and, to go on, associates again with a new
connection. Refusals by the peer are events, not exceptions
(``AssociationRejected``, ``ServiceError``, a data-access-result in ``GetResult``).
"""

from __future__ import annotations

from typing import Any, Callable

from meterreader.dlms import security as sec
from meterreader.dlms.acse import AARQ, AcseTag
from meterreader.dlms.connection_events import Event
from meterreader.dlms.connection_settings import AssociationSettings, ServerAssociationPolicy
from meterreader.dlms.connection_state import (ASSOCIATED_STATES, AssociationMachine, Effect,
                                               Input, Role, State, TransitionError)
from meterreader.dlms.errors import DlmsError, LocalProtocolError, Reason, RemoteProtocolError
from meterreader.dlms.xdlms.ciphered import SERVICE_SPECIFIC_CIPHERED_TAGS

__all__ = ["DlmsConnection", "Protection", "Role", "State", "TRACE_LEVEL"]

#: Level of the APDU hex dumps when the injected logger has no ``trace`` (a stdlib Logger):
#: below DEBUG (10), so they appear only when asked for.
TRACE_LEVEL = 5


def redact(apdu: bytes) -> bytes:
    """``apdu`` with an AARQ's calling-authentication-value (the LLS password) masked by ``*``
    bytes, for logs and exception data; other APDUs unchanged. An AARQ that does not decode is
    dropped entirely (b"")."""
    if apdu[:1] != bytes((AcseTag.AARQ,)):
        return apdu
    try:
        value = AARQ.decode(apdu).calling_authentication_value
    except DlmsError:
        return b""
    return apdu.replace(value, b"*" * len(value)) if value else apdu


def _scrub(exc: BaseException, data: bytes) -> None:
    """Mask the LLS password in the data an error carries (its message shows the data as hex)."""
    if isinstance(exc, RemoteProtocolError) and exc.data and data[:1] == bytes((AcseTag.AARQ,)):
        exc.data = redact(exc.data)
        exc.args = (str(exc),)


class DummyLogger:
    """A logger that discards everything (h2 style: ``debug`` and ``trace``)."""

    def debug(self, *args: Any, **kwargs: Any) -> None:
        pass

    def trace(self, *args: Any, **kwargs: Any) -> None:
        pass


class _Hex:
    """An APDU shown as redacted hex, computed only if the log record is really formatted."""

    __slots__ = ("apdu",)

    def __init__(self, apdu: bytes) -> None:
        self.apdu = apdu

    def __str__(self) -> str:
        return redact(self.apdu).hex()


def _log_function(logger: Any, name: str) -> Callable[..., None]:
    """``logger.<name>`` if it has one; for ``trace`` on a stdlib Logger, ``log`` at
    TRACE_LEVEL; else a no-op."""
    method = getattr(logger, name, None)
    if callable(method):
        return method
    log = getattr(logger, "log", None)
    if name == "trace" and callable(log):
        def trace(msg: str, *args: Any) -> None:
            log(TRACE_LEVEL, msg, *args)
        return trace
    return DummyLogger().trace


class Protection:
    """Ciphering of one association: our counter and title, the peer's title and replay guard.

    ``mode`` None means APDUs travel plain. Used by both roles."""

    def __init__(self, *, own_title: bytes | None, keys: sec.SecurityKeys, counter_start: int,
                 mode: sec.CipheringMode | None = None, security_control: int = 0x30,
                 required_security_control: int | None = None,
                 counter: sec.InvocationCounter | None = None) -> None:
        self.own_title = own_title
        self.keys = keys
        self.mode = mode
        self.security_control = security_control
        self.required_security_control = required_security_control
        self.peer_title: bytes | None = None
        self.counter = counter if counter is not None else sec.InvocationCounter(counter_start)
        self.guard = sec.ReplayGuard()
        self.guard_before: int | None = None  # guard.last when the current APDU arrived

    def mark(self) -> None:
        """Note the replay guard's value before a received APDU is processed (see
        :meth:`check_nested_counter`)."""
        self.guard_before = self.guard.last

    def use_guard(self, guard: Any) -> None:
        """Replace our replay guard by a shared one (None keeps ours)."""
        if guard is not None:
            self.guard = guard
            self.guard_before = guard.last

    def check_nested_counter(self, counter: int) -> None:
        """Replay-check the counter inside an HLS-GMAC answer of the APDU being processed."""
        self.guard.check_nested(counter, self.guard_before)

    def protect(self, plain: bytes, *, mode: sec.CipheringMode | None = None,
                security_control: int | None = None) -> bytes:
        """The ciphered APDU for ``plain`` (``mode``/``security_control`` default to ours)."""
        mode = mode or self.mode
        if mode is None:
            return plain
        if self.own_title is None:
            raise LocalProtocolError("ciphering needs our system title")
        return sec.protect_apdu(plain, mode=mode,
                                security_control=security_control or self.security_control,
                                system_title=self.own_title,
                                invocation_counter=self.counter.next(), keys=self.keys)

    def unprotect(self, data: bytes) -> sec.UnprotectedApdu:
        """Authenticate/decrypt a ciphered APDU from the peer, then check its counter."""
        if self.peer_title is None and data[:1] and data[0] in SERVICE_SPECIFIC_CIPHERED_TAGS:
            raise RemoteProtocolError("service-specific ciphered APDU before the peer's system "
                                      "title is known", data=data, reason=Reason.UNEXPECTED)
        result = sec.unprotect_apdu(data, keys=self.keys, system_title=self.peer_title,
                                    required_security_control=self.required_security_control)
        if self.peer_title is not None and result.system_title != self.peer_title:
            raise RemoteProtocolError(
                f"ciphered APDU from system title {result.system_title.hex().upper()}, but the "
                f"peer's is {self.peer_title.hex().upper()}", data=data, offset=1,
                reason=Reason.BAD_VALUE)
        self.guard.check(result.invocation_counter)
        return result

    @staticmethod
    def decode(result: sec.UnprotectedApdu | None, plain: bytes,
               decoder: Callable[[bytes], Any]) -> Any:
        """``decoder(plain)``; for encryption-only content a failure becomes
        UndecodablePlaintext ("wrong key?"), see :func:`security.decode_plaintext`."""
        return decoder(plain) if result is None else sec.decode_plaintext(result, decoder)


class DlmsConnection:
    """One xDLMS application association, client or server side, sans-IO (h2 style:
    ``receive_data`` returns events, see the module docstring).

    ``settings`` is required for a client, ``policy`` and ``client_sap`` (the client's SAP as
    the framing layer saw it) for a server. ``rng(n) -> bytes`` supplies HLS challenges (pass
    ``secrets.token_bytes``); it is needed only for mechanisms 2..6. ``logger``: anything with
    ``debug`` (state changes), e.g. a stdlib ``logging.Logger``; APDU bytes (LLS password
    masked) go to its ``trace`` if it has one, else to ``log(TRACE_LEVEL, ...)`` (default:
    discards everything).
    """

    def __init__(self, role: Role, settings: AssociationSettings | None = None, *,
                 policy: ServerAssociationPolicy | None = None, client_sap: int | None = None,
                 rng: Callable[[int], bytes] | None = None, logger: Any = None) -> None:
        if not isinstance(role, Role):
            raise LocalProtocolError(f"role must be a Role, got {role!r}")
        self.our_role = role
        self.their_role = role.peer
        self.logger = logger if logger is not None else DummyLogger()
        self._debug = _log_function(self.logger, "debug")
        self._trace = _log_function(self.logger, "trace")
        self.rng = rng
        self._machine = AssociationMachine()
        self._outbox: list[bytes] = []
        self._side: Any
        if role is Role.CLIENT:
            if not isinstance(settings, AssociationSettings) or policy is not None:
                raise LocalProtocolError("a client needs settings=AssociationSettings(...) and "
                                         "no policy")
            from meterreader.dlms.connection_client import ClientSide
            self._side = ClientSide(self, settings)
        else:
            if not isinstance(policy, ServerAssociationPolicy) or settings is not None:
                raise LocalProtocolError("a server needs policy=ServerAssociationPolicy(...) and "
                                         "no settings")
            if isinstance(client_sap, bool) or not isinstance(client_sap, int):
                raise LocalProtocolError("a server needs the client_sap of its peer")
            from meterreader.dlms.connection_server import ServerSide
            self._side = ServerSide(self, policy, client_sap)

    # -- state ------------------------------------------------------------------------------------

    @property
    def states(self) -> dict[Role, State]:
        return dict(self._machine.states)

    @property
    def our_state(self) -> State:
        return self._machine.states[self.our_role]

    @property
    def their_state(self) -> State:
        return self._machine.states[self.their_role]

    @property
    def state(self) -> State:
        """The joint association state (ERROR if either side failed)."""
        return self._machine.state

    @property
    def is_associated(self) -> bool:
        return self._machine.state in ASSOCIATED_STATES

    @property
    def invocation_counter(self) -> int:
        """Our invocation counter: the last value used (the start value before any ciphered APDU
        or HLS-GMAC answer). Persist it after the session and pass it back as
        ``invocation_counter_start``: a value must never be reused with the same key."""
        return self._side.protection.counter.value

    @property
    def partial_raw(self) -> bytes:
        """Raw-data of the block transfer towards us received so far (b"" when none) — still
        readable after an error in the middle of the transfer, whatever the error."""
        return self._side.partial_raw

    @property
    def association(self) -> Event | None:
        """The AssociationAccepted (client) / ClientAssociated (server) of the open association."""
        return self._side.association if self.is_associated else None

    # -- the three entry points -------------------------------------------------------------------

    def send(self, event: Event) -> bytes:
        """The APDU for ``event``. Raises LocalProtocolError if it is not allowed now."""
        self._refuse_after_error()
        try:
            apdu = self._side.send(event)
        except TransitionError as exc:
            self._machine.fail(self.our_role)
            raise LocalProtocolError(f"cannot send {type(event).__name__}: {exc}") from None
        except BaseException:
            self._machine.fail(self.our_role)
            raise
        self._trace("send %s", _Hex(apdu))
        return apdu

    def receive_data(self, apdu: bytes) -> list[Event]:
        """Process one whole APDU from the peer; return the events it completed."""
        self._refuse_after_error()
        if not isinstance(apdu, (bytes, bytearray, memoryview)):
            raise LocalProtocolError(f"receive_data needs bytes, got {type(apdu).__name__}")
        data = bytes(apdu)
        self._trace("receive %s", _Hex(data))
        try:
            if not data:
                raise RemoteProtocolError("empty APDU", data=data, reason=Reason.TRUNCATED)
            return self._side.receive(data)
        except TransitionError as exc:
            self._machine.fail(self.their_role)
            raise RemoteProtocolError(f"unexpected APDU from the {self.their_role.value}: {exc}",
                                      data=redact(data), reason=Reason.UNEXPECTED) from None
        except BaseException as exc:
            self._machine.fail(self.their_role)
            _scrub(exc, data)
            raise

    def data_to_send(self) -> list[bytes]:
        """APDUs produced by the machine itself since the last call (each a whole APDU)."""
        out, self._outbox = self._outbox, []
        return out

    # -- services for the role sides --------------------------------------------------------------

    def _refuse_after_error(self) -> None:
        if State.ERROR in self._machine.states.values():
            raise LocalProtocolError("the connection is in state ERROR after an earlier error; "
                                     "start a new association")

    def _advance(self, machine_input: Input, sender: Role) -> Effect | None:
        """Run the transition for ``machine_input`` sent by ``sender`` (we or they)."""
        old = self._machine.state
        effect = self._machine.process(machine_input, sender)
        self._debug("%s by %s: %s -> %s", machine_input.name, sender.value, old.name,
                    self._machine.state.name)
        return effect

    def _check_send(self, machine_input: Input) -> Effect | None:
        """The effect of our sending ``machine_input`` now, without changing the state; a REFUSE
        becomes a LocalProtocolError (a client may not request outside an association)."""
        effect, _ = self._machine.lookup(machine_input, self.our_role)
        if effect is Effect.REFUSE:
            raise LocalProtocolError(f"{machine_input.name} is not allowed in state "
                                     f"{self._machine.state.name}: not associated")
        return effect

    def _queue(self, apdu: bytes) -> None:
        self._outbox.append(apdu)

