"""Hypothesis strategies and checks shared by the ``test_fuzz_*`` property tests (issue 11).

``mutated(seeds)`` starts from a valid byte string and applies 1-4 mutations: bit flip,
interesting byte, truncation, insertion, deletion, duplication, splice from another seed and
length-field tweaks (A-XDR/BER long forms claiming up to 2**32 - 1 items). ``fuzz_input(seeds)``
mixes those with plain random bytes. ``FUZZ`` is the settings profile: derandomized (same
examples on every run, so CI is stable), no example database, and a deadline so that a decoder
that loops on some input fails the test instead of hanging it.
"""

from __future__ import annotations

import time
import tracemalloc
from typing import Any, Callable

from hypothesis import HealthCheck, settings, strategies as st

from meterreader.dlms.errors import DlmsError, RemoteProtocolError

FUZZ = settings(derandomize=True, database=None, deadline=500, max_examples=300,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_INTERESTING = (0x00, 0x01, 0x7E, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0xFE, 0xFF)
HUGE_LENGTHS = (b"\x84\xff\xff\xff\xff", b"\x84\x7f\xff\xff\xff", b"\x84\x80\x00\x00\x00",
                b"\x83\xff\xff\xff", b"\x82\xff\xff", b"\x81\xff", b"\x80",
                b"\x85\x01\x00\x00\x00\x00")


@st.composite
def _mutation(draw: st.DrawFn, data: bytearray, seeds: tuple[bytes, ...]) -> None:
    op = draw(st.integers(0, 7))
    size = len(data)
    at = draw(st.integers(0, size))  # an insertion point; an index when < size
    if op == 0 and size:  # bit flip
        data[min(at, size - 1)] ^= 1 << draw(st.integers(0, 7))
    elif op == 1 and size:  # interesting or random byte
        data[min(at, size - 1)] = draw(st.sampled_from(_INTERESTING) | st.integers(0, 255))
    elif op == 2:  # truncation
        del data[at:]
    elif op == 3:  # insertion of random bytes
        data[at:at] = draw(st.binary(min_size=1, max_size=8))
    elif op == 4:  # deletion
        del data[at:at + draw(st.integers(1, 8))]
    elif op == 5 and size:  # duplication of a piece of itself
        src = draw(st.integers(0, size - 1))
        data[at:at] = data[src:src + draw(st.integers(1, 32))]
    elif op == 6:  # splice: a piece of another seed, replacing or inserted
        donor = draw(st.sampled_from(seeds))
        src = draw(st.integers(0, max(0, len(donor) - 1)))
        piece = donor[src:src + draw(st.integers(1, 64))]
        data[at:] = piece + (bytes(data[at:]) if draw(st.booleans()) else b"")
    elif op == 7:  # length-field tweak
        if draw(st.booleans()) or not size:
            data[at:at + 1] = draw(st.sampled_from(HUGE_LENGTHS))
        else:
            i = min(at, size - 1)
            data[i] = (data[i] + draw(st.sampled_from((-1, 1, 0x40, -0x40)))) & 0xFF


@st.composite
def mutated(draw: st.DrawFn, seeds: tuple[bytes, ...] | list[bytes]) -> bytes:
    """A valid seed with 1-4 mutations."""
    pool = tuple(seeds)
    data = bytearray(draw(st.sampled_from(pool)))
    for _ in range(draw(st.integers(1, 4))):
        draw(_mutation(data, pool))
    return bytes(data)


def fuzz_input(seeds: tuple[bytes, ...] | list[bytes], max_random: int = 64
               ) -> st.SearchStrategy[bytes]:
    """Mostly mutated seeds, sometimes random bytes, sometimes a seed unchanged."""
    pool = tuple(seeds)
    return st.one_of(mutated(pool), mutated(pool), mutated(pool), mutated(pool),
                     st.binary(max_size=max_random), st.sampled_from(pool))


def only_typed(fn: Callable[[bytes], Any], data: bytes,
               allowed: type[BaseException] | tuple[type[BaseException], ...] = DlmsError
               ) -> Any:
    """``fn(data)``; returns its value, or None when it raised one of ``allowed``. Any other
    exception propagates and fails the test."""
    try:
        return fn(data)
    except allowed:
        return None


def remote_only(fn: Callable[[bytes], Any], data: bytes) -> Any:
    """``fn(data)`` where the only acceptable failure is a RemoteProtocolError (DecodeError …):
    bytes from a peer are never our misuse."""
    return only_typed(fn, data, RemoteProtocolError)


def peak_memory(fn: Callable[[], Any]) -> tuple[int, float, BaseException | None]:
    """(peak bytes allocated, seconds, exception raised) of one call, under tracemalloc."""
    tracemalloc.start()
    start = time.perf_counter()
    error: BaseException | None = None
    try:
        fn()
    except DlmsError as exc:
        error = exc
    finally:
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak, elapsed, error
