"""The meter finder dialog ("Detect…" in the wizard) and the diagnosis text of failed connects.

:class:`FinderDialog` runs :func:`meterreader.finder.find_tcp` or
:func:`~meterreader.finder.find_serial` on a background thread (the GUI thread never does I/O),
lists every attempt live as the finder reports it, stops through a
:class:`~meterreader.transport.base.CancelToken`, and shows what was found (serial,
manufacturer, firmware, logical devices, object count) or, when nothing answered, the
:class:`~meterreader.finder.Diagnosis` with what to try next. "Use these settings" emits
:attr:`FinderDialog.settings_chosen` with the found profile.

:func:`diagnose_failure` turns any connect failure (plus the frames the session traced) into a
Diagnosis; :func:`diagnosis_text` / :func:`diagnosis_html` format one for labels and banners.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QProgressBar, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

import ui.pyside_fixes  # noqa: F401 - emit() reference defect of PySide6 6.12 on CPython 3.11
from meterreader.client.profile import ConnectionProfile
from meterreader.transport.base import CancelToken
from ui.pyside_fixes import hold_gui_gc, release_gui_gc

__all__ = ["ADOPTED_FIELDS", "FinderDialog", "adopt_found", "diagnose_failure", "diagnosis_html",
           "diagnosis_text"]

#: The fields "Use these settings" takes from the found profile: how to reach the meter and its
#: server address. Name, association, client SAP and security stay as the user set them.
ADOPTED_FIELDS = ("medium", "host", "port", "framing", "serial_port", "baudrate", "parity",
                  "mode_e", "server_logical", "server_physical", "address_size")

#: Colour of an attempt's answer in the list (explicit colours, legible on light and dark).
ANSWER_COLORS = {"UA": "#2e7d32", "WRAPPER": "#2e7d32", "MODE_E_IDENT": "#2e7d32",
                 "DM": "#b26a00", "FRMR": "#b26a00", "OTHER_FRAME": "#b26a00",
                 "GARBAGE": "#c62828", "SILENCE": "#757575", "CLOSED": "#c62828"}
#: Colour of a step's outcome (associate …) in the list.
OUTCOME_COLORS = {"associated": "#2e7d32", "associated, cut short": "#b26a00",
                  "cut short": "#b26a00", "rejected": "#c62828", "failed": "#c62828"}
_BOX = "border-radius: 4px; padding: 8px 10px;"
FOUND_STYLE = ("QGroupBox#foundBox { border: 1px solid #2e7d32; border-radius: 4px; "
               "margin-top: 1.2em; background: rgba(46, 125, 50, 0.08); } "
               "QGroupBox#foundBox::title { subcontrol-origin: margin; left: 8px; "
               "color: #2e7d32; font-weight: bold; }")
DIAGNOSIS_STYLE = (f"QLabel#diagnosisLabel {{ color: #7f1d1d; border: 1px solid #c62828; {_BOX}"
                   " background: rgba(198, 40, 40, 0.08); }")


# -- diagnosis text ---------------------------------------------------------------------------------

def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def diagnosis_text(diagnosis: Any, *, evidence: bool = False) -> str:
    """Plain text: the title, the explanation, then "Try next:" with one "• step" a line."""
    lines = [str(getattr(diagnosis, "title", "") or "The connection failed.")]
    explanation = getattr(diagnosis, "explanation", "")
    if explanation:
        lines.append(str(explanation))
    steps = tuple(getattr(diagnosis, "next_steps", ()) or ())
    if steps:
        lines.append("Try next:")
        lines.extend(f"• {step}" for step in steps)
    seen = getattr(diagnosis, "evidence", "")
    if evidence and seen:
        lines.append(f"Bytes seen: {seen}")
    return "\n".join(lines)


def diagnosis_html(diagnosis: Any, *, lead: str = "") -> str:
    """Rich text for a label: ``lead`` (e.g. the error) and the bold title, the explanation, the
    next steps as a list and the evidence in a fixed font."""
    title = _escape(str(getattr(diagnosis, "title", "") or "The connection failed."))
    parts = [f"<p>{_escape(lead)}</p>" if lead else "", f"<p><b>{title}</b>"]
    explanation = getattr(diagnosis, "explanation", "")
    parts.append(f"<br>{_escape(str(explanation))}</p>" if explanation else "</p>")
    steps = tuple(getattr(diagnosis, "next_steps", ()) or ())
    if steps:
        items = "".join(f"<li>{_escape(str(step))}</li>" for step in steps)
        parts.append(f"<p style='margin-bottom:0'>Try next:</p>"
                     f"<ul style='margin-top:2px'>{items}</ul>")
    seen = getattr(diagnosis, "evidence", "")
    if seen:
        parts.append(f"<p>Bytes seen: <code>{_escape(str(seen))}</code></p>")
    return "".join(parts)


def diagnose_failure(error: BaseException | None, records: Iterable[Any] = (),
                     profile: ConnectionProfile | None = None) -> Any:
    """The :class:`~meterreader.finder.Diagnosis` of a failed connect from the exception and the
    bytes seen: the raw bytes the worker recorded on the transport (``raw_tx``/``raw_rx`` on the
    exception: noise and a mode E identification show there) or, without them, the trace
    records (``direction``/``data``) the session emitted; None when the finder package cannot
    explain it (the caller then shows the bare error)."""
    raw = raw_bytes_of(error)
    if raw is not None:
        tx, rx = raw
    else:
        records = list(records)
        tx = b"".join(r.data for r in records if getattr(r, "direction", "") == "tx"
                      and getattr(r, "layer", "") != "apdu")
        rx = b"".join(r.data for r in records if getattr(r, "direction", "") == "rx"
                      and getattr(r, "layer", "") != "apdu")
    try:
        from meterreader.finder.diagnostics import diagnose
        return diagnose(error, rx=rx, tx=tx, profile=profile)
    except Exception:  # noqa: BLE001 (a diagnosis is extra information, never a new failure)
        return None


def raw_bytes_of(error: BaseException | None) -> tuple[bytes, bytes] | None:
    """``(tx, rx)`` the protocol worker recorded on the transport during the failed connect
    that raised ``error`` (see ``ui.worker_runner.RawTraffic``), or None."""
    rx = getattr(error, "raw_rx", None)
    if not isinstance(rx, bytes):
        return None
    tx = getattr(error, "raw_tx", b"")
    return (tx if isinstance(tx, bytes) else b""), rx


def adopt_found(base: ConnectionProfile, found: ConnectionProfile) -> ConnectionProfile:
    """``base`` with the :data:`ADOPTED_FIELDS` of the ``found`` profile."""
    return base.replace(**{name: getattr(found, name) for name in ADOPTED_FIELDS},
                        demo=False)


# -- the background search --------------------------------------------------------------------------

class _Bridge(QObject):
    """Carries the search thread's reports to the GUI thread (queued: it lives there)."""

    attempt = Signal(object)
    finished = Signal(object)  # FindResult
    failed = Signal(object)  # the exception the search raised


