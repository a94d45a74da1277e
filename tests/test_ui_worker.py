"""ProtocolWorker (ui/worker.py) against the in-process demo meter (ui/demo_meter.py): jobs in
FIFO order on the worker thread, results and errors on the GUI thread, trace without secrets,
progress and stats, Stop of a long profile read, a meter that dies mid-read, stop() ending the
thread, and a GUI heartbeat that never stalls during a 9600-baud download."""

from __future__ import annotations

import datetime as dt
import gc
import socket
import sys
import threading
import time
import weakref

import pytest
from PySide6.QtCore import QThread, QTimer

from meterreader.client import (AccessDenied, AssociationRejected, Cancelled, ConnectionFailed,
                                ConnectionLost, CosemObjectInfo, MeterNotAnswering,
                                ObjectUndefined, ProfileResult, Quantity, SessionNotReady,
                                SessionStats)
from meterreader.client.profile import ConnectionProfile
from meterreader.dlms.axdr import D, Data, DataTag
from meterreader.dlms.secret import SecretBytes
from ui.demo_meter import DemoMeter
from ui.worker import ConnectedInfo, Job, JobNotDone, Progress, ProtocolWorker, TraceRecord

BLOCK_LOAD = "1.0.99.1.0.255"
ENERGY = "1.0.1.8.0.255"
PERIOD = "1.0.0.8.0.255"  # demand integration period (class 1), writable under US
MD_RESET = "0.0.10.0.1.255"  # script table (class 9), method 1 = execute script
BILLING_COUNT = "0.0.0.1.0.255"
PASSWORD = b"12345678"


@pytest.fixture(scope="module")
def demo():
    with DemoMeter(days_of_block_load=3, max_pdu_size=512) as meter:
        meter.start()
        yield meter


@pytest.fixture(scope="module")
def slow_demo():
    """A meter behind an emulated 9600-baud line: a block load read takes ~20 s."""
    with DemoMeter(days_of_block_load=3, max_pdu_size=512, link_baud=9600) as meter:
        meter.start()
        yield meter


@pytest.fixture
def worker(qtbot):
    w = ProtocolWorker()
    w.start()
    yield w
    thread = w.worker_thread
    w.stop(timeout=2.0, wait=False)
    qtbot.waitUntil(thread.isFinished, timeout=5000)
    qtbot.wait(20)  # deliver the last queued signals


def finish(qtbot, job: Job, timeout: int = 5000) -> Job:
    qtbot.waitUntil(lambda: job.done, timeout=timeout)
    return job


def connect(qtbot, worker, profile) -> ConnectedInfo:
    return finish(qtbot, worker.connect_meter(profile)).result()


def test_connect_read_and_browse(qtbot, worker, demo):
    connected, stats, busy = [], [], []
    worker.connected.connect(connected.append)
    worker.stats.connect(stats.append)
    worker.busy_changed.connect(busy.append)
    assert not worker.is_connected
    info = connect(qtbot, worker, demo.profile("mr"))
    assert isinstance(info, ConnectedInfo) and connected == [info] and worker.is_connected
    assert info.association == "MR (client 32)"
    assert info.profile_description.startswith("demo TCP 127.0.0.1:")
    assert info.negotiated["max_pdu_size"] == 512
    assert worker.connected_info is info and worker.profile.association == "mr"

    clock = finish(qtbot, worker.read_clock()).result()
    assert isinstance(clock, dt.datetime)
    raw_clock = finish(qtbot, worker.get(8, "0.0.1.0.0.255", 2)).result()
    assert isinstance(raw_clock, Data) and raw_clock.tag is DataTag.OCTET_STRING
    assert len(raw_clock.value) == 12  # COSEM date-time
    energy = finish(qtbot, worker.read_register(ENERGY)).result()
    assert isinstance(energy, Quantity) and energy.unit_text == "Wh" and energy.value > 0
    objects = finish(qtbot, worker.object_list()).result()
    assert all(isinstance(o, CosemObjectInfo) for o in objects)
    assert {str(o.logical_name) for o in objects} >= {"0.0.1.0.0.255", BLOCK_LOAD, ENERGY}
    devices = finish(qtbot, worker.logical_devices()).result()
    assert devices[0].sap == 1
    values = finish(qtbot, worker.get_many([(3, ENERGY, 2), (1, BILLING_COUNT, 2)])).result()
    assert len(values) == 2

    assert stats and isinstance(stats[-1], SessionStats) and stats[-1].frames_received >= 6
    assert worker.last_stats is stats[-1]
    assert busy[0] is True and busy[-1] is False and not worker.is_busy


