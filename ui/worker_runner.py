"""The worker-thread half of :class:`~ui.worker.ProtocolWorker`: the job queue and the runner.

``_Queue`` is shared by both threads behind one QMutex (a QWaitCondition wakes the runner);
``_Runner`` lives on the worker QThread, owns the Session, runs the jobs one at a time and
reports by signals that the GUI-thread ProtocolWorker receives over queued connections. See the
``ui.worker`` module docstring for the theory of operation.
"""

from __future__ import annotations

import time
import traceback
from collections import deque
from typing import Any

from PySide6.QtCore import (QCoreApplication, QMutex, QMutexLocker, QObject, QThread,
                            QWaitCondition, Signal, Slot)

from meterreader.client import Session, SessionNotReady, SessionState
from meterreader.client.profile import ConnectionProfile
from meterreader.client.session_types import Progress as SessionProgress
from meterreader.dlms.axdr import DataTag, decode_length
from meterreader.dlms.errors import DlmsError
from meterreader.transport import CancelToken
from ui.worker_types import ConnectedInfo, Job, Progress, TraceRecord

__all__ = ["BUSY_STATS_MS", "RECONNECT_HINT", "RawTraffic", "link_lost_message"]

#: Trace records are sent to the GUI in batches: at once after a TX (the wait for the answer
#: follows), else every TRACE_FLUSH_S or TRACE_BATCH records.
TRACE_FLUSH_S = 0.05
TRACE_BATCH = 64
PROGRESS_INTERVAL_S = 0.05
STATS_INTERVAL_S = 0.25
#: While busy the GUI gets a ``stats`` signal at least this often.
BUSY_STATS_MS = 500
#: The idle runner wakes this often to keep the association alive (Session.keep_alive).
IDLE_WAKE_MS = 1000
RECONNECT_HINT = "The connection to the meter is lost; choose Reconnect to connect again."


def link_lost_message(reason: BaseException | str) -> str:
    """What happened, then what the user can do."""
    text = str(reason).strip().rstrip(".") or type(reason).__name__
    return f"{text}. {RECONNECT_HINT}"


class _Queue:
    """The jobs waiting for the runner and the flags both threads share (behind one mutex)."""

    def __init__(self) -> None:
        self.mutex = QMutex()
        self.wake = QWaitCondition()
        self.jobs: deque[Job] = deque()
        self.current: Job | None = None
        self.stopping = False
        self.deadline = 0.0  # time.monotonic() by which stop() wants the session released

    def put(self, job: Job) -> None:
        with QMutexLocker(self.mutex):
            self.jobs.append(job)
            self.wake.wakeAll()

    def take(self, token: Any, wait_ms: int) -> Job | None:
        """The next job (the token reset for it), or None on stop or after ``wait_ms`` idle."""
        with QMutexLocker(self.mutex):
            if not self.jobs and not self.stopping:
                self.wake.wait(self.mutex, wait_ms)
            if self.stopping or not self.jobs:
                self.current = None
                return None
            job = self.jobs.popleft()
            self.current = job
            token.reset()  # under the lock: a cancel() from now on hits this job
            return job

    def finish(self) -> bool:
        """Mark the current job done; True when nothing else is queued."""
        with QMutexLocker(self.mutex):
            self.current = None
            return not self.jobs

    def drain(self, token: Any, *, stopping: bool = False) -> list[Job]:
        """Cancel the running job and return the queued ones (removed)."""
        with QMutexLocker(self.mutex):
            dropped = list(self.jobs)
            self.jobs.clear()
            token.cancel()
            if stopping:
                self.stopping = True
            self.wake.wakeAll()
            return dropped

    def remove(self, job: Job, token: Any) -> bool:
        """Drop ``job`` if queued (True); cancel it if it is running."""
        with QMutexLocker(self.mutex):
            if job in self.jobs:
                self.jobs.remove(job)
                return True
            if self.current is job:
                token.cancel()
            return False


