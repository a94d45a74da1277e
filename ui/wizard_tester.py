"""The wizard's "Test connection": connect + release once on a throw-away worker thread.

:class:`ConnectionTester` reports through ``result(state, text, diagnosis)``; on a failure the
diagnosis (:class:`meterreader.finder.Diagnosis`, or None) explains it from the exception and
the frames the session traced (title and next steps, shown under the error).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, Signal

import ui.pyside_fixes  # noqa: F401 - PySide6 6.12 on CPython 3.11 drops None/True references
from meterreader.client import Cancelled
from meterreader.client.profile import ConnectionProfile
from ui.finder_dialog import diagnose_failure

__all__ = ["ConnectionTester", "describe_connected"]

#: Trace records kept for the diagnosis of a failed test (the last ones matter).
TRACE_KEEP = 32


def describe_connected(info: Any) -> str:
    """"Connected: <profile> (PDU n, window w)" from a worker ``ConnectedInfo``."""
    negotiated = dict(getattr(info, "negotiated", None) or {})
    what = getattr(info, "profile_description", "") or "meter"
    association = getattr(info, "association", "")
    if association and association not in what:
        what = f"{what}, {association}"
    extras = []
    if negotiated.get("max_pdu_size") is not None:
        extras.append(f"PDU {negotiated['max_pdu_size']}")
    windows = [negotiated.get(k) for k in ("window_tx", "window_rx")]
    if any(w is not None for w in windows):  # HDLC only: the wrapper has no window
        tx, rx = windows
        extras.append(f"window {tx}" if tx == rx or rx is None
                      else f"window {rx}" if tx is None else f"window {tx}/{rx}")
    return f"Connected: {what}" + (f" ({', '.join(extras)})" if extras else "")


def _default_worker_factory() -> Any:
    from ui.worker import ProtocolWorker  # imported late: the worker pulls in the session stack
    return ProtocolWorker()


class ConnectionTester(QObject):
    """Connect + release once on a throw-away worker thread; reports through ``result``.

    ``result(state, text, diagnosis)``: state "busy", "ok", "error" or "cancelled"; diagnosis
    is a :class:`~meterreader.finder.Diagnosis` for "error" (None when nothing explains it,
    and for the other states). ``running_changed``
    when a test starts and when its worker thread has ended (after the release). Nothing here
    waits on the GUI thread except :meth:`shutdown` (the wizard closing), after a cancel."""

    result = Signal(str, str, object)
    running_changed = Signal(bool)

    def __init__(self, worker_factory: Callable[[], Any] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._factory = worker_factory or _default_worker_factory
        self._worker: Any = None  # the test in progress
        self._retiring: list[Any] = []  # workers releasing and ending their thread
        self._cancelled = False
        self._records: deque[Any] = deque(maxlen=TRACE_KEEP)  # the running test's frames
        self._profile: ConnectionProfile | None = None

    @property
    def running(self) -> bool:
        """A test is in progress or its worker thread is still ending."""
        return self._worker is not None or bool(self._retiring)

    def start(self, profile: ConnectionProfile) -> None:
        if self.running:
            return
        self._cancelled = False
        self._records = records = deque(maxlen=TRACE_KEEP)  # this test's frames only
        self._profile = profile
        worker = self._factory()
        worker.trace.connect(records.append)
        worker.start()
        self._worker = worker
        self.running_changed.emit(True)
        self.result.emit("busy", f"Connecting to {profile.describe()} …", None)
        job = worker.connect_meter(profile)
        job.finished.connect(self._connected)
        job.failed.connect(self._failed)

    def cancel(self) -> None:
        """Stop the running test (the connect job then fails with Cancelled)."""
        if self._worker is not None:
            self._cancelled = True
            self.result.emit("busy", "Cancelling …", None)
            self._worker.cancel()

    def shutdown(self, timeout: float = 2.0) -> None:
        """Cancel, release and end every worker thread now (the wizard is closing)."""
        workers = [w for w in (self._worker, *self._retiring) if w is not None]
        was_running = self.running
        self._worker, self._retiring = None, []
        for worker in workers:
            worker.cancel()
            worker.stop(timeout=timeout)
        if was_running:
            self.running_changed.emit(False)

    def _connected(self, info: Any) -> None:
        if self._worker is not None:
            self.result.emit("ok", describe_connected(info), None)
            self._retire()  # stop() releases the association (RLRQ/DISC) on the worker thread

    def _failed(self, exc: BaseException) -> None:
        if self._worker is None:
            return
        if self._cancelled or isinstance(exc, Cancelled):
            self.result.emit("cancelled", "Test cancelled.", None)
        else:
            diagnosis = diagnose_failure(exc, self._records, self._profile)
            self.result.emit("error", str(exc) or type(exc).__name__, diagnosis)
        self._retire()

    def _retire(self) -> None:
        """Let the worker release and end its thread without waiting for it here."""
        worker, self._worker = self._worker, None
        self._retiring.append(worker)
        worker.stop(timeout=2.0, wait=False)
        thread = worker.worker_thread
        if thread is not None:
            thread.finished.connect(self._reap, Qt.ConnectionType.QueuedConnection)
        self._reap()

    def _reap(self) -> None:
        """Forget the workers whose thread has ended; report when none is left."""
        if not self._retiring:
            return
        self._retiring = [w for w in self._retiring if w.worker_thread is not None
                          and not w.worker_thread.isFinished()]
        if not self.running:
            self.running_changed.emit(False)
