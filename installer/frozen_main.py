"""Entry point of the PyInstaller bundle (both executables run this script).

* ``meterreader [ARGS]`` — the desktop application (``ui.app.main``), ``--demo`` and
  ``--selftest`` included; ``meterreader --cli ARGS`` runs the command line instead, and so do
  ``meterreader -h``/``--help`` and ``meterreader COMMAND ...`` for every subcommand of the
  command line (``decode``, ``read``, ``read-meter`` …): no display is needed for those.
* ``meterreader-cli ARGS`` — the command line (``meterreader.cli.main``); on Windows this is the
  console executable, so use it for ``--selftest`` output and scripts; on Linux a symbolic link
  to ``meterreader`` (the name it is started by decides).
* ``meterreader[-cli] -m MODULE ARGS`` — run a bundled module like ``python -m``. In a bundle
  ``sys.executable`` is this executable, and the headless core renders PDF reports with
  ``sys.executable -m ui.report_pdf`` / ``-m ui.conformance_pdf``: this keeps that working.
* ``--version`` prints the version.

The command line's usage lines name the program as it was started (``meterreader-cli``,
``meterreader``, ``meterreader --cli``).
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

#: What the command line's parser calls itself (meterreader.cli.build_parser).
CLI_PROG = "meterreader"


def _run_module(module: str, args: list[str]) -> int:
    """``python -m MODULE ARGS`` inside the bundle; the module's own SystemExit passes through."""
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
    return 0


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommand parsers of ``parser`` by name (aliases included)."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:  # noqa: SLF001 (argparse has no public accessor)
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            found.update(action.choices)
    return found


def cli_commands() -> frozenset[str]:
    """The subcommand names of ``meterreader.cli`` (taken from its parser, never a copy)."""
    from meterreader.cli import build_parser

    return frozenset(_subcommands(build_parser()))


def _renamed(parser: argparse.ArgumentParser, old: str, new: str) -> None:
    """Replace the leading program name ``old`` by ``new`` in the usage of ``parser`` and of
    all its subcommands (their ``prog`` was fixed when they were added)."""
    seen: set[int] = set()
    todo = [parser]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if current.prog == old or current.prog.startswith(old + " "):
            current.prog = new + current.prog[len(old):]
        for action in current._actions:  # noqa: SLF001
            if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
                prefix = action._prog_prefix  # noqa: SLF001
                if prefix == old or prefix.startswith(old + " "):
                    action._prog_prefix = new + prefix[len(old):]  # noqa: SLF001
                todo.extend(action.choices.values())


def run_cli(args: list[str], prog: str) -> int:
    """``meterreader.cli.main(args)`` with its usage lines naming the program ``prog``."""
    import meterreader.cli as cli

    if prog == CLI_PROG:
        return cli.main(args)
    original = cli.build_parser

    def build_parser() -> argparse.ArgumentParser:
        parser = original()
        _renamed(parser, CLI_PROG, prog)
        return parser

    cli.build_parser = build_parser
    try:
        return cli.main(args)
    finally:
        cli.build_parser = original


def _started_as() -> str:
    """The program name as started (``meterreader-cli``), without a Windows ``.exe``."""
    path = sys.argv[0] if sys.argv and sys.argv[0] else CLI_PROG
    name = path.replace("\\", "/").rsplit("/", 1)[-1]  # either separator (Windows paths)
    return (name[:-4] if name.lower().endswith(".exe") else name) or CLI_PROG


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
    if args[:1] == ["--cli"]:
        return run_cli(args[1:], f"{_started_as()} --cli")
    if args[:1] in (["-h"], ["--help"]) and not cli_exe:
        print(f"{_started_as()} without a command starts the desktop application (--demo: on the "
              "built-in demo meter; --selftest: check the installation); with a command, the "
              "command line:\n")
    if cli_exe or args[:1] in (["-h"], ["--help"]) or (
            args and not args[0].startswith("-") and args[0] in cli_commands()):
        return run_cli(args, _started_as())
    from ui.app import main as gui_main

    return gui_main(args)


if __name__ == "__main__":
    sys.exit(main())
