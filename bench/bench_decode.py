"""Decode throughput against dlms-cosem and gurux-dlms: a 10,000-row IS 15959 block-load buffer.

Same buffer for everyone (bench_codec.block_load_buffer: array of structures {octet-string(12)
clock, 3 × long-unsigned, 5 × double-long-unsigned}, 50 bytes a row), decoded

* to raw values (rows of ints/bytes),
* to rows with Python datetimes (the clock column converted),
* from a full HDLC stream (I-frames, info field 128, the whole stream fed at once): reassembly
  plus decode to raw values and to rows.

Each peer uses its own public route (dlms-cosem: ``utils.parse_as_dlms_data``, ``time.
datetime_from_bytes``, ``hdlc.connection.HdlcConnection``; gurux-dlms: ``_GXCommon.getData``,
``_GXCommon.changeType(..., DataType.DATETIME)``, ``GXDLMS.getHdlcData``); every result is
checked against ours before timing. Prints figures; not a test. Needs the ``bench`` extra.
Run: ``.venv/bin/python bench/bench_decode.py [--rows N] [--info N]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_codec import block_load_buffer, hdlc_stream  # noqa: E402

from meterreader.dlms.axdr import decode_data  # noqa: E402
from meterreader.dlms.axdr_fast import decode_table, decode_table_rows  # noqa: E402
from meterreader.dlms.hdlc import FrameReader  # noqa: E402


def best_of(fn: Callable[[], Any], seconds: float = 1.0, least: int = 3) -> float:
    """Best wall time of repeated calls (at least ``least`` runs, about ``seconds`` in total)."""
    best, spent, runs = float("inf"), 0.0, 0
    while runs < least or spent < seconds:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, spent, runs = min(best, dt), spent + dt, runs + 1
    return best


# ---- ours ----

def ours_reassemble(stream: bytes) -> bytes:
    return b"".join(f.info for f in FrameReader().feed(stream))


# ---- dlms-cosem ----

def dlms_cosem_routes() -> dict[str, Callable[..., Any]]:
    import structlog
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    from dlms_cosem import utils
    from dlms_cosem.hdlc import address
    from dlms_cosem.hdlc import state as hdlc_state
    from dlms_cosem.hdlc.connection import HdlcConnection
    from dlms_cosem.time import datetime_from_bytes

    def raw(buf: bytes) -> list[list[Any]]:
        return utils.parse_as_dlms_data(buf)

    def rows(buf: bytes) -> list[list[Any]]:
        return [[datetime_from_bytes(r[0])[0], *r[1:]] for r in utils.parse_as_dlms_data(buf)]

    def reassemble(stream: bytes) -> bytes:
        conn = HdlcConnection(client_address=address.HdlcAddress(16, None, "client"),
                              server_address=address.HdlcAddress(1, 256, "server"))
        conn.receive_data(stream)
        parts = []
        while True:
            conn.state.current_state = hdlc_state.AWAITING_RESPONSE  # as after each RR we send
            event = conn.next_event()
            if event is hdlc_state.NEED_DATA:
                if conn.buffer_search_position >= len(conn.buffer):
                    break
                continue  # a 0x7E inside the info field: it searches on
            parts.append(bytes(event.payload))
        return b"".join(parts)
    return {"raw": raw, "rows": rows, "reassemble": reassemble}


# ---- gurux-dlms ----

def gurux_routes() -> dict[str, Callable[..., Any]]:
    from gurux_dlms.enums import DataType
    from gurux_dlms.GXByteBuffer import GXByteBuffer
    from gurux_dlms.GXDLMS import GXDLMS
    from gurux_dlms.GXDLMSSettings import GXDLMSSettings
    from gurux_dlms.GXReplyData import GXReplyData
    from gurux_dlms.internal._GXCommon import _GXCommon
    from gurux_dlms.internal._GXDataInfo import _GXDataInfo

    settings = GXDLMSSettings(False, None)

    def raw(buf: bytes) -> Any:
        return _GXCommon.getData(settings, GXByteBuffer(buf), _GXDataInfo())

    def rows(buf: bytes) -> list[list[Any]]:
        return [[_GXCommon.changeType(settings, r[0], DataType.DATETIME).value, *r[1:]]
                for r in raw(buf)]

    def reassemble(stream: bytes) -> bytes:
        link = GXDLMSSettings(False, None)
        link.checkFrame = lambda *args: True  # our stream's N(R) stays 0: skip sequence checks
        reply, data = GXByteBuffer(stream), GXReplyData()
        while reply.position < len(reply):
            GXDLMS.getHdlcData(False, link, reply, data, None)
            if not data.complete:
                break
            GXDLMS.getDataFromFrame(reply, data, True)
        return bytes(data.data)
    return {"raw": raw, "rows": rows, "reassemble": reassemble}


def check(name: str, got_rows: Any, expected: list[tuple[Any, ...]]) -> None:
    got = [tuple(bytes(c) if isinstance(c, bytearray) else c for c in r) for r in got_rows]
    if len(got) != len(expected) or got[0] != expected[0] or got[-1] != expected[-1]:
        raise SystemExit(f"{name}: rows differ from ours: {got[0]!r} vs {expected[0]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--info", type=int, default=128, help="HDLC info field length")
    args = parser.parse_args()
    buf = block_load_buffer(args.rows)
    stream = hdlc_stream(buf, args.info)
    print(f"machine: {platform.machine()} {platform.processor() or ''} "
          f"{platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs; buffer {len(buf)} bytes, {args.rows} rows; "
          f"HDLC stream {len(stream)} bytes (info field {args.info})")

    raw, _ = decode_table(buf)
    rows, _ = decode_table_rows(buf)
    ours = {"raw": lambda b: decode_table(b)[0], "rows": lambda b: decode_table_rows(b)[0],
            "reassemble": ours_reassemble}
    peers = {"dlms-cosem": dlms_cosem_routes(), "gurux-dlms": gurux_routes()}
    for name, routes in peers.items():
        check(f"{name} raw", routes["raw"](buf), raw)
        check(f"{name} rows", routes["rows"](buf), rows)
        if routes["reassemble"](stream) != buf:
            raise SystemExit(f"{name}: HDLC reassembly differs")
    assert ours_reassemble(stream) == buf

    def task(routes: dict[str, Callable[..., Any]], kind: str) -> tuple[Callable[[], Any], int]:
        if kind in ("raw", "rows"):
            return (lambda: routes[kind](buf)), len(buf)
        then = "raw" if kind == "hdlc raw" else "rows"
        return (lambda: routes[then](routes["reassemble"](stream))), len(stream)

    header = (f"{'measurement':<22}{'dlms-cosem':>12}{'gurux-dlms':>12}{'ours':>10}"
              f"{'ours ms':>9}{'× faster peer':>15}")
    print(header)
    print("-" * len(header))
    for kind, label in (("raw", "A-XDR → raw values"), ("rows", "A-XDR → rows+datetime"),
                        ("hdlc raw", "HDLC → raw values"), ("hdlc rows", "HDLC → rows+datetime")):
        speeds = {}
        for name, routes in peers.items():
            fn, size = task(routes, kind)
            speeds[name] = size / 1e6 / best_of(fn, seconds=1.0, least=3)
        fn, size = task(ours, kind)
        t = best_of(fn, seconds=1.0, least=10)
        mine = size / 1e6 / t
        print(f"{label:<22}{speeds['dlms-cosem']:>9.2f} MB/s{speeds['gurux-dlms']:>7.2f} MB/s"
              f"{mine:>7.1f} MB/s{t * 1e3:>7.1f}{mine / max(speeds.values()):>13.1f}×")
    t = best_of(lambda: decode_data(buf), least=10)
    print(f"(ours, general decode_data to Data objects: {t * 1e3:.1f} ms, "
          f"{len(buf) / 1e6 / t:.1f} MB/s; HDLC reassembly alone: "
          f"{len(stream) / 1e6 / best_of(lambda: ours_reassemble(stream), least=10):.1f} MB/s)")
    profile_read(buf)


def profile_read(buf: bytes) -> None:
    """The session's profile read path on the same buffer: decode_data (what the session does
    with the GET answer) + session_profile._result (scalers, clock datetimes, raw_rows), now
    column-wise, against the cell-by-cell conversion it replaced (tests keep it as reference)."""
    import types

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
    from test_session_profile_fast import reference_result

    from meterreader.client import session_profile as sp
    from meterreader.cosem.obis import Obis
    from meterreader.dlms.cosem_time import BLUE_BOOK
    from meterreader.dlms.xdlms import CaptureObjectDefinition

    def cap(class_id: int, obis: str) -> CaptureObjectDefinition:
        return CaptureObjectDefinition(class_id=class_id, logical_name=Obis.parse(obis),
                                       attribute_index=2, data_index=0)
    capture = [cap(8, "0.0.1.0.0.255")] + [cap(3, f"1.0.{c}.27.0.255") for c in (32, 52, 72)] + [
        cap(3, f"1.0.{c}.27.0.255") for c in (31, 51, 71)] + [
        cap(3, "1.0.1.29.0.255"), cap(3, "1.0.9.29.0.255")]
    scalers = {(3, c.logical_name): (-2 if k < 4 else -3, 35) for k, c in enumerate(capture)
               if c.class_id == 3}
    session = types.SimpleNamespace(settings=types.SimpleNamespace(deviation_sign=BLUE_BOOK),
                                    profile_cache=sp.ProfileCache(), is_ready=False)
    every = list(range(len(capture)))
    state = {"blocks": 0, "bytes": len(buf)}
    obis = Obis.parse("1.0.99.1.0.255")

    def new() -> Any:
        rows = sp._rows_of(decode_data(buf)[0])
        return sp._result(session, obis, capture, every, every, scalers, rows, state, None)

    def old() -> Any:
        rows = sp._rows_of(decode_data(buf)[0])
        return reference_result(session, obis, capture, every, every, scalers, rows, state, None)
    assert new() == old()
    t_decode = best_of(lambda: decode_data(buf), least=5)
    t_new, t_old = best_of(new, least=5), best_of(old, least=3)
    mb = len(buf) / 1e6
    print(f"profile read path (decode_data + session_profile rows, scaled, datetimes, raw_rows):"
          f"\n  decode_data {t_decode * 1e3:.1f} ms; whole path column-wise {t_new * 1e3:.1f} ms "
          f"({mb / t_new:.1f} MB/s), cell by cell (before) {t_old * 1e3:.1f} ms "
          f"({mb / t_old:.1f} MB/s): ×{t_old / t_new:.1f}")


if __name__ == "__main__":
    main()
