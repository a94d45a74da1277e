"""Running a meter command: connect with the shared options of :mod:`meterreader.cli_connect`,
run the command's body on the session, release and close, and turn every failure into one line
on standard error and its exit code. Also the ``--trace`` writer and a watchdog against a peer
that sends only noise."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any, Callable

from meterreader.cli_connect import (EXIT_CONNECTION, Secrets, build_settings, build_transport,
                                     failure, resolve_secrets)

__all__ = ["NoiseWatchdog", "RunContext", "TraceWriter", "mask_text", "run_session"]


# -- trace ----------------------------------------------------------------------------------------

class TraceWriter:
    """``on_trace`` for ``--trace``: one line per frame/packet/APDU on ``stream``, every secret
    replaced by ``*`` (the session already masks the LLS password; this is the second belt)."""

    _ARROW = {"tx": "→", "rx": "←"}

    def __init__(self, stream: IO[str], masked: list[bytes]) -> None:
        self.stream = stream
        self.masked = masked

    def __call__(self, direction: str, layer: str, data: bytes, description: str) -> None:
        for secret in self.masked:
            data = data.replace(secret, b"*" * len(secret))
        text = mask_text(description, self.masked)
        arrow = self._ARROW.get(direction, direction)
        self.stream.write(f"{arrow} {layer:<7} {text}\n          {data.hex(' ').upper()}\n")
        self.stream.flush()


def mask_text(text: str, masked: list[bytes]) -> str:
    """``text`` with every secret (as latin-1 text, and as hex) replaced by ``***``."""
    for secret in masked:
        for form in (secret.decode("latin-1"), secret.hex(), secret.hex().upper(),
                     secret.hex(" ").upper()):
            if form:
                text = text.replace(form, "***")
    return text


# -- running ----------------------------------------------------------------------------------

class NoiseWatchdog:
    """Cancels a session whose peer keeps sending bytes that never make a frame or APDU (wrong
    baud rate, parity or framing, or a device that is no meter): every read then returns data,
    so no response timeout ever expires. Silence is left to the session's own timeouts.

    ``limit`` seconds of such noise fire it; ``fired`` says it did."""

    TICK = 0.1

    def __init__(self, session: Any, token: Any, limit: float, quiet: float) -> None:
        self.session = session
        self.token = token
        self.limit = limit
        self.quiet = quiet  # this long without any byte ends a noise period
        self.fired = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="noise-watchdog", daemon=True)

    def __enter__(self) -> NoiseWatchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        good, seen, noise_since = None, -1, None
        last_byte = time.monotonic()
        while not self._stop.wait(self.TICK):
            now = time.monotonic()
            stats = self.session.stats
            progress = (stats.frames_received, stats.apdus_received)
            if progress != good:
                good, noise_since, last_byte = progress, None, now
                seen = stats.bytes_received
                continue
            if stats.bytes_received != seen:
                seen, last_byte = stats.bytes_received, now
                noise_since = now if noise_since is None else noise_since
            elif now - last_byte >= self.quiet:
                noise_since = None
            if noise_since is not None and now - noise_since > self.limit:
                self.fired = True
                self.token.cancel()
                return


def _trace_sign_on(transport: Any, trace: TraceWriter) -> None:
    """Trace the IEC 62056-21 mode E sign-on (the bytes exchanged at 7 data bits)."""
    from meterreader.transport import ModeETransport

    if not isinstance(transport, ModeETransport):
        return
    serial = transport.serial

    def on_traffic(direction: str, data: bytes) -> None:
        if serial.bytesize == 7:
            text = data.decode("ascii", "replace")
            trace(direction, "mode-e", data, f"IEC 62056-21 sign-on {text!r}")
    transport.on_traffic = on_traffic


@dataclass(slots=True)
class RunContext:
    """What a command body gets besides the session: the secrets, and ``failure(exc)`` → exit
    code and message (secrets masked, a watchdog cancel explained)."""

    secrets: Secrets = field(default_factory=Secrets)
    watchdog: NoiseWatchdog | None = None

    def failure(self, exc: BaseException) -> tuple[int, str]:
        from meterreader.transport import Cancelled

        if isinstance(exc, Cancelled) and self.watchdog is not None and self.watchdog.fired:
            return EXIT_CONNECTION, (
                f"meter not answering: only noise from the peer for {self.watchdog.limit:.1f} "
                "s, no valid frame — check the baud rate, parity, framing (--hdlc) and address")
        code, message = failure(exc)
        return code, mask_text(message, self.secrets.revealed())


def run_session(args: argparse.Namespace, body: Callable[[Any, RunContext], int], *,
                on_progress: Callable[[Any], None] | None = None) -> int:
    """Connect as the arguments say, run ``body(session, context)``, release and close; every
    failure becomes a one-line message on standard error and its exit code."""
    from meterreader.client import Session
    from meterreader.transport import CancelToken

    command = f"meterreader {args.command}"
    ctx = RunContext()
    try:
        ctx.secrets = found = resolve_secrets(args)
        settings = build_settings(args, found)
        transport = build_transport(args)
        trace = TraceWriter(sys.stderr, found.revealed()) if args.trace else None
        if trace is not None:
            _trace_sign_on(transport, trace)
        token = CancelToken()
        session = Session(transport, settings, cancel=token, on_trace=trace,
                          on_progress=on_progress)
        # A whole frame of 2100 bytes at the serial baud rate may take that long to arrive.
        frame_time = 0.0 if args.tcp is not None else 21000 / (args.baud or 9600)
        limit = args.timeout * (args.retries + 2) + frame_time
        with NoiseWatchdog(session, token, limit, args.timeout) as ctx.watchdog:
            session.connect()
            try:
                return body(session, ctx)
            finally:
                session.close()
    except BrokenPipeError:
        raise
    except BaseException as exc:  # noqa: BLE001 - every failure is reported the same way
        if isinstance(exc, SystemExit):
            raise
        code, message = ctx.failure(exc)
        print(f"{command}: {message}", file=sys.stderr, flush=True)
        return code
