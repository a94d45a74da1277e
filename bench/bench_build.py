"""Timings that used to be asserts in tests (tests carry no timings): building a category C
simulator with 35 days of block load, a range selection on a 10,000-row profile, and an XLSX
report of a 10,000-row block load.

Prints figures; not a test. Run: ``.venv/bin/python bench/bench_build.py``.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))  # the tests' sample builders

from meterreader.simulator.builder import build_meter  # noqa: E402


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    print(f"# {platform.machine()}, {platform.python_implementation()} "
          f"{platform.python_version()}, {os.cpu_count()} CPUs")
    t0 = dt.datetime(2026, 1, 1, 12, 0)
    t = timed(lambda: build_meter("C", seed=99, now=lambda: t0, days_of_block_load=35))
    print(f"simulator category C, 35 days of block load   {t * 1e3:8.1f} ms  (was asserted < 1 s)")

    from test_sim_objects import by_range, make_profile, octets_at

    from meterreader.dlms.axdr import encode_data
    _, profile, times, _ = make_profile(rows=10_000, entries=10_000)

    def select() -> None:
        by_range(profile, octets_at(times[5000]), octets_at(times[5099]))
        encode_data(profile.get(2))
    t = timed(select)
    print(f"10,000-row profile: range selection + encode   {t * 1e3:8.1f} ms  (was asserted < 1 s)")

    from test_reports_common import sample_reading

    from meterreader.reports.xlsx_report import write_xlsx
    reading = sample_reading(block_rows=10_000)
    with tempfile.TemporaryDirectory() as tmp:
        t = timed(lambda: write_xlsx(reading, Path(tmp) / "big.xlsx"), repeat=1)
    print(f"XLSX report, 10,000-row block load             {t * 1e3:8.1f} ms  (was asserted < 15 s)")


if __name__ == "__main__":
    main()
