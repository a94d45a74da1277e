"""The protocol worker: one client Session on its own QThread, driven from the GUI by jobs.

Theory of operation (STYLE.md §5, Qt's mandelbrot example): :class:`ProtocolWorker` lives on the
GUI thread and is the only object the GUI talks to. ``start()`` creates a QThread and moves a
private ``_Runner`` onto it; the runner loops taking jobs from a FIFO guarded by a QMutex and
woken by a QWaitCondition, and does every piece of I/O. Results, progress, trace frames and
counters go back by signals over *queued* connections to the worker, which re-emits them (and
settles each :class:`Job`) on the GUI thread. ``cancel()`` (Stop) sets the session's
CancelToken from the GUI thread and drops the queued jobs; ``stop()`` also releases the
association (RLRQ/DISC) with a deadline and ends the thread.

After a Stop in the middle of an exchange the session is unusable (Session semantics); the
runner releases it and associates again, so the user stays connected. When the link dies
(meter not answering, connection lost, protocol error), the runner emits ``link_lost`` with a
message offering Reconnect, then ``disconnected``.
"""

from __future__ import annotations

import atexit
import functools
import time
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (QCoreApplication, QDeadlineTimer, QObject, Qt, QThread, QTimer,
                            Signal, Slot)

from meterreader.client import Cancelled, Session, SessionNotReady, SessionStats
from meterreader.client.profile import ConnectionProfile
from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import Data
from ui.pyside_fixes import hold_gui_gc, release_gui_gc
from ui.worker_runner import BUSY_STATS_MS, _Queue, _Runner, link_lost_message
from ui.worker_types import ConnectedInfo, Job, JobNotDone, Progress, TraceRecord

__all__ = ["ConnectedInfo", "Job", "JobNotDone", "Progress", "ProtocolWorker", "TraceRecord",
           "link_lost_message", "shutdown_all_workers"]

# Every worker thread that has not been seen finished yet, so that a ProtocolWorker dropped
# without stop() never lets Python destroy a running QThread (Qt aborts the process then).
_LIVE: dict[int, tuple[QThread, _Runner, _Queue]] = {}
_hooked = False


def _prune() -> None:
    for key, (thread, _runner, _queue) in list(_LIVE.items()):
        if thread.isFinished():
            del _LIVE[key]


def _abandon(queue: _Queue, runner: _Runner, *_: Any) -> None:
    """The ProtocolWorker was deleted: let its thread release the session and end."""
    queue.deadline = time.monotonic() + 2.0
    queue.drain(runner.token, stopping=True)


def shutdown_all_workers(timeout: float = 2.0) -> None:
    """Stop every worker thread still running (at application exit); bounded by ``timeout``
    plus 1.5 s per stuck thread."""
    live = list(_LIVE.values())
    for _thread, runner, queue in live:
        queue.deadline = time.monotonic() + timeout
        queue.drain(runner.token, stopping=True)
    for thread, runner, _queue in live:
        if not thread.wait(QDeadlineTimer(int((timeout + 0.5) * 1000))):
            runner.force_close()
            thread.wait(QDeadlineTimer(1000))
    _prune()


def _hook_shutdown() -> None:
    global _hooked
    if _hooked:
        return
    _hooked = True
    atexit.register(shutdown_all_workers)
    app = QCoreApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(shutdown_all_workers)