def test_custom_function_result_and_errors_arrive_on_the_gui_thread(qtbot, worker, demo):
    connect(qtbot, worker, demo.profile("mr"))
    threads = []
    job = worker.submit(lambda s: (threading.get_ident(), s.read_register(ENERGY).unit_text),
                        description="custom")
    with pytest.raises(JobNotDone):
        job.result()
    job.finished.connect(lambda value: threads.append(threading.get_ident()))
    worker_thread_id, unit = finish(qtbot, job).result()
    assert unit == "Wh" and worker_thread_id != threading.get_ident()
    assert threads == [threading.get_ident()]  # the signal ran on the GUI thread

    failures = []
    denied = worker.set(1, PERIOD, 2, D.long_unsigned(1800))  # MR may not write
    denied.failed.connect(failures.append)
    finish(qtbot, denied)
    assert isinstance(denied.error, AccessDenied) and failures == [denied.error]
    assert "read-write-denied" in str(denied.error)
    with pytest.raises(AccessDenied):
        denied.result()
    missing = finish(qtbot, worker.get(3, "1.2.3.4.5.6", 2))
    assert isinstance(missing.error, ObjectUndefined)
    assert worker.is_connected  # refusals leave the association open
    assert finish(qtbot, worker.read_clock()).succeeded


def test_jobs_run_in_fifo_order(qtbot, worker, demo):
    order = []
    connect_job = worker.connect_meter(demo.profile("pc"))
    jobs = [worker.submit(lambda s, i=i: order.append(i) or i, description=f"job {i}")
            for i in range(5)]
    jobs.append(worker.read_clock())
    finish(qtbot, jobs[-1])
    assert connect_job.succeeded and order == [0, 1, 2, 3, 4]
    assert [j.result() for j in jobs[:5]] == [0, 1, 2, 3, 4]


def test_set_and_action_under_utility_settings(qtbot, worker, demo):
    connect(qtbot, worker, demo.profile("us"))
    before = finish(qtbot, worker.get(1, PERIOD, 2)).result()
    new = 1800 if before.value != 1800 else 900
    assert finish(qtbot, worker.set(1, PERIOD, 2, D.long_unsigned(new))).result() is None
    assert finish(qtbot, worker.get(1, PERIOD, 2)).result().value == new
    finish(qtbot, worker.set(1, PERIOD, 2, before))
    billing = finish(qtbot, worker.get(1, BILLING_COUNT, 2)).result().value
    assert finish(qtbot, worker.action(9, MD_RESET, 1, D.long_unsigned(1))).result() is None
    assert finish(qtbot, worker.get(1, BILLING_COUNT, 2)).result().value == billing + 1


def test_wrong_us_key_is_rejected_without_link_lost(qtbot, worker, demo):
    lost = []
    worker.link_lost.connect(lost.append)
    job = finish(qtbot, worker.connect_meter(demo.profile("us", hls_key=SecretBytes(b"2" * 16))))
    assert isinstance(job.error, AssociationRejected) and not worker.is_connected
    unconnected = finish(qtbot, worker.read_clock())
    assert isinstance(unconnected.error, SessionNotReady)
    assert "connect to a meter first" in str(unconnected.error)
    assert lost == []


