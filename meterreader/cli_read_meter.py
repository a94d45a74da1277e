"""The ``read-meter`` and ``report`` subcommands: the one-click IS 15959 read from the command
line, and reports from a saved reading.

``read-meter`` runs :func:`meterreader.reading.plan.read_meter` (name plate, instantaneous,
billing, block load of the last N days, daily load, event logs), saves the reading as
``DIR/<serial>_<yyyymmdd-hhmmss>.json`` and writes the reports next to it with
:func:`meterreader.reports.write_reports`. Progress goes to standard error, the paths written to
standard output (``--json``: one summary object). A partial read (a section refused, the link
lost, Ctrl+C) still writes every file and exits 5, saying it is partial.

``report READING.json`` makes the reports again, offline.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import IO, Any

from meterreader.cli_connect import (EXIT_CODES_TEXT, EXIT_FAILURE, EXIT_OK, EXIT_SERVICE,
                                     EXIT_USAGE, add_connection_options)
from meterreader.cli_run import RunContext, run_session

__all__ = ["DEFAULT_FORMATS", "add_parsers"]

#: Report formats written when --format is not given (PDF needs Qt: ask for it).
DEFAULT_FORMATS = "csv,xlsx,xml"
_ALL = ("csv", "xlsx", "pdf", "xml")


def _formats(text: str) -> tuple[str, ...]:
    """argparse type: "csv,xlsx,pdf,xml", "all" or "json"/"none" (the reading file only)."""
    items = [t.strip().lower() for t in text.split(",") if t.strip()]
    out: list[str] = []
    for item in items:
        names = _ALL if item == "all" else () if item in ("json", "none") else (item,)
        for name in names:
            if name not in _ALL:
                raise argparse.ArgumentTypeError(
                    f"unknown report format {item!r} (choose from {', '.join(_ALL)}, all, "
                    "json)")
            if name not in out:
                out.append(name)
    return tuple(out)


def _days(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) <= 3660:
        raise argparse.ArgumentTypeError(f"expected a number of days 1..3660, got {text!r}")
    return int(text)


def _sections(text: str) -> tuple[str, ...]:
    from meterreader.reading.plan import section_names

    try:
        names = section_names(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not names:
        raise argparse.ArgumentTypeError("no section given")
    return names


class _Progress:
    """ReadProgress on standard error: a line per finished step; the running step's rows
    rewritten in place on a terminal."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.pending = False

    def __call__(self, p: Any) -> None:
        head = f"[{p.step:>{len(str(p.steps))}}/{p.steps}] {p.message}"
        if p.done:
            self.stream.write(f"\r{head}{' ' * 12}\n" if self.pending else f"{head}\n")
            self.pending = False
        elif self.tty:
            kb = f", {p.bytes / 1024:.1f} kB" if p.bytes else ""
            self.stream.write(f"\r{head}{kb} ({p.fraction:.0%}) ")
            self.pending = True
        self.stream.flush()


def _connection_text(session: Any) -> str:
    framing = getattr(session.settings.framing, "value", session.settings.framing)
    return f"{session.transport.description} ({framing})"


def _association_text(args: argparse.Namespace) -> str:
    from meterreader.india.associations import association_by_client_sap

    if args.client is not None:
        found = association_by_client_sap(args.client)
        return found.name if found is not None else f"client {args.client}"
    return (args.association or "pc").upper()


def _write_files(reading: Any, out_dir: Path, formats: tuple[str, ...], stem: str,
                 *, json_path: Path | None) -> tuple[list[Path], str | None]:
    """Save the reading (when ``json_path``) and the reports, each attempted even when the
    other fails; (paths written, failure text or None)."""
    from meterreader.reading.json_io import save_reading

    written: list[Path] = []
    failures: list[str] = []
    if json_path is not None:
        try:
            written.append(save_reading(reading, json_path))
        except OSError as exc:
            failures.append(f"cannot save the reading {json_path}: {exc.strerror or exc}")
    if formats:
        from meterreader.reports import write_reports
        try:
            written += write_reports(reading, out_dir, formats, stem=stem)
        except Exception as exc:  # noqa: BLE001 - reported as one line, exit 1
            written += [Path(p) for p in getattr(exc, "written", ())]
            failures.append(str(exc) or type(exc).__name__)
    return written, "; ".join(failures) or None


