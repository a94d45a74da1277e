"""The ``conformance`` subcommand: run the IS 15959 / DLMS conformance checks against a meter and
write the report (JSON, XLSX, PDF).

Connection options are the shared ones of :mod:`meterreader.cli_connect`; the checks choose
their associations themselves (PC, MR with ``--password``, US with ``--key``; the IS 15959 default
secrets when not given; ``--no-mr``/``--no-us`` when a secret is not available: the checks that
need it are skipped). One line per check goes to standard error as it finishes. Exit status 6
when any check fails (or cannot be decided), 0 when all pass or are skipped; a meter that cannot
be reached at all gives the usual connection/association exit codes.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import IO, Any

from meterreader.cli_connect import (AUTH_MECHANISMS, EXIT_CODES_TEXT, EXIT_OK, UsageError,
                                     add_connection_options, failure, resolve_secrets)
from meterreader.cli_run import TraceWriter, mask_text

__all__ = ["EXIT_NONCONFORMANT", "add_parser", "profile_from_args", "run_from_args"]

#: Exit status when at least one check failed or errored.
EXIT_NONCONFORMANT = 6
_CIPHERING = {"none": "none", "global": "global", "dedicated": "dedicated", "general": "general"}


def _formats(text: str) -> tuple[str, ...]:
    from meterreader.conformance.report import FORMATS

    chosen = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    bad = [f for f in chosen if f not in FORMATS]
    if bad or not chosen:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(FORMATS)}"
                                         f", got {text!r}")
    return chosen


def profile_from_args(args: argparse.Namespace, secrets: Any) -> Any:
    """The base :class:`ConnectionProfile` (medium, addressing, ciphering) the options give."""
    from meterreader.client.profile import ConnectionProfile, ProfileError
    from meterreader.india.associations import association_by_client_sap, get_association

    if args.client is not None:
        found = association_by_client_sap(args.client)
        if found is None:
            raise UsageError(f"--client {args.client}: the conformance checks use the IS 15959 "
                             "clients 16, 32 and 48 (or --association)")
        assoc = found
    else:
        assoc = get_association(args.association or "pc")
    values: dict[str, Any] = dict(
        association=assoc.name.lower(), client_sap=assoc.client_sap,
        mechanism=AUTH_MECHANISMS[args.auth] if args.auth else int(assoc.mechanism),
        server_logical=args.logical, server_physical=args.physical,
        address_size=args.address_size, response_timeout=args.timeout, retries=args.retries,
        ciphering=_CIPHERING[args.cipher], encryption_key=secrets.ek,
        authentication_key=secrets.ak, system_title=args.system_title)
    if args.tcp is not None:
        values.update(medium="tcp", host=args.tcp[0], port=args.tcp[1],
                      framing="hdlc" if args.hdlc else "wrapper")
    else:
        values.update(medium="serial", serial_port=args.serial, baudrate=args.baud or 9600,
                      parity=args.parity, mode_e=args.mode_e)
    if values["system_title"] is None and (values["ciphering"] != "none"
                                           or values["mechanism"] in (5, 6)):
        import secrets as _random
        values["system_title"] = b"MRC" + _random.token_bytes(5)
    if values["mechanism"] == 1:
        values["password"] = secrets.password
    elif values["mechanism"] >= 2:
        values["hls_key"] = secrets.key
    try:
        return ConnectionProfile(name="conformance target", **values)
    except ProfileError as exc:
        raise UsageError(str(exc)) from None


class _Lines:
    """``progress(check, outcome)``: one line per finished check on ``stream``."""

    def __init__(self, stream: IO[str], total: int, masked: list[bytes]) -> None:
        self.stream, self.total, self.masked, self.done = stream, total, masked, 0

    def __call__(self, check: Any, outcome: Any) -> None:
        if outcome is None:
            return
        self.done += 1
        width = len(str(self.total))
        finding = mask_text(outcome.finding, self.masked)
        self.stream.write(f"[{self.done:>{width}}/{self.total}] {outcome.verdict.value.upper():<5}"
                          f" {outcome.check_id}: {finding}\n")
        self.stream.flush()


def run_from_args(args: argparse.Namespace) -> int:
    """Run the bench as the arguments say; the exit status."""
    from meterreader.conformance.context import ConformanceTarget
    from meterreader.conformance.report import ReportError, pdf_available, write_reports
    from meterreader.conformance.runner import plan_checks, run_conformance
    from meterreader.dlms.errors import LocalProtocolError
    from meterreader.dlms.secret import SecretBytes
    from meterreader.india.associations import DEFAULT_HLS_KEY, DEFAULT_LLS_PASSWORD

    command = "meterreader conformance"
    if "pdf" in args.format and not pdf_available():
        raise UsageError("--format pdf needs the GUI package (ui.conformance_pdf); use json,xlsx")
    left_out = {"mr": args.no_mr, "us": args.no_us}
    for association, secret in (("mr", "password"), ("us", "key")):
        if left_out[association] and getattr(args, secret, None) is not None:
            raise UsageError(f"--no-{association} and --{secret} exclude each other")
    found = resolve_secrets(args)
    masked = found.revealed()
    profile = profile_from_args(args, found)
    if left_out.get(profile.association):
        raise UsageError(f"--no-{profile.association}: the connection options choose the "
                         f"{profile.association.upper()} association itself")
    target = ConformanceTarget(
        profile=profile,
        mr_password=None if args.no_mr else found.password if found.password is not None
        else SecretBytes(DEFAULT_LLS_PASSWORD),
        us_key=None if args.no_us else found.key if found.key is not None
        else SecretBytes(DEFAULT_HLS_KEY),
        settings={"close_timeout": min(2.0, args.timeout)})
    try:
        plan = plan_checks(target, args.category, check_ids=args.check,
                           allow_destructive=args.allow_md_reset)
    except LocalProtocolError as exc:
        raise UsageError(str(exc)) from None
    if not plan:
        raise UsageError("no checks are registered")
    # Pre-flight: a meter that cannot be reached at all is a connection failure, not a report.
    try:
        with _preflight(target):
            pass
    except Exception as exc:  # noqa: BLE001 - reported as the other meter commands do
        code, message = failure(exc)
        print(f"{command}: {mask_text(message, masked)}", file=sys.stderr, flush=True)
        return code
    trace = TraceWriter(sys.stderr, masked) if args.trace else None
    print(f"{command}: {len(plan)} checks, category {args.category.upper()}, "
          f"{target.describe()}", file=sys.stderr, flush=True)
    report = run_conformance(target, args.category, check_ids=args.check,
                             allow_destructive=args.allow_md_reset,
                             progress=_Lines(sys.stderr, len(plan), masked), on_trace=trace)
    try:
        written = write_reports(report, args.out, args.format)
    except (ReportError, OSError) as exc:
        print(f"{command}: report not written: {exc}", file=sys.stderr, flush=True)
        return 1
    for path in written.values():
        print(f"{command}: wrote {path}", file=sys.stderr)
    print(f"{command}: {report.summary()} — {'PASS' if report.ok else 'FAIL'}", file=sys.stderr,
          flush=True)
    if args.json:
        json.dump({"summary": report.summary(), "ok": report.ok,
                   "files": {k: str(v) for k, v in written.items()},
                   "outcomes": [{"check_id": o.check_id, "verdict": o.verdict.value,
                                 "finding": o.finding} for o in report.outcomes]},
                  sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    return EXIT_OK if report.ok else EXIT_NONCONFORMANT


def _preflight(target: Any) -> Any:
    """A public-client session (association and release) on the target."""
    from meterreader.client.session import Session

    profile = target.profile_for("pc")
    values = dict(target.settings)
    return Session(profile.to_transport(), profile.to_settings(**values))


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "conformance", help="run the IS 15959 / DLMS conformance checks and write a report",
        description=textwrap.fill(
            "Run the conformance bench against a meter: associations (PC, MR, US; wrong "
            "secrets and unknown clients refused), object lists and access rights against the "
            "IS 15959 catalogue of the category, data types, scalers, profiles, event codes, "
            "clock, HDLC negative cases (HDLC links only) and block transfer. MR and US use "
            "--password and --key (default: the IS 15959 defaults); --no-mr / --no-us leave "
            "an association out (its checks are skipped). One line per check on "
            "standard error; the report goes to --out as JSON/XLSX (PDF with the GUI "
            "installed).", 79),
        epilog="example:\n  meterreader conformance --tcp 127.0.0.1:4059 --category C "
               "--password - --key - --out reports\n\n" + EXIT_CODES_TEXT
               + "\n  6  at least one check failed (or could not be decided)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_connection_options(p)
    bench = p.add_argument_group("conformance")
    bench.add_argument("--category", required=True, type=str.upper, choices=("A", "B", "C"),
                       help="IS 15959 meter category whose catalogue the meter is checked against")
    bench.add_argument("--check", action="append", metavar="ID",
                       help="run only this check (repeatable; default all)")
    bench.add_argument("--allow-md-reset", action="store_true",
                       help="allow the checks that change the meter (MD reset → billing count)")
    bench.add_argument("--no-mr", action="store_true",
                       help="the meter reader (MR, LLS) password is not available: skip the "
                            "checks that need the MR association")
    bench.add_argument("--no-us", action="store_true",
                       help="the utility settings (US, HLS) key is not available: skip the "
                            "checks that need the US association")
    bench.add_argument("--out", default=".", metavar="DIR",
                       help="directory of the report files (default: current directory)")
    bench.add_argument("--format", type=_formats, default=("json", "xlsx"),
                       metavar="LIST", help="report formats, comma-separated: json, xlsx, pdf "
                                            "(default json,xlsx)")
    p.set_defaults(func=run_from_args)
    return p
