"""GUI responsiveness: GUI-thread stalls during a full read, panning a 100k-point chart, cold start.

* ``stall`` — the main window (offscreen) connects to the simulator (HDLC over TCP, in a child
  process, optionally behind an emulated line of ``--baud``), opens Read meter (IS 15959) from
  its action and reads a whole category C meter; a 10 ms QTimer heartbeat on the GUI thread
  records how late each tick comes. Stall = interval between ticks − 10 ms; reported for the
  transfer (Read clicked → reading received) and for showing the reading (→ 1 s after the
  reading view opened). Goal: max < 50 ms.
* ``pan`` — a :class:`ui.charts.ProfileChart` of a 100,000-row block load (9 columns, 1-minute
  capture, 3 plots) at 1280×800: each frame pans the x range by 2 % and repaints synchronously
  (``viewport().repaint()``); frame time = pan + repaint. Zoomed to the whole range and to one
  week. Goal: < 16 ms.
* ``start`` — cold start in a fresh interpreter (``python -c``: import ui.app, create the
  application, build and show the main window, first event-loop turn); timed by the parent
  from spawn to the child's "shown" line. Goal: < 2 s.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_gui.py [--parts stall,pan,start]
[--baud 0] [--days 7]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

HEARTBEAT_MS = 10


def spin(app, until, timeout: float) -> bool:
    """Run the event loop until ``until()`` is true (polled every 5 ms) or ``timeout``."""
    from PySide6.QtCore import QEventLoop, QTimer
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(5)
    poll.timeout.connect(lambda: loop.quit() if until() else None)
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    poll.start()
    deadline.start(int(timeout * 1000))
    if not until():
        loop.exec()
    poll.stop()
    deadline.stop()
    return bool(until())


class Heartbeat:
    """A 10 ms QTimer on the GUI thread; ``ticks`` holds the monotonic time of every tick."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer
        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(lambda: self.ticks.append(time.monotonic()))

    def start(self) -> None:
        self.ticks.append(time.monotonic())
        self.timer.start()

    def stalls(self, start: float, end: float) -> list[tuple[float, float]]:
        """(stall seconds, when) for each tick interval ending in [start, end]."""
        t = self.ticks
        return [(b - a - HEARTBEAT_MS / 1000, b) for a, b in zip(t, t[1:]) if start < b <= end]


def summary(stalls: list[tuple[float, float]], origin: float) -> str:
    if not stalls:
        return "no ticks"
    values = sorted(s for s, _ in stalls)
    worst, when = max(stalls)
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    over = sum(1 for v in values if v > 0.050)
    return (f"max {worst * 1000:6.1f} ms (at +{when - origin:.2f} s), p99 {p99 * 1000:5.1f} ms,"
            f" {over} over 50 ms, {len(values)} ticks")


def bench_stall(baud: int, days: int) -> None:
    from PySide6.QtCore import QSettings
    from bench_wire import ChildMeter
    from meterreader.client.profile import ConnectionProfile
    from ui import app as ui_app

    print(f"== stall: full category C read through the main window, HDLC over TCP"
          f"{f' at {baud} Bd' if baud else ' (no line pacing)'}, {days} days of block load")
    tmp = Path(tempfile.mkdtemp(prefix="bench-gui-"))
    settings = QSettings(str(tmp / "meterreader.ini"), QSettings.Format.IniFormat)
    settings.setValue("reading/folder", str(tmp / "readings"))
    settings.setValue("reading/days", days)
    app = ui_app.create_application([])
    spent = _time_calls()
    window = ui_app.build_main_window(settings=settings, cache_dir=tmp / "cache")
    window.resize(1300, 850)
    window.show()
    with ChildMeter(baud=baud or None, category="C", seed=1) as meter:
        profile = ConnectionProfile.for_association("mr", name="bench", port=meter.port,
                                                    framing="hdlc", response_timeout=5.0)
        window.controller.connect_profile(profile)
        ok = spin(app, lambda: window.worker.is_connected
                  and window.browser.model.object_count() > 0 and not window.worker.is_busy, 120)
        if not ok:
            raise SystemExit("not connected")
        spin(app, lambda: False, 0.5)
        heart = Heartbeat()
        heart.start()
        spin(app, lambda: False, 0.3)
        window.read_meter_action.trigger()
        dialog = window.readings.read_dialog
        spin(app, dialog.isVisible, 10)
        dialog.days.setValue(days)
        received: list[float] = []
        clicked = time.monotonic()
        job = dialog.start()
        job.finished.connect(lambda _r: received.append(time.monotonic()))
        spin(app, lambda: window.current_reading_view() is not None, 600)
        shown = time.monotonic()
        spin(app, lambda: False, 1.0)
        end = time.monotonic()
        heart.timer.stop()
        done = received[0] if received else shown
        view = window.current_reading_view()
        rows = len(view.reading.tables["block_load"].rows) if view is not None else 0
        print(f"   read {done - clicked:.2f} s ({rows} block load rows); reading view shown "
              f"{(shown - done) * 1000:.0f} ms after the reading arrived")
        print(f"   transfer:        {summary(heart.stalls(clicked, done), clicked)}")
        print(f"   showing result:  {summary(heart.stalls(done, end), clicked)}")
        print(f"   whole:           {summary(heart.stalls(clicked, end), clicked)}")
        where = {"save_reading": "worker thread", "show_reading": "GUI thread"}
        print("   after the read: " + ", ".join(
            f"{name} {sum(t) * 1000:.0f} ms ({where[name]})" for name, t in spent.items()))
        window.controller.disconnect() if hasattr(window.controller, "disconnect") else None
        spin(app, lambda: not window.worker.is_busy, 5)
    window.close()


