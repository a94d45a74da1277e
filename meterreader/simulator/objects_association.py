"""IC 15 Association LN (version 1) of the meter simulator.

One object per association (IS 15959: 0.0.40.0.1.255 PC, .2 MR, .3 US) plus the "current
association" 0.0.40.0.0.255 (``association_name=None``), which answers for whichever association
the request arrives on. ``object_list`` is built by the hosting logical device from its objects
and the rights of *this* association. The HLS exchange (method 1 reply_to_HLS_authentication) is
run by the connection layer; ``hls_reply`` lets it plug in here when it routes the ACTION through
the object model.
"""

from __future__ import annotations

from typing import Any, Callable

from meterreader.cosem.interface_classes import AssociationStatus
from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import BitString, Data, DataTag
from meterreader.dlms.initiate import Conformance
from meterreader.dlms.secret import SecretBytes
from meterreader.dlms.xdlms.common import ActionResult, DataAccessResult

from .objects import AccessContext, AccessError, CosemObject, expect, obis_data, octets

#: Green Book ed.9 §9.4: {joint-iso-ccitt(2) country(16) country-name(756)
#: identified-organization(5) DLMS-UA(8)}, then application-context-name(1) / mechanism-name(2).
DLMS_UA_ARCS = (2, 16, 756, 5, 8)
_ARC_TYPES = (DataTag.UNSIGNED, DataTag.UNSIGNED, DataTag.LONG_UNSIGNED, DataTag.UNSIGNED,
              DataTag.UNSIGNED, DataTag.UNSIGNED, DataTag.UNSIGNED)
#: What the simulator's object model supports (IEC 62056-5-3 conformance block): GET/SET/ACTION,
#: selective access, block transfer both ways, multiple references, priority management (not
#: attribute 0, which no object answers).
SERVER_CONFORMANCE = (Conformance.PRIORITY_MGMT_SUPPORTED
                      | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
                      | Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE
                      | Conformance.BLOCK_TRANSFER_WITH_ACTION | Conformance.MULTIPLE_REFERENCES
                      | Conformance.GET | Conformance.SET | Conformance.SELECTIVE_ACCESS
                      | Conformance.ACTION)


def oid_structure(kind: int, last: int) -> Data:
    """An application context / mechanism name in the object-attribute form: structure of the
    seven arcs {2, 16, 756, 5, 8, kind, last}."""
    return Data(DataTag.STRUCTURE, tuple(
        Data(tag, arc) for tag, arc in zip(_ARC_TYPES, (*DLMS_UA_ARCS, kind, last))))