def test_connection_refused_fails_fast(qtbot, worker):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    job = finish(qtbot, worker.connect_meter(ConnectionProfile.for_association("pc",
                                                                               port=port)))
    assert isinstance(job.error, ConnectionFailed) and time.monotonic() - started < 3
    assert "refused" in str(job.error) and not worker.is_connected


def test_trace_records_without_password(qtbot, worker, demo):
    records: list[TraceRecord] = []
    batches = []
    worker.trace.connect(records.append)
    worker.trace_batch.connect(batches.append)
    connect(qtbot, worker, demo.profile("mr"))
    finish(qtbot, worker.read_register(ENERGY))
    qtbot.waitUntil(lambda: any(r.direction == "rx" and r.layer == "apdu" and r.data[:1] ==
                                b"\xc4" for r in records), timeout=2000)
    assert sum(len(b) for b in batches) == len(records)
    assert {r.layer for r in records} == {"apdu", "wrapper"}
    assert {r.direction for r in records} == {"tx", "rx"}
    aarq = [r for r in records if r.layer == "apdu" and r.data[:1] == b"\x60"]
    assert aarq and b"********" in aarq[0].data and aarq[0].summary == "AARQ"
    assert all(PASSWORD not in r.data for r in records)
    assert all(isinstance(r.data, bytes) and r.timestamp > 1e9 for r in records)
    times = [r.timestamp for r in records]
    assert times == sorted(times)


def test_hdlc_over_tcp_and_reconnect(qtbot, worker, demo):
    records = []
    worker.trace.connect(records.append)
    info = connect(qtbot, worker, demo.profile("mr", framing="hdlc"))
    assert info.negotiated["window_tx"] is not None and "HDLC" in info.profile_description
    assert finish(qtbot, worker.read_clock()).succeeded
    disconnected = []
    worker.disconnected.connect(disconnected.append)
    again = finish(qtbot, worker.reconnect()).result()
    assert again.profile == info.profile and worker.is_connected and len(disconnected) == 1
    qtbot.waitUntil(lambda: any(r.layer == "hdlc" and "DISC" in r.summary for r in records),
                    timeout=2000)
    assert finish(qtbot, worker.disconnect_meter()).result() is None
    assert not worker.is_connected and disconnected[-1] == "disconnected"


def test_read_profile_with_progress(qtbot, worker, demo):
    progress: list[Progress] = []
    worker.progress.connect(progress.append)
    connect(qtbot, worker, demo.profile("mr"))
    result = finish(qtbot, worker.read_profile(BLOCK_LOAD, entries=(1, 40))).result()
    assert isinstance(result, ProfileResult) and result.complete and len(result.rows) == 40
    assert progress and progress[-1].done == progress[-1].total == 40
    assert progress[-1].rows == 40 and progress[-1].fraction == 1.0
    assert progress[-1].operation == f"profile {BLOCK_LOAD}" and progress[-1].bytes > 512
    assert all(p.total == 40 for p in progress)


def test_cancel_a_long_profile_read(qtbot, worker, slow_demo):
    connect(qtbot, worker, slow_demo.profile("mr"))
    job = worker.read_profile(BLOCK_LOAD)  # 288 rows at 9600 baud: ~20 s
    with qtbot.waitSignal(worker.progress, timeout=5000):
        pass
    queued = worker.read_clock()
    stopped = time.monotonic()
    worker.cancel()
    finish(qtbot, job, timeout=3000)
    assert time.monotonic() - stopped < 1.2
    if job.succeeded:
        result = job.result()
        assert not result.complete and isinstance(result.error, Cancelled)
        assert 0 < len(result.rows) < 288
    else:
        assert isinstance(job.error, Cancelled)
    finish(qtbot, queued)
    assert isinstance(queued.error, Cancelled)  # Stop also drops what was queued behind it
    # The worker released and associated again: the user is still connected.
    assert worker.is_connected
    assert isinstance(finish(qtbot, worker.read_clock(), 8000).result(), dt.datetime)


