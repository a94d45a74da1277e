"""meterreader: a DLMS/COSEM (IEC 62056) meter reading instrument and protocol library.

The package is Qt-free; the desktop application lives in the separate ``ui`` package.

``__version__`` comes from ``pyproject.toml``, the single source: read directly when it sits
beside the package (a checkout, or a bundle that ships it), else from the installed
distribution's metadata.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["__version__", "read_version"]

_UNKNOWN = "0+unknown"


def _pyproject_version(path: Path) -> str | None:
    """``[project] version`` of ``path`` when it is meterreader's pyproject.toml, else None."""
    try:
        import tomllib

        with path.open("rb") as fh:
            project = tomllib.load(fh).get("project", {})
    except (OSError, ValueError):
        return None
    if project.get("name") != "meterreader":
        return None
    version = project.get("version")
    return version if isinstance(version, str) and version else None


def read_version() -> str:
    """meterreader's version: pyproject.toml beside the package first (a checkout, where the
    installed metadata may be older), then ``importlib.metadata``, else ``"0+unknown"``."""
    version = _pyproject_version(Path(__file__).resolve().parents[1] / "pyproject.toml")
    if version is not None:
        return version
    try:
        from importlib.metadata import PackageNotFoundError, version as dist_version

        return dist_version("meterreader")
    except (ImportError, PackageNotFoundError):
        return _UNKNOWN


__version__ = read_version()