def _time_calls() -> dict[str, list[float]]:
    """Wrap the steps after a read with timers, to attribute a stall; behaviour unchanged.
    Saving the JSON runs on the worker thread (inside the read job), opening the reading view
    on the GUI thread."""
    import functools
    import meterreader.reading.json_io as json_io
    from ui.main_readings import ReadingController
    spent: dict[str, list[float]] = {"save_reading": [], "show_reading": []}

    def timed(name, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name].append(time.perf_counter() - started)
        return wrapper

    json_io.save_reading = timed("save_reading", json_io.save_reading)
    ReadingController.show_reading = timed("show_reading", ReadingController.show_reading)
    return spent


def block_load_table(rows: int):
    """A synthetic IS 15959 block load of ``rows`` 1-minute rows (clock, 3 V, 3 A, 2 energies)."""
    import math
    from meterreader.reading.model import ReadingColumn, ReadingTable
    cols = [ReadingColumn(title="Date and time", class_id=8, obis="0.0.1.0.0.255",
                          kind="datetime")]
    cols += [ReadingColumn(title=f"Voltage L{p}", class_id=3, obis=f"1.0.{12 + 20 * p}.27.0.255",
                           unit="V", scaler=-1) for p in (1, 2, 3)]
    cols += [ReadingColumn(title=f"Current L{p}", class_id=3, obis=f"1.0.{11 + 20 * p}.27.0.255",
                           unit="A", scaler=-2) for p in (1, 2, 3)]
    cols += [ReadingColumn(title="Block energy kWh import", class_id=3, obis="1.0.1.29.0.255",
                           unit="kWh", scaler=-3),
             ReadingColumn(title="Block energy kVAh import", class_id=3, obis="1.0.9.29.0.255",
                           unit="kVAh", scaler=-3)]
    start = dt.datetime(2026, 1, 1)
    step = dt.timedelta(minutes=1)
    out = []
    for i in range(rows):
        day = math.sin(i / 1440 * 2 * math.pi)
        out.append((start + i * step, 230 + 3 * day, 231 + 2 * day, 229 + day,
                    5 + 4 * day, 4 + 3 * day, 6 + 2 * day, 0.1 + 0.05 * day, 0.11 + 0.05 * day))
    return ReadingTable(section="block_load", title="Block load survey", obis="1.0.99.1.0.255",
                        columns=tuple(cols), rows=tuple(out), capture_period=60)


#: Variants of the chart measured by ``--chart-variant`` (applied here only). ``as-is`` is
#: ui/charts.py itself, which now has 1-pixel pens, autoDownsampleFactor 1 and no grid for
#: series longer than GRID_MAX_POINTS (so as-is is the fast variant for long series); thin /
#: fast re-apply the pens and the factor (no change now); fast-nogrid also forces the grid off
#: (what the grid costs on a short series: ``--rows 10000``).
CHART_VARIANTS = ("as-is", "thin", "fast", "fast-nogrid")


def _apply_variant(chart, variant: str) -> None:
    import pyqtgraph as pg
    for items in chart.items.values():
        for item in items:
            item.setPen(pg.mkPen(item.opts["pen"].color(), width=1))
            if variant.startswith("fast"):
                item.opts["autoDownsampleFactor"] = 1.0
                item.updateItems(styleUpdate=False)
    if variant.endswith("nogrid"):
        for plot in chart.plots.values():
            plot.showGrid(x=False, y=False)