Search = Callable[[CancelToken, Callable[[Any], None]], Any]


def default_search(profile: ConnectionProfile, *, budget_s: float | None = None,
                   serial_factory: Any = None) -> Search:
    """The finder call for ``profile``'s medium: find_tcp(host, port) or find_serial(port)."""
    def search(cancel: CancelToken, progress: Callable[[Any], None]) -> Any:
        from meterreader import finder
        kw: dict[str, Any] = {"cancel": cancel, "progress": progress}
        if budget_s is not None:
            kw["budget_s"] = budget_s
        if profile.medium == "tcp":
            return finder.find_tcp(profile.host, profile.port, **kw)
        if serial_factory is not None:
            kw["serial_factory"] = serial_factory
        return finder.find_serial(profile.serial_port, **kw)
    return search


def target_text(profile: ConnectionProfile) -> str:
    if profile.medium == "tcp":
        return f"TCP {profile.host}:{profile.port}"
    return f"serial port {profile.serial_port}"


# -- the dialog ---------------------------------------------------------------------------------

class FinderDialog(QDialog):
    """Search the meter behind ``profile``'s port (its medium, host/port or serial port) and
    offer the settings that worked.

    ``search(cancel, progress) -> FindResult`` replaces the finder call (tests);
    ``serial_factory`` goes to find_serial (H1's emulated serial line in tests). Signals:
    ``settings_chosen(ConnectionProfile)`` on "Use these settings", ``search_done(FindResult)``
    when a search ended (found, not found or stopped)."""

    settings_chosen = Signal(object)
    search_done = Signal(object)

    def __init__(self, parent: QWidget | None = None, *, profile: ConnectionProfile,
                 search: Search | None = None, budget_s: float | None = None,
                 serial_factory: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("FinderDialog")
        self.setWindowTitle("Detect meter settings")
        self.setMinimumSize(680, 560)
        self.profile = profile
        self._search = search or default_search(profile, budget_s=budget_s,
                                                serial_factory=serial_factory)
        self.result: Any = None  # the last FindResult
        self.error: BaseException | None = None
        self._token: CancelToken | None = None
        self._thread: threading.Thread | None = None
        self._gc_held = False
        self._started = 0.0
        self._prefixes = ((f"TCP {profile.host}:{profile.port} ", f"{profile.host}:{profile.port} ")
                          if profile.medium == "tcp" else (f"{profile.serial_port} ",))
        self._bridge = _Bridge(self)
        self._bridge.attempt.connect(self._on_attempt)
        self._bridge.finished.connect(self._on_finished)
        self._bridge.failed.connect(self._on_failed)

        intro = QLabel(f"<b>Searching {_escape(target_text(profile))}</b><br>The finder tries "
                       "the common framings, baud rates and addresses one after the other "
                       "(public client, no password) and stops at the first that answers.")
        intro.setWordWrap(True)
        self.start_button = QPushButton("Search")
        self.start_button.setToolTip("Try the settings again from the start")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the search (the attempt in progress is abandoned)")
        self.stop_button.setEnabled(False)
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(120)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.hide()
        self.status_label = QLabel("Not started.")
        controls = QHBoxLayout()
        controls.addWidget(self.start_button)
        controls.addWidget(self.stop_button)
        controls.addWidget(self.busy_bar)
        controls.addWidget(self.status_label, 1)

        self.attempt_list = QTreeWidget()
        self.attempt_list.setObjectName("attemptList")
        self.attempt_list.setHeaderLabels(["#", "Attempt", "Answer", "Time"])
        self.attempt_list.setRootIsDecorated(False)
        self.attempt_list.setUniformRowHeights(True)
        self.attempt_list.setAlternatingRowColors(True)
        header = self.attempt_list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)

        self.found_box = QGroupBox("Meter found")
        self.found_box.setObjectName("foundBox")
        self.found_box.setStyleSheet(FOUND_STYLE)
        form = QFormLayout(self.found_box)
        self.found_labels: dict[str, QLabel] = {}
        for key, text in (("settings", "Settings:"), ("serial", "Serial number:"),
                          ("manufacturer", "Manufacturer:"), ("firmware", "Firmware:"),
                          ("devices", "Logical devices:"), ("objects", "Objects:"),
                          ("notes", "Notes:")):
            label = QLabel("—")
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.found_labels[key] = label
            form.addRow(text, label)
        adopt_note = QLabel("“Use these settings” takes the port, framing, baud rate and server "
                            "address; the association, client and security stay as you set "
                            "them.")
        adopt_note.setWordWrap(True)
        adopt_note.setStyleSheet("color: palette(placeholder-text);")
        form.addRow(adopt_note)
        self.found_box.hide()
        self.diagnosis_label = QLabel()
        self.diagnosis_label.setObjectName("diagnosisLabel")
        self.diagnosis_label.setStyleSheet(DIAGNOSIS_STYLE)
        self.diagnosis_label.setWordWrap(True)
        self.diagnosis_label.setTextFormat(Qt.TextFormat.RichText)
        self.diagnosis_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.diagnosis_label.hide()

        self.buttons = QDialogButtonBox()
        self.use_button = self.buttons.addButton("Use these settings",
                                                 QDialogButtonBox.ButtonRole.AcceptRole)
        self.use_button.setEnabled(False)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.use_button.clicked.connect(self._use)
        self.close_button.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(controls)
        layout.addWidget(self.attempt_list, 1)
        layout.addWidget(self.found_box)
        layout.addWidget(self.diagnosis_label)
        layout.addWidget(self.buttons)

        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self._clock = QTimer(self)
        self._clock.setInterval(250)
        self._clock.timeout.connect(self._tick)

    # -- running ----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Start a search on a background thread (no-op while one runs)."""
        if self._thread is not None:
            return
        self.result, self.error = None, None
        self.attempt_list.clear()
        self.found_box.hide()
        self.diagnosis_label.hide()
        self.use_button.setEnabled(False)
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.busy_bar.show()
        self.status_label.setText("Searching …")
        token = CancelToken()
        self._token = token
        bridge, search = self._bridge, self._search
        if not self._gc_held:  # the search thread runs Python: cyclic GC on this thread only
            self._gc_held = hold_gui_gc()

        def run() -> None:
            try:
                result = search(token, bridge.attempt.emit)
            except BaseException as exc:  # noqa: BLE001 (reported in the dialog)
                exc.__traceback__ = None  # the frames would keep this thread's objects alive
                bridge.failed.emit(exc)
            else:
                bridge.finished.emit(result)

        self._thread = threading.Thread(target=run, name="meter finder", daemon=True)
        self._started = time.monotonic()
        self._clock.start()
        self._thread.start()

    def stop(self) -> None:
        """Stop: cancel the search; the finder returns what it had (``cancelled``)."""
        if self._token is not None and self._thread is not None:
            self._token.cancel()
            self.stop_button.setEnabled(False)
            self.status_label.setText("Stopping …")

    def shutdown(self, timeout: float = 3.0) -> None:
        """Cancel and wait (bounded) for the search thread: the dialog is closing."""
        thread = self._thread
        if thread is not None and self._token is not None:
            self._token.cancel()
            thread.join(timeout)
        self._ended()

    def _ended(self) -> None:
        self._thread = None
        self._clock.stop()
        self.busy_bar.hide()
        self.start_button.setEnabled(True)
        self.start_button.setText("Search again")
        self.stop_button.setEnabled(False)
        if self._gc_held:
            self._gc_held = False
            release_gui_gc()

    def _tick(self) -> None:
        if self._thread is not None and self._token is not None and not self._token.cancelled:
            count = self.attempt_list.topLevelItemCount()
            self.status_label.setText(f"Searching … {count} attempt{'s' * (count != 1)}, "
                                      f"{time.monotonic() - self._started:.0f} s")

    # -- reports from the search thread -------------------------------------------------------------

    def _on_attempt(self, attempt: Any) -> None:
        answer = getattr(attempt, "answer", "")
        answer_name = getattr(answer, "name", str(answer))
        elapsed = getattr(attempt, "elapsed", None)
        description = str(getattr(attempt, "description", attempt))
        for prefix in self._prefixes:  # the target is in the dialog's heading already
            description = description.removeprefix(prefix)
        outcome = str(getattr(attempt, "outcome", "") or "")
        row = QTreeWidgetItem([str(self.attempt_list.topLevelItemCount() + 1), description,
                               outcome or _answer_text(answer_name),
                               f"{elapsed * 1000:.0f} ms" if isinstance(elapsed, float) else ""])
        row.setTextAlignment(0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row.setTextAlignment(3, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        color = OUTCOME_COLORS.get(outcome) if outcome else ANSWER_COLORS.get(answer_name)
        if color:
            row.setForeground(2, QBrush(QColor(color)))
        tip = _bytes_tip(attempt)
        if tip:
            for column in range(4):
                row.setToolTip(column, tip)
        self.attempt_list.addTopLevelItem(row)
        self.attempt_list.scrollToItem(row)

    def _on_finished(self, result: Any) -> None:
        if self._thread is None and self.result is not None:
            return
        self._ended()
        self.result = result
        found = getattr(result, "found", None)
        elapsed = getattr(result, "elapsed", time.monotonic() - self._started)
        count = len(getattr(result, "attempts", ()) or ())
        took = f"{count} attempt{'s' * (count != 1)} in " + (
            f"{elapsed * 1000:.0f} ms" if elapsed < 1 else f"{elapsed:.1f} s")
        if found is not None:
            self.status_label.setText(f"Found after {took}.")
            self._show_found(found)
        elif getattr(result, "cancelled", False):
            self.status_label.setText(f"Stopped after {took}.")
            self._show_diagnosis(getattr(result, "diagnosis", None), "The search was stopped.")
        else:
            self.status_label.setText(f"No meter found ({took}).")
            self._show_diagnosis(getattr(result, "diagnosis", None), "No meter answered.")
        self.search_done.emit(result)

    def _on_failed(self, error: BaseException) -> None:
        self._ended()
        self.error = error
        self.status_label.setText("The search failed.")
        self._show_diagnosis(diagnose_failure(error), f"The search failed: {error}")
        self.search_done.emit(None)

    def _show_found(self, found: Any) -> None:
        labels = self.found_labels
        profile = found.profile
        text = getattr(found, "connection_text", None)
        labels["settings"].setText(text() if callable(text) else profile.describe())
        for key in ("serial", "manufacturer", "firmware"):
            value = getattr(found, key, None)
            labels[key].setText(str(value) if value not in (None, "") else "not read")
        devices = tuple(getattr(found, "logical_devices", ()) or ())
        labels["devices"].setText(", ".join(f"{sap} {name}".strip() for sap, name in devices)
                                  if devices else "not read")
        count = getattr(found, "object_count", None)
        labels["objects"].setText(f"{count} in the public association" if count is not None
                                  else "not read")
        notes = getattr(found, "notes", ())
        notes_text = "; ".join(notes) if isinstance(notes, (tuple, list)) else str(notes or "")
        labels["notes"].setText(notes_text or "—")
        self.found_box.show()
        self.use_button.setEnabled(True)
        self.use_button.setDefault(True)

    def _show_diagnosis(self, diagnosis: Any, fallback: str) -> None:
        if diagnosis is None:
            self.diagnosis_label.setText(f"<p><b>{_escape(fallback)}</b></p>")
        else:
            self.diagnosis_label.setText(diagnosis_html(diagnosis))
        self.diagnosis_label.show()

    # -- closing ----------------------------------------------------------------------------------

    def found_profile(self) -> ConnectionProfile | None:
        """The profile that worked (public client), None before a success."""
        found = getattr(self.result, "found", None)
        return found.profile if found is not None else None

    def _use(self) -> None:
        profile = self.found_profile()
        if profile is not None:
            self.settings_chosen.emit(profile)
            self.accept()

    def done(self, result: int) -> None:
        self.shutdown()
        super().done(result)


def _answer_text(name: str) -> str:
    return {"UA": "UA (link up)", "DM": "DM (refused)", "FRMR": "FRMR (rejected)",
            "OTHER_FRAME": "other frame", "GARBAGE": "garbage", "SILENCE": "silence",
            "WRAPPER": "wrapper answer", "MODE_E_IDENT": "mode E ident",
            "CLOSED": "closed by the peer"}.get(name, name.lower())


def _bytes_tip(attempt: Any) -> str:
    parts = []
    for key in ("tx", "rx"):
        data = getattr(attempt, key, b"") or b""
        if data:
            text = data[:48].hex(" ").upper() + (" …" if len(data) > 48 else "")
            parts.append(f"{key.upper()}: {text}")
    return "\n".join(parts)

