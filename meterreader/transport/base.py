"""Transport contract shared by every byte pipe: cancel token, errors and the ``Transport`` base.

Transports move bytes only; they never parse DLMS. Everything that blocks waits in slices of at
most :data:`POLL_INTERVAL` seconds and checks its :class:`CancelToken` between slices, so a cancel
is noticed well within 200 ms.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Self

from meterreader.dlms.errors import DlmsError

#: Longest single blocking wait (seconds) before a transport checks its cancel token again.
POLL_INTERVAL = 0.05

#: Signature of the traffic hook: ``hook("tx" | "rx", data)``.
TrafficHook = Callable[[str, bytes], None]


class TransportError(DlmsError):
    """Base of every error a transport raises."""


class ConnectionFailed(TransportError):
    """The link could not be opened (refused, unreachable, port missing or busy, no sign-on)."""


class ConnectionLost(TransportError):
    """An open link broke: the peer closed or reset it, or the device disappeared."""


class ReadTimeout(TransportError):
    """Nothing arrived within the read timeout."""


class Cancelled(TransportError):
    """The operation was abandoned because its :class:`CancelToken` was cancelled."""


class CancelToken:
    """Thread-safe cancel flag (a :class:`threading.Event`) shared by a worker and its caller."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask every operation watching this token to stop as soon as possible."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self, what: str = "operation") -> None:
        """Raise :class:`Cancelled` if :meth:`cancel` was called."""
        if self._event.is_set():
            raise Cancelled(f"{what} cancelled")

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds; return True (early) if cancelled meanwhile."""
        return self._event.wait(max(0.0, timeout))

    def reset(self) -> None:
        """Clear the flag so the token can be reused for the next operation."""
        self._event.clear()

    def __repr__(self) -> str:
        return f"CancelToken(cancelled={self.cancelled})"


def sleep_cancellable(seconds: float, cancel: CancelToken | None, what: str) -> None:
    """Sleep ``seconds``, raising :class:`Cancelled` as soon as ``cancel`` fires."""
    if cancel is None:
        time.sleep(max(0.0, seconds))
    elif cancel.wait(seconds):
        raise Cancelled(f"{what} cancelled")


class Transport(ABC):
    """A blocking, cancellable byte pipe to one meter.

    Subclasses implement ``_open``, ``_close``, ``_write`` and ``_read_some``; this base adds the
    common behaviour: the read deadline loop with cancel checks, byte counters, the ``on_traffic``
    hook ("tx"/"rx") for the trace pane, idempotent close and context-manager support
    (``with transport:`` opens if needed and always closes).

    The token given to :meth:`open` is remembered and watched by later :meth:`read` calls that do
    not pass their own.
    """

    def __init__(self) -> None:
        self.bytes_sent = 0
        self.bytes_received = 0
        self.on_traffic: TrafficHook | None = None
        self._cancel: CancelToken | None = None
        self._is_open = False

    # -- public API -------------------------------------------------------------------------------

    @property
    @abstractmethod
    def description(self) -> str:
        """Human text for the status bar and error messages, e.g. ``"TCP 127.0.0.1:4059"``."""

    @property
    def is_open(self) -> bool:
        return self._is_open

    def open(self, cancel: CancelToken | None = None) -> None:
        """Open the link; raises :class:`ConnectionFailed` or :class:`Cancelled`."""
        if self._is_open:
            return
        self._cancel = cancel
        if cancel is not None:
            cancel.raise_if_cancelled(f"opening {self.description}")
        self.bytes_sent = 0
        self.bytes_received = 0
        self._open(cancel)
        self._is_open = True

    def close(self) -> None:
        """Close the link; safe to call any number of times."""
        if not self._is_open:
            return
        self._is_open = False
        self._close()

    def write(self, data: bytes) -> None:
        """Send all of ``data``; raises :class:`ConnectionLost` if the link broke."""
        self._require_open()
        data = bytes(data)
        if not data:
            return
        self._write(data)
        self.bytes_sent += len(data)
        if self.on_traffic is not None:
            self.on_traffic("tx", data)

    def read(self, timeout: float, cancel: CancelToken | None = None) -> bytes:
        """Return at least one byte (whatever is available) within ``timeout`` seconds.

        Raises :class:`ReadTimeout`, :class:`ConnectionLost` or :class:`Cancelled`.
        """
        self._require_open()
        cancel = cancel if cancel is not None else self._cancel
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if cancel is not None and cancel.cancelled:
                raise Cancelled(f"read from {self.description} cancelled")
            remaining = deadline - time.monotonic()
            data = self._read_some(min(POLL_INTERVAL, max(0.0, remaining)))
            if data:
                data = bytes(data)
                self.bytes_received += len(data)
                if self.on_traffic is not None:
                    self.on_traffic("rx", data)
                return data
            if remaining <= 0:
                raise ReadTimeout(f"no answer within {timeout:.1f} s from {self.description}")

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "open" if self._is_open else "closed"
        return f"<{type(self).__name__} {self.description} {state}>"

    # -- subclass hooks ---------------------------------------------------------------------------

    @abstractmethod
    def _open(self, cancel: CancelToken | None) -> None:
        """Acquire the OS resource; raise ConnectionFailed/Cancelled (and leave nothing open)."""

    @abstractmethod
    def _close(self) -> None:
        """Release the OS resource; must not raise."""

    @abstractmethod
    def _write(self, data: bytes) -> None:
        """Send all of ``data`` or raise ConnectionLost."""

    @abstractmethod
    def _read_some(self, wait: float) -> bytes:
        """Wait at most ``wait`` seconds (≤ POLL_INTERVAL) and return what arrived (maybe b"")."""

    def _require_open(self) -> None:
        if not self._is_open:
            raise ConnectionLost(f"{self.description}: not open")
