"""Entry point of the desktop application (``meterreader-gui``).

``main()`` creates the QApplication (named, iconed, following the OS light/dark palette), checks
that Qt sees fonts, and shows the instrument's :class:`~ui.main_window.MainWindow` (object browser,
attribute panel, trace, PDU translator). ``build_main_window()`` is the same window for tests and
scripts, not yet shown. :class:`TranslatorWindow` is the stand-alone PDU translator window.
"""

from __future__ import annotations

import platform
import signal
import sys
from pathlib import Path
from typing import Any, Sequence, TextIO

from PySide6 import __version__ as PYSIDE_VERSION
from PySide6.QtCore import QTimer, QCoreApplication, Qt, qVersion
from PySide6.QtGui import QAction, QFontDatabase, QIcon, QKeySequence
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QMessageBox, QWidget

from meterreader import __version__
from ui.main_window import MainWindow
from ui.translator_pane import TranslatorPane

__all__ = ["APP_NAME", "ICON_PATH", "RESOURCES", "MainWindow", "TranslatorWindow", "about_text",
           "app_icon", "build_main_window", "build_translator_window", "check_fonts",
           "create_application", "main"]

APP_NAME = "meterreader"
TRANSLATOR_TITLE = "meterreader — protocol translator"
TRANSLATOR_SIZE = (1100, 750)
RESOURCES = Path(__file__).resolve().parents[1] / "resources"
ICON_PATH = RESOURCES / "icons" / "meterreader.svg"

NO_FONTS_MESSAGE = (
    "meterreader-gui: Qt found no fonts, so every label would render as empty boxes.\n"
    "Install a font package and fontconfig (Debian/Ubuntu: apt-get install fonts-dejavu-core "
    "libfontconfig1), or set QT_QPA_FONTDIR to a folder of .ttf files.")


def app_icon() -> QIcon:
    """The application icon (resources/icons/meterreader.svg); a null icon if it is missing."""
    return QIcon(str(ICON_PATH)) if ICON_PATH.is_file() else QIcon()


def check_fonts(stream: TextIO | None = None) -> bool:
    """True when Qt sees at least one font family; otherwise explain on ``stream`` (stderr).

    Without fonts Qt renders every character as a box and says nothing (DEVELOPERS notes).
    Needs a QGuiApplication."""
    if QFontDatabase.families():
        return True
    print(NO_FONTS_MESSAGE, file=stream if stream is not None else sys.stderr)
    return False


def create_application(argv: Sequence[str] | None = None) -> QApplication:
    """The QApplication (created once, reused afterwards) named and iconed for meterreader.

    ``argv`` excludes the program name, like ``meterreader.cli.main``; Qt takes its own options
    (``-platform offscreen`` …) from it. Default: ``sys.argv[1:]``."""
    app = QApplication.instance()
    if app is None:
        program = sys.argv[0] if sys.argv and sys.argv[0] else APP_NAME
        app = QApplication([program, *(argv if argv is not None else sys.argv[1:])])
    QCoreApplication.setApplicationName(APP_NAME)
    QCoreApplication.setOrganizationName(APP_NAME)
    QCoreApplication.setApplicationVersion(__version__)
    app.setApplicationDisplayName(APP_NAME)
    app.setWindowIcon(app_icon())
    return app  # type: ignore[return-value]


def open_about(owner: Any) -> QMessageBox:
    """The About box of ``owner`` (made once, kept in ``owner.about_box``), opened window-modally
    without blocking."""
    if owner.about_box is None:
        box = QMessageBox(owner)
        box.setWindowTitle("About meterreader")
        box.setIconPixmap(app_icon().pixmap(64, 64))
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(about_text())
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        owner.about_box = box
    owner.about_box.open()
    return owner.about_box


