"""Entry point of the PyInstaller bundle (both executables run this script).

* ``meterreader [ARGS]`` — the desktop application (``ui.app.main``), ``--demo`` and
  ``--selftest`` included; ``meterreader --cli ARGS`` runs the command line instead.
* ``meterreader-cli ARGS`` — the command line (``meterreader.cli.main``); on Windows this is the
  console executable, so use it for ``--selftest`` output and scripts; on Linux a symbolic link
  to ``meterreader`` (the name it is started by decides).
* ``meterreader[-cli] -m MODULE ARGS`` — run a bundled module like ``python -m``. In a bundle
  ``sys.executable`` is this executable, and the headless core renders PDF reports with
  ``sys.executable -m ui.report_pdf`` / ``-m ui.conformance_pdf``: this keeps that working.
* ``--version`` prints the version.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path


def _run_module(module: str, args: list[str]) -> int:
    """``python -m MODULE ARGS`` inside the bundle; the module's own SystemExit passes through."""
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # The name it was started by: on Linux meterreader-cli is a symbolic link to meterreader.
    names = (Path(sys.argv[0]).name if sys.argv else "", Path(sys.executable).name)
    cli_exe = any(name.lower().removesuffix(".exe").endswith("-cli") for name in names)
    if args[:1] == ["-m"]:
        if len(args) < 2:
            print("usage: meterreader -m MODULE [ARGS]", file=sys.stderr)
            return 2
        return _run_module(args[1], args[2:])
    if args[:1] == ["--version"]:
        from meterreader import __version__

        print(f"meterreader {__version__}")
        return 0
    if args[:1] == ["--selftest"]:
        from ui.selftest import main as selftest_main

        return selftest_main(args[1:])
    if cli_exe or args[:1] == ["--cli"]:
        from meterreader.cli import main as cli_main

        return cli_main(args[1:] if args[:1] == ["--cli"] else args)
    from ui.app import main as gui_main

    return gui_main(args)


if __name__ == "__main__":
    sys.exit(main())
