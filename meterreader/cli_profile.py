"""The ``profile`` subcommand: a profile generic buffer (block load, daily load, billing, events)
as CSV or JSON, whole, by date range, by entries or for the last N days.

CSV: a header row of column titles with units, then one row per entry; date-times in ISO 8601
with the meter's UTC offset. A transfer that fails part-way still writes the rows received,
says how many were kept and exits with the failure's code; ``--resume FILE`` then continues it
from the last capture time in FILE (see :mod:`meterreader.client.resume`) and appends only the
new rows, so the file ends equal to an uninterrupted download.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import sys
import textwrap
from typing import IO, Any

from meterreader.atomic import atomic_write_text
from meterreader.cli_connect import (EXIT_CODES_TEXT, EXIT_OK, UsageError,
                                     add_connection_options, failure)
from meterreader.cli_run import RunContext, run_session
from meterreader.cli_values import cell_text, json_safe
from meterreader.client.resume import ResumePoint, read_rest
from meterreader.cosem.obis import Obis
from meterreader.dlms.errors import DlmsError
from meterreader.india.profiles import column_title

__all__ = ["add_parser", "write_csv", "write_json"]


def _obis(text: str) -> Obis:
    try:
        return Obis.parse(text)
    except DlmsError:
        raise argparse.ArgumentTypeError(f"not an OBIS code: {text!r}") from None


def _iso(text: str) -> dt.datetime | dt.date:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {text!r} (e.g. "
                                         "2024-05-01T00:00 or 2024-05-01T00:00+05:30)") from None


def _entries(text: str) -> tuple[int, int | None]:
    first, sep, last = text.partition(":")
    try:
        a, b = int(first), (int(last) if last else None)
    except ValueError:
        a = b = -1
    if not sep or a < 1 or (b is not None and b < a):
        raise argparse.ArgumentTypeError(f"expected FIRST:LAST or FIRST: (1-based, LAST >= "
                                         f"FIRST), got {text!r}")
    return a, b


def _days(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) <= 3660:
        raise argparse.ArgumentTypeError(f"expected a number of days 1..3660, got {text!r}")
    return int(text)


# -- output ---------------------------------------------------------------------------------------

def write_csv(result: Any, out: IO[str]) -> None:
    """Header of column titles (with units), then the rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.title for c in result.columns])
    for row in result.rows:
        writer.writerow([cell_text(v) for v in row])


def _write(result: Any, out: IO[str], fmt: str, ctx: RunContext) -> None:
    if fmt == "json":
        error = ctx.failure(result.error)[1] if result.error is not None else None
        write_json(result, out, error=error)
    else:
        write_csv(result, out)


def write_json(result: Any, out: IO[str], *, error: str | None = None) -> None:
    """``{"obis", "columns", "rows", "complete", "error"}`` (``error``: the failure's text)."""
    doc = {
        "obis": str(result.obis),
        "columns": [{"title": c.title, "class_id": c.class_id, "obis": str(c.obis),
                     "attribute": c.attribute, "scaler": c.scaler,
                     "unit": c.unit_text or None} for c in result.columns],
        "rows": [[json_safe(v) for v in row] for row in result.rows],
        "complete": result.complete,
        "error": error if error is not None or result.error is None
        else failure(result.error)[1],
    }
    json.dump(doc, out, indent=2, ensure_ascii=False)
    out.write("\n")


