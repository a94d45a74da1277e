"""The fault matrix in the GUI (docs/fault-matrix.md): a meter that stops answering in the middle
of a profile read. The main window shows the failure in words (no traceback), the GUI thread
never stalls meanwhile, and the window stays usable: Reconnect brings the session back and the
next read works.
"""

from __future__ import annotations

import time

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from meterreader.client.profile import ConnectionProfile  # noqa: E402
from meterreader.simulator.facade import SimulatedMeter  # noqa: E402
from meterreader.simulator.faults import Fault, LineOptions  # noqa: E402
from test_ui_main import (BLOCK_LOAD, CLOCK, LONG, START, Heartbeat, connect, idle,  # noqa: E402
                          select, settings, wait_objects, window)

__all__ = ["settings", "window"]  # fixtures used below

TIMEOUT = 0.5


def profile_for(port: int) -> ConnectionProfile:
    return ConnectionProfile.for_association("mr", name="sim mr", port=port,
                                             framing="wrapper", response_timeout=TIMEOUT)


def test_stall_mid_profile_read_shows_the_failure_and_the_window_stays_usable(qtbot, window):
    with SimulatedMeter(category="C", seed=5, start=START, days_of_block_load=2,
                        max_pdu_size=256) as m:
        # A clean line first: the object list of this meter (serial) lands in the cache, so
        # the faulty line below carries only the reads themselves.
        m.wrapper_port = m.serve_tcp()
        connect(qtbot, window, profile_for(m.wrapper_port))
        m.line = LineOptions(faults=(Fault.parse("stall=3000"),))
        m.wrapper_port = m.serve_tcp()
        connect(qtbot, window, profile_for(m.wrapper_port))

        beat = Heartbeat()
        beat.start()
        select(window, BLOCK_LOAD)
        window.panel.select_attribute(2)
        started = time.monotonic()
        window.read_action.trigger()
        qtbot.waitUntil(lambda: not window.panel._jobs, timeout=LONG)
        failed_in = time.monotonic() - started
        beat.stop()

        error = window.panel.attribute_text(2)
        assert error and error != "reading…" and "Traceback" not in error
        assert "answer" in error.lower(), error  # "no answer from the meter within 0.5 s …"
        assert failed_in < TIMEOUT + 3.0
        assert beat.max_gap < 0.100, f"GUI thread stalled {beat.max_gap * 1000:.0f} ms"
        qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=LONG)
        assert "Reconnect" in window.banner.message

        # Still usable: Reconnect (a new connection, the meter's line afresh) and read again.
        qtbot.mouseClick(window.banner.reconnect_button, Qt.MouseButton.LeftButton)
        wait_objects(qtbot, window)
        idle(qtbot, window)
        select(window, CLOCK)
        window.panel.read_attribute(2)
        idle(qtbot, window)
        assert window.panel.attribute_text(2).startswith("2024-03-10"), \
            window.panel.attribute_text(2)
