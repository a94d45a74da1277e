"""The common machinery of a search: budget and cancel, probe exchanges, attempt records.

A :class:`SearchRun` owns one :class:`CancelToken` that fires when the caller's token fires or
the budget runs out (a small watcher thread: the session inside :func:`identify` only watches
one token). Every blocking step of the search uses that token, so a search never outlives its
budget by more than one transport poll interval plus the closing of the port.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from meterreader.client.profile import ConnectionProfile
from meterreader.finder.model import AnswerKind, Attempt, Diagnosis, FindResult, FoundMeter
from meterreader.finder.probe import classify_answer
from meterreader.transport.base import (Cancelled, CancelToken, ReadTimeout, Transport,
                                        TransportError)

__all__ = ["FRAME_ANSWERS", "ProgressCallback", "SearchRun", "Traffic", "associate",
           "close_quietly", "profile_settings"]

_log = logging.getLogger(__name__)

ProgressCallback = Callable[[Attempt], None]
#: Answers that end a probe's wait at once.
FRAME_ANSWERS = frozenset({AnswerKind.UA, AnswerKind.DM, AnswerKind.FRMR, AnswerKind.OTHER_FRAME,
                           AnswerKind.WRAPPER})
#: After noise, this long without another byte ends the wait (the noise is complete).
_QUIET_AFTER_NOISE = 0.15
_WATCH_TICK = 0.02


class Traffic:
    """An ``on_traffic`` hook that records what a transport sent and received."""

    def __init__(self) -> None:
        self.tx = b""
        self.rx = b""

    def __call__(self, direction: str, data: bytes) -> None:
        if direction == "tx":
            self.tx += data
        else:
            self.rx += data

    def take(self) -> tuple[bytes, bytes]:
        """(tx, rx) recorded since the last take, and start over."""
        out = (self.tx, self.rx)
        self.tx = self.rx = b""
        return out


class SearchRun:
    """One bounded, cancellable search (a context manager: the watcher stops on exit)."""

    def __init__(self, medium: str, *, cancel: CancelToken | None, budget_s: float,
                 progress: ProgressCallback | None) -> None:
        if not budget_s > 0:
            raise ValueError(f"budget_s must be more than 0, not {budget_s!r}")
        self.medium = medium
        self.user_cancel = cancel
        self.token = CancelToken()
        self.started = time.monotonic()
        self.deadline = self.started + budget_s
        self.progress = progress
        self.attempts: list[Attempt] = []
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="finder-budget", daemon=True)

    def __enter__(self) -> SearchRun:
        self._watcher.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._watcher.join()

    def _watch(self) -> None:
        while not self._stop.wait(_WATCH_TICK):
            if (self.user_cancel is not None and self.user_cancel.cancelled) \
                    or time.monotonic() >= self.deadline:
                self.token.cancel()
                return

    # -- state ------------------------------------------------------------------------------------

    @property
    def stopped(self) -> bool:
        """True once the caller cancelled or the budget ran out."""
        return self.token.cancelled or time.monotonic() >= self.deadline

    @property
    def user_cancelled(self) -> bool:
        return self.user_cancel is not None and self.user_cancel.cancelled

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def check(self) -> None:
        """Raise :class:`Cancelled` when the search must stop."""
        if self.stopped:
            self.token.cancel()
            raise Cancelled("search cancelled" if self.user_cancelled else "search budget spent")

    # -- probes -----------------------------------------------------------------------------------

    def exchange(self, transport: Transport, tx: bytes, wait: float, *,
                 done: Callable[[bytes], bool] | None = None) -> tuple[bytes, float]:
        """Write ``tx`` and collect the answer for at most ``wait`` seconds (less when the budget
        ends first): until ``done(rx)`` (default: a frame or wrapper packet arrived), or noise
        followed by a short silence. Returns ``(rx, elapsed)``; raises :class:`Cancelled` when
        the search must stop and the transport's :class:`TransportError` when the link breaks."""
        done = done or (lambda rx: classify_answer(rx) in FRAME_ANSWERS)
        self.check()
        started = time.monotonic()
        end = min(started + wait, self.deadline)
        if tx:
            transport.write(tx)
        rx = b""
        while True:
            now = time.monotonic()
            if now >= end:
                break
            window = end - now if not rx else min(end - now, _QUIET_AFTER_NOISE)
            try:
                rx += transport.read(window, self.token)
            except ReadTimeout:
                if rx or time.monotonic() >= end:
                    break
                continue
            if done(rx):
                break
        self.check()
        return rx, time.monotonic() - started

    def record(self, description: str, settings: Mapping[str, Any], answer: AnswerKind,
               tx: bytes, rx: bytes, elapsed: float) -> Attempt:
        """Keep one attempt and report it to the progress callback (whose errors are logged)."""
        attempt = Attempt(description=description, medium=self.medium, settings=settings,
                          answer=answer, tx=tx, rx=rx, elapsed=elapsed)
        self.attempts.append(attempt)
        if self.progress is not None:
            try:
                self.progress(attempt)
            except Exception:  # noqa: BLE001 - a broken progress display must not stop a search
                _log.exception("finder progress callback failed")
        return attempt

    def result(self, found: FoundMeter | None, diagnosis: Diagnosis | None = None) -> FindResult:
        if found is None and diagnosis is None:
            from meterreader.finder.diagnostics import diagnose_attempts
            diagnosis = diagnose_attempts(self.attempts)
        return FindResult(found=found, attempts=tuple(self.attempts), diagnosis=diagnosis,
                          elapsed=time.monotonic() - self.started,
                          cancelled=self.user_cancelled,
                          budget_exhausted=not self.user_cancelled and found is None
                          and time.monotonic() >= self.deadline)


def profile_settings(profile: ConnectionProfile) -> dict[str, Any]:
    """The profile's field values without secrets (for :class:`Attempt.settings`)."""
    return {k: v for k, v in profile.without_secrets().to_json().items() if k != "version"}


def associate(run: SearchRun, transport: Transport, profile: ConnectionProfile,
              description: str, identify_timeout: float
              ) -> tuple[FoundMeter | None, Diagnosis | None]:
    """Run :func:`identify` on ``transport`` (it closes it) and record the attempt.

    Returns the meter (with a note and a diagnosis when the link works but the public client
    is refused), or ``(None, None)`` when the association failed otherwise. Raises
    :class:`Cancelled`."""
    from meterreader.client.errors import AssociationRejected
    from meterreader.dlms.errors import DlmsError
    from meterreader.finder.diagnostics import diagnose
    from meterreader.finder.identify import identify

    traffic = Traffic()
    transport.on_traffic = traffic
    started = time.monotonic()

    def note(text: str = "") -> None:
        tx, rx = traffic.take()
        run.record(description + text, profile_settings(profile), classify_answer(rx), tx, rx,
                   time.monotonic() - started)

    try:
        found = identify(profile, cancel=run.token, transport=transport,
                         response_timeout=identify_timeout)
    except AssociationRejected as exc:
        rx = traffic.rx
        note(f" (rejected: {exc.reason_text})")
        return FoundMeter(profile=profile, notes=(
            "the link works but the public client's association was refused: "
            f"{exc.reason_text}",)), diagnose(exc, rx=rx, profile=profile)
    except Cancelled:
        raise
    except (TransportError, DlmsError) as exc:
        note(f" (failed: {exc})")
        return None, None
    finally:
        close_quietly(transport)
    note()
    return found, None


def close_quietly(transport: Transport | None) -> None:
    """Close ``transport`` ignoring every transport error."""
    if transport is None:
        return
    try:
        transport.close()
    except TransportError:
        pass
