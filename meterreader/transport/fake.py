"""In-memory stand-ins for tests: a scripted :class:`FakeTransport` and a pyserial-like
:class:`FakeSerial` that records every line-setting change (Linux ptys are always 8N1, so mode E
baud/parity switching can only be checked this way).

Both are thread-safe: a test thread may ``feed`` bytes while another thread is blocked reading.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import serial

from meterreader.transport.base import CancelToken, ConnectionLost, Transport

#: Reply function of a FakeTransport: gets each written chunk, returns bytes to feed (or None).
Responder = Callable[[bytes], bytes | Iterable[bytes] | None]

Line = tuple[int, int, str, float]


class _Inbox:
    """Timed FIFO of incoming chunks guarded by a condition variable."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.chunks: deque[tuple[float, bytes]] = deque()
        self.eof_at: float | None = None

    def put(self, data: bytes, delay: float) -> None:
        with self.cond:
            self.chunks.append((time.monotonic() + delay, bytes(data)))
            self.cond.notify_all()

    def put_eof(self, delay: float) -> None:
        with self.cond:
            self.eof_at = time.monotonic() + delay
            self.cond.notify_all()

    def ready(self) -> int:
        """Bytes readable now (ready chunks at the head of the queue)."""
        now, total = time.monotonic(), 0
        for ready_at, data in self.chunks:
            if ready_at > now:
                break
            total += len(data)
        return total

    def take(self, size: int | None, wait: float) -> bytes | None:
        """Up to ``size`` ready bytes (None = the head chunk), waiting ≤ ``wait`` s.

        Returns b"" on timeout and None at end of stream.
        """
        deadline = time.monotonic() + max(0.0, wait)
        with self.cond:
            while True:
                now = time.monotonic()
                if self.chunks and self.chunks[0][0] <= now:
                    if size is None:
                        return self.chunks.popleft()[1]
                    out = b""
                    while len(out) < size and self.chunks and self.chunks[0][0] <= now:
                        ready_at, data = self.chunks.popleft()
                        need = size - len(out)
                        if len(data) > need:
                            self.chunks.appendleft((ready_at, data[need:]))
                            data = data[:need]
                        out += data
                    return out
                if not self.chunks and self.eof_at is not None and self.eof_at <= now:
                    return None
                wake = deadline
                if self.chunks:
                    wake = min(wake, self.chunks[0][0])
                elif self.eof_at is not None:
                    wake = min(wake, self.eof_at)
                if now >= deadline:
                    return b""
                self.cond.wait(max(0.0, wake - now))

    def clear(self) -> None:
        with self.cond:
            now = time.monotonic()
            while self.chunks and self.chunks[0][0] <= now:
                self.chunks.popleft()


class FakeTransport(Transport):
    """Scripted in-memory transport.

    ``feed(data, delay=…)`` queues bytes that become readable ``delay`` seconds later; each
    :meth:`read` returns one queued chunk, so tests control how the peer's bytes are split.
    Writes are recorded in :attr:`writes`; a ``responder`` may answer each write (its replies are
    fed with ``response_delay``). ``feed_eof`` makes reads raise ConnectionLost once the queue is
    empty; ``open_error`` is raised by :meth:`open` (e.g. a ConnectionFailed).
    """

    def __init__(self, *, description: str = "fake", responder: Responder | None = None,
                 response_delay: float = 0.0, open_error: Exception | None = None) -> None:
        super().__init__()
        self._description = description
        self.responder = responder
        self.response_delay = response_delay
        self.open_error = open_error
        self.writes: list[bytes] = []
        self.open_count = 0
        self.close_count = 0
        self._inbox = _Inbox()

    @property
    def description(self) -> str:
        return self._description

    @property
    def written(self) -> bytes:
        """All bytes written so far, joined."""
        return b"".join(self.writes)

    @property
    def pending(self) -> int:
        """Bytes fed and readable now but not yet read."""
        with self._inbox.cond:
            return self._inbox.ready()

    def feed(self, data: bytes, *, delay: float = 0.0) -> None:
        """Queue ``data`` as incoming bytes, readable ``delay`` seconds from now."""
        if data:
            self._inbox.put(data, delay)

    def feed_eof(self, *, delay: float = 0.0) -> None:
        """The peer closes the link ``delay`` seconds from now (after the queued bytes)."""
        self._inbox.put_eof(delay)

    def _open(self, cancel: CancelToken | None) -> None:
        if self.open_error is not None:
            raise self.open_error
        self.open_count += 1

    def _close(self) -> None:
        self.close_count += 1

    def _write(self, data: bytes) -> None:
        if self._inbox.eof_at is not None and self._inbox.eof_at <= time.monotonic():
            raise ConnectionLost(f"{self.description}: peer closed the connection")
        self.writes.append(data)
        if self.responder is not None:
            replies = self.responder(data)
            if isinstance(replies, bytes | bytearray):
                replies = (replies,)
            for reply in replies or ():
                self.feed(bytes(reply), delay=self.response_delay)

    def _read_some(self, wait: float) -> bytes:
        data = self._inbox.take(None, wait)
        if data is None:
            raise ConnectionLost(f"{self.description}: peer closed the connection")
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class ScriptStep:
    """One exchange of a :class:`FakeSerial` script.

    When the bytes written since the previous step equal ``expect``, ``reply`` becomes readable
    after ``delay`` seconds — but only if the port's line settings then equal ``line`` (when
    given); otherwise nothing is sent and the mismatch is logged in ``FakeSerial.errors``.
    """

    expect: bytes
    reply: bytes = b""
    line: Line | None = None
    delay: float = 0.0


