"""The client side of :class:`~meterreader.dlms.connection.DlmsConnection`: receiving, the
association (AARQ/AARE, HLS pass 3/4) and release; the services are in
``connection_client_services``.

Green Book ed.9 (application association establishment, HLS authentication). The transitions
themselves live in ``connection_state``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from meterreader.dlms import acse
from meterreader.dlms import connection_events as ev
from meterreader.dlms import security as sec
from meterreader.dlms import xdlms as x
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.blocks import effective_limit
from meterreader.dlms.connection_client_services import (ClientServices, Kind, Pending,
                                                         describe_service_error)
from meterreader.dlms.connection_settings import (HLS_MECHANISMS, TITLE_MECHANISMS,
                                                  AssociationSettings)
from meterreader.dlms.connection_state import (ASSOCIATION_LN_CLASS_ID,
                                               REPLY_TO_HLS_AUTHENTICATION, Effect, Input, Role,
                                               State, classify)
from meterreader.dlms.errors import (DecodeError, DlmsError, LocalProtocolError, Reason,
                                     RemoteProtocolError)
from meterreader.dlms.initiate import Conformance, InitiateRequest, InitiateResponse

if TYPE_CHECKING:
    from meterreader.dlms.connection import DlmsConnection

Mech = acse.MechanismName
Diag = acse.AcseServiceUserDiagnostic
_PLAIN_IN_CIPHERED = frozenset({x.ApduTag.AARE, x.ApduTag.RLRE, x.ApduTag.EXCEPTION_RESPONSE,
                                x.ApduTag.CONFIRMED_SERVICE_ERROR})
HLS_REFUSED_TEXT = ("the meter refused our HLS reply: authentication failure (wrong HLS secret or "
                    "key?)")


class ClientSide(ClientServices):
    """Client half of a DlmsConnection (see its docstring for the contract)."""

    def __init__(self, conn: "DlmsConnection", settings: AssociationSettings) -> None:
        from meterreader.dlms.connection import Protection
        self.conn = conn
        self.settings = settings
        ciphered = settings.ciphering is not None
        self.protection = Protection(
            own_title=settings.client_system_title, keys=settings.keys,
            counter_start=settings.invocation_counter_start, mode=settings.ciphering,
            security_control=settings.security_control,
            required_security_control=settings.security_control if ciphered else None)
        self._invoke_id = settings.invoke_id_start
        self.pending: Pending | None = None
        self.association: ev.AssociationAccepted | None = None
        self._offer: ev.AssociationAccepted | None = None
        self._ctos = b""
        self._stoc = b""
        self._server_limit = effective_limit(0)
        self._conformance = Conformance(0)

    @property
    def partial_raw(self) -> bytes:
        return self.pending.partial_raw if self.pending is not None else b""

    # -- sending ----------------------------------------------------------------------------------

    def send(self, event: ev.Event) -> bytes:
        handler = _SEND.get(type(event))
        if handler is None:
            raise LocalProtocolError(f"a client cannot send {type(event).__name__}")
        return handler(self, event)

    def _iip(self) -> x.InvokeIdAndPriority:
        invoke_id, self._invoke_id = self._invoke_id, (self._invoke_id + 1) % 16
        return x.InvokeIdAndPriority(invoke_id=invoke_id, confirmed=True,
                                     high_priority=self.settings.high_priority)

    def _wrap(self, plain: bytes) -> bytes:
        return self.protection.protect(plain) if self.settings.ciphering else plain

    def _emit(self, pdu: Any, machine_input: Input) -> None:
        """Queue an APDU the machine sends by itself (pass 3, next block, next-block request)."""
        plain = pdu.encode()
        self.conn._advance(machine_input, Role.CLIENT)
        self.conn._queue(self._wrap(plain))

    def _send_associate(self, event: ev.Associate) -> bytes:
        s = self.settings
        self.conn._check_send(Input.AARQ)
        self._ctos = self._stoc = b""
        self.association = self._offer = None
        if s.mechanism in HLS_MECHANISMS:
            if self.conn.rng is None:
                raise LocalProtocolError("HLS needs a random source: DlmsConnection(..., "
                                         "rng=secrets.token_bytes)")
            self._ctos = sec.hls_challenge(self.conn.rng, s.challenge_length)
        dedicated = s.ciphering in (sec.CipheringMode.DEDICATED,
                                    sec.CipheringMode.GENERAL_DEDICATED)
        info = InitiateRequest(
            dedicated_key=s.keys.dedicated_key.reveal() if dedicated else None,
            proposed_dlms_version_number=s.dlms_version,
            proposed_conformance=s.effective_conformance,
            client_max_receive_pdu_size=s.max_receive_pdu_size).encode()
        if s.ciphering is not None:
            # Green Book ed.9: the InitiateRequest (and a dedicated key in it) is always ciphered
            # with the global key: glo-initiate-request, or general-glo-ciphering. A dedicated
            # key must never travel in clear: that InitiateRequest is always encrypted (and
            # authenticated), even when the services are only authenticated (0x10).
            general = s.ciphering in (sec.CipheringMode.GENERAL_GLOBAL,
                                      sec.CipheringMode.GENERAL_DEDICATED)
            control = (s.security_control | sec.AUTHENTICATED_AND_ENCRYPTED if dedicated
                       else s.security_control)
            info = self.protection.protect(info, mode=sec.CipheringMode.GENERAL_GLOBAL if general
                                           else sec.CipheringMode.GLOBAL,
                                           security_control=control)
        with_title = (s.ciphering is not None or s.mechanism in TITLE_MECHANISMS
                      or s.send_calling_ap_title)
        authenticated = s.mechanism is not Mech.NONE
        aarq = acse.AARQ(
            application_context_name=(acse.ApplicationContextName.LN_CIPHERING if s.ciphering
                                      else acse.ApplicationContextName.LN),
            calling_ap_title=s.client_system_title if with_title else None,
            sender_acse_requirements=(acse.ACSE_REQUIREMENTS_AUTHENTICATION if authenticated
                                      else None),
            mechanism_name=s.mechanism if authenticated else None,
            calling_authentication_value=(s.password.reveal() if s.mechanism is Mech.LOW
                                          else self._ctos or None),
            user_information=info)
        apdu = aarq.encode()
        self.conn._advance(Input.AARQ, Role.CLIENT)
        return apdu

    def _send_release(self, event: ev.Release) -> bytes:
        self.conn._check_send(Input.RLRQ)
        apdu = acse.RLRQ(reason=event.reason).encode()
        self.conn._advance(Input.RLRQ, Role.CLIENT)
        self.pending = None
        return apdu

    # -- receiving --------------------------------------------------------------------------------

    def receive(self, data: bytes) -> list[ev.Event]:
        s = self.settings
        state = self.conn.state
        if data[0] == acse.AcseTag.RLRE and state is State.RELEASE_PENDING:
            try:
                acse.RLRE.decode(data)
            except DecodeError:
                if not s.accept_malformed_rlre:
                    raise
                # INTEROP.md: some meters send a malformed RLRE; the release happened anyway.
                self.conn._advance(Input.RLRE, Role.SERVER)
                self._released()
                return [ev.Released(malformed=True)]
        plain, result = data, None
        self.protection.mark()
        if sec.is_ciphered_tag(data[0]):
            if s.ciphering is None:
                raise RemoteProtocolError("the meter sent a ciphered APDU but this association "
                                          "is not ciphered", data=data, reason=Reason.UNEXPECTED)
            result = self.protection.unprotect(data)
            plain = result.apdu
        elif s.ciphering is not None and data[0] not in _PLAIN_IN_CIPHERED:
            raise RemoteProtocolError("unciphered APDU in a ciphered association", data=data,
                                      reason=Reason.UNEXPECTED)
        pdu = self.protection.decode(result, plain, x.decode_apdu)
        machine_input = classify(pdu, state, s.association_ln)
        if machine_input is None:
            raise RemoteProtocolError(f"{type(pdu).__name__} is not supported here", data=plain,
                                      reason=Reason.UNEXPECTED)
        if self.conn._advance(machine_input, Role.SERVER) is Effect.IGNORE:
            return []
        return _RECEIVE[machine_input](self, pdu, plain, machine_input)

    def _check_invoke_id(self, pdu: Any, data: bytes) -> Pending:
        p = self.pending
        if p is None:
            raise RemoteProtocolError("response without an outstanding request", data=data,
                                      reason=Reason.UNEXPECTED)
        got = pdu.invoke_id_and_priority.invoke_id
        if got != p.invoke_id and not self.settings.ignore_invoke_id_mismatch:
            raise self._error(f"response invoke-id {got} does not match the request's "
                              f"{p.invoke_id}", data)
        return p

    def _check_mechanism(self, aare: acse.AARE, data: bytes, machine_input: Input) -> None:
        """Green Book ed.9, HLS: an AARE accepting our HLS proposal must say "authentication
        required" (pass 3/4 follow); accepting without it would skip the server's proof."""
        s = self.settings
        named = aare.mechanism_name
        if named is not None and named != s.mechanism:
            text = (f"the meter accepted with authentication mechanism {int(named)}, we proposed "
                    f"{s.mechanism.value} ({s.mechanism.name})")
            if s.mechanism in HLS_MECHANISMS:
                raise sec.AuthenticationDowngrade(text)
            raise RemoteProtocolError(text, data=data, reason=Reason.BAD_VALUE)
        required = machine_input is Input.AARE_AUTHENTICATION_REQUIRED
        if s.mechanism in HLS_MECHANISMS and not required:
            diagnostic = aare.result_source_diagnostic
            raise sec.AuthenticationDowngrade(
                f"the meter accepted the association without HLS authentication (diagnostic "
                f"{getattr(diagnostic, 'name', diagnostic)}, not AUTHENTICATION_REQUIRED) although "
                f"we proposed HLS mechanism {s.mechanism.value} ({s.mechanism.name}): it did not "
                "prove it knows the secret — not the real meter, or a downgrade")

    def _on_accepted(self, aare: acse.AARE, data: bytes, machine_input: Input) -> list[ev.Event]:
        s = self.settings
        self._check_mechanism(aare, data, machine_input)
        context = (acse.ApplicationContextName.LN_CIPHERING if s.ciphering
                   else acse.ApplicationContextName.LN)
        if aare.application_context_name is not context:
            raise RemoteProtocolError(f"the meter accepted with application context "
                                      f"{aare.application_context_name.name}, we proposed "
                                      f"{context.name}", data=data, reason=Reason.BAD_VALUE)
        title = aare.responding_ap_title
        if s.ciphering is not None or s.mechanism in TITLE_MECHANISMS:
            if title is None or len(title) != sec.SYSTEM_TITLE_LENGTH:
                raise RemoteProtocolError("the AARE lacks the meter's 8-byte system title "
                                          "(responding-AP-title)", data=data,
                                          reason=Reason.BAD_VALUE)
            self.protection.peer_title = title
        info = aare.user_information
        if not info:
            raise RemoteProtocolError("the AARE accepts but carries no InitiateResponse",
                                      data=data, reason=Reason.BAD_VALUE)
        result = None
        if sec.is_ciphered_tag(info[0]) and s.ciphering is not None:
            result = self.protection.unprotect(info)
            info = result.apdu
        elif s.ciphering is not None:
            raise RemoteProtocolError("plain InitiateResponse in a ciphered association",
                                      data=data, reason=Reason.UNEXPECTED)
        response = self.protection.decode(result, info, InitiateResponse.decode)
        self._server_limit = effective_limit(response.server_max_receive_pdu_size)
        self._conformance = response.negotiated_conformance
        accepted = ev.AssociationAccepted(
            negotiated_conformance=response.negotiated_conformance,
            server_max_receive_pdu_size=response.server_max_receive_pdu_size,
            vaa_name=response.vaa_name, server_system_title=title, mechanism=s.mechanism,
            dlms_version=response.negotiated_dlms_version_number)
        if machine_input is Input.AARE_ACCEPTED:
            self.association = accepted
            return [accepted]
        return self._hls_pass_3(aare, data, accepted)

    def _hls_pass_3(self, aare: acse.AARE, data: bytes,
                    accepted: ev.AssociationAccepted) -> list[ev.Event]:
        # Green Book ed.9, HLS: pass 3 = ACTION reply_to_HLS_authentication with f(StoC).
        s = self.settings
        if s.mechanism not in HLS_MECHANISMS:
            raise RemoteProtocolError(f"the meter asks for HLS but we proposed mechanism "
                                      f"{s.mechanism.value}", data=data, reason=Reason.BAD_VALUE)
        stoc = aare.responding_authentication_value
        if stoc is None or not 8 <= len(stoc) <= 64:
            raise RemoteProtocolError("the AARE's StoC challenge is missing or not 8..64 bytes",
                                      data=data, reason=Reason.BAD_VALUE)
        self._stoc, self._offer = stoc, accepted
        counter = self.protection.counter.next() if s.mechanism is Mech.HIGH_GMAC else 0
        answer = sec.hls_response(
            s.mechanism, secret=s.hls_secret, challenge=stoc,
            own_system_title=s.client_system_title or b"",
            peer_system_title=accepted.server_system_title or b"", ctos=self._ctos, stoc=stoc,
            invocation_counter=counter, keys=s.keys)
        iip = self._iip()
        self.pending = Pending(Kind.HLS, iip)
        self._emit(x.ActionRequestNormal(
            invoke_id_and_priority=iip,
            cosem_method_descriptor=x.CosemMethodDescriptor(
                class_id=ASSOCIATION_LN_CLASS_ID, instance_id=s.association_ln,
                method_id=REPLY_TO_HLS_AUTHENTICATION),
            method_invocation_parameters=Data(DataTag.OCTET_STRING, answer)), Input.HLS_REPLY)
        return []

    def _on_rejected(self, pdu: Any, data: bytes, machine_input: Input) -> list[ev.Event]:
        if not isinstance(pdu, acse.AARE):
            error = pdu if isinstance(pdu, x.ConfirmedServiceError) else None
            return [ev.AssociationRejected(
                result=acse.AssociationResult.REJECTED_PERMANENT, diagnostic=None,
                reason_text=f"the meter answered the AARQ with an error: {pdu.describe()}",
                service_error=error)]
        error = self._initiate_error(pdu)
        diagnostic = pdu.result_source_diagnostic
        text = diagnostic.describe()
        if error is not None:
            words = describe_service_error(error)
            generic = diagnostic.value in (0, 1)  # null / no-reason-given
            text = words if generic else f"{text}; {words}"
        return [ev.AssociationRejected(result=pdu.result, diagnostic=diagnostic,
                                       reason_text=text, service_error=error)]

    def _initiate_error(self, aare: acse.AARE) -> x.ConfirmedServiceError | None:
        info = aare.user_information
        try:
            if info and sec.is_ciphered_tag(info[0]) and self.settings.ciphering is not None:
                if aare.responding_ap_title is not None:
                    self.protection.peer_title = aare.responding_ap_title
                info = self.protection.unprotect(info).apdu
            if info and info[0] == x.ApduTag.CONFIRMED_SERVICE_ERROR:
                return x.ConfirmedServiceError.decode(info)
        except DlmsError:
            pass  # the rejection stands; its user-information is just not readable
        return None

    def _on_hls_accepted(self, pdu: x.ActionResponseNormal, data: bytes,
                         machine_input: Input) -> list[ev.Event]:
        s = self.settings
        self._check_invoke_id(pdu, data)
        self.pending = None
        value = pdu.single_response.return_parameters
        if not isinstance(value, Data) or value.tag is not DataTag.OCTET_STRING:
            raise sec.HlsVerificationFailed("the meter's HLS pass 4 carries no f(CtoS) "
                                            "octet-string")
        offer = self._offer
        assert offer is not None
        # Green Book ed.9, HLS pass 4: the server proves knowledge of the secret with f(CtoS).
        sec.verify_hls_response(s.mechanism, value.value, secret=s.hls_secret,
                                challenge=self._ctos,
                                own_system_title=s.client_system_title or b"",
                                peer_system_title=offer.server_system_title or b"",
                                ctos=self._ctos, stoc=self._stoc, keys=s.keys)
        if s.mechanism is Mech.HIGH_GMAC:
            self.protection.check_nested_counter(sec.gmac_response_counter(value.value))
        self.association = offer
        return [offer]

    def _on_hls_refused(self, pdu: Any, data: bytes, machine_input: Input) -> list[ev.Event]:
        self.pending = None
        if isinstance(pdu, x.ActionResponseNormal):
            detail = pdu.single_response.result.describe()
        else:
            detail = pdu.describe()
        return [ev.AssociationRejected(result=acse.AssociationResult.REJECTED_PERMANENT,
                                       diagnostic=Diag.AUTHENTICATION_FAILURE,
                                       reason_text=f"{HLS_REFUSED_TEXT} ({detail})")]

    def _on_rlre(self, pdu: acse.RLRE, data: bytes, machine_input: Input) -> list[ev.Event]:
        self._released()
        return [ev.Released(reason=pdu.reason)]

    def _released(self) -> None:
        self.association = self._offer = None
        self.pending = None
        self.protection.peer_title = None

    def _on_notification(self, pdu: Any, data: bytes, machine_input: Input) -> list[ev.Event]:
        return [ev.NotificationReceived(apdu=pdu)]


_SEND: dict[type, Callable[[ClientSide, Any], bytes]] = {
    ev.Associate: ClientSide._send_associate,
    ev.Get: ClientSide._send_get,
    ev.GetList: ClientSide._send_get_list,
    ev.Set: ClientSide._send_set,
    ev.SetList: ClientSide._send_set_list,
    ev.Action: ClientSide._send_action,
    ev.Release: ClientSide._send_release,
}
_RECEIVE: dict[Input, Callable[[ClientSide, Any, bytes, Input], list[ev.Event]]] = {
    Input.AARE_ACCEPTED: ClientSide._on_accepted,
    Input.AARE_AUTHENTICATION_REQUIRED: ClientSide._on_accepted,
    Input.AARE_REJECTED: ClientSide._on_rejected,
    Input.HLS_ACCEPTED: ClientSide._on_hls_accepted,
    Input.HLS_REFUSED: ClientSide._on_hls_refused,
    Input.RESPONSE: ClientSide._on_response,
    Input.RESPONSE_BLOCK: ClientSide._on_response,
    Input.RLRE: ClientSide._on_rlre,
    Input.NOTIFICATION: ClientSide._on_notification,
}
