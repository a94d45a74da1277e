"""``meterreader-gui --selftest``: prove an installation works, end to end, without a display.

Starts the desktop application offscreen (settings and object cache in a temporary folder, so
the user's own are never touched), starts the built-in demo meter (the simulator, in-process),
connects through the real :class:`~ui.worker.ProtocolWorker`, waits for the object list, reads
the clock, draws a chart (numpy, pyqtgraph), opens the About box, disconnects. One line per step on stdout; exit status 0 when
every step passed, else 1 with what failed. A watchdog ends the process (status 1) if the whole
run exceeds its timeout, so a hang can never block an installer or CI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

__all__ = ["DEFAULT_TIMEOUT", "SelftestFailed", "main", "run_selftest"]

#: Seconds the whole self-test may take before it is declared failed.
DEFAULT_TIMEOUT = 60.0
#: Extra seconds the watchdog grants for shutdown after the timeout.
_WATCHDOG_GRACE = 15.0


class SelftestFailed(Exception):
    """One step failed; the message says what and why."""


class _Steps:
    """Runs named steps, timing them and printing ``selftest: <step> ... ok/FAILED``."""

    def __init__(self, stream: TextIO, deadline: float) -> None:
        self.stream = stream
        self.deadline = deadline
        self.failed: list[str] = []

    def run(self, name: str, fn: Callable[[], str | None]) -> bool:
        start = time.monotonic()
        try:
            detail = fn()
        except Exception as exc:  # noqa: BLE001 (each failure is reported, not raised)
            message = str(exc) or type(exc).__name__
            self.failed.append(f"{name}: {message}")
            self._print(f"selftest: {name} ... FAILED ({time.monotonic() - start:.2f} s): "
                        f"{message}")
            return False
        suffix = f": {detail}" if detail else ""
        self._print(f"selftest: {name} ... ok ({time.monotonic() - start:.2f} s){suffix}")
        return True

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


def _wait_until(predicate: Callable[[], bool], deadline: float, what: str) -> None:
    """Run the Qt event loop until ``predicate()`` holds; SelftestFailed at ``deadline``."""
    from PySide6.QtCore import QEventLoop, QTimer

    if predicate():
        return
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(20)

    def poll() -> None:
        if predicate() or time.monotonic() >= deadline:
            loop.quit()

    timer.timeout.connect(poll)
    timer.start()
    try:
        loop.exec()
    finally:
        timer.stop()
    if not predicate():
        raise SelftestFailed(f"timed out waiting for {what}")


def _job_result(job: Any, deadline: float, what: str) -> Any:
    """Wait for a worker Job and return its result (its exception becomes SelftestFailed)."""
    _wait_until(lambda: job.done, deadline, what)
    if job.error is not None:
        raise SelftestFailed(f"{what} failed: {job.error}")
    return job.result()


def _start_watchdog(timeout: float, stream: TextIO) -> threading.Timer:
    def expire() -> None:
        print(f"selftest: FAILED: no result within {timeout:g} s (watchdog)", file=stream,
              flush=True)
        os._exit(1)

    watchdog = threading.Timer(timeout, expire)
    watchdog.daemon = True
    watchdog.start()
    return watchdog


#: Qt messages that say nothing about the installation: the offscreen platform has no window
#: manager to pass size hints to (a plain qWarning, so QT_LOGGING_RULES cannot single it out).
_NOISE = frozenset({"This plugin does not support propagateSizeHints()"})


def _install_noise_filter() -> Callable[[], None]:
    """Drop the :data:`_NOISE` messages, pass the others on; returns the undo function."""
    from PySide6.QtCore import qInstallMessageHandler

    previous: Any = None

    def handler(mode: Any, context: Any, message: str) -> None:
        if message in _NOISE:
            return
        if previous is not None:
            previous(mode, context, message)
        else:
            print(message, file=sys.stderr, flush=True)

    previous = qInstallMessageHandler(handler)
    return lambda: qInstallMessageHandler(previous)


def run_selftest(*, timeout: float = DEFAULT_TIMEOUT, stream: TextIO | None = None) -> int:
    """Run the self-test in this process (creating an offscreen QApplication unless one
    exists); 0 when every step passed, else 1. The temporary settings folder is removed."""
    out = stream if stream is not None else sys.stdout
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # never a real window, even with a display
    watchdog = _start_watchdog(timeout + _WATCHDOG_GRACE, out)
    started = time.monotonic()
    steps = _Steps(out, started + timeout)
    restore = _install_noise_filter()
    try:
        with tempfile.TemporaryDirectory(prefix="meterreader-selftest-") as folder:
            _run_steps(steps, Path(folder))
    finally:
        watchdog.cancel()
        restore()
    total = time.monotonic() - started
    if steps.failed:
        print(f"selftest: FAILED after {total:.2f} s: " + "; ".join(steps.failed), file=out,
              flush=True)
        return 1
    print(f"selftest: passed in {total:.2f} s", file=out, flush=True)
    return 0


def _run_steps(steps: _Steps, folder: Path) -> None:
    state: dict[str, Any] = {}
    deadline = steps.deadline

    def environment() -> str:
        import platform

        from PySide6 import __version__ as pyside_version
        from PySide6.QtCore import qVersion

        from meterreader import __version__

        frozen = "bundle" if getattr(sys, "frozen", False) else "source"
        return (f"meterreader {__version__} ({frozen}), Qt {qVersion()}, PySide6 "
                f"{pyside_version}, Python {platform.python_version()}, {sys.platform}")

    def application() -> str:
        from PySide6.QtCore import QSettings
        from PySide6.QtGui import QFontDatabase

        from ui import app as ui_app

        qt_app = ui_app.create_application([])
        families = QFontDatabase.families()
        if not families:
            raise SelftestFailed("Qt found no fonts (install fonts-dejavu-core and fontconfig)")
        if ui_app.app_icon().isNull():
            raise SelftestFailed(f"application icon missing ({ui_app.ICON_PATH})")
        settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
        window = ui_app.build_main_window([], settings=settings, cache_dir=folder / "cache")
        window.show()
        state.update(app=qt_app, window=window)
        return f"platform {qt_app.platformName()}, {len(families)} font families, icon found"

    def charts() -> str:
        import numpy as np
        import pyqtgraph as pg

        plot = pg.PlotWidget()
        curve = plot.plot(np.arange(24, dtype=float), np.linspace(0.0, 2.3, 24))
        x, _y = curve.getData()
        plot.deleteLater()
        if x is None or len(x) != 24:
            raise SelftestFailed("pyqtgraph did not take the test series")
        return f"pyqtgraph {pg.__version__}, numpy {np.__version__}"

    def demo_connect() -> str:
        window = state["window"]
        window.controller.start_demo()
        _wait_until(lambda: window.worker.is_connected or window.banner.isVisible(), deadline,
                    "the connection to the demo meter")
        if not window.worker.is_connected:
            shown = getattr(window.banner, "message", "") or window.status.currentMessage()
            raise SelftestFailed(" / ".join(shown.splitlines()) or
                                 "could not connect to the demo meter")
        info = window.worker.connected_info
        return getattr(info, "profile_description", None) or "connected"

    def object_list() -> str:
        window = state["window"]
        _wait_until(lambda: window.browser.model.object_count() > 0, deadline,
                    "the object list")
        objects = _job_result(window.worker.object_list(), deadline, "object list")
        classes = {getattr(o, "class_id", None) for o in objects}
        if 8 not in classes:
            raise SelftestFailed(f"no clock (class 8) among {len(objects)} objects")
        return (f"{len(objects)} objects ({window.browser.model.object_count()} in the browser,"
                f" {len(classes)} interface classes)")

    def clock() -> str:
        window = state["window"]
        value = _job_result(window.worker.read_clock(), deadline, "read clock")
        if not isinstance(value, dt.datetime):
            raise SelftestFailed(f"clock read returned {type(value).__name__}, not a datetime")
        return value.isoformat(sep=" ")

    def about() -> str:
        from PySide6.QtCore import qVersion

        from meterreader import __version__

        window = state["window"]
        box = window.show_about()
        text = box.text()
        box.close()
        missing = [v for v in (__version__, qVersion()) if v not in text]
        if missing:
            raise SelftestFailed(f"About box lacks {', '.join(missing)}")
        return f"shows meterreader {__version__} and Qt {qVersion()}"

    def disconnect() -> str:
        window = state["window"]
        window.controller.shutdown(timeout=5.0)
        window.close()
        _wait_until(lambda: not window.worker.is_running, deadline, "the worker thread to end")
        return "association released, worker stopped, demo meter stopped"

    steps.run("environment", environment)
    if not steps.run("application", application):
        return
    try:
        steps.run("charts", charts)
        if steps.run("demo meter + connect", demo_connect):
            if steps.run("object list", object_list):
                steps.run("clock", clock)
        steps.run("about box", about)
    finally:
        steps.run("disconnect", disconnect)


def main(argv: Sequence[str] | None = None) -> int:
    """``--selftest [--timeout SECONDS]`` (arguments after ``--selftest``)."""
    parser = argparse.ArgumentParser(prog="meterreader --selftest", description=__doc__)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"seconds before the test fails (default {DEFAULT_TIMEOUT:g})")
    args, _unknown = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    return run_selftest(timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(main())
