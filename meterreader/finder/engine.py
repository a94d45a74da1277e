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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from meterreader.client.profile import ConnectionProfile
from meterreader.finder.model import AnswerKind, Attempt, Diagnosis, FindResult, FoundMeter
from meterreader.finder.probe import classify_answer, echoes, strip_echo
from meterreader.transport.base import (Cancelled, CancelToken, ReadTimeout, Transport,
                                        TransportError)

__all__ = ["FRAME_ANSWERS", "ProgressCallback", "SearchRun", "Traffic", "associate",
           "close_quietly", "late_ua", "profile_settings"]

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
                 progress: ProgressCallback | None, reserve_s: float = 0.0) -> None:
        if not budget_s > 0:
            raise ValueError(f"budget_s must be more than 0, not {budget_s!r}")
        self.medium = medium
        self.user_cancel = cancel
        self.token = CancelToken()
        self.started = time.monotonic()
        self.deadline = self.started + budget_s
        #: Probing stops here; the rest of the budget (``reserve_s``, at most a quarter of it)
        #: is kept for identifying the meter found by the last probes.
        self.probe_deadline = self.deadline - min(max(0.0, reserve_s), budget_s / 4)
        self._limit = self.probe_deadline
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
        """True once the caller cancelled or the budget of this phase ran out (probing ends
        at :attr:`probe_deadline`, identifying at :attr:`deadline`)."""
        return self.token.cancelled or time.monotonic() >= self._limit

    @property
    def user_cancelled(self) -> bool:
        return self.user_cancel is not None and self.user_cancel.cancelled

    def remaining(self) -> float:
        """Seconds left in the current phase."""
        return max(0.0, self._limit - time.monotonic())

    @contextmanager
    def identifying(self) -> Iterator[None]:
        """The identify phase: it may use the budget's reserve (up to :attr:`deadline`)."""
        before, self._limit = self._limit, self.deadline
        try:
            yield
        finally:
            self._limit = before

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
        done = done or (lambda rx: classify_answer(rx, tx) in FRAME_ANSWERS)
        self.check()
        started = time.monotonic()
        end = min(started + wait, self._limit)
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

    def late_answer(self, transport: Transport) -> Attempt | None:
        """Bytes that arrived after the last probe's wait (a slow meter's UA) are that probe's
        answer: read what is pending without waiting, fold it into the last attempt (re-classified,
        reported again) and return the updated attempt; None when nothing was pending."""
        late = b""
        while True:
            try:
                late += transport.read(0.0, self.token)
            except ReadTimeout:
                break
        if not late or not self.attempts:
            return None
        last = self.attempts.pop()
        rx = last.rx + late
        return self.record(last.description + " (answer arrived late)", last.settings,
                           classify_answer(rx, last.tx), last.tx, rx, last.elapsed)

    def record(self, description: str, settings: Mapping[str, Any], answer: AnswerKind,
               tx: bytes, rx: bytes, elapsed: float, outcome: str = "") -> Attempt:
        """Keep one attempt and report it to the progress callback (whose errors are logged)."""
        attempt = Attempt(description=description, medium=self.medium, settings=settings,
                          answer=answer, tx=tx, rx=rx, elapsed=elapsed, outcome=outcome)
        self.attempts.append(attempt)
        if self.progress is not None:
            try:
                self.progress(attempt)
            except Exception:  # noqa: BLE001 - a broken progress display must not stop a search
                _log.exception("finder progress callback failed")
        return attempt

    def result(self, found: FoundMeter | None, diagnosis: Diagnosis | None = None) -> FindResult:
        from meterreader.finder.diagnostics import ECHO_NOTE, diagnose_attempts, with_echo_note
        if found is None and diagnosis is None:
            diagnosis = diagnose_attempts(self.attempts)
        if echoes([(a.tx, a.rx) for a in self.attempts]):
            if found is not None and ECHO_NOTE not in found.notes:
                found = replace(found, notes=(*found.notes, ECHO_NOTE))
            if diagnosis is not None:
                diagnosis = with_echo_note(diagnosis)
        return FindResult(found=found, attempts=tuple(self.attempts), diagnosis=diagnosis,
                          elapsed=time.monotonic() - self.started,
                          cancelled=self.user_cancelled,
                          budget_exhausted=not self.user_cancelled and found is None
                          and time.monotonic() >= self.probe_deadline)