class AssociationLN(CosemObject):
    """IC 15 Association LN, version 1.

    ``secret`` (attribute 7) is write-only; a SET (or method 2 change_HLS_secret) stores it and
    calls ``on_secret_changed(association_name, SecretBytes)`` so the connection layer uses it.
    """

    class_id = 15
    version = 1
    _GETTERS = {2: "_get_object_list", 3: "_get_partners", 4: "_get_context_name",
                5: "_get_xdlms_context", 6: "_get_mechanism", 7: "_get_secret",
                8: "_get_status", 9: "_get_security_setup"}
    _SETTERS = {7: "_set_secret"}
    _METHODS = {1: "_reply_to_hls", 2: "_change_hls_secret"}

    def __init__(self, logical_name: Obis | str, *, association_name: str | None,
                 client_sap: int = 0, server_sap: int = 1, mechanism: int = 0,
                 context_name: int = 1, conformance: int = SERVER_CONFORMANCE,
                 max_receive_pdu_size: int = 0xFFFF, max_send_pdu_size: int = 0xFFFF,
                 dlms_version: int = 6, secret: bytes | SecretBytes | None = None,
                 security_setup_reference: Obis | None = None,
                 on_secret_changed: Callable[[str, SecretBytes], None] | None = None,
                 hls_reply: Callable[[bytes, AccessContext | None], bytes] | None = None) -> None:
        super().__init__(logical_name)
        self.association_name = association_name
        self.client_sap, self.server_sap = client_sap, server_sap
        self.mechanism, self.context_name = int(mechanism), int(context_name)
        self.conformance = int(conformance)
        self.max_receive_pdu_size, self.max_send_pdu_size = max_receive_pdu_size, max_send_pdu_size
        self.dlms_version = dlms_version
        self.secret = None if secret is None else SecretBytes(secret)
        self.security_setup_reference = security_setup_reference
        self.on_secret_changed = on_secret_changed
        self.hls_reply = hls_reply

    def target(self, ctx: AccessContext | None) -> AssociationLN:
        """The association object that answers: itself, or for the current association the
        object of the association the request came on."""
        if self.association_name is not None:
            return self
        found = None
        if ctx is not None and self.device is not None:
            found = self.device.association(ctx.association_name)
        if found is None:
            raise AccessError(DataAccessResult.OBJECT_UNAVAILABLE, "no current association")
        return found

    def get(self, attr: int, selection: Any = None, ctx: AccessContext | None = None) -> Data:
        if self.association_name is None and attr != 1:
            return self.target(ctx).get(attr, selection, ctx)
        return super().get(attr, selection, ctx)

    def set(self, attr: int, value: Data, ctx: AccessContext | None = None) -> None:
        if self.association_name is None:
            return self.target(ctx).set(attr, value, ctx)
        return super().set(attr, value, ctx)

    def action(self, method: int, params: Data | None = None,
               ctx: AccessContext | None = None) -> Data | None:
        if self.association_name is None:
            try:
                target = self.target(ctx)
            except AccessError as exc:
                raise exc.as_action() from None
            return target.action(method, params, ctx)
        return super().action(method, params, ctx)

    # -- attributes --

    def _get_object_list(self, selection: Any, ctx: Any) -> Data:
        if self.device is None:
            return Data(DataTag.ARRAY, ())
        return self.device.object_list(self.association_name)

    def _get_partners(self, selection: Any, ctx: Any) -> Data:
        # associated_partners_id: structure {integer client_SAP, long-unsigned server_SAP}
        return Data(DataTag.STRUCTURE, (Data(DataTag.INTEGER, self.client_sap),
                                        Data(DataTag.LONG_UNSIGNED, self.server_sap)))

    def _get_context_name(self, selection: Any, ctx: Any) -> Data:
        return oid_structure(1, self.context_name)

    def _get_xdlms_context(self, selection: Any, ctx: Any) -> Data:
        # xDLMS_context_type: {bit-string conformance, long-unsigned max_receive_pdu_size,
        # long-unsigned max_send_pdu_size, unsigned dlms_version_number, integer
        # quality_of_service, octet-string cyphering_info}
        return Data(DataTag.STRUCTURE, (
            Data(DataTag.BIT_STRING,
                 BitString(length=24, data=self.conformance.to_bytes(3, "big"))),
            Data(DataTag.LONG_UNSIGNED, self.max_receive_pdu_size),
            Data(DataTag.LONG_UNSIGNED, self.max_send_pdu_size),
            Data(DataTag.UNSIGNED, self.dlms_version),
            Data(DataTag.INTEGER, 0),
            octets(b"")))

    def _get_mechanism(self, selection: Any, ctx: Any) -> Data:
        return oid_structure(2, self.mechanism)

    def _get_secret(self, selection: Any, ctx: Any) -> Data:
        raise AccessError(DataAccessResult.READ_WRITE_DENIED, "the secret is write-only")

    def _get_status(self, selection: Any, ctx: AccessContext | None) -> Data:
        on_it = ctx is not None and ctx.association_name == self.association_name
        status = AssociationStatus.ASSOCIATED if on_it else AssociationStatus.NON_ASSOCIATED
        return Data(DataTag.ENUM, int(status))

    def _get_security_setup(self, selection: Any, ctx: Any) -> Data:
        ref = self.security_setup_reference
        return obis_data(ref) if ref is not None else octets(bytes(6))

    def _set_secret(self, value: Data, ctx: Any) -> None:
        self._store_secret(expect(value, DataTag.OCTET_STRING).value)

    def _store_secret(self, raw: bytes) -> None:
        if not raw:
            raise AccessError(DataAccessResult.OTHER_REASON, "the secret cannot be empty")
        self.secret = SecretBytes(raw)
        if self.on_secret_changed is not None:
            self.on_secret_changed(self.association_name or "", self.secret)

    # -- methods --

    def _reply_to_hls(self, params: Data | None, ctx: AccessContext | None) -> Data:
        if self.hls_reply is None:
            raise AccessError(ActionResult.OBJECT_UNAVAILABLE,
                              "HLS is answered by the connection layer")
        challenge = expect(params, DataTag.OCTET_STRING, result=ActionResult.TYPE_UNMATCHED)
        return octets(self.hls_reply(challenge.value, ctx))

    def _change_hls_secret(self, params: Data | None, ctx: Any) -> None:
        raw = expect(params, DataTag.OCTET_STRING, result=ActionResult.TYPE_UNMATCHED).value
        self._store_secret(raw)
