"""meterreader: a DLMS/COSEM (IEC 62056) meter reading instrument and protocol library.

The package is Qt-free; the desktop application lives in the separate ``ui`` package.
"""

__version__ = "0.1.0"
