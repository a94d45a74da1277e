"""The HDLC link state machine: states, inputs, actions and the transition table.

Theory of operation
-------------------
IEC 62056-46 runs HDLC in normal response mode: the client (primary station) sets the mode with
SNRM and ends it with DISC; the server (secondary station) follows and speaks only when polled.
Both ends therefore share one link state, and this module keeps exactly one machine per
``HdlcLink`` with a single ``state``. It does not know which role it serves: the same table drives
the client and the server, so two links can be paired in tests. The server simply never enters
CONNECTING or DISCONNECTING, because it never sends SNRM or DISC.

Inputs come from three places: the user (``SEND_*``, one per event passed to ``send``), the peer
(``RECV_*``, one per received frame type), and the clock (``TIMEOUT``, or ``RETRY_LIMIT`` when the
link decides that ``max_retries`` timeouts went unanswered). ``TRANSITIONS`` maps
``(state, input)`` to ``(action, next_state)``; the state changes first, then the link runs the
action. A missing key is a protocol error: ``process_input`` raises ``LocalProtocolError`` and
the machine ends in ERROR, which is terminal.

The table lists every ``RECV_*`` input for every state but ERROR, so bytes from the peer never
hit a missing key: frames that make no sense in a state map to ``UNEXPECTED`` (reported, ignored)
or get the answer HDLC prescribes (DM from a disconnected server). Only misuse by our own user
(for example ``SendData`` while DISCONNECTED) and every call in ERROR raise.

Data transfer inside CONNECTED (N(S)/N(R) modulo 8, window, segmentation, who holds the poll)
is one state of this table; its bookkeeping lives in the ``RECEIVE_I``/``RECEIVE_RR``/``SEND_DATA``
actions of ``link.py``.
"""

from __future__ import annotations

from enum import Enum, auto, unique

from meterreader.dlms.errors import LocalProtocolError


@unique
class LinkState(Enum):
    DISCONNECTED = auto()  # normal disconnected mode
    CONNECTING = auto()  # client: SNRM sent, waiting for UA or DM
    CONNECTED = auto()  # normal response mode: I/RR/RNR frames flow
    DISCONNECTING = auto()  # client: DISC sent, waiting for UA or DM
    ERROR = auto()  # terminal: a local protocol error occurred


@unique
class LinkInput(Enum):
    SEND_CONNECT = auto()
    SEND_DATA = auto()
    SEND_DISCONNECT = auto()
    RECV_SNRM = auto()
    RECV_UA = auto()
    RECV_DISC = auto()
    RECV_DM = auto()
    RECV_FRMR = auto()
    RECV_I = auto()
    RECV_RR = auto()
    RECV_RNR = auto()
    RECV_UI = auto()
    TIMEOUT = auto()
    RETRY_LIMIT = auto()


@unique
class LinkAction(Enum):
    SEND_SNRM = auto()  # send SNRM with our proposal
    SEND_DISC = auto()  # send DISC
    SEND_DATA = auto()  # segment an LSDU and send the first window
    ACCEPT_SNRM = auto()  # negotiate, answer UA, report Connected
    ACCEPT_UA = auto()  # negotiate, report Connected
    ACCEPT_DISC = auto()  # server answers UA; report Disconnected
    ANSWER_DM = auto()  # a disconnected server answers a poll with DM
    DM_REFUSED = auto()  # report DmReceived
    DM_LOST = auto()  # report DmReceived and Disconnected
    DISC_DONE = auto()  # report Disconnected
    FRMR = auto()  # report FrmrReceived
    RECEIVE_I = auto()  # sequence check, reassembly, RR
    RECEIVE_RR = auto()  # acknowledgement, next window or retransmission
    RECEIVE_RNR = auto()  # acknowledgement, peer busy
    RECEIVE_UI = auto()  # deliver unnumbered data
    UNEXPECTED = auto()  # report FrameRejected, ignore the frame
    RESEND_COMMAND = auto()  # repeat the SNRM or DISC
    RECOVER = auto()  # client: retransmit unacknowledged I-frames or poll with RR
    GIVE_UP = auto()  # report RetriesExhausted


S, I, A = LinkState, LinkInput, LinkAction

# Frames and timeouts every non-ERROR state must handle; per-state rows below override them.
_RECEIVED = (I.RECV_SNRM, I.RECV_UA, I.RECV_DISC, I.RECV_DM, I.RECV_FRMR, I.RECV_I, I.RECV_RR,
             I.RECV_RNR)