def test_cancel_a_queued_job(qtbot, worker, demo):
    connect(qtbot, worker, demo.profile("pc"))
    gate = threading.Event()
    first = worker.submit(lambda s: gate.wait(5), description="blocker")
    second = worker.read_clock()
    second.cancel()
    gate.set()
    finish(qtbot, first)
    finish(qtbot, second)
    assert first.result() is True and isinstance(second.error, Cancelled)


def test_meter_dies_mid_read(qtbot, worker):
    lost, disconnected = [], []
    worker.link_lost.connect(lost.append)
    worker.disconnected.connect(disconnected.append)
    meter = DemoMeter(days_of_block_load=3, max_pdu_size=512, link_baud=9600)
    try:
        profile = meter.start("mr").replace(response_timeout=1.0, retries=1)
        connect(qtbot, worker, profile)
        job = worker.read_profile(BLOCK_LOAD)
        with qtbot.waitSignal(worker.progress, timeout=5000):
            pass
        killed = time.monotonic()
        meter.stop()
        finish(qtbot, job, timeout=5000)
        qtbot.waitUntil(lambda: bool(lost), timeout=3000)
    finally:
        meter.stop()
    assert time.monotonic() - killed < 3.0
    error = job.result().error if job.succeeded else job.error
    assert isinstance(error, (ConnectionLost, MeterNotAnswering))
    if job.succeeded:
        assert not job.result().complete and job.result().rows
    assert "Reconnect" in lost[0] and str(error).rstrip(".") in lost[0]
    assert disconnected == lost and not worker.is_connected
    assert worker.profile == profile  # kept for Reconnect


def test_stop_releases_and_ends_the_thread(qtbot, demo):
    worker = ProtocolWorker()
    records, disconnected = [], []
    worker.trace.connect(records.append)
    worker.disconnected.connect(disconnected.append)
    connect(qtbot, worker, demo.profile("mr"))  # submit starts the thread
    thread = worker.worker_thread
    assert isinstance(thread, QThread) and thread.isRunning()
    gate = threading.Event()
    blocker = worker.submit(lambda s: gate.wait(0.3), description="short work")
    dropped = worker.read_clock()
    worker.stop(timeout=2.0, wait=False)
    qtbot.waitUntil(thread.isFinished, timeout=4000)
    finish(qtbot, dropped)
    finish(qtbot, blocker)
    qtbot.waitUntil(lambda: bool(disconnected), timeout=1000)
    assert isinstance(dropped.error, Cancelled) and blocker.done
    assert disconnected == ["the worker stopped"] and not worker.is_connected
    assert any(r.direction == "tx" and r.layer == "apdu" and r.data[:1] == b"\x62"
               for r in records)  # RLRQ
    assert not worker.is_running and worker.stop() is True  # idempotent
    # A stopped worker starts again on the next request.
    assert connect(qtbot, worker, demo.profile("pc")).association == "PC (client 16)"
    assert worker.worker_thread is not thread and worker.stop(timeout=2.0) is True


def test_await_job_under_qasync(qtbot, worker, demo):
    import qasync

    async def main():
        info = await worker.connect_meter(demo.profile("mr"))
        clock = await worker.read_clock()
        with pytest.raises(ObjectUndefined):
            await worker.get(3, "1.2.3.4.5.6", 2)
        done = worker.read_clock()
        await done
        return info, clock, await done  # awaiting a finished job returns at once

    info, clock, again = qasync.run(main())
    assert isinstance(info, ConnectedInfo) and isinstance(clock, dt.datetime)
    assert isinstance(again, dt.datetime)


