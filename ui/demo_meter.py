"""The built-in "Demo meter": the simulator served in-process on free local ports.

``DemoMeter().start()`` builds a :class:`~meterreader.simulator.SimulatedMeter` (its listeners
run on their own background threads, never on the GUI loop), serves the IEC 62056-47 wrapper
and HDLC over TCP on free ports of 127.0.0.1, and returns a ready MR profile (default
password). ``profile()`` gives other associations or the HDLC port; ``stop()`` shuts it down.
"""

from __future__ import annotations

from typing import Any

from meterreader.client.profile import ConnectionProfile
from ui.pyside_fixes import hold_gui_gc, release_gui_gc

__all__ = ["DEMO_NAME", "DemoMeter"]

DEMO_NAME = "Demo meter"


class DemoMeter:
    """One in-process simulated meter. ``options`` go to ``SimulatedMeter`` (``category``,
    ``seed``, ``link_baud``, ``faults``, ``days_of_block_load`` …)."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.meter: Any = None  # meterreader.simulator.SimulatedMeter once started
        self.wrapper_port: int | None = None
        self.hdlc_port: int | None = None
        self._gc_held = False

    @property
    def is_running(self) -> bool:
        return self.meter is not None

    @property
    def port(self) -> int | None:
        """The wrapper port (None when stopped)."""
        return self.wrapper_port

    def start(self, association: str = "mr", *, framing: str = "wrapper") -> ConnectionProfile:
        """Start the meter (if not running) and return a ready profile for it."""
        if self.meter is None:
            from meterreader.simulator import SimulatedMeter  # heavy: imported on first use

            meter = SimulatedMeter(**self.options)
            try:
                self.wrapper_port = meter.serve_tcp(port=0)
                self.hdlc_port = meter.serve_tcp(port=0, hdlc=True)
            except BaseException:
                meter.stop()
                raise
            self.meter = meter
            # The simulator threads run Python: keep cyclic GC on the GUI thread meanwhile.
            if not self._gc_held:
                self._gc_held = hold_gui_gc()
        return self.profile(association, framing=framing)

    def profile(self, association: str = "mr", *, framing: str = "wrapper",
                **overrides: Any) -> ConnectionProfile:
        """A profile for the running meter: ``association`` "pc"/"mr"/"us" with its default
        secret, over the ``framing`` "wrapper" or "hdlc" port; ``overrides`` set other fields."""
        if self.meter is None:
            raise RuntimeError("the demo meter is not running: call start() first")
        port = self.wrapper_port if framing == "wrapper" else self.hdlc_port
        values: dict[str, Any] = dict(name=DEMO_NAME, medium="tcp", host="127.0.0.1", port=port,
                                      framing=framing, demo=True)
        values.update(overrides)
        return ConnectionProfile.for_association(association, **values)

    def hold_gc(self) -> None:
        """Take the GUI-thread GC hold now (on the GUI thread), before :meth:`start` runs on
        another thread; :meth:`stop` releases it."""
        if not self._gc_held:
            self._gc_held = hold_gui_gc()

    def stop(self) -> None:
        """Stop every listener and drop every client connection (safe to call again)."""
        meter, self.meter = self.meter, None
        self.wrapper_port = self.hdlc_port = None
        if meter is not None:
            meter.stop()
        if self._gc_held:
            self._gc_held = False
            release_gui_gc()

    def __enter__(self) -> DemoMeter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