def _rows(state: LinkState, rows: dict[LinkInput, tuple[LinkAction | None, LinkState]]
          ) -> dict[tuple[LinkState, LinkInput], tuple[LinkAction | None, LinkState]]:
    table: dict[LinkInput, tuple[LinkAction | None, LinkState]] = {
        received: (A.UNEXPECTED, state) for received in _RECEIVED}
    table[I.RECV_UI] = (A.RECEIVE_UI, state)
    table.update(rows)
    return {(state, key): value for key, value in table.items()}


TRANSITIONS: dict[tuple[LinkState, LinkInput], tuple[LinkAction | None, LinkState]] = {
    **_rows(S.DISCONNECTED, {
        I.SEND_CONNECT: (A.SEND_SNRM, S.CONNECTING),
        # A DISC while disconnected makes sure the meter's side is down too (it answers DM).
        I.SEND_DISCONNECT: (A.SEND_DISC, S.DISCONNECTING),
        I.RECV_SNRM: (A.ACCEPT_SNRM, S.CONNECTED),
        I.RECV_DISC: (A.ANSWER_DM, S.DISCONNECTED),
        I.RECV_I: (A.ANSWER_DM, S.DISCONNECTED),
        I.RECV_RR: (A.ANSWER_DM, S.DISCONNECTED),
        I.RECV_RNR: (A.ANSWER_DM, S.DISCONNECTED),
        I.RECV_DM: (A.DM_REFUSED, S.DISCONNECTED),
        I.TIMEOUT: (None, S.DISCONNECTED),
    }),
    **_rows(S.CONNECTING, {
        I.SEND_DISCONNECT: (A.SEND_DISC, S.DISCONNECTING),
        I.RECV_UA: (A.ACCEPT_UA, S.CONNECTED),
        I.RECV_DM: (A.DM_REFUSED, S.DISCONNECTED),
        I.RECV_FRMR: (A.FRMR, S.DISCONNECTED),
        I.TIMEOUT: (A.RESEND_COMMAND, S.CONNECTING),
        I.RETRY_LIMIT: (A.GIVE_UP, S.DISCONNECTED),
    }),
    **_rows(S.CONNECTED, {
        I.SEND_CONNECT: (A.SEND_SNRM, S.CONNECTING),  # HDLC: a new SNRM resets the link
        I.SEND_DATA: (A.SEND_DATA, S.CONNECTED),
        I.SEND_DISCONNECT: (A.SEND_DISC, S.DISCONNECTING),
        I.RECV_SNRM: (A.ACCEPT_SNRM, S.CONNECTED),
        I.RECV_DISC: (A.ACCEPT_DISC, S.DISCONNECTED),
        I.RECV_DM: (A.DM_LOST, S.DISCONNECTED),
        I.RECV_FRMR: (A.FRMR, S.DISCONNECTED),
        I.RECV_I: (A.RECEIVE_I, S.CONNECTED),
        I.RECV_RR: (A.RECEIVE_RR, S.CONNECTED),
        I.RECV_RNR: (A.RECEIVE_RNR, S.CONNECTED),
        I.TIMEOUT: (A.RECOVER, S.CONNECTED),
        I.RETRY_LIMIT: (A.GIVE_UP, S.DISCONNECTED),
    }),
    **_rows(S.DISCONNECTING, {
        I.RECV_UA: (A.DISC_DONE, S.DISCONNECTED),
        I.RECV_DM: (A.DISC_DONE, S.DISCONNECTED),
        I.RECV_DISC: (A.DISC_DONE, S.DISCONNECTED),
        I.TIMEOUT: (A.RESEND_COMMAND, S.DISCONNECTING),
        I.RETRY_LIMIT: (A.GIVE_UP, S.DISCONNECTED),
    }),
}


class LinkStateMachine:
    """Holds the state and applies ``TRANSITIONS`` (cf. h2 ``H2ConnectionStateMachine``)."""

    def __init__(self) -> None:
        self.state = LinkState.DISCONNECTED

    def process_input(self, link_input: LinkInput) -> LinkAction | None:
        """Move to the next state and return the action to run; raise on a missing transition."""
        try:
            action, self.state = TRANSITIONS[(self.state, link_input)]
        except KeyError:
            old_state, self.state = self.state, LinkState.ERROR
            raise LocalProtocolError(
                f"invalid input {link_input.name} in state {old_state.name}") from None
        return action
