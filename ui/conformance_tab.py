"""The conformance test bench tab: run the IS 15959 / DLMS checks against the connected meter.

Choose the category (A/B/C), tick checks (grouped as the report orders them), opt in to the MD
reset check that changes the meter, give the MR password and US key (masked fields, filled with
the connected profile's secret when its association is that one, else the IS 15959 defaults;
"not available" leaves the association out and its checks are skipped), then Run. The live checklist fills in as each check
finishes (verdict icon and colour, finding, time); filter it by result; selecting a check shows
its evidence (frames/APDUs) and selecting a frame decodes it with the PDU translator. Export
the report as PDF (in-process, :mod:`ui.conformance_pdf`), XLSX or JSON; Open shows a saved
JSON report without a meter.

Threading and the link. :func:`~meterreader.conformance.runner.run_conformance` opens its own
sessions, one after another (PC, MR, US and raw HDLC links), from a
:class:`~meterreader.conformance.context.ConformanceTarget` built from the connection profile.
A serial port can be opened by one program at a time and an HDLC meter serves one client per
link, so the bench cannot run beside the main window's open association: Run first releases it
through the :class:`~ui.worker.ProtocolWorker` (a queued ``disconnect_meter`` job, so it waits
for any running job), then runs the bench on its own :class:`BenchThread` — the GUI thread never
does I/O — and connects the worker again when the bench is done. Stop cancels the bench's
CancelToken: the running check ends at its next exchange and the remaining ones are SKIP "run
cancelled"; the partial report can still be exported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDeadlineTimer, QModelIndex, QStandardPaths, Qt, Signal, Slot
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QFileDialog, QHBoxLayout,
                               QHeaderView, QLabel, QMenu, QProgressBar, QPushButton, QSplitter,
                               QToolButton, QTreeView, QVBoxLayout, QWidget)

import ui.pyside_fixes  # noqa: F401 - emit() reference defect of PySide6 6.12 on CPython 3.11
from meterreader.conformance.context import ConformanceTarget
from meterreader.conformance.model import CheckOutcome, ConformanceReport, Verdict
from meterreader.conformance.registry import CheckDef, all_checks
from meterreader.conformance.report import default_stem, save_xlsx
from meterreader.conformance.runner import plan_checks
from meterreader.dlms.secret import SecretFormatError
from meterreader.india.catalogue_types import MeterCategory
from ui.conformance_evidence import EvidenceViewer
from ui.conformance_models import (_RUNNING, CHECK_ID_ROLE, COL_CLAUSE, COL_FINDING, COL_ID,
                                   COL_RESULT, COL_TIME, COL_TITLE, BenchThread, CheckListModel,
                                   ResultFilter, _hook_shutdown, _prune, stop_all_benches)
from ui.conformance_secrets import SecretsRow
from ui.pyside_fixes import hold_gui_gc, release_gui_gc
from ui.worker_types import TraceRecord

__all__ = ["BenchThread", "ConformanceTab", "FILTERS", "stop_all_benches"]

#: Filter combo: label → verdict (None: every check).
FILTERS = (("All results", None), ("Pass", Verdict.PASS), ("Fail", Verdict.FAIL),
           ("Skip", Verdict.SKIP), ("Error", Verdict.ERROR))
_FORMATS = {"pdf": "PDF report (*.pdf)", "xlsx": "Excel workbook (*.xlsx)",
            "json": "JSON report (*.json)"}
_LINK_NOTE = ("The bench opens its own connections (PC, MR and US associations, raw HDLC), one "
              "at a time; the main connection is released while it runs and restored after.")

def _button(text: str, tip: str, slot: Callable[[], Any], parent: QWidget) -> QPushButton:
    button = QPushButton(text, parent)
    button.setToolTip(tip)
    button.clicked.connect(slot)
    return button


class ConformanceTab(QWidget):
    """The bench (see the module docstring). ``worker``: the main window's ProtocolWorker (its
    profile is the target; it is released during a run and reconnected after through
    ``reconnect(profile)``, default ``worker.connect_meter``); ``profile``: a fixed target
    instead (tests, no worker). Signals: ``status_message(str)``, ``trace_batch(list)``
    (TraceRecords for the trace pane), ``running_changed(bool)``, ``report_changed(object)``."""

    status_message = Signal(str)
    trace_batch = Signal(object)
    running_changed = Signal(bool)
    report_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None, *, worker: Any = None,
                 profile: Any = None, category: str = "C",
                 reconnect: Callable[[Any], Any] | None = None,
                 folder: str | Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("conformanceTab")
        self.worker = worker
        self.fixed_profile = profile
        self.reconnect = reconnect
        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        self.folder = Path(folder) if folder else Path(base or Path.home()) / "meterreader"
        self.report: ConformanceReport | None = None
        self.thread: BenchThread | None = None
        self.file_dialog: QFileDialog | None = None
        self._releasing: Any = None  # the disconnect Job a run waits for
        self._pending: tuple[ConformanceTarget, str, list[str], bool] | None = None
        self._reconnect_profile: Any = None
        self._gc_held = False
        self._planned = 0
        self._done = 0
        self.model = CheckListModel(all_checks().values(), self)
        self.proxy = ResultFilter(self)
        self.proxy.setSourceModel(self.model)
        self._build(category)
        if worker is not None:
            worker.connected.connect(self._update_target)
            worker.disconnected.connect(self._update_target)
        self._update_target()
        self._set_running(False)

    # -- construction -----------------------------------------------------------------------------

    def _build(self, category: str) -> None:
        top = QHBoxLayout()
        top.addWidget(QLabel("Category", self))
        self.category_combo = QComboBox(self)
        for cat in MeterCategory:
            self.category_combo.addItem(cat.value, cat.value)
            self.category_combo.setItemData(self.category_combo.count() - 1, cat.description,
                                            Qt.ItemDataRole.ToolTipRole)
        self.category_combo.setCurrentIndex(max(0, self.category_combo.findData(
            category.upper() if category else "C")))
        top.addWidget(self.category_combo)
        self.destructive_check = QCheckBox("Allow MD reset (changes the meter)", self)
        self.destructive_check.setToolTip("The billing-increment check invokes the MD reset "
                                          "ACTION as the utility settings (US) client: the "
                                          "meter closes a billing period. Off: it is skipped.")
        top.addWidget(self.destructive_check)
        self.target_label = QLabel(self)
        self.target_label.setObjectName("benchTarget")
        self.target_label.setToolTip(_LINK_NOTE)
        top.addWidget(self.target_label, 1)
        self.run_button = _button("Run", "Run the ticked checks. " + _LINK_NOTE, self.run, self)
        self.stop_button = _button("Stop", "Stop the run (the checks not reached are skipped)",
                                   self.stop, self)
        try:
            from ui.icons import icon
            self.run_button.setIcon(icon("read-all"))
            self.stop_button.setIcon(icon("stop"))
        except Exception:  # noqa: BLE001 (icons are decoration)
            pass
        top.addWidget(self.run_button)
        top.addWidget(self.stop_button)

        self.secrets_row = SecretsRow(self)
        self._secrets_source: Any = None  # the profile the secret fields were filled from

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show", self))
        self.filter_combo = QComboBox(self)
        for label, verdict in FILTERS:
            self.filter_combo.addItem(label, verdict)
        self.filter_combo.currentIndexChanged.connect(
            lambda _i: self.set_filter(self.filter_combo.currentData()))
        bar.addWidget(self.filter_combo)
        self.all_button = _button("All", "Tick every check", lambda: self.model.set_checked(None),
                                  self)
        self.none_button = _button("None", "Untick every check",
                                   lambda: self.model.set_checked(()), self)
        bar.addWidget(self.all_button)
        bar.addWidget(self.none_button)
        self.progress = QProgressBar(self)
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(True)
        bar.addWidget(self.progress)
        self.summary_label = QLabel(self)
        self.summary_label.setObjectName("benchSummary")
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        bar.addWidget(self.summary_label, 1)
        self.open_button = _button("Open…", "Open a saved JSON conformance report",
                                   self.open_dialog, self)
        bar.addWidget(self.open_button)
        self.export_button = QToolButton(self)
        self.export_button.setText("Export")
        self.export_button.setToolTip("Save the report as PDF, XLSX or JSON")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        menu = QMenu(self.export_button)
        self.export_actions = {}
        for fmt, label in (("pdf", "PDF report…"), ("xlsx", "Excel workbook (XLSX)…"),
                           ("json", "JSON report…")):
            action = menu.addAction(label)
            action.triggered.connect(lambda _c=False, f=fmt: self.export_dialog(f))
            self.export_actions[fmt] = action
        self.export_button.setMenu(menu)
        try:
            from ui.icons import icon
            self.export_button.setIcon(icon("export"))
        except Exception:  # noqa: BLE001
            pass
        bar.addWidget(self.export_button)

        self.view = QTreeView(self)
        self.view.setObjectName("benchChecks")
        self.view.setModel(self.proxy)
        self.view.setAlternatingRowColors(True)
        self.view.setUniformRowHeights(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.view.header()
        header.setStretchLastSection(False)
        for column, width in ((COL_ID, 255), (COL_RESULT, 60), (COL_TITLE, 200),
                              (COL_CLAUSE, 170), (COL_TIME, 55)):
            self.view.setColumnWidth(column, width)
        header.setSectionResizeMode(COL_FINDING, QHeaderView.ResizeMode.Stretch)
        self.view.expandAll()
        self.proxy.layoutChanged.connect(self.view.expandAll)
        self.proxy.modelReset.connect(self.view.expandAll)
        self.view.selectionModel().currentRowChanged.connect(self._check_selected)

        self.viewer = EvidenceViewer(self)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.view)
        split.addWidget(self.viewer)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        split.setSizes([520, 340])

        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.addLayout(top)
        outer.addWidget(self.secrets_row)
        outer.addLayout(bar)
        outer.addWidget(split, 1)

    # -- state ------------------------------------------------------------------------------------

    def profile(self) -> Any:
        """The connection profile the bench targets (None: connect to a meter first)."""
        if self.fixed_profile is not None:
            return self.fixed_profile
        return self.worker.profile if self.worker is not None else None

    def fill_secrets(self, target: ConformanceTarget) -> None:
        """Put ``target``'s MR password and US key into the (masked) fields."""
        self.secrets_row.fill(target)

    def target(self) -> ConformanceTarget | None:
        """The target a run would use: the profile with the secrets of the fields (None when
        there is no profile). SecretFormatError when a field does not hold a secret."""
        profile = self.profile()
        if profile is None:
            return None
        secrets = self.secrets_row.secrets()
        return dataclasses.replace(ConformanceTarget.from_profile(profile), **secrets)

    def category(self) -> str:
        return str(self.category_combo.currentData())

    @property
    def running(self) -> bool:
        return self.thread is not None or self._releasing is not None

    def _update_target(self, *_: Any) -> None:
        profile = self.profile()
        if profile is None:
            self.target_label.setText("No meter: connect first (the bench uses that connection)")
        else:
            target = ConformanceTarget.from_profile(profile)
            self.target_label.setText(f"Target: {target.describe()}")
            if profile != self._secrets_source and not self.running:
                self._secrets_source = profile
                self.fill_secrets(target)
        if not self.running:
            self.run_button.setEnabled(profile is not None)

    def _set_running(self, running: bool) -> None:
        profile = self.profile()
        self.run_button.setEnabled(not running and profile is not None)
        self.stop_button.setEnabled(running)
        for widget in (self.category_combo, self.destructive_check, self.all_button,
                       self.none_button, self.open_button):
            widget.setEnabled(not running)
        self.secrets_row.set_running(running)
        self.model.set_checkable(not running)
        self.export_button.setEnabled(not running and self.report is not None)
        self.running_changed.emit(running)

    def set_filter(self, verdict: Verdict | str | None) -> None:
        """Show only the checks with ``verdict`` (None: all)."""
        self.proxy.set_verdict(verdict)
        self.view.expandAll()

    def _show_message(self, text: str) -> None:
        self.summary_label.setText(text)
        self.summary_label.setToolTip(text)
        self.status_message.emit(text)

    # -- running ----------------------------------------------------------------------------------

    def run(self) -> bool:
        """Start a run of the ticked checks (False, with a message, when it cannot start)."""
        if self.running:
            return False
        profile = self.profile()
        if profile is None:
            self._show_message("Connect to a meter first: the bench uses that connection.")
            return False
        ids = self.model.checked_ids()
        if not ids:
            self._show_message("Tick at least one check.")
            return False
        try:
            target = self.target()
        except SecretFormatError as exc:
            self._show_message(f"Cannot run: {exc}")
            return False
        assert target is not None
        allow = self.destructive_check.isChecked()
        self._planned = len(plan_checks(target, self.category(), check_ids=ids,
                                        allow_destructive=allow))
        self._done = 0
        self.report = None
        self.model.reset_results()
        self.viewer.reset()
        self.progress.setRange(0, max(1, self._planned))
        self.progress.setValue(0)
        self._pending = (target, self.category(), ids, allow)
        w = self.worker
        if w is not None and self.fixed_profile is None and (w.is_connected or w.is_busy):
            # One client per link: release the main association first (after any running job).
            self._reconnect_profile = profile if w.is_connected else None
            self._show_message("Releasing the main connection (the meter takes one client)…")
            job = w.disconnect_meter()
            self._releasing = job
            job.finished.connect(self._released)
            job.failed.connect(self._released)
            self._set_running(True)
        else:
            self._set_running(True)
            self._start_thread()
        return True

    @Slot(object)
    def _released(self, _result: object = None) -> None:
        self._releasing = None
        if self._pending is None:  # stopped while releasing
            self._finish()
            return
        self._start_thread()

    def _start_thread(self) -> None:
        assert self._pending is not None
        target, category, ids, allow = self._pending
        self._pending = None
        _prune()
        _hook_shutdown()
        thread = BenchThread(target, category, ids, allow)
        queued = Qt.ConnectionType.QueuedConnection
        thread.check_started.connect(self._check_started, queued)
        thread.check_finished.connect(self._check_finished, queued)
        thread.traced.connect(self._traced, queued)
        thread.report_ready.connect(self._report_ready, queued)
        thread.run_failed.connect(self._run_failed, queued)
        thread.finished.connect(self._thread_finished, queued)
        self.thread = thread
        _RUNNING.add(thread)
        self._gc_held = hold_gui_gc()  # collect Python cycles on the GUI thread only
        self._show_message(f"Running {self._planned} checks (category {category})…")
        thread.start()

    def stop(self) -> None:
        """Stop: the running check ends at its next exchange; the rest are skipped."""
        if self._releasing is not None:
            self._pending = None
            self._show_message("Stopped before the run started.")
            return
        if self.thread is not None:
            self.thread.cancel_token.cancel()
            self._show_message("Stopping…")
            self.stop_button.setEnabled(False)

    @Slot(object)
    def _check_started(self, check: CheckDef) -> None:
        if check.check_id in self.model.check_ids():
            self.model.set_running(check.check_id)
            self.summary_label.setText(f"Running {self._done + 1} of {self._planned}: "
                                       f"{check.check_id} — {check.title}")

    @Slot(object)
    def _check_finished(self, outcome: CheckOutcome) -> None:
        self._done += 1
        self.progress.setValue(self._done)
        self.model.set_outcome(outcome)
        if self._current_check() == outcome.check_id:
            self.viewer.show_outcome(outcome)

    @Slot(object)
    def _traced(self, batch: list[TraceRecord]) -> None:
        self.trace_batch.emit(batch)

    @Slot(object)
    def _report_ready(self, report: ConformanceReport) -> None:
        self.report = report
        self.report_changed.emit(report)

    @Slot(str)
    def _run_failed(self, message: str) -> None:
        self._show_message(f"The run failed: {message}")

    @Slot()
    def _thread_finished(self) -> None:
        thread, self.thread = self.thread, None
        if thread is not None:
            thread.wait(QDeadlineTimer(1000))
        _prune()
        if self._gc_held:
            self._gc_held = False
            release_gui_gc()
        self._finish()

    def _finish(self) -> None:
        profile, self._reconnect_profile = self._reconnect_profile, None
        if self.report is not None:
            self._show_summary()
        self._set_running(False)
        if profile is not None and self.worker is not None:
            (self.reconnect or self.worker.connect_meter)(profile)

    def _show_summary(self) -> None:
        report = self.report
        assert report is not None
        result = "PASS" if report.ok else "FAIL"
        stopped = " · stopped" if report.options.get("cancelled") else ""
        self._show_message(f"{result} — {report.summary()}{stopped} · category "
                           f"{report.category} · {report.target}")

    def shutdown(self, timeout: float = 3.0) -> bool:
        """Cancel a run and wait (bounded) for its thread; True when none is left running."""
        self._pending = None
        thread = self.thread
        if thread is None:
            return True
        thread.cancel_token.cancel()
        return thread.wait(QDeadlineTimer(int(timeout * 1000)))

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        self.shutdown()
        super().closeEvent(event)

    # -- showing a report -------------------------------------------------------------------------

    def show_report(self, report: ConformanceReport) -> None:
        """Show a (saved) report's outcomes in the checklist."""
        self.report = report
        self.model.reset_results()
        self.model.set_checked(o.check_id for o in report.outcomes)
        for outcome in report.outcomes:
            self.model.set_outcome(outcome)
        index = self.category_combo.findData(report.category)
        if index >= 0:
            self.category_combo.setCurrentIndex(index)
        self.destructive_check.setChecked(bool(report.options.get("allow_destructive")))
        self.progress.setRange(0, max(1, len(report.outcomes)))
        self.progress.setValue(len(report.outcomes))
        self._show_summary()
        self._set_running(self.running)
        self.report_changed.emit(report)

    def open_report(self, path: str | Path) -> ConformanceReport | None:
        try:
            report = ConformanceReport.load_json(path)
        except (OSError, ValueError) as exc:
            self._show_message(f"Cannot open {path}: {exc}")
            return None
        self.show_report(report)
        return report

    def open_dialog(self) -> QFileDialog:
        dialog = QFileDialog(self, "Open conformance report")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilters([_FORMATS["json"], "All files (*)"])
        if self.folder.is_dir():
            dialog.setDirectory(str(self.folder))
        dialog.fileSelected.connect(self.open_report)
        dialog.open()
        self.file_dialog = dialog
        return dialog

    # -- evidence ---------------------------------------------------------------------------------

    def _current_check(self) -> str | None:
        index = self.view.currentIndex()
        if not index.isValid():
            return None
        return self.proxy.mapToSource(index).siblingAtColumn(COL_ID).data(CHECK_ID_ROLE)

    def select_check(self, check_id: str) -> bool:
        """Make ``check_id`` the current row (False when the filter hides it)."""
        index = self.proxy.mapFromSource(self.model.row_index(check_id))
        if not index.isValid():
            return False
        self.view.setCurrentIndex(index)
        self.view.scrollTo(index)
        return True

    def _check_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        check_id = self._current_check()
        self.viewer.show_check(check_id, self.model.outcome(check_id) if check_id else None)

    def select_frame(self, row: int) -> None:
        """Make evidence ``row`` of the selected check the current frame (decodes it)."""
        self.viewer.select_frame(row)

    def decoded(self) -> Any:
        """The decoded tree shown (None when empty)."""
        return self.viewer.decoded()

    # The evidence viewer's models and widgets, under their former names on the tab.
    evidence = property(lambda self: self.viewer.evidence)
    tree_model = property(lambda self: self.viewer.tree_model)
    frames = property(lambda self: self.viewer.frames)
    finding_label = property(lambda self: self.viewer.finding_label)
    detail_label = property(lambda self: self.viewer.detail_label)
    decode_tree = property(lambda self: self.viewer.decode_tree)
    hex_view = property(lambda self: self.viewer.hex_view)
    # The secrets row's fields (dicts keyed "mr"/"us").
    secret_edits = property(lambda self: self.secrets_row.secret_edits)
    secret_absent = property(lambda self: self.secrets_row.secret_absent)

    # -- export -----------------------------------------------------------------------------------

    def export(self, fmt: str, path: str | Path) -> Path | None:
        """Write the report as ``fmt`` ("pdf", "xlsx", "json") to ``path`` (None on error,
        with a message)."""
        if self.report is None:
            self._show_message("Nothing to export: run the checks first.")
            return None
        try:
            if fmt == "pdf":
                from ui.conformance_pdf import write_pdf
                written = write_pdf(self.report, path)
            elif fmt == "xlsx":
                written = save_xlsx(self.report, path)
            elif fmt == "json":
                written = self.report.save_json(path)
            else:
                raise ValueError(f"unknown format {fmt!r}; expected pdf, xlsx or json")
        except (OSError, ValueError) as exc:
            self._show_message(f"Export failed: {exc}")
            return None
        self.folder = Path(written).parent
        self.status_message.emit(f"Saved the conformance report to {written}")
        return Path(written)

    def export_dialog(self, fmt: str) -> QFileDialog | None:
        """Ask where to save the report as ``fmt`` (non-blocking)."""
        if self.report is None:
            return None
        dialog = QFileDialog(self, f"Export conformance report ({fmt.upper()})")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters([_FORMATS[fmt]])
        dialog.setDefaultSuffix(fmt)
        if self.folder.is_dir():
            dialog.setDirectory(str(self.folder))
        dialog.selectFile(f"{default_stem(self.report)}.{fmt}")
        dialog.fileSelected.connect(lambda path: self.export(fmt, path))
        dialog.open()
        self.file_dialog = dialog
        return dialog
