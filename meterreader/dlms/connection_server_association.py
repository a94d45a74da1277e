"""Server side, association part: deciding an AARQ from the policy, HLS pass 3/4, release.

Green Book ed.9 (application association establishment; HLS authentication). The checks run in
this order, each refusal answering an AARE "rejected-permanent" with the diagnostic named:

1. application context: LN or LN-with-ciphering as the client's rule requires → else
   application-context-name-not-supported (2) (SN referencing is never supported);
2. a rule for the client SAP → else no-reason-given (1);
3. authentication mechanism equal to the rule's → else mechanism-name-required (12) when the
   client proposed none, mechanism-name-not-recognised (11) otherwise;
4. calling-AP-title of 8 bytes when ciphering or mechanism 5/6 → else
   calling-AP-title-not-recognized (3);
5. LLS password (constant-time compare) or an HLS challenge CtoS of 8..64 bytes → else
   authentication-failure (13);
6. the InitiateRequest (deciphered when ciphered; ciphering required exactly when the rule is
   ciphered): no-reason-given (1) with a ConfirmedServiceError initiate-error in the
   user-information for: undecipherable, replayed (its invocation counter not above the last
   accepted from that client system title — see ``ServerAssociationPolicy.replay_guards``) or
   encryption-only and undecodable (application-reference deciphering-error), DLMS version
   below 6 (dlms-version-too-low), no common GET/SET/ACTION service (incompatible-conformance),
   client max receive PDU size below MIN_PDU_SIZE (pdu-size-too-short), a dedicated key not
   protected with encryption, or anything else (other).

Accepted: negotiated conformance = proposed AND ours (INTEROP.md); for HLS mechanisms 2..6 the
AARE says "accepted, authentication-required" (14) and carries StoC from the injected rng.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from meterreader.dlms import acse
from meterreader.dlms import connection_events as ev
from meterreader.dlms import security as sec
from meterreader.dlms import xdlms as x
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.blocks import effective_limit
from meterreader.dlms.connection_settings import (HLS_MECHANISMS, MIN_PDU_SIZE, TITLE_MECHANISMS,
                                                  ClientAssociationRule)
from meterreader.dlms.connection_state import Input
from meterreader.dlms.errors import DlmsError
from meterreader.dlms.initiate import Conformance, InitiateRequest, InitiateResponse
from meterreader.dlms.secret import SecretBytes

if TYPE_CHECKING:
    from meterreader.dlms.connection_server import ServerSide

Mech = acse.MechanismName
Diag = acse.AcseServiceUserDiagnostic
Context = acse.ApplicationContextName
_SERVICES = Conformance.GET | Conformance.SET | Conformance.ACTION
_GLOBAL_MODES = frozenset({sec.CipheringMode.GLOBAL, sec.CipheringMode.GENERAL_GLOBAL})
_DEDICATED_OF = {sec.CipheringMode.GLOBAL: sec.CipheringMode.DEDICATED,
                 sec.CipheringMode.GENERAL_GLOBAL: sec.CipheringMode.GENERAL_DEDICATED}


class _Refusal(Exception):
    """Internal: the AARQ is refused (diagnostic, words, optional initiate error)."""

    def __init__(self, diagnostic: Diag, text: str, error: Any = None) -> None:
        super().__init__(text)
        self.diagnostic = diagnostic
        self.text = text
        self.error = error


def _initiate_error(error: Any, text: str) -> _Refusal:
    service_error = x.ConfirmedServiceError(service=x.ConfirmedService.INITIATE_ERROR, error=error)
    return _Refusal(Diag.NO_REASON_GIVEN, text, service_error)


class ServerAssociation:
    """Mixin of ServerSide: the association half."""

    def _on_aarq(self: "ServerSide", aarq: acse.AARQ, data: bytes,
                 machine_input: Input) -> list[ev.Event]:
        self._reset_association()
        try:
            return self._accept(aarq)
        except _Refusal as refusal:
            self._reset_association()
            aare = acse.AARE(application_context_name=aarq.application_context_name,
                             result=acse.AssociationResult.REJECTED_PERMANENT,
                             result_source_diagnostic=refusal.diagnostic,
                             user_information=refusal.error.encode() if refusal.error else None)
            self._emit(aare, Input.AARE_REJECTED)
            return [ev.ClientRejected(client_sap=self.client_sap, diagnostic=refusal.diagnostic,
                                      reason_text=refusal.text)]

    def _check_acse(self: "ServerSide", aarq: acse.AARQ) -> ClientAssociationRule:
        context = aarq.application_context_name
        if context not in (Context.LN, Context.LN_CIPHERING):
            raise _Refusal(Diag.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED,
                           f"application context {context.name} is not supported")
        rule = self.policy.clients.get(self.client_sap)
        if rule is None:
            raise _Refusal(Diag.NO_REASON_GIVEN, f"client SAP {self.client_sap} is not "
                                                 "configured")
        self.protection.required_security_control = (
            rule.required_security_control if rule.ciphered else None)
        if (context is Context.LN_CIPHERING) != rule.ciphered:
            raise _Refusal(Diag.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED,
                           f"this client must use {'LN with' if rule.ciphered else 'LN without'} "
                           "ciphering")
        mechanism = aarq.mechanism_name or Mech.NONE
        if mechanism is not rule.mechanism:
            if mechanism is Mech.NONE:
                raise _Refusal(Diag.AUTHENTICATION_MECHANISM_NAME_REQUIRED,
                               f"mechanism {rule.mechanism.value} is required")
            raise _Refusal(Diag.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED,
                           f"mechanism {mechanism.value} is not accepted for this client")
        title = aarq.calling_ap_title
        if rule.ciphered or mechanism in TITLE_MECHANISMS:
            if title is None or len(title) != sec.SYSTEM_TITLE_LENGTH:
                raise _Refusal(Diag.CALLING_AP_TITLE_NOT_RECOGNIZED,
                               "the client system title (calling-AP-title) is missing or not "
                               "8 bytes")
            self._client_title = title
            self.protection.peer_title = title
            self.protection.use_guard(self.policy.replay_guard_for(title))
        value = aarq.calling_authentication_value
        if mechanism is Mech.LOW:
            # Constant-time comparison (SecretBytes.__eq__ uses hmac.compare_digest).
            if value is None or SecretBytes(value) != rule.password:
                raise _Refusal(Diag.AUTHENTICATION_FAILURE, "wrong LLS password")
        elif mechanism in HLS_MECHANISMS:
            if value is None or not 8 <= len(value) <= 64 or (
                    mechanism is Mech.HIGH and len(value) % 16):
                raise _Refusal(Diag.AUTHENTICATION_FAILURE,
                               "the HLS challenge CtoS is missing or has a bad length")
            self._ctos = value
        return rule

    def _initiate(self: "ServerSide", aarq: acse.AARQ, rule: ClientAssociationRule
                  ) -> tuple[InitiateRequest, sec.UnprotectedApdu | None]:
        info = aarq.user_information
        if not info:
            raise _initiate_error(x.Initiate.OTHER, "the AARQ carries no InitiateRequest")
        unprotected = None
        if sec.is_ciphered_tag(info[0]):
            if not rule.ciphered:
                raise _initiate_error(x.Initiate.OTHER, "ciphered InitiateRequest in an "
                                                        "unciphered association")
            try:
                unprotected = self.protection.unprotect(info)
            except sec.ReplayError as exc:
                raise _initiate_error(x.ApplicationReference.DECIPHERING_ERROR,
                                      f"replayed InitiateRequest: {exc}") from None
            except DlmsError:
                raise _initiate_error(x.ApplicationReference.DECIPHERING_ERROR,
                                      "the InitiateRequest could not be deciphered") from None
            if unprotected.mode not in _GLOBAL_MODES:
                raise _initiate_error(x.Initiate.OTHER, "the InitiateRequest must be ciphered "
                                                        "with the global key")
            info = unprotected.apdu
        elif rule.ciphered:
            raise _initiate_error(x.Initiate.OTHER, "the InitiateRequest must be ciphered")
        try:
            request = self.protection.decode(unprotected, info, InitiateRequest.decode)
        except sec.UndecodablePlaintext as exc:
            raise _initiate_error(x.ApplicationReference.DECIPHERING_ERROR, exc.message
                                  ) from None
        except DlmsError:
            raise _initiate_error(x.Initiate.OTHER, "the InitiateRequest does not decode"
                                  ) from None
        if request.dedicated_key is not None and (
                unprotected is None or not unprotected.security_control & sec.ENCRYPTED_ONLY):
            raise _initiate_error(x.Initiate.OTHER, "a dedicated key must travel encrypted "
                                                    "(security control with encryption)")
        if request.proposed_dlms_version_number < 6:
            raise _initiate_error(x.Initiate.DLMS_VERSION_TOO_LOW,
                                  f"DLMS version {request.proposed_dlms_version_number} < 6")
        if 0 < request.client_max_receive_pdu_size < MIN_PDU_SIZE:
            raise _initiate_error(x.Initiate.PDU_SIZE_TOO_SHORT,
                                  f"client max receive PDU size "
                                  f"{request.client_max_receive_pdu_size} < {MIN_PDU_SIZE}")
        return request, unprotected

    def _accept(self: "ServerSide", aarq: acse.AARQ) -> list[ev.Event]:
        policy = self.policy
        rule = self._check_acse(aarq)
        request, unprotected = self._initiate(aarq, rule)
        ours = rule.conformance if rule.conformance is not None else policy.server_conformance
        negotiated = request.proposed_conformance & ours
        if not negotiated & _SERVICES:
            raise _initiate_error(x.Initiate.INCOMPATIBLE_CONFORMANCE,
                                  "no common GET/SET/ACTION service")
        mode = None
        info = InitiateResponse(negotiated_dlms_version_number=6,
                                negotiated_conformance=negotiated,
                                server_max_receive_pdu_size=policy.server_max_receive_pdu_size,
                                vaa_name=policy.vaa_name).encode()
        if unprotected is not None:
            mode = unprotected.mode
            info = self.protection.protect(info, mode=mode,
                                           security_control=unprotected.security_control)
            self._reply_mode, self._reply_sc = mode, unprotected.security_control
            if request.dedicated_key is not None:
                mode = _DEDICATED_OF[mode]
                self.protection.keys = sec.SecurityKeys(
                    encryption_key=policy.keys.encryption_key,
                    authentication_key=policy.keys.authentication_key,
                    dedicated_key=SecretBytes(request.dedicated_key))
        self.rule = rule
        self._conformance = negotiated
        self._client_limit = min(effective_limit(request.client_max_receive_pdu_size),
                                 policy.server_max_receive_pdu_size)
        hls = rule.mechanism in HLS_MECHANISMS
        if hls:
            self._stoc = sec.hls_challenge(self.conn.rng, policy.challenge_length)
        with_title = rule.ciphered or rule.mechanism in TITLE_MECHANISMS
        aare = acse.AARE(
            application_context_name=aarq.application_context_name,
            result=acse.AssociationResult.ACCEPTED,
            result_source_diagnostic=Diag.AUTHENTICATION_REQUIRED if hls else Diag.NULL,
            responding_ap_title=policy.server_system_title if with_title else None,
            responder_acse_requirements=acse.ACSE_REQUIREMENTS_AUTHENTICATION if hls else None,
            mechanism_name=rule.mechanism if hls else None,
            responding_authentication_value=self._stoc if hls else None,
            user_information=info)
        associated = ev.ClientAssociated(
            client_sap=self.client_sap, mechanism=rule.mechanism,
            negotiated_conformance=negotiated,
            client_max_receive_pdu_size=request.client_max_receive_pdu_size,
            client_system_title=self._client_title, ciphering=mode)
        self._emit(aare, Input.AARE_AUTHENTICATION_REQUIRED if hls else Input.AARE_ACCEPTED)
        if hls:
            self._offer = associated
            return []
        self.association = associated
        return [associated]

    def _on_hls_reply(self: "ServerSide", pdu: x.ActionRequestNormal, data: bytes,
                      machine_input: Input) -> list[ev.Event]:
        # Green Book ed.9, HLS pass 3: check f(StoC); pass 4: answer f(CtoS).
        rule, keys = self.rule, self.protection.keys
        assert rule is not None
        own, peer = self.policy.server_system_title or b"", self._client_title or b""
        iip = pdu.invoke_id_and_priority
        value = pdu.method_invocation_parameters
        try:
            if not isinstance(value, Data) or value.tag is not DataTag.OCTET_STRING:
                raise sec.HlsVerificationFailed()
            sec.verify_hls_response(rule.mechanism, value.value, secret=rule.hls_secret,
                                    challenge=self._stoc, own_system_title=own,
                                    peer_system_title=peer, ctos=self._ctos, stoc=self._stoc,
                                    keys=keys)
        except sec.HlsVerificationFailed:
            return self._hls_failed(iip, "the client failed HLS authentication (wrong secret or "
                                         "key)")
        if rule.mechanism is Mech.HIGH_GMAC:
            try:  # the client's HLS-GMAC counter is replay-checked like its APDUs' counters
                self.protection.check_nested_counter(sec.gmac_response_counter(value.value))
            except sec.ReplayError as exc:
                return self._hls_failed(iip, f"the client's HLS-GMAC answer is replayed: {exc}")
        counter = self.protection.counter.next() if rule.mechanism is Mech.HIGH_GMAC else 0
        answer = sec.hls_response(rule.mechanism, secret=rule.hls_secret, challenge=self._ctos,
                                  own_system_title=own, peer_system_title=peer, ctos=self._ctos,
                                  stoc=self._stoc, invocation_counter=counter, keys=keys)
        self._emit(x.ActionResponseNormal(
            invoke_id_and_priority=iip, single_response=x.ActionResponseWithOptionalData(
                result=x.ActionResult.SUCCESS,
                return_parameters=Data(DataTag.OCTET_STRING, answer))), Input.HLS_ACCEPTED)
        self.association, self._offer = self._offer, None
        return [self.association] if self.association is not None else []

    def _hls_failed(self: "ServerSide", iip: x.InvokeIdAndPriority, text: str
                    ) -> list[ev.Event]:
        self._emit(x.ActionResponseNormal(
            invoke_id_and_priority=iip, single_response=x.ActionResponseWithOptionalData(
                result=x.ActionResult.READ_WRITE_DENIED)), Input.HLS_REFUSED)
        self._reset_association()
        return [ev.ClientRejected(client_sap=self.client_sap,
                                  diagnostic=Diag.AUTHENTICATION_FAILURE, reason_text=text)]

    def _on_rlrq(self: "ServerSide", pdu: acse.RLRQ, data: bytes,
                 machine_input: Input) -> list[ev.Event]:
        self.pending = None
        self._emit(acse.RLRE(reason=acse.ReleaseResponseReason.NORMAL), Input.RLRE)
        self._reset_association()
        return [ev.ClientReleased()]

    def _reset_association(self: "ServerSide") -> None:
        self.rule = None
        self.association = self._offer = None
        self.pending = None
        self._ctos = self._stoc = b""
        self._client_title = None
        self._reply_mode, self._reply_sc = None, None
        self._conformance = Conformance(0)
        self.protection.peer_title = None
        self.protection.keys = self.policy.keys
