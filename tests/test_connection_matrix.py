"""Every ciphering mode × security control × service through AssociationPair, and ciphered
EventNotifications from the server in every mode."""

from __future__ import annotations

import pytest

from association_pair import (CLIENT, METHOD, REGISTER, SERVER, SERVER_TITLE, VALUE,
                              SimpleResponder, make_pair)
from meterreader.dlms import connection_events as ev
from meterreader.dlms import xdlms as x
from meterreader.dlms.acse import MechanismName as M
from meterreader.dlms.axdr import D
from meterreader.dlms.connection_state import State
from meterreader.dlms.errors import LocalProtocolError
from meterreader.dlms.initiate import Conformance
from meterreader.dlms.security import CipheringMode, unprotect_apdu

MODES = list(CipheringMode)
CONTROLS = [0x10, 0x20, 0x30]
# mode -> (request tag, response tag, event-notification tag) for GET / SET / ACTION
_TAGS = {
    CipheringMode.GLOBAL: {"GET": (0xC8, 0xCC), "SET": (0xC9, 0xCD), "ACTION": (0xCB, 0xCF),
                           "EVENT": 0xCA},
    CipheringMode.DEDICATED: {"GET": (0xD0, 0xD4), "SET": (0xD1, 0xD5), "ACTION": (0xD3, 0xD7),
                              "EVENT": 0xD2},
    CipheringMode.GENERAL_GLOBAL: {"GET": (0xDB, 0xDB), "SET": (0xDB, 0xDB),
                                   "ACTION": (0xDB, 0xDB), "EVENT": 0xDB},
    CipheringMode.GENERAL_DEDICATED: {"GET": (0xDC, 0xDC), "SET": (0xDC, 0xDC),
                                      "ACTION": (0xDC, 0xDC), "EVENT": 0xDC},
}
NEW_VALUE = D.double_long_unsigned(654321)
RETURNED = D.octet_string(b"done")


def _pair(mode: CipheringMode, control: int):
    responder = SimpleResponder({(3, REGISTER.instance_id, 2): VALUE},
                                {(70, METHOD.instance_id, 1): lambda p: (x.ActionResult.SUCCESS,
                                                                         RETURNED)})
    pair = make_pair(M.NONE, mode, client={"security_control": control},
                     rule={"required_security_control": control})
    pair.responder = responder
    accepted, = pair.associate()[CLIENT]
    assert isinstance(accepted, ev.AssociationAccepted)
    return pair


def _control_byte(apdu: bytes) -> int:
    return apdu[1 + 1 + (9 if apdu[0] in (0xDB, 0xDC) else 0)]  # tag, length[, system title]


SERVICES = {
    "GET": (ev.Get(descriptor=REGISTER), ev.GetResult(invoke_id=1, value=VALUE)),
    "SET": (ev.Set(descriptor=REGISTER, value=NEW_VALUE),
            ev.SetResult(invoke_id=1, result=x.DataAccessResult.SUCCESS)),
    "ACTION": (ev.Action(descriptor=METHOD, parameters=D.integer(1)),
               ev.ActionResult(invoke_id=1, result=x.ActionResult.SUCCESS,
                               return_value=RETURNED)),
}


@pytest.mark.parametrize("service", list(SERVICES))
@pytest.mark.parametrize("control", CONTROLS, ids=lambda c: f"SC{c:02X}")
@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.name)
def test_every_mode_control_and_service(mode: CipheringMode, control: int, service: str) -> None:
    pair = _pair(mode, control)
    request, expected = SERVICES[service]
    start = len(pair.trace)
    assert pair.request(request) == [expected]
    (sent_by_client, apdu_request), (sent_by_server, apdu_response) = pair.trace[start:]
    assert (sent_by_client, sent_by_server) == (CLIENT, SERVER)
    assert (apdu_request[0], apdu_response[0]) == _TAGS[mode][service]
    assert _control_byte(apdu_request) == _control_byte(apdu_response) == control
    if service == "SET":
        assert pair.responder.values[(3, REGISTER.instance_id, 2)] == NEW_VALUE
    assert pair.client.states == pair.server.states
    assert pair.client.our_state is State.ASSOCIATED


EVENT = ev.EventNotification(descriptor=REGISTER, value=VALUE,
                             time=bytes.fromhex("07E8010100000000FF800000"))


@pytest.mark.parametrize("control", CONTROLS, ids=lambda c: f"SC{c:02X}")
@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.name)
def test_ciphered_event_notification_reaches_the_client(mode: CipheringMode,
                                                        control: int) -> None:
    pair = _pair(mode, control)
    expected = x.EventNotificationRequest(time=EVENT.time, cosem_attribute_descriptor=REGISTER,
                                          attribute_value=VALUE)
    keys = pair.client._side.settings.keys
    # Before any request the server protects as the InitiateRequest was: always 0x30 when it
    # carried a dedicated key; afterwards as the client's last request.
    dedicated = mode in (CipheringMode.DEDICATED, CipheringMode.GENERAL_DEDICATED)
    for want in (0x30 if dedicated else control, control):
        events = pair.send(SERVER, EVENT)
        wire = pair.trace[-1][1]
        assert wire[0] == _TAGS[mode]["EVENT"] and _control_byte(wire) == want
        assert events == {CLIENT: [ev.NotificationReceived(apdu=expected)], SERVER: []}
        assert unprotect_apdu(wire, keys=keys, system_title=SERVER_TITLE).apdu \
            == expected.encode()
        # unconfirmed: nothing changes, and services go on
        assert pair.client.our_state is pair.server.our_state is State.ASSOCIATED
        assert pair.request(ev.Get(descriptor=REGISTER))[0].value == VALUE


def test_plain_event_notification_and_misuse() -> None:
    pair = make_pair()
    with pytest.raises(LocalProtocolError, match="needs an open association"):
        pair.server.send(ev.EventNotification(descriptor=REGISTER, value=VALUE))
    pair = make_pair()
    pair.associate()
    events = pair.send(SERVER, ev.EventNotification(descriptor=REGISTER, value=VALUE))
    assert pair.trace[-1][1][0] == 0xC2
    assert events[CLIENT] == [ev.NotificationReceived(apdu=x.EventNotificationRequest(
        cosem_attribute_descriptor=REGISTER, attribute_value=VALUE))]
    no_events = make_pair(client={"proposed_conformance": Conformance.GET})
    no_events.associate()
    with pytest.raises(LocalProtocolError, match="event-notification was not negotiated"):
        no_events.server.send(ev.EventNotification(descriptor=REGISTER, value=VALUE))
    with pytest.raises(LocalProtocolError):
        ev.EventNotification(descriptor=REGISTER, value=VALUE, time="2024-01-01")