class FakeSerial:
    """Stand-in for a pyserial ``Serial``: records line settings and writes, answers a script.

    Pass ``fake.factory`` as ``SerialTransport(serial_factory=…)``. :attr:`events` is the ordered
    log of ``("open", line)``, ``("line", line)``, ``("write", bytes)``, ``("flush", None)`` and
    ``("close", None)`` (with :attr:`event_times`); :attr:`line_changes` lists each line in force,
    the opening one first.
    """

    def __init__(self, script: Sequence[ScriptStep] = (), *,
                 open_error: Exception | None = None) -> None:
        self.script = list(script)
        self.open_error = open_error
        self.events: list[tuple[str, Any]] = []
        self.event_times: list[float] = []  # time.monotonic() of each entry of events
        self.line_changes: list[Line] = []
        self.writes: list[tuple[bytes, Line]] = []
        self.errors: list[str] = []
        self.open_kwargs: dict[str, Any] = {}
        self.is_open = False
        self.port: str | None = None
        self.timeout: float | None = None
        self.inter_byte_timeout: float | None = None
        self.exclusive: bool | None = None
        self._line: Line = (9600, 8, "N", 1)
        self._pending = b""
        self._unplugged = False
        self._inbox = _Inbox()

    def _log(self, kind: str, value: Any) -> None:
        self.events.append((kind, value))
        self.event_times.append(time.monotonic())

    # -- construction as a serial factory ---------------------------------------------------------

    def factory(self, **kwargs: Any) -> FakeSerial:
        """Open this fake with pyserial-style keyword arguments and return it."""
        if self.open_error is not None:
            raise self.open_error
        self.open_kwargs = dict(kwargs)
        self.port = kwargs.get("port")
        self.timeout = kwargs.get("timeout")
        self.inter_byte_timeout = kwargs.get("inter_byte_timeout")
        self.exclusive = kwargs.get("exclusive")
        self._line = (kwargs.get("baudrate", 9600), kwargs.get("bytesize", 8),
                      kwargs.get("parity", "N"), kwargs.get("stopbits", 1))
        self.is_open = True
        self._log("open", self._line)
        self.line_changes.append(self._line)
        return self

    # -- line settings ----------------------------------------------------------------------------

    @property
    def line(self) -> Line:
        return self._line

    def _set_line(self, line: Line) -> None:
        if line != self._line:
            self._line = line
            self._log("line", line)
            self.line_changes.append(line)

    def apply_settings(self, d: dict[str, Any]) -> None:
        baud, size, parity, stop = self._line
        self._set_line((d.get("baudrate", baud), d.get("bytesize", size),
                        d.get("parity", parity), d.get("stopbits", stop)))

    def get_settings(self) -> dict[str, Any]:
        baud, size, parity, stop = self._line
        return {"baudrate": baud, "bytesize": size, "parity": parity, "stopbits": stop}

    @property
    def baudrate(self) -> int:
        return self._line[0]

    @baudrate.setter
    def baudrate(self, value: int) -> None:
        self.apply_settings({"baudrate": value})

    @property
    def bytesize(self) -> int:
        return self._line[1]

    @bytesize.setter
    def bytesize(self, value: int) -> None:
        self.apply_settings({"bytesize": value})

    @property
    def parity(self) -> str:
        return self._line[2]

    @parity.setter
    def parity(self, value: str) -> None:
        self.apply_settings({"parity": value})

    @property
    def stopbits(self) -> float:
        return self._line[3]

    @stopbits.setter
    def stopbits(self, value: float) -> None:
        self.apply_settings({"stopbits": value})

    # -- bytes ------------------------------------------------------------------------------------

    def feed(self, data: bytes, *, delay: float = 0.0) -> None:
        """Make ``data`` readable ``delay`` seconds from now (unscripted incoming bytes)."""
        if data:
            self._inbox.put(data, delay)

    @property
    def in_waiting(self) -> int:
        self._check_open()
        with self._inbox.cond:
            return self._inbox.ready()

    def read(self, size: int = 1) -> bytes:
        self._check_open()
        data = self._inbox.take(size, self.timeout if self.timeout is not None else 3600.0)
        return data or b""

    def write(self, data: bytes) -> int:
        self._check_open()
        data = bytes(data)
        self._log("write", data)
        self.writes.append((data, self._line))
        self._pending += data
        while self.script and self._pending.startswith(self.script[0].expect):
            step = self.script.pop(0)
            self._pending = self._pending[len(step.expect):]
            if step.line is not None and step.line != self._line:
                self.errors.append(f"{step.expect!r} written at {self._line}, expected {step.line}")
            else:
                self.feed(step.reply, delay=step.delay)
        if self.script and self._pending and not self.script[0].expect.startswith(self._pending):
            self.errors.append(f"unexpected write {self._pending!r}, expected "
                               f"{self.script[0].expect!r}")
            self._pending = b""
        return len(data)

    def flush(self) -> None:
        self._check_open()
        self._log("flush", None)

    def reset_input_buffer(self) -> None:
        self._check_open()
        self._inbox.clear()

    def reset_output_buffer(self) -> None:
        self._check_open()

    def close(self) -> None:
        if self.is_open:
            self.is_open = False
            self._log("close", None)

    def unplug(self) -> None:
        """Simulate the device disappearing: later reads and writes raise SerialException."""
        self._unplugged = True

    def _check_open(self) -> None:
        if not self.is_open:
            raise serial.PortNotOpenError()
        if self._unplugged:
            raise serial.SerialException("device reports readiness to read but returned no data "
                                         "(device disconnected or multiple access on port?)")
