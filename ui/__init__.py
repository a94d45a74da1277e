"""PySide6 desktop application of meterreader (the only package that imports Qt)."""

from ui import pyside_fixes  # noqa: F401  (PySide6 6.12 signal refcount workaround, first)
