"""The main window's status bar and the lost-link banner.

:class:`StatusBar` keeps permanent fields fed by the worker's signals: the medium and addresses
(``connected``), the association, the negotiated PDU size and HDLC window/information field, the
byte and frame counters and the elapsed time of the last operation (``stats``), and a progress bar
for long reads (``progress``/``busy_changed``). :class:`LinkBanner` is the strip above the panes
that says the link was lost (or that a connect failed, with the diagnosis: what the bytes seen
mean and what to try next) and offers Reconnect. Text helpers are plain functions (tested alone).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QStatusBar,
                               QToolButton, QWidget)

__all__ = ["LinkBanner", "StatusBar", "counters_text", "elapsed_text", "format_bytes",
           "negotiated_text", "progress_text"]


def format_bytes(n: int) -> str:
    """``"812 B"``, ``"12.3 kB"``, ``"4.56 MB"`` (powers of 1000)."""
    if n < 1000:
        return f"{n} B"
    if n < 1_000_000:
        return f"{n / 1000:.1f} kB"
    return f"{n / 1_000_000:.2f} MB"


def counters_text(stats: Any) -> str:
    """``"TX 1.2 kB / 14 fr · RX 33.0 kB / 40 fr"`` from a SessionStats."""
    return (f"TX {format_bytes(stats.bytes_sent)} / {stats.frames_sent} fr · "
            f"RX {format_bytes(stats.bytes_received)} / {stats.frames_received} fr")


def elapsed_text(stats: Any) -> str:
    """``"GET 0.0.1.0.0.255:2 in 0.12 s"`` (empty before the first operation)."""
    if not stats.last_operation:
        return ""
    seconds = stats.last_elapsed
    took = f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"
    return f"{stats.last_operation} in {took}"


def negotiated_text(values: dict[str, Any]) -> str:
    """``"PDU 1024 · window 1/1 · info 128/128"`` (parts that are unknown are left out)."""
    parts = []
    if values.get("max_pdu_size"):
        parts.append(f"PDU {values['max_pdu_size']}")
    if values.get("window_tx") is not None and values.get("window_rx") is not None:
        parts.append(f"window {values['window_tx']}/{values['window_rx']}")
    if values.get("max_info_tx") is not None and values.get("max_info_rx") is not None:
        parts.append(f"info {values['max_info_tx']}/{values['max_info_rx']}")
    return " · ".join(parts)


def _stats_negotiated(stats: Any) -> dict[str, Any]:
    return {"max_pdu_size": stats.server_max_pdu_size, "window_tx": stats.window_transmit,
            "window_rx": stats.window_receive, "max_info_tx": stats.max_info_field_transmit,
            "max_info_rx": stats.max_info_field_receive}


def progress_text(progress: Any) -> str:
    """``"profile 1.0.99.1.0.255: 120 of 960 rows · 14.2 kB · 8 s left"``."""
    unit = "rows" if progress.rows or progress.total else "blocks"
    count = f"{progress.done} of {progress.total}" if progress.total else f"{progress.done}"
    text = f"{progress.operation}: {count} {unit} · {format_bytes(progress.bytes)}"
    if progress.eta_s is not None:
        text += f" · {progress.eta_s:.0f} s left"
    return text


def _field(parent: QWidget, name: str, tip: str) -> QLabel:
    label = QLabel(parent)
    label.setObjectName(name)
    label.setToolTip(tip)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class StatusBar(QStatusBar):
    """Connection, association, negotiated limits, counters, last operation, progress."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusBar")
        self.connection_label = _field(self, "connectionLabel",
                                       "Medium, addresses and association of the connection")
        self.negotiated_label = _field(self, "negotiatedLabel",
                                       "Negotiated APDU size, HDLC window (tx/rx) and "
                                       "information field length (tx/rx)")
        self.counters_label = _field(self, "countersLabel", "Bytes and frames sent and received")
        self.elapsed_label = _field(self, "elapsedLabel", "The last operation and its duration")
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setObjectName("progressBar")
        self.progress_bar.setMaximumWidth(160)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.hide()
        for widget in (self.progress_bar, self.connection_label, self.negotiated_label,
                       self.counters_label, self.elapsed_label):
            self.addPermanentWidget(widget)
        self.set_disconnected("Not connected")

    def set_connected(self, info: Any) -> None:
        """From worker.connected (ConnectedInfo)."""
        self.connection_label.setText(info.profile_description)
        title = info.server_system_title
        self.connection_label.setToolTip(
            f"{info.profile_description}\n{info.transport_description}"
            + (f"\nmeter system title {title.hex(' ').upper()}" if title else ""))
        self.negotiated_label.setText(negotiated_text(info.negotiated))
        self.negotiated_label.show()
        self.set_stats(info.stats)
        self.showMessage(f"Connected: {info.association}", 5000)

    def set_disconnected(self, reason: str = "Not connected") -> None:
        self.connection_label.setText("Not connected")
        self.connection_label.setToolTip("Connect with Ctrl+K")
        self.negotiated_label.clear()
        self.negotiated_label.hide()
        self.set_busy(False)
        if reason and reason != "Not connected":
            self.showMessage(reason, 10_000)

    def show_failure(self, text: str, diagnosis: Any = None, timeout_ms: int = 15_000) -> None:
        """A failed connect: ``text`` and the diagnosis title as the message, the whole
        diagnosis (explanation and next steps) as the connection field's tooltip."""
        title = getattr(diagnosis, "title", "") if diagnosis is not None else ""
        self.showMessage(f"{text} — {title}" if title else text, timeout_ms)
        if diagnosis is not None:
            from ui.finder_dialog import diagnosis_text
            self.connection_label.setToolTip(f"{text}\n\n{diagnosis_text(diagnosis)}")

    def set_stats(self, stats: Any) -> None:
        """From worker.stats (SessionStats)."""
        self.counters_label.setText(counters_text(stats))
        self.elapsed_label.setText(elapsed_text(stats))
        negotiated = negotiated_text(_stats_negotiated(stats))
        if negotiated and self.negotiated_label.isVisible():
            self.negotiated_label.setText(negotiated)

    def set_progress(self, progress: Any) -> None:
        """From worker.progress (Progress)."""
        self.progress_bar.show()
        if progress.total:
            self.progress_bar.setRange(0, progress.total)
            self.progress_bar.setValue(min(progress.done, progress.total))
        else:
            self.progress_bar.setRange(0, 0)  # busy indicator
        self.progress_bar.setToolTip(progress_text(progress))
        self.showMessage(progress_text(progress))

    def set_busy(self, busy: bool) -> None:
        """From worker.busy_changed: the progress bar only while a job runs."""
        if not busy:
            self.progress_bar.hide()
            self.progress_bar.setRange(0, 100)
            self.progress_bar.setValue(0)


