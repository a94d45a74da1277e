"""PySide6 desktop application of meterreader (the only package that imports Qt)."""