def profile_settings(profile: ConnectionProfile) -> dict[str, Any]:
    """The profile's field values without secrets (for :class:`Attempt.settings`)."""
    return {k: v for k, v in profile.without_secrets().to_json().items() if k != "version"}


def associate(run: SearchRun, transport: Transport, profile: ConnectionProfile,
              description: str, identify_timeout: float, *, notes: Sequence[str] = ()
              ) -> tuple[FoundMeter | None, Diagnosis | None]:
    """Run :func:`identify` on ``transport`` (it closes it) and record the attempt; called once
    the meter answered (a UA or an accepted AARE), so it may use the budget's reserve.

    Returns the meter (with a note and a diagnosis when the link works but the public client
    is refused; with a note when the budget or a Stop cut the identification short: the meter
    answered, so it is not thrown away), or ``(None, None)`` when the association failed
    otherwise. ``notes`` are added to the meter's."""
    from meterreader.client.errors import AssociationRejected
    from meterreader.dlms.errors import DlmsError
    from meterreader.finder.diagnostics import diagnose
    from meterreader.finder.identify import CUT_SHORT, identify

    traffic = Traffic()
    transport.on_traffic = traffic
    started = time.monotonic()

    def note(text: str = "", outcome: str = "") -> None:
        tx, rx = traffic.take()
        run.record(description + text, profile_settings(profile), classify_answer(rx), tx, rx,
                   time.monotonic() - started, outcome)

    try:
        with run.identifying():
            found = identify(profile, cancel=run.token, transport=transport,
                             response_timeout=identify_timeout, partial_on_cancel=True)
    except AssociationRejected as exc:
        rx = traffic.rx
        note(f" (rejected: {exc.reason_text})", "rejected")
        return FoundMeter(profile=profile, notes=(
            "the link works but the public client's association was refused: "
            f"{exc.reason_text}", *notes)), diagnose(exc, rx=rx, profile=profile)
    except Cancelled:
        why = "cancelled (Stop)" if run.user_cancelled else "cut short by the time budget"
        note(f" ({why})", "cut short")
        return FoundMeter(profile=profile, notes=(
            f"identification {why}: the meter answered at these settings, but its "
            "name plate was not read", *notes)), None
    except (TransportError, DlmsError) as exc:
        note(f" (failed: {exc})", "failed")
        return None, None
    finally:
        close_quietly(transport)
    if CUT_SHORT in found.notes:
        why = "cancelled (Stop)" if run.user_cancelled else "cut short by the time budget"
        kept = tuple(n for n in found.notes if n != CUT_SHORT)
        found = replace(found, notes=(f"identification {why}: some items were not read",
                                      *kept))
        note(f" ({why})", "associated, cut short")
    else:
        note(outcome="associated")
    if notes:
        found = replace(found, notes=(*found.notes, *notes))
    return found, None


def late_ua(rx: bytes, tx: bytes, previous_tx: bytes) -> bool:
    """True when ``rx`` (the answer to probe ``tx``) holds the UA to the probe before it
    (``previous_tx``): a slow meter answered just after that probe's wait."""
    return bool(previous_tx) and classify_answer(strip_echo(rx, tx)[0],
                                                 previous_tx) is AnswerKind.UA


def close_quietly(transport: Transport | None) -> None:
    """Close ``transport`` ignoring every transport error."""
    if transport is None:
        return
    try:
        transport.close()
    except TransportError:
        pass