def _summary(reading: Any, written: list[Path], failure: str | None, args: argparse.Namespace
             ) -> None:
    if args.json:
        json.dump({"files": [str(p) for p in written], "complete": reading.complete,
                   "errors": list(reading.errors),
                   "tables": {name: len(t.rows) for name, t in reading.tables.items()},
                   "report_error": failure}, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for path in written:
            print(path)
    sys.stdout.flush()


def _finish(command: str, reading: Any, written: list[Path], failure: str | None,
            args: argparse.Namespace) -> int:
    _summary(reading, written, failure, args)
    if failure is not None:
        print(f"{command}: {failure}", file=sys.stderr)
        return EXIT_FAILURE
    if not reading.complete:
        missing = len(reading.errors)
        first = reading.errors[0] if reading.errors else "incomplete"
        hint = ""
        if reading.association == "PC" and set(reading.tables) <= {"name_plate"}:
            hint = " (the public client reads only the name plate: use --association mr)"
        print(f"{command}: partial reading ({missing} section(s) missing or incomplete; "
              f"{first}); the {len(written)} files hold what was read{hint}", file=sys.stderr)
        return EXIT_SERVICE
    return EXIT_OK


def _read_meter(session: Any, args: argparse.Namespace, ctx: RunContext) -> int:
    from meterreader.reading.json_io import reading_stem
    from meterreader.reading.plan import read_meter

    reading = read_meter(session, args.category, days=args.days, sections=args.sections,
                         progress=_Progress(sys.stderr), connection=_connection_text(session),
                         association=_association_text(args))
    session.close()  # release the meter before the (slower) report files
    if ctx.watchdog is not None and ctx.watchdog.fired:
        from meterreader.transport import Cancelled
        print(f"meterreader read-meter: {ctx.failure(Cancelled('noise'))[1]}", file=sys.stderr)
    out = Path(args.out)
    stem = reading_stem(reading)
    written, failure = _write_files(reading, out, args.format, stem,
                                    json_path=out / f"{stem}.json")
    return _finish("meterreader read-meter", reading, written, failure, args)


def _cmd_read_meter(args: argparse.Namespace) -> int:
    return run_session(args, lambda session, ctx: _read_meter(session, args, ctx))


def _cmd_report(args: argparse.Namespace) -> int:
    from meterreader.reading.json_io import ReadingFormatError, load_reading

    command = "meterreader report"
    source = Path(args.reading)
    try:
        reading = load_reading(source)
    except ReadingFormatError as exc:
        print(f"{command}: not a saved reading: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as exc:
        print(f"{command}: cannot read {source}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILURE
    if not args.format:
        print(f"{command}: no report format given", file=sys.stderr)
        return EXIT_USAGE
    out = Path(args.out) if args.out else source.parent
    written, failure = _write_files(reading, out, args.format, source.stem, json_path=None)
    _summary(reading, written, failure, args)
    if failure is not None:
        print(f"{command}: {failure}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _format_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", type=_formats, default=_formats(DEFAULT_FORMATS),
                   metavar="LIST",
                   help=f"report formats, comma-separated: csv, xlsx, pdf, xml or all (default "
                        f"{DEFAULT_FORMATS}; PDF renders with Qt offscreen)")


def add_parsers(sub: Any) -> None:
    """Register ``read-meter`` and ``report``."""
    p = sub.add_parser(
        "read-meter", help="one-click IS 15959 read: every profile, saved as JSON + reports",
        description=textwrap.fill(
            "Read an IS 15959 meter in one go: name plate, instantaneous parameters, billing "
            "history, block load survey of the last N days (from the meter's clock), daily "
            "load survey and all event compartments. The reading is saved as "
            "DIR/<serial>_<yyyymmdd-hhmmss>.json (reopen it with 'meterreader report') and "
            "the reports are written next to it. Progress shows on standard error; the files "
            "written are listed on standard output. A partial read (a section refused, the "
            "link lost, Ctrl+C) still writes everything and exits 5.", 79),
        epilog="examples:\n  meterreader read-meter --tcp 127.0.0.1:4059 --association mr "
               "--password - --category C --out readings --format csv,xlsx,pdf,xml\n"
               "  meterreader read-meter ... --category A --days 2 --sections "
               "name_plate,block_load,events --out readings\n\n" + EXIT_CODES_TEXT,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_connection_options(p)
    p.add_argument("--category", required=True, type=str.upper, choices=("A", "B", "C"),
                   help="IS 15959 meter category")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the files")
    _format_option(p)
    p.add_argument("--days", type=_days, default=7, metavar="N",
                   help="block load survey: the last N days (default 7)")
    p.add_argument("--sections", type=_sections, metavar="LIST",
                   help="read only these sections (comma-separated): name_plate, "
                        "instantaneous, billing, block_load, daily_load, events (all event "
                        "compartments) or events_voltage … events_control; the name plate is "
                        "always read")
    p.set_defaults(func=_cmd_read_meter)

    r = sub.add_parser(
        "report", help="reports (CSV, XLSX, PDF, XML) from a saved reading",
        description="Write the reports of a reading saved by 'read-meter' or the GUI, "
                    "without the meter. The files are named after the reading file.",
        epilog="example:\n  meterreader report readings/43464098_20240310-063000.json "
               "--format pdf,xml\n\nexit status: 0 success, 1 unreadable reading or a report "
               "failed, 2 bad arguments",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("reading", metavar="READING.json", help="a saved reading")
    r.add_argument("--out", metavar="DIR", help="folder for the reports (default: the "
                                                "reading's folder)")
    _format_option(r)
    r.add_argument("--json", action="store_true", help="print a JSON summary")
    r.set_defaults(func=_cmd_report)