class _Progress:
    """``on_progress`` that rewrites one status line on a terminal's standard error."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.shown = False

    def __call__(self, p: Any) -> None:
        rows = f", {p.rows} rows" if p.rows is not None else ""
        self.stream.write(f"\r{p.operation}: block {p.blocks}{rows}, {p.bytes / 1024:.1f} kB ")
        self.stream.flush()
        self.shown = True

    def end(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False


# -- resume ---------------------------------------------------------------------------------------

#: Title of the clock column (Clock, class 8, attribute 2) in a saved CSV.
_CLOCK_TITLE = column_title(Obis(0, 0, 1, 0, 0, 255), None, class_id=8, attribute=2)


def _time(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


class _Saved:
    """An earlier (interrupted) output of this command: its format, titles, rows and text.

    The rows are validated: each is a list of one cell per column. A last row with fewer
    cells (a CSV cut in the middle of a row) is dropped, so the continuation reads it again;
    any other malformed row is a usage error."""

    def __init__(self, path: str, obis: Obis) -> None:
        self.path = path
        try:
            with open(path, encoding="utf-8", newline="") as f:
                self.text = f.read()
        except OSError as exc:
            raise UsageError(f"--resume: cannot read {path}: {exc.strerror or exc}") from None
        self.json = self.text.lstrip().startswith("{")
        try:
            if self.json:
                self.doc = json.loads(self.text)
                if self.doc.get("obis") != str(obis):
                    raise UsageError(f"--resume: {path} holds profile {self.doc.get('obis')}, "
                                     f"not {obis}")
                columns = self.doc["columns"]
                self.titles = [c["title"] for c in columns]
                self.rows = self.doc["rows"]
                clock = next((i for i, c in enumerate(columns)
                              if c.get("class_id") == 8 and c.get("attribute") == 2), None)
            else:
                table = list(csv.reader(self.text.splitlines()))
                self.titles, self.rows = (table[0], table[1:]) if table else ([], [])
                clock = self.titles.index(_CLOCK_TITLE) if _CLOCK_TITLE in self.titles else None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UsageError(f"--resume: {path} is not a CSV or JSON written by this "
                             f"command ({exc})") from None
        if not self.titles:
            raise UsageError(f"--resume: {path} is empty")
        self._validate_rows()
        self.times = [_time(row[clock]) if clock is not None else None for row in self.rows]
        self.has_clock = clock is not None

    def _validate_rows(self) -> None:
        rows, width = self.rows, len(self.titles)
        if not isinstance(rows, list):
            raise UsageError(f"--resume: {self.path}: \"rows\" is not a list")
        for number, row in enumerate(rows, 1):
            if not isinstance(row, list):
                raise UsageError(f"--resume: {self.path}: row {number} is not a list of "
                                 f"cells ({type(row).__name__})")
        # Our CSV ends every row with a newline: without one the last row was cut short.
        cut = not self.json and bool(rows) and not self.text.endswith(("\n", "\r"))
        if rows and (cut or len(rows[-1]) < width):
            print(f"meterreader profile: {self.path}: the last row is incomplete "
                  f"({len(rows[-1])} of {width} cells{', no line end' if cut else ''}); "
                  "it is dropped and read again", file=sys.stderr)
            self.rows = rows = rows[:-1]
            if not self.json:
                out = io.StringIO()
                csv.writer(out, lineterminator="\n").writerows([self.titles, *rows])
                self.text = out.getvalue()
        for number, row in enumerate(rows, 1):
            if len(row) != width:
                raise UsageError(f"--resume: {self.path}: row {number} has {len(row)} cells, "
                                 f"the header {width}; the file is damaged")

    def merged(self, rest: Any, ctx: RunContext) -> str:
        """The saved text with ``rest``'s rows appended (the same text a clean read writes)."""
        if rest.columns and [c.title for c in rest.columns] != self.titles:
            raise UsageError("--resume: the meter's columns differ from the saved file's")
        if self.json:
            doc = dict(self.doc)
            doc["rows"] = list(self.rows) + [[json_safe(v) for v in row] for row in rest.rows]
            doc["complete"] = rest.complete
            doc["error"] = ctx.failure(rest.error)[1] if rest.error is not None else None
            return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        out = io.StringIO()
        out.write(self.text if self.text.endswith("\n") else self.text + "\n")
        csv.writer(out, lineterminator="\n").writerows(
            [cell_text(v) for v in row] for row in rest.rows)
        return out.getvalue()


def _resume(session: Any, args: argparse.Namespace, ctx: RunContext,
            progress: _Progress | None, span: tuple[Any, Any] | None) -> int:
    saved: _Saved = args.saved
    if not saved.has_clock and args.entries is None and saved.rows:
        raise UsageError(f"--resume: {args.resume} has no clock column; resume by --entries")
    point = ResumePoint.from_times(args.obis, saved.times, span=span, entries=args.entries)
    try:
        rest = read_rest(session, point, progress=progress)
    finally:
        if progress is not None:
            progress.end()
    target = args.output if args.output not in (None, "-") else args.resume
    atomic_write_text(target, saved.merged(rest, ctx), newline="")
    total = len(saved.rows) + len(rest.rows)
    if not rest.complete:
        code, message = ctx.failure(rest.error)
        print(f"meterreader profile: transfer failed part-way again: {total} rows kept in "
              f"{target} ({len(rest.rows)} new); run again with --resume {target}; {message}",
              file=sys.stderr)
        return code
    print(f"{len(rest.rows)} new rows, {total} in all, written to {target}", file=sys.stderr)
    return EXIT_OK


