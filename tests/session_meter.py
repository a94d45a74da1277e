"""In-memory meters for the session tests: the simulator's protocol glue (a ``MeterServer``
client session, no sockets) answering a :class:`FakeTransport`, with hooks to drop, cut or
silence its answers, and a recorder of the session's trace.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from meterreader.client import ConnectionSettings, Session
from meterreader.simulator.facade import SimulatedMeter
from meterreader.simulator.server import Framing as ServerFraming
from meterreader.transport import FakeTransport

#: The simulator's clock starts here (meter local time), so profiles are reproducible.
START = dt.datetime(2024, 3, 10, 12, 0)


def build_meter(**options: Any) -> SimulatedMeter:
    values: dict[str, Any] = dict(category="C", seed=7, start=START, days_of_block_load=3)
    values.update(options)
    return SimulatedMeter(**values)


class MeterLine:
    """One client line into ``meter``, behind a FakeTransport.

    ``silent`` — the meter answers nothing; ``drop(n, frame)`` — True drops outgoing frame n
    (counted from 0); ``cut_after`` — after that many bytes sent the meter closes the line
    (the rest of the frame is lost); ``delay`` — seconds before each answer becomes readable.
    """

    def __init__(self, meter: SimulatedMeter, framing: str = "wrapper", *, delay: float = 0.0
                 ) -> None:
        self.meter = meter
        self.line = meter.server.session(ServerFraming(framing))
        self.transport = FakeTransport(description=f"memory {framing}", responder=self._respond,
                                       response_delay=delay)
        self.silent = False
        self.drop: Callable[[int, bytes], bool] | None = None
        self.cut_after: int | None = None
        self.frames_out = 0
        self.bytes_out = 0
        self.requests: list[bytes] = []

    def _respond(self, data: bytes) -> list[bytes]:
        self.requests.append(data)
        if self.silent:
            return []
        out = []
        for frame in self.line.receive_data(data):
            n, self.frames_out = self.frames_out, self.frames_out + 1
            if self.drop is not None and self.drop(n, frame):
                continue
            if self.cut_after is not None and self.bytes_out + len(frame) > self.cut_after:
                out.append(frame[:max(0, self.cut_after - self.bytes_out)])
                self.bytes_out = self.cut_after
                self.transport.feed_eof(delay=self.transport.response_delay)
                self.silent = True
                break
            self.bytes_out += len(frame)
            out.append(frame)
        return [o for o in out if o]


class Recorder:
    """Collects ``on_trace`` and ``on_progress`` calls."""

    def __init__(self) -> None:
        self.trace: list[tuple[str, str, bytes, str]] = []
        self.progress: list[Any] = []

    def on_trace(self, direction: str, layer: str, data: bytes, description: str) -> None:
        self.trace.append((direction, layer, data, description))

    def on_progress(self, progress: Any) -> None:
        self.progress.append(progress)

    def apdus(self, direction: str) -> list[bytes]:
        return [d for (dirn, layer, d, _) in self.trace if dirn == direction and layer == "apdu"]


def settings(association: str = "mr", framing: str = "wrapper", **overrides: Any
             ) -> ConnectionSettings:
    values: dict[str, Any] = dict(framing=framing, response_timeout=0.3, close_timeout=0.5)
    values.update(overrides)
    return ConnectionSettings.for_association(association, **values)


def open_session(meter: SimulatedMeter, association: str = "mr", framing: str = "wrapper", *,
                 recorder: Recorder | None = None, connect: bool = True, **overrides: Any
                 ) -> tuple[Session, MeterLine]:
    line = MeterLine(meter, framing)
    rec = recorder or Recorder()
    session = Session(line.transport, settings(association, framing, **overrides),
                      on_trace=rec.on_trace, on_progress=rec.on_progress)
    if connect:
        session.connect()
    return session, line
