"""Codec throughput: A-XDR decode of a 10,000-row block-load buffer, HDLC reassembly, FCS.

Prints figures; not a test. Run: ``.venv/bin/python bench/bench_codec.py [--rows N]``.
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import datetime, timedelta, timezone

from meterreader.dlms.axdr import D, decode_data, encode_data, to_python
from meterreader.dlms.cosem_time import CosemDateTime
from meterreader.dlms.hdlc import FrameReader, FrameType, HdlcAddress, HdlcFrame, encode_frame
from meterreader.dlms.hdlc.crc import crc16, crc16_table


def block_load_buffer(rows: int) -> bytes:
    """IS 15959 block load: clock, 3 average voltages, 3 currents, kWh and kVAh block energy."""
    start = datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    out = []
    for i in range(rows):
        stamp = CosemDateTime.from_datetime(start + timedelta(minutes=15 * i))
        out.append(D.structure(
            D.octet_string(bytes(stamp)),
            *(D.long_unsigned(23000 + (i * 7 + k) % 500) for k in range(3)),
            *(D.double_long_unsigned(1500 + (i * 13 + k) % 900) for k in range(3)),
            D.double_long_unsigned(100 + i % 50), D.double_long_unsigned(110 + i % 50)))
    return encode_data(D.array(*out))


def hdlc_stream(payload: bytes, info: int) -> bytes:
    client, server = HdlcAddress(upper=16), HdlcAddress(upper=1, lower=256, size=4)
    frames = []
    chunks = [payload[i:i + info] for i in range(0, len(payload), info)]
    for n, chunk in enumerate(chunks):
        frames.append(encode_frame(HdlcFrame(
            destination=client, source=server, frame_type=FrameType.I, n_s=n % 8, n_r=0,
            segmented=n + 1 < len(chunks), poll_final=True, info=chunk)))
    return b"".join(frames)


def timed(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    buf = block_load_buffer(args.rows)
    mb = len(buf) / 1e6
    print(f"machine: {platform.machine()} {platform.python_implementation()} "
          f"{platform.python_version()}; buffer {len(buf)} bytes, {args.rows} rows")
    t = timed(lambda: decode_data(buf))
    print(f"A-XDR decode to Data        {t * 1e3:8.1f} ms  {mb / t:6.2f} MB/s")
    value, _ = decode_data(buf)
    t = timed(lambda: to_python(decode_data(buf)[0]))
    print(f"A-XDR decode to Python      {t * 1e3:8.1f} ms  {mb / t:6.2f} MB/s")
    t = timed(lambda: encode_data(value))
    print(f"A-XDR encode                {t * 1e3:8.1f} ms  {mb / t:6.2f} MB/s")
    for info in (128, 2030):
        stream = hdlc_stream(buf, info)

        def reassemble() -> bytes:
            return b"".join(f.info for f in FrameReader().feed(stream))
        assert reassemble() == buf
        t = timed(reassemble)
        print(f"HDLC reassembly (info {info:4d}) {t * 1e3:8.1f} ms  {len(stream) / 1e6 / t:6.2f} MB/s")
    t = timed(lambda: crc16(buf))
    print(f"FCS CRC-16/X.25 (one call)  {t * 1e3:8.1f} ms  {mb / t:6.2f} MB/s")
    frames = [buf[i:i + 128] for i in range(0, len(buf), 128)]
    t = timed(lambda: [crc16(f) for f in frames])
    print(f"FCS per 128-byte frame      {t * 1e3:8.1f} ms  {mb / t:6.2f} MB/s")
    t = timed(lambda: crc16_table(buf), repeat=1)
    print(f"FCS table reference         {t * 1e3:8.1f} ms  {mb / t:6.2f} MB/s")
    mixed_arrays()


def mixed_arrays() -> None:
    """decode_data with the fast path (arrays of >= 16 structures / >= 64 other elements) against
    the general per-element loop (fast path switched off) on arrays whose elements differ."""
    from meterreader.dlms import axdr
    from meterreader.simulator.builder import build_meter
    clock = bytes(CosemDateTime.from_datetime(datetime(2026, 1, 1, tzinfo=timezone.utc)))

    def rows(n: int, period: int, same: int) -> bytes:
        return encode_data(D.array(*(D.structure(
            D.octet_string(clock) if i % period < same else D.null(),
            *(D.double_long_unsigned(i) for _ in range(9))) for i in range(n))))
    meter = build_meter("C", seed=1, now=lambda: datetime(2026, 1, 1))
    cases = {
        "alternating row layouts": rows(10_000, 2, 1),
        "5 rows + 1 odd, repeated": rows(10_000, 6, 5),
        "15 rows + 1 odd, repeated": rows(10_000, 16, 15),
        "99 rows + 1 odd, repeated": rows(10_000, 100, 99),
        "compressed (clock once)": rows(10_000, 10_000, 1),
        "varying-length octet-strings": encode_data(D.array(*(
            D.octet_string(b"x" * (i % 7 + 1)) for i in range(20_000)))),
        "arrays of small arrays": encode_data(D.array(*(D.array(*(
            D.long_unsigned(j) for j in range(4 + i % 3))) for i in range(5_000)))),
        "simulator object list": encode_data(meter.management.object_list("MR")),
        "block load 10k (homogeneous)": block_load_buffer(10_000),
    }
    print(f"{'decode_data, mixed arrays':<30}{'bytes':>9}{'fast':>10}{'general':>10}{'fast/gen':>10}")
    saved = axdr._FAST_MIN_ELEMENTS
    for name, buf in cases.items():
        fast = timed(lambda: decode_data(buf), repeat=7)
        axdr._FAST_MIN_ELEMENTS = 1 << 62
        try:
            general = timed(lambda: decode_data(buf), repeat=7)
            reference = decode_data(buf)
        finally:
            axdr._FAST_MIN_ELEMENTS = saved
        assert decode_data(buf) == reference
        print(f"{name:<30}{len(buf):>9,}{fast * 1e3:>8.2f}ms{general * 1e3:>8.2f}ms"
              f"{fast / general:>10.2f}")


if __name__ == "__main__":
    main()
