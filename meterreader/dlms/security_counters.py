"""Invocation counters, sans-IO: our sending counter and the peer's replay guard.

Green Book ed.9, security suite 0: the invocation field of the GCM IV must never repeat under one
key; a receiver rejects an invocation counter that is not greater than the last one accepted.
Re-exported by :mod:`meterreader.dlms.security`.
"""

from __future__ import annotations

from meterreader.dlms.errors import LocalProtocolError
from meterreader.dlms.security import MAX_INVOCATION_COUNTER, CounterExhausted, ReplayError

__all__ = ["InvocationCounter", "ReplayGuard"]


class InvocationCounter:
    """Our sending invocation counter (the IV's invocation field). Never repeats a value.

    ``start`` is the last value already used — e.g. the value read from the meter's invocation
    counter object, or 0 for a fresh key — so the first :meth:`next` returns ``start + 1``.
    ``value`` is the last value handed out (``start`` before the first call). Past 0xFFFFFFFF
    :meth:`next` raises :class:`CounterExhausted` (and keeps raising): the key must change."""

    __slots__ = ("_value",)

    def __init__(self, start: int = 0) -> None:
        if not isinstance(start, int) or isinstance(start, bool) \
                or not 0 <= start <= MAX_INVOCATION_COUNTER:
            raise LocalProtocolError(f"invocation counter start must be 0..0xFFFFFFFF, got "
                                     f"{start!r}")
        self._value = start

    @property
    def value(self) -> int:
        return self._value

    def next(self) -> int:
        if self._value >= MAX_INVOCATION_COUNTER:
            raise CounterExhausted("invocation counter exhausted (0xFFFFFFFF used): change the "
                                   "key before protecting more APDUs")
        self._value += 1
        return self._value

    def __repr__(self) -> str:
        return f"InvocationCounter(value={self._value})"


class ReplayGuard:
    """The peer's invocation counters: each accepted one must be greater than the last.

    Call :meth:`check` only AFTER the APDU authenticated (otherwise a forged APDU could push the
    counter forward and lock the real peer out). ``last`` seeds/returns the last accepted value
    (None = nothing accepted yet, so any first counter is accepted)."""

    __slots__ = ("_last",)

    def __init__(self, last: int | None = None) -> None:
        if last is not None:
            self._valid(last)
        self._last = last

    @staticmethod
    def _valid(counter: object) -> int:
        if not isinstance(counter, int) or isinstance(counter, bool) \
                or not 0 <= counter <= MAX_INVOCATION_COUNTER:
            raise LocalProtocolError(f"invocation counter must be 0..0xFFFFFFFF, got {counter!r}")
        return counter

    @property
    def last(self) -> int | None:
        return self._last

    def check(self, counter: int) -> None:
        """Accept ``counter`` (record it) or raise :class:`ReplayError` if not newer."""
        self._valid(counter)
        if self._last is not None and counter <= self._last:
            raise ReplayError(counter, self._last)
        self._last = counter

    def check_nested(self, counter: int, before: int | None) -> None:
        """Accept ``counter`` carried INSIDE an APDU whose own counter was just accepted — the
        HLS-GMAC answer of pass 3/4, which the sender numbers before the ciphered APDU around
        it. It must exceed ``before`` (the last value accepted before that APDU, else
        :class:`ReplayError`); the record only moves forward."""
        self._valid(counter)
        if before is not None and counter <= before:
            raise ReplayError(counter, before)
        if self._last is None or counter > self._last:
            self._last = counter

    def __repr__(self) -> str:
        return f"ReplayGuard(last={self._last})"
