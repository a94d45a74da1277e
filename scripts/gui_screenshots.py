"""Take the README screenshots of the desktop app against the built-in demo meter.

Run under a virtual X server so the pictures use real fonts and styles::

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/gui_screenshots.py

Writes docs/screenshots/{main_window,object_browser_filtered,write_editor,wizard,profile_view,
reading_view,conformance}.png (or into the folder given as the first argument). Settings,
caches and readings go to a temporary folder.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QSettings  # noqa: E402

from ui import app as ui_app  # noqa: E402

SIZE = (1400, 900)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="meterreader-shots-"))
    qapp = ui_app.create_application([])
    ui_app.apply_os_palette(qapp)
    settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
    window = ui_app.build_main_window(settings=settings, cache_dir=tmp / "cache")
    window.resize(*SIZE)
    window.show()

    def wait(condition: Callable[[], bool], timeout: float = 20.0) -> None:
        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                raise SystemExit("timed out waiting for the demo meter")
            qapp.processEvents()
            time.sleep(0.01)

    def settle(seconds: float = 0.4) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            qapp.processEvents()
            time.sleep(0.01)

    def read_all(obis: str) -> None:
        window.browser.select_obis(obis)
        window.panel.read_all()
        wait(lambda: not window.panel._jobs)
        settle()

    window.controller.start_demo()
    wait(lambda: window.browser.model.object_count() > 0)
    read_all("0.0.1.0.0.255")
    window.trace.flush()
    window.trace.select_row(window.trace.model.rowCount() - 1)
    settle()
    window.grab().save(str(out / "main_window.png"))

    window.browser.set_filter("voltage")
    read_all("1.0.32.7.0.255")
    window.grab().save(str(out / "object_browser_filtered.png"))
    window.browser.set_filter("")

    # The utility-settings client may write the clock: show the typed date-time editor.
    window.controller.connect_profile(window.controller.demo.profile("us"))
    wait(lambda: window.worker.is_connected and window.browser.model.object_count() > 0)
    read_all("0.0.1.0.0.255")
    window.panel.select_attribute(2)
    window.panel.begin_write(2)
    settle()
    window.grab().save(str(out / "write_editor.png"))
    window.panel.cancel_edit()

    wizard = window.controller.open_wizard()
    settle(0.6)
    wizard.grab().save(str(out / "wizard.png"))
    wizard.reject()

    # Block load in a profile view, chart tab in front (trace dock hidden to give it room).
    window.trace_dock.hide()
    window.controller.connect_profile(window.controller.demo.profile("mr"))
    wait(lambda: window.worker.is_connected and window.browser.model.object_count() > 0)
    window.browser.select_obis("1.0.99.1.0.255")
    settle()
    view = window.readings.open_profile()
    view.set_mode("entries")
    view.read_entries(1, 96)
    wait(lambda: view.table() is not None and not view.is_reading)
    view.tabs.setCurrentIndex(1)
    settle(1.0)
    window.grab().save(str(out / "profile_view.png"))

    # One-click IS 15959 read (2 days of block load), the reading tab in front.
    window.settings.setValue("reading/folder", str(tmp / "readings"))
    dialog = window.readings.read_meter_dialog()
    dialog.days.setValue(2)
    dialog.start()
    wait(lambda: window.current_reading_view() is not None, timeout=60)
    reading_view = window.current_reading_view()
    for i in range(reading_view.tabs.count()):
        if reading_view.tabs.tabText(i).startswith("Block load"):
            reading_view.tabs.setCurrentIndex(i)
    settle(1.0)
    window.grab().save(str(out / "reading_view.png"))

    # The conformance bench on the demo meter.
    tab = window.readings.open_conformance()
    tab.run()
    wait(lambda: tab.report is not None and not tab.running, timeout=120)
    settle(1.0)
    window.grab().save(str(out / "conformance.png"))
    window.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else
         Path(__file__).resolve().parents[1] / "docs" / "screenshots")