class _Runner(QObject):
    """Lives on the worker thread: owns the Session and runs the jobs (see module docstring)."""

    job_done = Signal(object, bool, object)  # job, ok, value or exception
    job_started = Signal(object)
    traced = Signal(object)  # list[TraceRecord]
    progressed = Signal(object)
    stats_changed = Signal(object)
    connected = Signal(object)
    disconnected = Signal(str)
    link_lost = Signal(str)
    busy = Signal(bool)

    def __init__(self, queue: _Queue) -> None:
        super().__init__()
        self.queue = queue
        self.token = CancelToken()
        self.session: Session | None = None
        self.profile: ConnectionProfile | None = None
        self._pending: list[TraceRecord] = []
        self._last_flush = 0.0
        self._last_stats = 0.0
        self._last_progress = 0.0
        self._job_started = 0.0
        self._total: int | None = None  # row count of the running profile read, once known
        self._secret = b""

    # -- the loop ---------------------------------------------------------------------------------

    @Slot()
    def run(self) -> None:
        busy = False
        try:
            while True:
                job = self.queue.take(self.token, IDLE_WAKE_MS)
                if job is None:
                    if self.queue.stopping:
                        break
                    self._idle()
                    continue
                if not busy:
                    busy = True
                    self.busy.emit(True)
                self._execute(job)
                job = None  # the GUI owns finished jobs: do not keep the last one alive
                if self.queue.finish():
                    busy = False
                    self.busy.emit(False)
        finally:
            self._release("the worker stopped")
            if busy:
                self.busy.emit(False)
            self.moveToThread(QCoreApplication.instance().thread())
            QThread.currentThread().quit()

    def _execute(self, job: Job) -> None:
        self.job_started.emit(job)
        was_ready = self.session is not None and self.session.is_ready
        self._job_started = time.monotonic()
        self._last_progress = 0.0
        self._total = None
        try:
            value, ok = job._fn(self), True
            partial_error = getattr(value, "error", None)  # ProfileResult(complete=False)
            if isinstance(partial_error, BaseException):
                _detached(partial_error)
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the GUI
            value, ok = _detached(exc), False
        self._flush()
        self._emit_stats()
        self.job_done.emit(job, ok, value)
        self._after(job, was_ready, value)

    def _after(self, job: Job, was_ready: bool, value: Any) -> None:
        """Recover from Stop (BROKEN) or report a dead link (CLOSED without being asked)."""
        session = self.session
        if session is None or job.kind in ("connect", "disconnect"):
            return
        if session.state is SessionState.BROKEN and not self.queue.stopping:
            self._reassociate()
        elif was_ready and session.state is SessionState.CLOSED:
            reason = getattr(value, "error", None) or value
            self._lost(reason if isinstance(reason, BaseException) else "the session closed")

    def _reassociate(self) -> None:
        session = self.session
        assert session is not None
        session.close()
        self.token.reset()
        try:
            session.connect()
        except Exception as exc:  # noqa: BLE001
            self._lost(exc)
        self._flush()
        self._emit_stats()

    def _lost(self, reason: BaseException | str) -> None:
        if self.session is not None:
            self.session.close()
        self.session = None
        message = link_lost_message(reason)
        self.link_lost.emit(message)
        self.disconnected.emit(message)

    def _idle(self) -> None:
        """Keep the association alive while no job is queued."""
        session = self.session
        if session is None or not session.is_ready:
            return
        with QMutexLocker(self.queue.mutex):
            if self.queue.stopping or self.queue.jobs:
                return
            self.token.reset()  # a Stop pressed while idle must not hit the keep-alive
        try:
            if session.keep_alive():
                self._flush()
                self._emit_stats()
        except Exception as exc:  # noqa: BLE001
            self._flush()
            if session.state is SessionState.BROKEN:
                if not self.queue.stopping:
                    self._reassociate()
            elif session.state is SessionState.CLOSED:
                self._lost(exc)

    def _release(self, reason: str) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        was_ready = session.is_ready or session.state is SessionState.BROKEN
        remaining = self.queue.deadline - time.monotonic()
        if self.queue.stopping and remaining > 0:
            session.settings = session.settings.replace(close_timeout=max(0.1, remaining))
        session.close()
        self._flush()
        self._emit_stats(session)
        if was_ready:
            self.disconnected.emit(reason)

    def force_close(self) -> None:
        """Last resort from the GUI thread when stop() overran: break the blocked I/O."""
        session = self.session
        if session is not None:
            try:
                session.transport.close()
            except Exception:  # noqa: BLE001
                pass

    # -- job bodies (worker thread) ---------------------------------------------------------------

    def require_session(self) -> Session:
        if self.session is None:
            raise SessionNotReady("not connected: connect to a meter first")
        return self.session

    def connect(self, profile: ConnectionProfile) -> ConnectedInfo:
        if self.session is not None:
            self._release(f"disconnected to connect to {profile.describe()}")
        transport = profile.to_transport()
        settings = profile.to_settings()
        password = profile.password.reveal() if profile.password is not None else b""
        self._secret = password if len(password) >= 4 else b""
        # The raw bytes of the connect (noise, a mode E identification … that never become a
        # traced frame) for the diagnosis of a failure; unhooked once connected.
        tail = RawTraffic()
        transport.on_traffic = tail
        session = Session(transport, settings, cancel=self.token, on_trace=self._on_trace,
                          on_progress=self._on_progress)
        self.session, self.profile = session, profile
        try:
            session.connect()
        except BaseException as exc:
            self.session = None
            tail.attach(exc, self._secret)
            raise
        finally:
            transport.on_traffic = None
        info = _connected_info(profile, session)
        self.connected.emit(info)
        return info

    def disconnect(self) -> None:
        self._release("disconnected")

    # -- session callbacks (worker thread) --------------------------------------------------------

    def _on_trace(self, direction: str, layer: str, data: bytes, description: str) -> None:
        if self._secret and self._secret in data:  # defence in depth: the session masks it
            data = data.replace(self._secret, b"*" * len(self._secret))
        self._pending.append(TraceRecord(timestamp=time.time(), direction=direction,
                                         layer=layer, data=bytes(data), summary=description))
        now = time.monotonic()
        if (direction == "tx" or len(self._pending) >= TRACE_BATCH
                or now - self._last_flush >= TRACE_FLUSH_S):
            self._flush(now)
        if now - self._last_stats >= STATS_INTERVAL_S:
            self._emit_stats()

    def _on_progress(self, p: SessionProgress) -> None:
        now = time.monotonic()
        if p.rows is not None and self._total is None and self.session is not None:
            self._total = _row_count(self.session.partial_raw)
        total = self._total if p.rows is not None else None
        done = p.rows if p.rows is not None else p.blocks
        final = total is not None and done >= total
        if not final and now - self._last_progress < PROGRESS_INTERVAL_S:
            return
        self._last_progress = now
        elapsed = now - self._job_started
        eta = None
        if total is not None and done > 0:
            eta = max(0.0, elapsed / done * (total - done))
        self.progressed.emit(Progress(operation=p.operation, done=done, total=total,
                                      rows=p.rows or 0, bytes=p.bytes, eta_s=eta))

    def _flush(self, now: float | None = None) -> None:
        self._last_flush = now if now is not None else time.monotonic()
        if self._pending:
            batch, self._pending = self._pending, []
            self.traced.emit(batch)

    def _emit_stats(self, session: Session | None = None) -> None:
        session = session or self.session
        self._last_stats = time.monotonic()
        if session is not None:
            self.stats_changed.emit(session.stats)


