"""Work-arounds for defects of the pinned PySide6 (6.12.0) on CPython 3.11, and a guard that
keeps Python's cyclic garbage collector on the GUI thread while other threads run Python code.

1. Signal emit and references to True.

``SignalInstance.emit()`` returns ``True`` without taking a reference to it, and a failed
``disconnect()`` does the same with ``False``: every Python-side ``emit`` therefore drops one
reference to ``True`` that was never taken. After a few hundred emits (``True`` starts with a
few hundred references) CPython aborts with "Fatal Python error: bool_dealloc: deallocating True
or False". CPython 3.12 made these singletons immortal; on 3.11 :func:`apply` gives ``True``,
``False`` and ``None`` a reserve of 2**40 references once, when a probe emit shows the defect.
Importing this module applies it (``ui.worker`` imports it; any module that emits signals should
import it too, or ``ui/__init__.py`` once for all).

2. Garbage collection on the GUI thread. CPython runs a cyclic collection in whichever thread
happens to allocate; a QObject caught in a reference cycle (a Job holding its exception whose
traceback holds the Job, a widget and a lambda …) may then be destroyed on the protocol worker or
simulator thread while the GUI thread delivers an event to it, and Qt crashes. pyqtgraph
documents the same remedy (``pyqtgraph.util.garbage_collector``): switch automatic collection
off and collect from a GUI-thread timer. :func:`hold_gui_gc` does that while at least one
holder (a ProtocolWorker thread, the demo meter) is alive; :func:`release_gui_gc` undoes it.
"""

from __future__ import annotations

import ctypes
import gc
import sys
import time

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Signal

__all__ = ["GuiGarbageCollector", "apply", "emit_drops_a_reference", "gui_gc_holders",
           "hold_gui_gc", "release_gui_gc"]

RESERVE = 1 << 40
_applied = False


class _Probe(QObject):
    ping = Signal()


def emit_drops_a_reference() -> bool:
    """True when a Python-side ``emit()`` drops a reference to ``True`` (the defect)."""
    probe = _Probe()
    before = sys.getrefcount(True)
    probe.ping.emit()
    return sys.getrefcount(True) < before


def _add_references(obj: object, count: int) -> None:
    # CPython ≤ 3.11 without Py_TRACE_REFS: ob_refcnt is the first field of every object.
    ctypes.c_ssize_t.from_address(id(obj)).value += count


def apply() -> bool:
    """Apply the work-around once if needed; True when it is in effect."""
    global _applied
    if _applied:
        return True
    if sys.version_info >= (3, 12) or hasattr(sys, "getobjects"):
        return False  # immortal singletons / unknown object layout
    if not emit_drops_a_reference():
        return False
    before = sys.getrefcount(True)
    for singleton in (True, False, None):
        _add_references(singleton, RESERVE)
    _applied = sys.getrefcount(True) - before >= RESERVE // 2
    return _applied


apply()


# -- garbage collection on the GUI thread ---------------------------------------------------------

#: How often the GUI thread looks at the collector's counters while automatic GC is off.
GC_INTERVAL_MS = 200
GEN2_MIN_INTERVAL_S = 30.0


class GuiGarbageCollector(QObject):
    """Collects on a GUI-thread timer, generation by generation, using the thresholds the
    automatic collector had (``gc.get_threshold()``)."""

    def __init__(self, interval_ms: int = GC_INTERVAL_MS) -> None:
        super().__init__()
        self.thresholds = gc.get_threshold()
        self._last_full = time.monotonic()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)

    def check(self) -> None:
        counts = gc.get_count()
        if counts[0] > self.thresholds[0]:
            generation = 0
            if counts[1] > self.thresholds[1]:
                generation = 1
                now = time.monotonic()
                # CPython runs a full collection only when the pending long-lived objects
                # exceed a quarter of the total (a count Python does not expose); a full
                # collection of a large heap stalls the GUI for hundreds of ms, so at most
                # one every GEN2_MIN_INTERVAL_S.
                if counts[2] > self.thresholds[2] and now - self._last_full >= \
                        GEN2_MIN_INTERVAL_S:
                    generation = 2
                    self._last_full = now
            gc.collect(generation)


_holders = 0
_collector: GuiGarbageCollector | None = None
_was_enabled = True


def _on_gui_thread() -> bool:
    app = QCoreApplication.instance()
    return app is not None and QThread.currentThread() is app.thread()


def hold_gui_gc() -> bool:
    """Add a holder (call on the GUI thread); the first one switches automatic collection off
    and starts the GUI-thread collector. False (and nothing done) without a Qt application or
    off the GUI thread — then do not call :func:`release_gui_gc` either."""
    global _holders, _collector, _was_enabled
    if not _on_gui_thread():
        return False
    _holders += 1
    if _holders == 1:
        _was_enabled = gc.isenabled()
        _collector = GuiGarbageCollector()
        gc.disable()
        _collector.timer.start()
    return True


def release_gui_gc() -> None:
    """Remove a holder; the last one collects once and restores automatic collection."""
    global _holders, _collector
    if _holders <= 0:
        return
    _holders -= 1
    if _holders == 0:
        collector, _collector = _collector, None
        if collector is not None:
            collector.timer.stop()
        gc.collect()
        if _was_enabled:
            gc.enable()


def gui_gc_holders() -> int:
    """How many holders keep automatic collection off (0: normal Python behaviour)."""
    return _holders