class ProtocolWorker(QObject):
    """The GUI's handle on the protocol thread (see the module docstring).

    Signals (all emitted on the GUI thread): ``connected(ConnectedInfo)``,
    ``disconnected(str reason)`` (after a disconnect, a stop, or a lost link),
    ``link_lost(str message)`` (the session died; emitted before ``disconnected``),
    ``progress(Progress)``, ``trace(TraceRecord)`` (also ``trace_batch(list)``),
    ``stats(SessionStats)``, ``busy_changed(bool)``, ``job_started(Job)``.
    """

    connected = Signal(object)
    disconnected = Signal(str)
    link_lost = Signal(str)
    progress = Signal(object)
    trace = Signal(object)
    trace_batch = Signal(object)
    stats = Signal(object)
    busy_changed = Signal(bool)
    job_started = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue = _Queue()
        self._thread: QThread | None = None
        self._runner: _Runner | None = None
        self._retired_thread: QThread | None = None  # kept until the next start()
        self._retired_runner: _Runner | None = None
        self._jobs: set[Job] = set()
        self._connected_info: ConnectedInfo | None = None
        self._last_profile: ConnectionProfile | None = None
        self._last_stats: SessionStats | None = None
        self._busy = False
        self._gc_held = False
        self._busy_timer = QTimer(self)
        self._busy_timer.setInterval(BUSY_STATS_MS)
        self._busy_timer.timeout.connect(self._repeat_stats)

    # -- lifecycle --------------------------------------------------------------------------------

    @property
    def worker_thread(self) -> QThread | None:
        """The worker QThread (the last one after stop(); None before the first start())."""
        return self._thread if self._thread is not None else self._retired_thread

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def start(self) -> None:
        """Create the worker thread (no-op when it runs)."""
        if self._thread is not None:
            return
        self._retired_thread = self._retired_runner = None
        self._queue = _Queue()
        thread = QThread()
        thread.setObjectName("meterreader protocol worker")
        runner = _Runner(self._queue)
        runner.moveToThread(thread)
        queued = Qt.ConnectionType.QueuedConnection
        runner.job_done.connect(self._on_job_done, queued)
        runner.job_started.connect(self.job_started, queued)
        runner.traced.connect(self._on_traced, queued)
        runner.progressed.connect(self.progress, queued)
        runner.stats_changed.connect(self._on_stats, queued)
        runner.connected.connect(self._on_connected, queued)
        runner.disconnected.connect(self._on_disconnected, queued)
        runner.link_lost.connect(self.link_lost, queued)
        runner.busy.connect(self._on_busy, queued)
        thread.started.connect(runner.run)
        thread.finished.connect(self._on_thread_finished, queued)
        self.destroyed.connect(functools.partial(_abandon, self._queue, runner))
        self._thread, self._runner = thread, runner
        self._gc_held = hold_gui_gc()  # collect cycles on this thread only while it runs
        _prune()
        _LIVE[id(thread)] = (thread, runner, self._queue)
        _hook_shutdown()
        thread.start()

    def stop(self, timeout: float = 2.0, *, wait: bool = True) -> bool:
        """Stop: cancel the running job, drop the queued ones, release the association
        (RLRQ/DISC) within ``timeout`` and end the thread. With ``wait`` (default) block until
        the thread has ended (at most ``timeout`` + 1.5 s); returns True when it has."""
        thread, runner = self._thread, self._runner
        if thread is None:
            return True
        self._queue.deadline = time.monotonic() + timeout
        assert runner is not None
        for job in self._queue.drain(runner.token, stopping=True):
            self._fail_later(job, Cancelled(f"{job.description}: stopped before it started"))
        if not wait:
            return False
        if not thread.wait(QDeadlineTimer(int((timeout + 0.5) * 1000))):
            runner.force_close()
            if not thread.wait(QDeadlineTimer(1000)):
                return False
        self._on_thread_finished()
        return True

    def cancel(self) -> None:
        """Stop button: the running job fails with Cancelled (a profile read returns its rows so
        far, ``complete=False``) and the queued jobs are dropped (failed with Cancelled)."""
        if self._runner is None:
            return
        for job in self._queue.drain(self._runner.token):
            self._fail_later(job, Cancelled(f"{job.description}: stopped before it started"))

    # -- state ------------------------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        return self._connected_info is not None

    @property
    def is_busy(self) -> bool:
        return self._busy

    @property
    def connected_info(self) -> ConnectedInfo | None:
        return self._connected_info

    @property
    def profile(self) -> ConnectionProfile | None:
        """The profile of the last connect (kept after a lost link, for Reconnect)."""
        return self._last_profile

    @property
    def last_stats(self) -> SessionStats | None:
        return self._last_stats

    @property
    def pending_jobs(self) -> int:
        return len(self._jobs)

    # -- requests ---------------------------------------------------------------------------------

    def submit(self, fn: Callable[[Session], Any], *, description: str) -> Job:
        """Run ``fn(session)`` on the worker thread (after the jobs queued before it)."""
        return self._submit(lambda runner: fn(runner.require_session()), description)

    def _submit(self, fn: Callable[[_Runner], Any], description: str, kind: str = "call"
                ) -> Job:
        thread = self._thread
        if thread is not None and self._queue.stopping:
            # stop(wait=False) is still releasing: let that thread end, then start afresh.
            remaining = max(0.0, self._queue.deadline - time.monotonic())
            thread.wait(QDeadlineTimer(int((remaining + 1.5) * 1000)))
            self._on_thread_finished()
        if self._thread is None:
            self.start()
        job = Job(description, fn, kind=kind, parent=None)
        job._canceller = self._cancel_job
        self._jobs.add(job)
        if self._queue.stopping:  # the old thread would not end: refuse rather than hang
            self._fail_later(job, Cancelled(f"{description}: the worker is still stopping"))
        else:
            self._queue.put(job)
        return job

    def connect_meter(self, profile: ConnectionProfile) -> Job:
        """Connect and associate (result :class:`ConnectedInfo`); a connected session is
        released first."""
        self._last_profile = profile
        return self._submit(lambda r: r.connect(profile), f"connect to {profile.describe()}",
                            "connect")

    def reconnect(self) -> Job:
        """Connect again with the last profile (after a lost link)."""
        if self._last_profile is None:
            raise SessionNotReady("nothing to reconnect to: connect to a meter first")
        return self.connect_meter(self._last_profile)

    def disconnect_meter(self) -> Job:
        """Release the association and close the link (result None)."""
        return self._submit(lambda r: r.disconnect(), "disconnect", "disconnect")

    def get(self, class_id: int, obis: Obis | str, attr: int, selection: Any = None) -> Job:
        """One attribute (result :class:`Data`)."""
        return self.submit(lambda s: s.get(class_id, obis, attr, selection),
                           description=f"GET {obis}:{attr}")

    def get_many(self, targets: Sequence[tuple[int, Obis | str, int]]) -> Job:
        """Several attributes (result: list of Data or DataAccessResult)."""
        items = list(targets)
        return self.submit(lambda s: s.get_many(items), description=f"GET {len(items)} attributes")

    def set(self, class_id: int, obis: Obis | str, attr: int, value: Data) -> Job:
        """Write one attribute (result None)."""
        return self.submit(lambda s: s.set(class_id, obis, attr, value),
                           description=f"SET {obis}:{attr}")

    def action(self, class_id: int, obis: Obis | str, method: int,
               params: Data | None = None) -> Job:
        """Invoke a method (result: its return Data or None)."""
        return self.submit(lambda s: s.action(class_id, obis, method, params),
                           description=f"ACTION {obis}:{method}")

    def read_register(self, obis: Obis | str, class_id: int | None = None) -> Job:
        """A register with scaler and unit (result :class:`Quantity`)."""
        return self.submit(lambda s: s.read_register(obis, class_id=class_id),
                           description=f"read register {obis}")

    def read_clock(self) -> Job:
        """The meter's clock (result ``datetime``)."""
        return self.submit(lambda s: s.read_clock(), description="read clock")

    def object_list(self) -> Job:
        """The association's object list (result list[CosemObjectInfo])."""
        return self.submit(lambda s: s.object_list(), description="object list")

    def logical_devices(self) -> Job:
        """The logical devices (result list[LogicalDeviceInfo])."""
        return self.submit(lambda s: s.logical_devices(), description="logical devices")

    def read_profile(self, obis: Obis | str, **kw: Any) -> Job:
        """A profile generic buffer (result ProfileResult; ``progress`` signals meanwhile).
        ``kw`` as :meth:`Session.read_profile` (range, entries, columns, scalers)."""
        kw.pop("progress", None)
        return self.submit(lambda s: s.read_profile(obis, **kw), description=f"profile {obis}")

    # -- GUI-thread slots -------------------------------------------------------------------------

    def _cancel_job(self, job: Job) -> None:
        if self._runner is not None and self._queue.remove(job, self._runner.token):
            self._fail_later(job, Cancelled(f"{job.description}: cancelled before it started"))

    def _fail_later(self, job: Job, exc: BaseException) -> None:
        QTimer.singleShot(0, self, lambda: self._settle(job, False, exc))

    def _settle(self, job: Job, ok: bool, value: Any) -> None:
        self._jobs.discard(job)
        job._settle(ok, value)

    @Slot(object, bool, object)
    def _on_job_done(self, job: Job, ok: bool, value: Any) -> None:
        self._settle(job, ok, value)

    @Slot(object)
    def _on_traced(self, batch: list[TraceRecord]) -> None:
        self.trace_batch.emit(batch)
        for record in batch:
            self.trace.emit(record)

    @Slot(object)
    def _on_stats(self, stats: SessionStats) -> None:
        self._last_stats = stats
        self.stats.emit(stats)

    @Slot(object)
    def _on_connected(self, info: ConnectedInfo) -> None:
        self._connected_info = info
        self.connected.emit(info)

    @Slot(str)
    def _on_disconnected(self, reason: str) -> None:
        self._connected_info = None
        self.disconnected.emit(reason)

    @Slot(bool)
    def _on_busy(self, busy: bool) -> None:
        if busy == self._busy:
            return
        self._busy = busy
        if busy:
            self._busy_timer.start()
        else:
            self._busy_timer.stop()
        self.busy_changed.emit(busy)

    def _repeat_stats(self) -> None:
        if self._last_stats is not None:
            self.stats.emit(self._last_stats)

    @Slot()
    def _on_thread_finished(self) -> None:
        thread = self._thread
        if thread is None or not thread.isFinished():
            return  # already handled, or a newer thread runs
        self._retired_thread, self._retired_runner = thread, self._runner
        self._thread, self._runner = None, None
        self._busy_timer.stop()
        if self._gc_held:
            self._gc_held = False
            release_gui_gc()
        if self._busy:
            self._on_busy(False)