class RawTraffic:
    """An ``on_traffic`` hook keeping the last :attr:`LIMIT` bytes each way in a ring."""

    LIMIT = 4096

    def __init__(self) -> None:
        self.tx: deque[int] = deque(maxlen=self.LIMIT)
        self.rx: deque[int] = deque(maxlen=self.LIMIT)

    def __call__(self, direction: str, data: bytes) -> None:
        (self.tx if direction == "tx" else self.rx).extend(data)

    def attach(self, exc: BaseException, secret: bytes = b"") -> None:
        """Put the bytes on ``exc`` as ``raw_tx``/``raw_rx`` (``secret`` masked in tx); the GUI
        reads them back with ``ui.finder_dialog.raw_bytes_of``."""
        tx = bytes(self.tx)
        if secret and secret in tx:
            tx = tx.replace(secret, b"*" * len(secret))
        try:
            exc.raw_tx, exc.raw_rx = tx, bytes(self.rx)  # type: ignore[attr-defined]
        except (AttributeError, TypeError):  # an exception type without __dict__
            pass


def _detached(exc: BaseException) -> BaseException:
    """``exc`` without its traceback (kept as text in ``exc.worker_traceback``), chained
    exceptions too. A traceback holds the worker's frames, which hold the Job, which holds the
    exception: a reference cycle that only the cyclic collector (on some arbitrary thread)
    could free."""
    try:
        exc.worker_traceback = "".join(  # type: ignore[attr-defined]
            traceback.format_exception(exc))
    except Exception:  # noqa: BLE001 - read-only attributes: keep going without the text
        pass
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        chained = stack.pop()
        if chained is None or id(chained) in seen:
            continue
        seen.add(id(chained))
        chained.__traceback__ = None
        stack.extend(e for e in (chained.__cause__, chained.__context__) if e is not None)
    return exc


def _row_count(raw: bytes) -> int | None:
    """The element count of the array a block transfer carries (known from its first block)."""
    if raw[:1] != bytes((DataTag.ARRAY,)):
        return None
    try:
        return decode_length(raw, 1)[0]
    except DlmsError:
        return None


def _connected_info(profile: ConnectionProfile, session: Session) -> ConnectedInfo:
    accepted = session.association
    stats = session.stats
    negotiated: dict[str, Any] = {
        "max_pdu_size": stats.server_max_pdu_size, "conformance": stats.conformance,
        "max_info_tx": stats.max_info_field_transmit, "max_info_rx": stats.max_info_field_receive,
        "window_tx": stats.window_transmit, "window_rx": stats.window_receive}
    if accepted is not None:
        negotiated["dlms_version"] = accepted.dlms_version
        negotiated["mechanism"] = accepted.mechanism
    return ConnectedInfo(
        profile_description=profile.describe(), association=profile.association_label(),
        stats=stats, server_system_title=accepted.server_system_title if accepted else None,
        negotiated=negotiated, profile=profile,
        transport_description=session.transport.description)
