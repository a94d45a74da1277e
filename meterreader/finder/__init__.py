"""Meter finder and connection diagnostics: connect to an unknown meter without guessing.

* :func:`find_serial` — bounded, cancellable search of a serial port: direct HDLC at 9600,
  19200, 38400, 115200 8N1 and the IEC 62056-21 mode E sign-on; SNRM from the public client to
  the common server addresses; every answer classified (:class:`AnswerKind`).
* :func:`find_tcp` — wrapper or raw HDLC behind a TCP port, then the logical device.
* :func:`identify` — associate as the public client and read logical devices, serial number,
  manufacturer, firmware and the object count (:class:`FoundMeter`).
* :func:`diagnose` / :func:`diagnose_attempts` — a plain-language :class:`Diagnosis` of a
  failed connect from the error and the bytes the meter sent.

Searches run on the caller's thread (the GUI runs them on a worker); ``progress`` is called
there for every :class:`Attempt`. Results are frozen records (:class:`FindResult`).
"""

from meterreader.finder.diagnostics import diagnose, diagnose_attempts
from meterreader.finder.identify import identify
from meterreader.finder.model import AnswerKind, Attempt, Diagnosis, FindResult, FoundMeter
from meterreader.finder.probe import SERVER_ADDRESSES, ServerCandidate, classify_answer
from meterreader.finder.serial_search import DIRECT_BAUDS, find_serial
from meterreader.finder.tcp_search import find_tcp

__all__ = ["AnswerKind", "Attempt", "DIRECT_BAUDS", "Diagnosis", "FindResult", "FoundMeter",
           "SERVER_ADDRESSES", "ServerCandidate", "classify_answer", "diagnose",
           "diagnose_attempts", "find_serial", "find_tcp", "identify"]
