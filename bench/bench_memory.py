"""Memory: peak RSS of a 100,000-row profile read and its chart.

The simulator runs in a child process (its own copy of the 100k rows is not counted): a
category C meter with ``block_load_entries=100000`` and a 60 s capture period, filled with 70
days of history (100,800 one-minute intervals, so the buffer is full). This process reads the
whole block load through :func:`meterreader.reading.plan.read_meter` (IEC 62056-47 wrapper over
TCP, no line pacing: memory does not depend on the speed), then charts it
(:func:`ui.chart_data.chart_data` + :class:`ui.charts.ProfileChart` at 1280×800, offscreen, one
repaint) and opens it the way the application does (:class:`ui.reading_view.ReadingView`).

Printed after each phase: peak RSS so far (``resource.getrusage(RUSAGE_SELF).ru_maxrss``),
current RSS (``/proc/self/statm``), the phase's time; with ``--tracemalloc`` also the Python
heap peak of the phase (slower; RSS figures then include tracemalloc's own bookkeeping).
Goal: peak RSS < 300 MB.

Run: ``.venv/bin/python bench/bench_memory.py [--rows 100000] [--tracemalloc]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

MB = 1024 * 1024


def peak_rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB  # Linux: KiB


def current_rss() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return float("nan")
    return pages * os.sysconf("SC_PAGE_SIZE") / MB


class Phases:
    def __init__(self, traced: bool) -> None:
        self.traced = traced
        self.started = time.perf_counter()

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        heap = ""
        if self.traced:
            _, peak = tracemalloc.get_traced_memory()
            heap = f", Python heap peak {peak / MB:7.1f} MB"
            tracemalloc.reset_peak()
        print(f"   {name:34s} peak RSS {peak_rss():7.1f} MB, now {current_rss():7.1f} MB"
              f"{heap}, {now - self.started:6.2f} s")
        self.started = time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--no-view", action="store_true", help="skip the ReadingView phase")
    args = parser.parse_args()
    print(f"# {platform.machine()}, {platform.python_implementation()} "
          f"{platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}")
    if args.tracemalloc:
        tracemalloc.start()
    phases = Phases(args.tracemalloc)
    from bench_wire import ChildMeter
    from meterreader.client import ConnectionSettings, Session
    from meterreader.reading.plan import read_meter
    from meterreader.transport.tcp import TcpTransport
    phases.mark("imports (client)")

    days = -(-args.rows * 60 // 86400) + 1
    print(f"== {args.rows:,}-row block load (60 s capture, {days} days of history)")
    with ChildMeter(hdlc=False, category="C", seed=1, capture_period=60,
                    days_of_block_load=days, block_load_entries=args.rows) as meter:
        settings = ConnectionSettings.for_association("mr", response_timeout=60.0)
        with Session(TcpTransport("127.0.0.1", meter.port), settings) as session:
            phases.mark("connected")
            reading = read_meter(session, "C", days=days, sections=["block_load"])
    table = reading.tables["block_load"]
    print(f"   {len(table.rows):,} rows x {len(table.columns)} columns read "
          f"({'complete' if reading.complete else 'INCOMPLETE: ' + '; '.join(reading.errors)})")
    phases.mark("read (read_meter, block load)")

    from ui import app as ui_app
    from ui.chart_data import chart_data
    from ui.charts import ProfileChart
    app = ui_app.create_application([])
    phases.mark("imports (Qt, pyqtgraph, ui)")
    data = chart_data(table)
    phases.mark("chart_data")
    chart = ProfileChart(data=data)
    chart.resize(1280, 800)
    chart.show()
    app.processEvents()
    chart.graphics.viewport().repaint()
    phases.mark("ProfileChart shown and painted")
    chart.close()
    del chart, data
    if not args.no_view:
        from ui.reading_view import ReadingView
        folder = Path(tempfile.mkdtemp(prefix="bench-memory-"))
        view = ReadingView(reading, path=folder / "reading.json")
        view.resize(1280, 800)
        view.show()
        view.show_section("block_load")
        app.processEvents()
        view.repaint()
        phases.mark("ReadingView (table + chart)")
        view.close()
    print(f"   peak RSS {peak_rss():.1f} MB (goal < 300 MB)")


if __name__ == "__main__":
    main()