class LinkBanner(QFrame):
    """"The connection to the meter is lost …" with Reconnect and a close button."""

    reconnect_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("linkBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#linkBanner { background: #fdecea; border: 1px solid #d32f2f; "
                           "border-radius: 3px; } #linkBanner QLabel { color: #7f1d1d; }")
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reconnect_button = QPushButton("Reconnect", self)
        self.reconnect_button.setObjectName("reconnectButton")
        self.reconnect_button.clicked.connect(self.reconnect_requested)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Hide this message")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.reconnect_button)
        layout.addWidget(close)
        self.diagnosis: Any = None
        self._text = ""
        self.hide()

    def show_message(self, text: str, diagnosis: Any = None) -> None:
        """Show ``text``; with a ``diagnosis`` (a :class:`meterreader.finder.Diagnosis`) also its
        title, explanation and next steps."""
        self.diagnosis = diagnosis
        self._text = text
        if diagnosis is None:
            self.label.setTextFormat(Qt.TextFormat.PlainText)
            self.label.setText(text)
        else:
            from ui.finder_dialog import diagnosis_html
            self.label.setTextFormat(Qt.TextFormat.RichText)
            self.label.setText(diagnosis_html(diagnosis, lead=text))
        self.show()

    @property
    def message(self) -> str:
        """The plain text shown (the diagnosis as lines after the message); "" when hidden."""
        if not self.isVisible():
            return ""
        if self.diagnosis is None:
            return self._text
        from ui.finder_dialog import diagnosis_text
        return f"{self._text}\n{diagnosis_text(self.diagnosis)}"
