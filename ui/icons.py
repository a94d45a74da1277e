"""Icons from ``resources/icons/*.svg`` and the light/dark palette that follows the OS.

The icons are 24×24 line drawings with explicit colours (a mid blue that reads on light and dark
palettes, red for stop), rendered by Qt's SVG icon engine at any size. :func:`icon` caches one
:class:`QIcon` per name and names the known icons when asked for another.

:func:`apply_palette` follows the OS colour scheme (``QStyleHints.colorScheme``, Qt ≥ 6.5): dark
→ Fusion with :func:`dark_palette`; light → the style's standard palette. It keeps following when
the OS setting changes while the application runs.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

__all__ = ["ICON_DIR", "ICON_NAMES", "UnknownIconError", "apply_palette", "dark_palette",
           "icon", "icon_path", "is_dark_palette", "system_prefers_dark"]

ICON_DIR = Path(__file__).resolve().parents[1] / "resources" / "icons"
ICON_NAMES = ("connect", "disconnect", "read", "read-all", "write", "action", "stop", "export",
              "refresh", "trace", "demo", "translator", "settings", "wizard", "profile", "clock",
              "register", "object", "meterreader", "open")
_cache: dict[str, QIcon] = {}
_following: set[int] = set()  # id() of applications whose colorSchemeChanged is connected


class UnknownIconError(KeyError):
    """``icon(name)`` for a name that has no SVG file."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


def icon_path(name: str) -> Path:
    """The SVG file of icon ``name``; UnknownIconError lists the known names."""
    if name not in ICON_NAMES:
        raise UnknownIconError(f"unknown icon {name!r}; known icons: {', '.join(ICON_NAMES)}")
    path = ICON_DIR / f"{name}.svg"
    if not path.is_file():
        raise UnknownIconError(f"icon {name!r}: {path} is missing")
    return path


def icon(name: str) -> QIcon:
    """The icon ``name`` (e.g. ``"connect"``), loaded once; needs a QGuiApplication to render."""
    cached = _cache.get(name)
    if cached is None:
        cached = _cache[name] = QIcon(str(icon_path(name)))
    return cached


# --- palette --------------------------------------------------------------------------------------

def system_prefers_dark(app: QGuiApplication) -> bool | None:
    """The OS colour scheme: True dark, False light, None when Qt cannot tell."""
    hints = app.styleHints()
    scheme_of = getattr(hints, "colorScheme", None)  # Qt >= 6.5
    if scheme_of is None:
        return None
    scheme = scheme_of()
    if scheme == Qt.ColorScheme.Dark:
        return True
    if scheme == Qt.ColorScheme.Light:
        return False
    return None


def is_dark_palette(app: QGuiApplication) -> bool:
    """True when the application should look dark: the OS says so, or (OS unknown) the current
    palette's window colour is dark."""
    prefers = system_prefers_dark(app)
    if prefers is not None:
        return prefers
    return app.palette().color(QPalette.ColorRole.Window).lightness() < 128


def dark_palette() -> QPalette:
    """A neutral dark palette for the Fusion style."""
    window, base, text = QColor("#2b2d30"), QColor("#1f2023"), QColor("#e6e6e6")
    disabled = QColor("#7d8085")
    palette = QPalette()
    for role, color in ((QPalette.ColorRole.Window, window),
                        (QPalette.ColorRole.WindowText, text),
                        (QPalette.ColorRole.Base, base),
                        (QPalette.ColorRole.AlternateBase, QColor("#27292c")),
                        (QPalette.ColorRole.ToolTipBase, QColor("#3a3d41")),
                        (QPalette.ColorRole.ToolTipText, text),
                        (QPalette.ColorRole.PlaceholderText, disabled),
                        (QPalette.ColorRole.Text, text),
                        (QPalette.ColorRole.Button, QColor("#35383c")),
                        (QPalette.ColorRole.ButtonText, text),
                        (QPalette.ColorRole.BrightText, QColor("#ff6b6b")),
                        (QPalette.ColorRole.Light, QColor("#45484d")),
                        (QPalette.ColorRole.Midlight, QColor("#3a3d41")),
                        (QPalette.ColorRole.Mid, QColor("#2f3134")),
                        (QPalette.ColorRole.Dark, QColor("#18191b")),
                        (QPalette.ColorRole.Shadow, QColor("#000000")),
                        (QPalette.ColorRole.Highlight, QColor("#3d6fb0")),
                        (QPalette.ColorRole.HighlightedText, QColor("#ffffff")),
                        (QPalette.ColorRole.Link, QColor("#6ea8fe")),
                        (QPalette.ColorRole.LinkVisited, QColor("#b197fc"))):
        palette.setColor(role, color)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text,
                 QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight, QColor("#45484d"))
    return palette


def apply_palette(app: QApplication, dark: bool | None = None, *, follow: bool = True) -> bool:
    """Give ``app`` a dark (Fusion + :func:`dark_palette`) or the style's standard light palette.

    ``dark=None`` asks :func:`is_dark_palette`. With ``follow`` the palette is re-applied when the
    OS scheme changes (Qt ≥ 6.5). Returns whether the dark palette is now in use."""
    if dark is None:
        prefers = system_prefers_dark(app)
        dark = prefers if prefers is not None else is_dark_palette(app)
    if dark:
        fusion = QStyleFactory.create("Fusion")
        if fusion is not None:
            app.setStyle(fusion)
        app.setPalette(dark_palette())
    else:
        app.setPalette(app.style().standardPalette())
    hints = app.styleHints()
    if follow and id(app) not in _following and hasattr(hints, "colorSchemeChanged"):
        _following.add(id(app))
        hints.colorSchemeChanged.connect(
            lambda scheme: apply_palette(app, scheme == Qt.ColorScheme.Dark, follow=False))
    return bool(dark)
