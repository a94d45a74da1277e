"""The records and the Job handle the :class:`~ui.worker.ProtocolWorker` hands to the GUI.

Everything here crosses threads, so the records are frozen dataclasses (STYLE.md §2, §5). A
:class:`Job` is a QObject that lives on the GUI thread: the worker settles it there, so its
``finished``/``failed`` signals always arrive on the GUI thread, whatever the connection type.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal

import ui.pyside_fixes  # noqa: F401 - must precede any signal emit (see the module)
from meterreader.client import SessionStats
from meterreader.client.profile import ConnectionProfile

__all__ = ["ConnectedInfo", "Job", "JobNotDone", "Progress", "TraceRecord"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceRecord:
    """One frame or APDU seen by the session: ``direction`` "tx"/"rx", ``layer`` "hdlc",
    "wrapper" or "apdu", ``data`` already secret-masked, ``timestamp`` from ``time.time()``."""

    timestamp: float
    direction: str
    layer: str
    data: bytes
    summary: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    """Progress of the running job: ``done`` of ``total`` (rows of a profile once its first
    datablock told the row count, else datablocks with ``total`` None), ``rows`` decoded so far,
    ``bytes`` received, ``eta_s`` the estimated seconds left (None when unknown)."""

    operation: str
    done: int
    total: int | None
    rows: int
    bytes: int
    eta_s: float | None = None

    @property
    def fraction(self) -> float | None:
        """done / total in 0..1, or None when the total is unknown."""
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectedInfo:
    """What the status bar shows after a connect: the profile's ``describe()``, the
    association label ("MR (client 32)"), the counters, the meter's system title (None when it
    sent none) and the negotiated limits (``max_pdu_size``, ``conformance``, HDLC
    ``max_info_tx``/``max_info_rx``/``window_tx``/``window_rx``, ``dlms_version``,
    ``mechanism``)."""

    profile_description: str
    association: str
    stats: SessionStats
    server_system_title: bytes | None
    negotiated: dict[str, Any] = field(default_factory=dict)
    profile: ConnectionProfile | None = None
    transport_description: str = ""


class JobNotDone(RuntimeError):
    """``Job.result()`` was called before the job finished."""


class Job(QObject):
    """One request queued to the worker. ``finished(result)`` or ``failed(exception)`` is
    emitted once, on the GUI thread; afterwards ``done`` is True and ``result()`` returns the
    value or raises the exception (also ``error``). ``await job`` works under a running asyncio
    (qasync) loop. ``cancel()`` drops a queued job or stops the running one."""

    finished = Signal(object)
    failed = Signal(object)

    def __init__(self, description: str, fn: Callable[[Any], Any], *, kind: str = "call",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.description = description
        self.kind = kind
        self._fn = fn
        self._done = False
        self._value: Any = None
        self._error: BaseException | None = None
        self._futures: list[asyncio.Future[None]] = []
        self._canceller: Callable[[Job], None] | None = None

    @property
    def done(self) -> bool:
        return self._done

    @property
    def error(self) -> BaseException | None:
        """The exception the job failed with (None while running or after success)."""
        return self._error

    @property
    def succeeded(self) -> bool:
        return self._done and self._error is None

    def result(self) -> Any:
        """The job's value; raises its exception if it failed, JobNotDone if still pending."""
        if not self._done:
            raise JobNotDone(f"{self.description}: not finished yet")
        if self._error is not None:
            raise self._error
        return self._value

    def cancel(self) -> None:
        """Drop the job if it is still queued, or cancel it if it is running."""
        if not self._done and self._canceller is not None:
            self._canceller(self)

    def _settle(self, ok: bool, value: Any) -> None:
        """Record the outcome and emit the signal (GUI thread only; once)."""
        if self._done:
            return
        self._done = True
        if ok:
            self._value = value
        else:
            self._error = value
        self._fn = None  # type: ignore[assignment]  # release the closure
        self._canceller = None
        for future in self._futures:
            loop = future.get_loop()
            if not loop.is_closed():
                loop.call_soon_threadsafe(_resolve, future)
        self._futures.clear()
        if ok:
            self.finished.emit(value)
        else:
            self.failed.emit(value)

    def __await__(self) -> Generator[Any, None, Any]:
        if not self._done:
            future: asyncio.Future[None] = asyncio.get_event_loop().create_future()
            self._futures.append(future)
            yield from future
        return self.result()

    def __repr__(self) -> str:
        state = ("failed" if self._error is not None else "done") if self._done else "pending"
        return f"<Job {self.description!r} {state}>"


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