def about_text() -> str:
    """The About box text: meterreader, Qt, PySide and Python versions."""
    return (f"<h3>meterreader {__version__}</h3>"
            "<p>DLMS/COSEM (IEC 62056) meter reading instrument and protocol library for "
            "IS 15959 meters.</p>"
            f"<p>meterreader {__version__}<br>Qt {qVersion()} (PySide6 {PYSIDE_VERSION})<br>"
            f"Python {platform.python_version()} ({platform.python_implementation()})</p>")


class TranslatorWindow(QMainWindow):
    """The PDU translator alone in a window, with a status bar and the Help ▸ About box."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TranslatorWindow")
        self.setWindowTitle(TRANSLATOR_TITLE)
        self.setWindowIcon(app_icon())
        self.resize(*TRANSLATOR_SIZE)
        self.about_box: QMessageBox | None = None

        self.translator = TranslatorPane(self)
        self.setCentralWidget(self.translator)

        status = self.statusBar()
        self._version_label = QLabel(f"meterreader {__version__}", self)
        self._version_label.setEnabled(False)
        status.addPermanentWidget(self._version_label)
        status.showMessage("Ready: paste hex and press Ctrl+Return to decode")
        self.translator.status_message.connect(lambda text: status.showMessage(text, 10_000))

        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.triggered.connect(self.close)
        self.about_action = QAction("&About meterreader", self)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self.show_about)

        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.quit_action)
        edit_menu = self.menuBar().addMenu("&Translator")
        edit_menu.addAction(self.translator.decode_action)
        copy_json = edit_menu.addAction("Copy result as &JSON")
        copy_json.triggered.connect(self.translator.copy_json)
        clear = edit_menu.addAction("C&lear")
        clear.triggered.connect(self.translator.clear)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self.about_action)

    def show_about(self) -> QMessageBox:
        """Open the About box window-modally without blocking (tests can read and close it)."""
        return open_about(self)


def apply_os_palette(app: QApplication) -> None:
    """Follow the OS light/dark scheme (ui.icons.apply_palette)."""
    from ui.icons import apply_palette
    apply_palette(app)


def build_main_window(argv: Sequence[str] | None = None, **options: Any) -> MainWindow:
    """Create (or reuse) the QApplication and return the main window, not yet shown.
    ``options`` go to :class:`~ui.main_window.MainWindow` (``settings``, ``worker``,
    ``cache_dir``, ``profiles``)."""
    create_application(argv)
    window = MainWindow(**options)
    window.setWindowIcon(app_icon())
    return window


def build_translator_window(argv: Sequence[str] | None = None) -> TranslatorWindow:
    """Create (or reuse) the QApplication and return the stand-alone translator window."""
    create_application(argv)
    return TranslatorWindow()


def first_run(window: MainWindow) -> bool:
    """True while no connection profile has been saved (the demo offer opens by itself)."""
    try:
        return not window.controller.profiles.names()
    except Exception:  # noqa: BLE001 (unreadable settings: treat as a first run)
        return True


def main(argv: Sequence[str] | None = None) -> int:
    """Start the desktop application; returns the Qt event loop's exit code.

    ``--demo`` starts the built-in simulator in-process and connects to it at once;
    ``--selftest [--timeout S]`` runs :mod:`ui.selftest` offscreen and returns 0 or 1."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--selftest" in args:
        from ui.selftest import main as selftest_main
        return selftest_main([a for a in args if a != "--selftest"])
    demo = "--demo" in args
    args = [a for a in args if a != "--demo"]
    app = create_application(args)
    check_fonts()
    apply_os_palette(app)
    window = build_main_window(args)
    window.show()
    if demo:
        QTimer.singleShot(0, window.controller.start_demo)
    elif first_run(window):
        # First run (no saved connection yet): offer the built-in demo meter at once.
        QTimer.singleShot(0, window.controller.connect_dialog)
    # Ctrl+C in the launching terminal ends the app (Python cannot run its handler inside Qt's
    # event loop, so it would otherwise be ignored until the next Python callback).
    previous = signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        return app.exec()
    finally:
        signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    sys.exit(main())