def _profile(session: Any, args: argparse.Namespace, ctx: RunContext,
             progress: _Progress | None) -> int:
    if args.resume is not None:
        return _resume(session, args, ctx, progress,
                       (args.start, args.end) if args.start or args.end else None)
    span = None
    if args.last_days is not None:
        now = session.read_clock()
        if not isinstance(now, dt.datetime):
            raise UsageError("--last-days: the meter clock is not a complete date-time; use "
                             "--from/--to")
        span = (now - dt.timedelta(days=args.last_days), None)
    elif args.start is not None or args.end is not None:
        span = (args.start, args.end)
    try:
        result = session.read_profile(args.obis, range=span, entries=args.entries,
                                      progress=progress)
    finally:
        if progress is not None:
            progress.end()
    fmt = "json" if args.json else args.format
    target = args.output if args.output not in (None, "-") else None
    if target is None:
        _write(result, sys.stdout, fmt, ctx)
        sys.stdout.flush()
    else:
        # Atomic: an interruption leaves the old file (or none), never half a file.
        out = io.StringIO()
        _write(result, out, fmt, ctx)
        atomic_write_text(target, out.getvalue(), newline="")
    where = f" in {target}" if target else ""
    if not result.complete:
        code, message = ctx.failure(result.error)
        print(f"meterreader profile: transfer failed part-way: {len(result.rows)} rows kept"
              f"{where}; {message}", file=sys.stderr)
        return code
    if target:
        print(f"{len(result.rows)} rows written to {target}", file=sys.stderr)
    return EXIT_OK


def _cmd_profile(args: argparse.Namespace) -> int:
    chosen = [name for name, on in (("--from/--to", args.start or args.end),
                                    ("--entries", args.entries),
                                    ("--last-days", args.last_days)) if on]
    if len(chosen) > 1:
        print(f"meterreader profile: {' and '.join(chosen)} exclude each other",
              file=sys.stderr)
        return 2
    if args.resume is not None and args.last_days is not None:
        print("meterreader profile: --resume continues from the saved file; give --to (or "
              "nothing) instead of --last-days", file=sys.stderr)
        return 2
    if args.start and args.end and args.start > args.end:
        print("meterreader profile: --from is after --to", file=sys.stderr)
        return 2
    # Read the saved file before connecting: a wrong file costs no meter session.
    args.saved = _Saved(args.resume, args.obis) if args.resume is not None else None
    progress = _Progress(sys.stderr) if sys.stderr.isatty() else None
    return run_session(args, lambda session, ctx: _profile(session, args, ctx, progress))


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "profile", help="read a profile (block load, billing …) as CSV/JSON",
        description=textwrap.fill(
                    "Read a profile generic buffer: whole, by date range (--from/--to, meter "
                    "local time unless an offset is given), by entries or the last N days "
                    "(from the meter's clock). Values are scaled; the CSV header carries the "
                    "units. Progress shows on standard error when it is a terminal. A failed "
                    "transfer keeps the rows received.", 79),
        epilog="examples:\n  meterreader profile --tcp 127.0.0.1:4059 --association mr "
               "--password - 1.0.99.1.0.255 --last-days 2 --output block_load.csv\n"
               "  meterreader profile ... 1.0.98.1.0.255 --entries 1:3 --format json\n\n"
               + EXIT_CODES_TEXT,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_connection_options(p)
    p.add_argument("obis", type=_obis, metavar="OBIS", help="the profile, e.g. 1.0.99.1.0.255")
    p.add_argument("--from", dest="start", type=_iso, metavar="ISO",
                   help="first capture time (inclusive)")
    p.add_argument("--to", dest="end", type=_iso, metavar="ISO",
                   help="last capture time (inclusive)")
    p.add_argument("--entries", type=_entries, metavar="A:B",
                   help="entries A..B, 1-based, oldest first ('A:' = to the newest)")
    p.add_argument("--last-days", type=_days, metavar="N", help="the last N days")
    p.add_argument("--format", choices=("csv", "json"), default="csv",
                   help="output format (default csv; --json = json)")
    p.add_argument("--output", metavar="FILE", help="write to FILE instead of standard output")
    p.add_argument("--resume", metavar="FILE",
                   help="continue an interrupted download saved in FILE (CSV or JSON of this "
                        "command): read from its last capture time to --to (or the newest), "
                        "skip the rows it has, append the rest (to --output, default FILE)")
    p.set_defaults(func=_cmd_profile)
    return p
