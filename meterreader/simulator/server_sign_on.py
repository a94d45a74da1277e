"""IEC 62056-21 mode E opening of the simulator's HDLC lines (used by :mod:`.server`).

:class:`SignOn` holds the opening state of one client line. While :attr:`SignOn.active`, the
request ``/?`` [address] ``!`` CR LF is answered with the identification message and the option
select ``ACK 2 Z 2`` CR LF (V = '2', HDLC protocol procedure) switches to HDLC at baud rate Z
(:attr:`SignOn.line_baud`); a client that starts with an HDLC frame straight away is served too,
unless ``hdlc_direct`` is False (a mode-E-only meter: everything before the option select that is
not a sign-on line is ignored).

In HDLC state, :meth:`SignOn.watch` looks for a new request line between frames: a client that
went away without DISC and signs on again. The session then drops its links and calls
:meth:`SignOn.restart` (as it does after DISC and after the inactivity time-out).
"""

from __future__ import annotations

import re

from .server_log import WireLog

__all__ = ["SIGN_ON_BAUD", "SignOn"]

# IEC 62056-21 mode E: request "/?" [address] "!" CR LF; option select ACK V Z Y CR LF with
# V = '2' (HDLC protocol procedure).
_REQUEST = re.compile(rb"/\?[^!/]{0,32}!\r\n")
_OPTION_SELECT = re.compile(rb"\x06(?P<v>[0-9])(?P<z>[0-9])(?P<y>[0-9])\r\n")
_BAUD = {ord("0") + i: baud for i, baud in enumerate((300, 600, 1200, 2400, 4800, 9600, 19200))}
SIGN_ON_BAUD = 300
#: Longest sign-on request line looked for while in HDLC state.
_MAX_REQUEST_LINE = 40
_KEPT = 64  # bytes of an unfinished sign-on line kept


class SignOn:
    """Mode E state of one line (see the module docstring); ``enabled`` False: plain HDLC.

    ``line_baud`` — the line speed expected now: 300 during the sign-on, then the acknowledged
    rate; None without mode E."""

    def __init__(self, enabled: bool, identification: bytes, log: WireLog, *,
                 hdlc_direct: bool = True) -> None:
        self.enabled = enabled
        self.hdlc_direct = hdlc_direct
        self.identification = identification
        self.log = log
        self.line_baud: int | None = SIGN_ON_BAUD if enabled else None
        self.active = enabled
        self._identified = False
        self._buf = bytearray()
        self._text = b""  # a possible request line seen in HDLC state

    @property
    def at_rest(self) -> bool:
        """Nothing to forget: no mode E, or waiting for a request with nothing received."""
        return not self.enabled or (self.active and not self._identified and not self._buf)

    def restart(self) -> None:
        """Back to the sign-on at 300 Bd (after DISC, a new request, the inactivity time-out)."""
        if self.enabled:
            self.active, self._identified = True, False
            self._buf = bytearray()
            self._text = b""
            self.line_baud = SIGN_ON_BAUD

    def feed(self, data: bytes, out: list[bytes]) -> bytes:
        """Consume sign-on bytes (answers appended to ``out``); return what follows them."""
        buf = self._buf + data
        if self.hdlc_direct and not self._buf and buf[:1] == b"\x7e":  # no sign-on: HDLC
            self.active = False
            return bytes(buf)
        while True:
            end = buf.find(b"\r\n")
            if end < 0:
                self._buf = buf[-_KEPT:]
                return b""
            line, buf = bytes(buf[:end + 2]), buf[end + 2:]
            self.log.frame("rx", line)
            select = _OPTION_SELECT.search(line)
            if _REQUEST.search(line):
                out.append(self.identification)
                self._identified = True
            elif select and self._identified and select["v"] == b"2" and ord(select["z"]) in _BAUD:
                self.line_baud = _BAUD[ord(select["z"])]
                self.active = False
                self._buf = bytearray()
                return bytes(buf)

    def watch(self, data: bytes, between_frames: bool) -> tuple[bytes, bool]:
        """HDLC state: (bytes for the HDLC reader or, on a request, the sign-on; whether a
        request line arrived). ``between_frames``: the HDLC reader holds no partial frame."""
        if not self._text and not (between_frames and data[:1] == b"/"):
            return data, False
        text = self._text + data
        end = text.find(b"\r\n")
        if end < 0:
            if len(text) > _MAX_REQUEST_LINE:  # not a request line: let the reader drop it
                self._text = b""
                return text, False
            self._text = text
            return b"", False
        line, rest = text[:end + 2], text[end + 2:]
        self._text = b""
        if not _REQUEST.fullmatch(line):
            self.log.frame("rx", line, "ignored: not a sign-on request")
            return rest, False
        self.log.note("sign-on request in HDLC state: links dropped, sign-on restarts")
        return line + rest, True