def bench_pan(rows: int, frames: int, variant: str) -> None:
    from ui import app as ui_app
    from ui.chart_data import chart_data
    from ui.charts import ProfileChart

    app = ui_app.create_application([])
    table = block_load_table(rows)
    t0 = time.perf_counter()
    data = chart_data(table)
    t1 = time.perf_counter()
    chart = ProfileChart(data=data)
    chart.resize(1280, 800)
    chart.show()
    app.processEvents()
    if variant != "as-is":
        _apply_variant(chart, variant)
    chart.graphics.viewport().repaint()
    t2 = time.perf_counter()
    print(f"== pan: ProfileChart of {rows:,} rows x {len(data.series)} series, 1280x800, "
          f"chart {variant}")
    print(f"   chart_data {(t1 - t0) * 1000:.0f} ms, build + first paint "
          f"{(t2 - t1) * 1000:.0f} ms")
    first = next(iter(chart.plots.values()))
    box = first.getViewBox()
    (x0, x1), _ = box.viewRange()
    for label, span in (("whole range", x1 - x0), ("one week", 7 * 86400.0)):
        box.setXRange(x0, x0 + span, padding=0)
        app.processEvents()
        chart.graphics.viewport().repaint()
        grid = first.ctrl.xGridCheck.isChecked()
        wall, cpu = [], []
        for i in range(frames):
            sign = 1 if (i // (frames // 4 or 1)) % 2 == 0 else -1
            started, used = time.perf_counter(), time.thread_time()
            box.translateBy(x=sign * span * 0.02)
            chart.graphics.viewport().repaint()
            app.processEvents()
            wall.append(time.perf_counter() - started)
            cpu.append(time.thread_time() - used)
        wall.sort()
        print(f"   {label:12s} frame: median {statistics.median(wall) * 1000:5.1f} ms, "
              f"p95 {wall[int(len(wall) * 0.95)] * 1000:5.1f} ms, max {wall[-1] * 1000:5.1f} ms"
              f"; GUI-thread CPU median {statistics.median(cpu) * 1000:5.1f} ms "
              f"({frames} frames, grid {'on' if grid else 'off'})")
    chart.close()


_START_CODE = """
import sys, time
from ui import app as ui_app
from PySide6.QtCore import QSettings
app = ui_app.create_application([])
ui_app.check_fonts()
ui_app.apply_os_palette(app)
settings = QSettings(sys.argv[1], QSettings.Format.IniFormat)
window = ui_app.build_main_window(settings=settings, cache_dir=sys.argv[2])
window.show()
app.processEvents()
print("shown", time.perf_counter(), flush=True)
"""


def bench_start(runs: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-gui-start-"))
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               PYTHONPATH=str(ROOT))
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", _START_CODE, str(tmp / "s.ini"),
                                 str(tmp / "cache")], stdout=subprocess.PIPE, env=env,
                                cwd=str(ROOT), text=True)
        line = proc.stdout.readline()
        shown = time.perf_counter()
        proc.kill()
        proc.wait()
        if not line.startswith("shown"):
            raise SystemExit(f"the child did not show its window: {line!r}")
        times.append(shown - started)
    importing = subprocess.run(
        [sys.executable, "-c", "import time; t = time.perf_counter(); import ui.app; "
         "print(time.perf_counter() - t)"], capture_output=True, text=True, env=env,
        cwd=str(ROOT)).stdout.strip()
    print(f"== start: python -c (import ui.app, QApplication, MainWindow, show, first turn)")
    print(f"   spawn → window shown: median {statistics.median(times):.2f} s, "
          f"min {min(times):.2f} s, max {max(times):.2f} s ({runs} runs; first "
          f"{times[0]:.2f} s); of it importing ui.app {float(importing):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="stall,pan,start")
    parser.add_argument("--baud", type=int, default=0, help="line speed for stall (0: none)")
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--runs", type=int, default=5, help="cold starts")
    parser.add_argument("--chart-variant", default="as-is",
                        help="comma-separated of " + ", ".join(CHART_VARIANTS) + ": candidate "
                             "fixes of ui/charts.py, applied here only (see CHART_VARIANTS)")
    args = parser.parse_args()
    print(f"# {platform.machine()}, {platform.python_implementation()} "
          f"{platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}, "
          f"QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM')}")
    parts = args.parts.split(",")
    if "start" in parts:
        bench_start(args.runs)
    if "pan" in parts:
        for variant in args.chart_variant.split(","):
            if variant not in CHART_VARIANTS:
                parser.error(f"--chart-variant: one of {', '.join(CHART_VARIANTS)}")
            bench_pan(args.rows, args.frames, variant)
    if "stall" in parts:
        bench_stall(args.baud, args.days)


if __name__ == "__main__":
    main()