def test_gui_heartbeat_never_stalls_during_a_9600_baud_download(qtbot, worker, slow_demo):
    connect(qtbot, worker, slow_demo.profile("mr"))
    records = []
    worker.trace.connect(records.append)
    beats: list[float] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: beats.append(time.monotonic()))
    timer.start()
    job = worker.read_profile(BLOCK_LOAD, entries=(1, 200), columns=[0, 1])
    finish(qtbot, job, timeout=15000)
    timer.stop()
    result = job.result()
    assert result.complete and len(result.rows) == 200 and result.blocks > 5
    gaps = [b - a for a, b in zip(beats, beats[1:])]
    assert len(beats) > 100 and max(gaps) < 0.100, f"GUI stalled {max(gaps) * 1000:.0f} ms"
    assert len(records) > 20


def test_meter_that_stops_answering_is_reported_within_the_timeout(qtbot, worker):
    lost = []
    worker.link_lost.connect(lost.append)
    with DemoMeter(days_of_block_load=3, max_pdu_size=512, faults=["stall=4000"]) as meter:
        profile = meter.start("mr", framing="hdlc").replace(response_timeout=0.5, retries=1)
        connect(qtbot, worker, profile)
        started = time.monotonic()
        job = finish(qtbot, worker.read_profile(BLOCK_LOAD), timeout=5000)
        qtbot.waitUntil(lambda: bool(lost), timeout=3000)
    assert time.monotonic() - started < 3.0  # 2 × 0.5 s of waiting, then give up
    error = job.result().error if job.succeeded else job.error
    assert isinstance(error, MeterNotAnswering)
    assert lost[0].startswith(str(error).rstrip(".")) and "Reconnect" in lost[0]
    assert not worker.is_connected


def test_signal_emits_do_not_exhaust_the_true_singleton(qtbot):
    # PySide6 6.12 drops a reference to True on every Python-side emit (ui/pyside_fixes.py);
    # without the reserve CPython aborts after a few hundred emits.
    from PySide6.QtCore import QObject, Signal

    import ui.pyside_fixes as fixes

    class Emitter(QObject):
        ping = Signal(object)

    emitter = Emitter()
    got = []
    emitter.ping.connect(got.append)
    before = sys.getrefcount(True)
    for i in range(20000):
        emitter.ping.emit(i)
    assert len(got) == 20000 and sys.getrefcount(True) > 1000
    assert fixes.emit_drops_a_reference() is (before - sys.getrefcount(True) > 10000)


def test_gc_runs_on_the_gui_thread_while_a_worker_lives(qtbot, demo):
    from ui.pyside_fixes import gui_gc_holders

    holders = gui_gc_holders()
    enabled = gc.isenabled()
    worker = ProtocolWorker()
    worker.start()
    assert gui_gc_holders() == holders + 1 and not gc.isenabled()
    thread = worker.worker_thread
    worker.stop(timeout=1.0, wait=False)
    qtbot.waitUntil(thread.isFinished, timeout=3000)
    qtbot.waitUntil(lambda: gui_gc_holders() == holders, timeout=1000)
    assert gc.isenabled() == (enabled if holders == 0 else False)


def test_finished_jobs_are_freed_without_the_cyclic_collector(qtbot, worker, demo):
    connect(qtbot, worker, demo.profile("pc"))
    failed = finish(qtbot, worker.get(3, "1.2.3.4.5.6", 2))
    done = finish(qtbot, worker.read_clock())
    assert isinstance(failed.error, ObjectUndefined) and failed.error.__traceback__ is None
    assert "Traceback" in failed.error.worker_traceback  # kept as text for bug reports
    refs = [weakref.ref(failed), weakref.ref(failed.error), weakref.ref(done)]
    enabled = gc.isenabled()
    gc.disable()
    try:
        del failed, done
        qtbot.wait(10)
        assert [r() for r in refs] == [None, None, None]  # freed by reference counting
    finally:
        if enabled:
            gc.enable()


def test_a_dropped_worker_still_ends_its_thread(qtbot, demo):
    worker = ProtocolWorker()
    connect(qtbot, worker, demo.profile("pc"))
    thread = worker.worker_thread
    del worker  # no stop(): the worker's destruction releases the session and ends the thread
    qtbot.waitUntil(thread.isFinished, timeout=4000)
