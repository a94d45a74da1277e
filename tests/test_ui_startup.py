"""Start-up of the desktop app: the first-run demo offer opens by itself, and starting the demo
meter (a good part of a second of simulator construction) never stalls the GUI thread."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from PySide6.QtCore import QEvent, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from ui import app as ui_app


def test_first_run_offers_the_demo_meter_at_start_up(tmp_path):
    """`meterreader-gui` with no saved connection shows the first-run offer without any click
    (child process: a finished QApplication.exec() leaves Qt closing down)."""
    script = (
        "import os, time\n"
        "os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "from PySide6.QtCore import QTimer\n"
        "import ui.app as ui_app\n"
        "from ui.main_connect import FirstRunDialog\n"
        "app = ui_app.create_application([])\n"
        "deadline = time.monotonic() + 20\n"
        "def poll():\n"
        "    shown = [w for w in app.topLevelWidgets()\n"
        "             if isinstance(w, FirstRunDialog) and w.isVisible()]\n"
        "    if shown:\n"
        "        print('offered:', shown[0].demo_button.text())\n"
        "        app.exit(0)\n"
        "    elif time.monotonic() > deadline:\n"
        "        app.exit(4)\n"
        "timer = QTimer(); timer.timeout.connect(poll); timer.start(50)\n"
        "raise SystemExit(ui_app.main([]))\n"
    )
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path),
           "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "offered: Demo meter — the built-in simulator" in proc.stdout


def test_starting_the_demo_meter_does_not_stall_the_gui(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = ui_app.build_main_window(settings=settings, cache_dir=tmp_path / "cache")
    qtbot.addWidget(window)
    window.show()
    # Let what earlier tests left behind (deferred deletes, timers) run before measuring.
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qtbot.wait(300)
    beats: list[float] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: beats.append(time.monotonic()))
    timer.start()
    try:
        before = time.monotonic()
        assert window.controller.start_demo() is None  # the meter starts in the background
        started = time.monotonic()
        assert started - before < 0.1, f"start_demo took {(started - before) * 1000:.0f} ms"
        assert "Starting the demo meter" in window.status.currentMessage()
        qtbot.waitUntil(lambda: window.worker.is_connected, timeout=20_000)
        qtbot.waitUntil(lambda: window.browser.model.object_count() > 0, timeout=20_000)
        beats.append(time.monotonic())  # up to the end, even if the timer had no turn yet
    finally:
        timer.stop()
        window.close()
    ticks = [started, *beats]
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert beats and max(gaps) < 0.100, f"GUI stalled {max(gaps) * 1000:.0f} ms"
