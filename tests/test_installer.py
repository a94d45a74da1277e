"""Packaging: the version's single source, the self-test, the frozen entry point, the desktop
entry, the icons and the Inno Setup script; and (slow, run in CI) the real Linux bundle built
by installer/build.sh, its self-test, its command line and its PDF reports."""

from __future__ import annotations

import configparser
import importlib.metadata
import importlib.util
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import time
import tomllib
from pathlib import Path

import pytest

import meterreader

ROOT = Path(__file__).resolve().parents[1]
INSTALLER = ROOT / "installer"
PYPROJECT_VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
SELFTEST_STEPS = ("environment", "application", "charts", "demo meter + connect", "object list",
                  "clock", "about box", "disconnect")


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _isolated_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"), "QT_QPA_PLATFORM": "offscreen"}


# -- version ---------------------------------------------------------------------------------------

def test_version_is_the_one_in_pyproject():
    assert meterreader.__version__ == PYPROJECT_VERSION
    assert meterreader.read_version() == PYPROJECT_VERSION


def test_version_falls_back_to_the_installed_metadata(monkeypatch):
    monkeypatch.setattr(meterreader, "_pyproject_version", lambda _path: None)
    assert meterreader.read_version() == importlib.metadata.version("meterreader")


def test_a_foreign_or_broken_pyproject_is_ignored(tmp_path):
    other = tmp_path / "pyproject.toml"
    other.write_text('[project]\nname = "something-else"\nversion = "9.9"\n')
    assert meterreader._pyproject_version(other) is None
    other.write_text("[project\nname = ")
    assert meterreader._pyproject_version(other) is None
    assert meterreader._pyproject_version(tmp_path / "missing.toml") is None
    other.write_text('[project]\nname = "meterreader"\nversion = "2.3.4"\n')
    assert meterreader._pyproject_version(other) == "2.3.4"


def test_about_box_text_carries_the_pyproject_version():
    from PySide6.QtCore import qVersion

    from ui.app import about_text

    text = about_text()
    assert f"meterreader {PYPROJECT_VERSION}" in text and f"Qt {qVersion()}" in text


# -- self-test from source -------------------------------------------------------------------------

def _assert_selftest_passed(output: str) -> None:
    for step in SELFTEST_STEPS:
        assert re.search(rf"^selftest: {re.escape(step)} \.\.\. ok ", output, re.M), output
    assert re.search(r"^selftest: passed in [\d.]+ s$", output, re.M), output
    assert "FAILED" not in output


def test_selftest_passes_from_source(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ui.app", "--selftest", "--timeout", "60"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=_isolated_env(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _assert_selftest_passed(proc.stdout)
    assert f"meterreader {PYPROJECT_VERSION} (source)" in proc.stdout
    assert "propagateSizeHints" not in proc.stdout + proc.stderr  # offscreen noise filtered
    assert re.search(r"^selftest: object list \.\.\. ok .*: \d+ objects", proc.stdout, re.M)
    assert not list(tmp_path.rglob("*.ini")), "the self-test touched the user's settings"


def test_selftest_names_the_failed_step_and_exits_1(tmp_path):
    script = (
        "import sys\n"
        "import ui.demo_meter\n"
        "def refuse(self, *a, **k):\n"
        "    raise OSError('no free port (test)')\n"
        "ui.demo_meter.DemoMeter.start = refuse\n"
        "from ui.selftest import main\n"
        "sys.exit(main(['--timeout', '20']))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=_isolated_env(tmp_path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert re.search(r"^selftest: demo meter \+ connect \.\.\. FAILED .*no free port \(test\)",
                     proc.stdout, re.M), proc.stdout
    assert re.search(r"^selftest: FAILED after [\d.]+ s: demo meter \+ connect: ", proc.stdout,
                     re.M), proc.stdout
    assert "selftest: disconnect ... ok" in proc.stdout  # cleans up after a failure too


# -- frozen entry point ----------------------------------------------------------------------------

HDLC_SNRM = "7EA00A00020401419322D07E"  # README example frame


@pytest.fixture
def frozen_main():
    return _load("frozen_main_under_test", INSTALLER / "frozen_main.py")


def test_frozen_entry_prints_the_version(frozen_main, capsys):
    assert frozen_main.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"meterreader {PYPROJECT_VERSION}"


def test_frozen_entry_runs_the_cli_by_option_or_by_name(frozen_main, capsys, monkeypatch):
    assert frozen_main.main(["--cli", "decode", HDLC_SNRM]) == 0
    assert '"layer": "hdlc"' in capsys.readouterr().out
    monkeypatch.setattr(sys, "argv", ["/opt/meterreader/meterreader-cli"])
    assert frozen_main.main(["decode", HDLC_SNRM]) == 0
    assert '"layer": "hdlc"' in capsys.readouterr().out


def test_frozen_entry_sends_help_and_subcommands_to_the_cli(frozen_main, capsys, monkeypatch):
    """``meterreader decode …`` and ``meterreader --help`` in the bundle are the command line
    (no display needed); no arguments and the GUI's own flags start the GUI."""
    import ui.app

    started = []
    monkeypatch.setattr(ui.app, "main", lambda args: started.append(args) or 0)
    monkeypatch.setattr(sys, "argv", ["/opt/meterreader/meterreader"])
    assert {"decode", "read", "read-meter", "conformance", "demo", "simulate"} \
        <= frozen_main.cli_commands()
    assert frozen_main.main(["decode", HDLC_SNRM]) == 0
    assert '"layer": "hdlc"' in capsys.readouterr().out
    for flag in ("--help", "-h"):
        assert frozen_main.main([flag]) == 0
        out = capsys.readouterr().out
        assert "without a command starts the desktop application" in out
        assert "usage: meterreader [-h] [--version] COMMAND" in out and "read-meter" in out
    assert started == []
    for gui_args in ([], ["--demo"], ["-platform", "offscreen"], ["decodeX"]):
        assert frozen_main.main(gui_args) == 0
    assert started == [[], ["--demo"], ["-platform", "offscreen"], ["decodeX"]]


@pytest.mark.parametrize("argv0, args, prog", [
    ("/opt/meterreader/meterreader-cli", ["read", "--help"], "meterreader-cli read"),
    ("C:\\Program Files\\meterreader\\meterreader-cli.exe", ["read", "--help"],
     "meterreader-cli read"),
    ("/opt/meterreader/meterreader", ["read", "--help"], "meterreader read"),
    ("/opt/meterreader/meterreader", ["--cli", "decode", "--help"], "meterreader --cli decode"),
])
def test_frozen_cli_usage_names_the_program_as_started(frozen_main, capsys, monkeypatch, argv0,
                                                       args, prog):
    monkeypatch.setattr(sys, "argv", [argv0])
    assert frozen_main.main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: {prog} [-h]"), out[:200]
    import meterreader.cli

    assert meterreader.cli.build_parser().prog == "meterreader"  # the patch is undone


def test_frozen_entry_runs_modules_like_python_dash_m(frozen_main, capsys, monkeypatch):
    """The core renders PDFs with ``sys.executable -m ui.report_pdf``: the bundle's executable
    must accept ``-m MODULE ARGS`` (the module's own exit status passes through)."""
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    with pytest.raises(SystemExit) as done:
        frozen_main.main(["-m", "meterreader", "decode", HDLC_SNRM])
    assert done.value.code == 0
    assert '"layer": "hdlc"' in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        frozen_main.main(["-m", "ui.report_pdf"])  # no arguments: its usage, status 2
    assert done.value.code == 2
    assert "usage: python -m ui.report_pdf" in capsys.readouterr().err
    assert frozen_main.main(["-m"]) == 2


# -- spec pruning (both layouts) ------------------------------------------------------------------

def _spec_helpers() -> dict:
    """The spec's pruning constants and functions, without running PyInstaller's Analysis."""
    import ast

    tree = ast.parse((INSTALLER / "meterreader.spec").read_text(encoding="utf-8"))
    wanted = {"UNWANTED_PLUGINS", "UNWANTED_FILES", "TRANSLATIONS", "_plugin_key",
              "_unwanted_plugin", "_drop_dangling_links"}
    body = [node for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name in wanted
            or isinstance(node, ast.Assign) and {getattr(t, "id", None) for t in node.targets}
            & wanted]
    namespace = {"Path": Path, "os": os}
    exec(compile(ast.Module(body=body, type_ignores=[]), "meterreader.spec", "exec"), namespace)
    assert wanted <= set(namespace)
    return namespace


@pytest.mark.parametrize("dest, unwanted", [
    ("PySide6/Qt/plugins/platforms/libqvnc.so", True),
    ("PySide6/Qt/plugins/platforms/libqxcb.so", False),
    ("PySide6/Qt/plugins/platforms/libqoffscreen.so", False),
    ("PySide6/Qt/plugins/imageformats/libqjpeg.so", True),
    ("PySide6/Qt/plugins/imageformats/libqsvg.so", False),
    ("PySide6/Qt/plugins/generic/libqevdevmouseplugin.so", True),
    ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", True),
    ("PySide6\\plugins\\platforms\\qwindows.dll", False),
    ("PySide6\\plugins\\platforms\\qdirect2d.dll", True),
    ("PySide6/plugins/platforms/qvnc.dll", True),
    ("PySide6/plugins/imageformats/qjpeg.dll", True),
    ("PySide6/plugins/imageformats/qtiff.dll", True),
    ("PySide6/plugins/imageformats/qico.dll", False),
    ("PySide6/plugins/generic/qtuiotouchplugin.dll", True),
    ("PySide6/opengl32sw.dll", True),
    ("PySide6\\opengl32sw.dll", True),
    ("PySide6/Qt6Core.dll", False),
    ("PySide6/Qt/lib/libQt6Gui.so.6", False),
    ("libjpeg.so.62", False),  # only through the ldd closure of a pruned plugin
])
def test_spec_prunes_plugins_in_the_linux_and_the_windows_layout(dest, unwanted):
    assert _spec_helpers()["_unwanted_plugin"](dest) is unwanted


def test_spec_prunes_both_translation_folders_and_dangling_links():
    helpers = _spec_helpers()
    assert all(p.startswith(helpers["TRANSLATIONS"]) for p in (
        "PySide6/Qt/translations/qt_de.qm", "PySide6/translations/qtbase_fr.qm"))
    toc = [("libQt6Network.so.6", "PySide6/Qt/lib/libQt6Network.so.6", "SYMLINK"),
           ("libQt6Gui.so.6", "PySide6/Qt/lib/libQt6Gui.so.6", "SYMLINK"),
           ("PySide6/Qt/lib/libQt6Gui.so.6", "/site/PySide6/Qt/lib/libQt6Gui.so.6", "BINARY"),
           ("PySide6/Qt/lib/x.so", "../../../libQt6Gui.so.6", "SYMLINK")]
    kept = {"PySide6/Qt/lib/libQt6Gui.so.6", "libQt6Gui.so.6"}
    assert helpers["_drop_dangling_links"](toc, kept) == toc[1:]


# -- desktop entry, icons, Inno Setup --------------------------------------------------------------

def test_desktop_entry_is_valid():
    text = (INSTALLER / "meterreader.desktop").read_text(encoding="utf-8")
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(text)
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Name"] == "meterreader"
    assert entry["Exec"].split()[0] == "meterreader" == entry["TryExec"]
    assert entry["Icon"] == "meterreader"  # the installed icon's name, no path or extension
    assert entry["Terminal"] == "false"
    for key in ("Categories", "Keywords", "Actions"):
        assert entry[key].endswith(";"), key
    main_categories = {"AudioVideo", "Development", "Education", "Game", "Graphics", "Network",
                       "Office", "Science", "Settings", "System", "Utility"}
    assert main_categories & set(entry["Categories"].split(";"))
    for action in filter(None, entry["Actions"].split(";")):
        section = parser[f"Desktop Action {action}"]
        assert section["Name"] and section["Exec"].startswith("meterreader ")
    allowed = {"Type", "Version", "Name", "GenericName", "Comment", "Exec", "TryExec", "Icon",
               "Terminal", "Categories", "Keywords", "StartupWMClass", "Actions"}
    assert set(entry) <= allowed
    validator = shutil.which("desktop-file-validate")
    if validator:
        proc = subprocess.run([validator, str(INSTALLER / "meterreader.desktop")],
                              capture_output=True, text=True)
        assert proc.returncode == 0 and "error" not in proc.stdout.lower(), proc.stdout


def test_install_desktop_entry_points_at_the_bundle(tmp_path):
    bundle = tmp_path / "my bundle"
    bundle.mkdir()
    for name in ("meterreader.desktop", "install-desktop-entry.sh"):
        shutil.copy(INSTALLER / name, bundle / name)
    shutil.copy(ROOT / "resources" / "icons" / "meterreader.svg", bundle / "meterreader.svg")
    (bundle / "meterreader.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    subprocess.run(["bash", str(bundle / "install-desktop-entry.sh")], check=True, env=env,
                   capture_output=True)
    installed = tmp_path / "data" / "applications" / "meterreader.desktop"
    text = installed.read_text()
    assert f'Exec="{bundle}/meterreader"\n' in text
    assert f"TryExec={bundle}/meterreader\n" in text
    assert f'Exec="{bundle}/meterreader" --demo\n' in text  # the action keeps its argument
    assert (tmp_path / "data/icons/hicolor/256x256/apps/meterreader.png").is_file()
    subprocess.run(["bash", str(bundle / "install-desktop-entry.sh"), "--remove"], check=True,
                   env=env, capture_output=True)
    assert not installed.exists()


def test_install_desktop_entry_escapes_awkward_folder_names(tmp_path):
    """sed's ``|`` and ``&``, the Exec key's ``%`` field codes and its quoting of ``"``, ``$``,
    backquote and backslash (Desktop Entry spec: quoting, then the string escape)."""
    bundle = tmp_path / 'a|b&c%d"e$f`g\\h'
    bundle.mkdir()
    for name in ("meterreader.desktop", "install-desktop-entry.sh"):
        shutil.copy(INSTALLER / name, bundle / name)
    shutil.copy(ROOT / "resources" / "icons" / "meterreader.svg", bundle / "meterreader.svg")
    (bundle / "meterreader.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    subprocess.run(["bash", str(bundle / "install-desktop-entry.sh")], check=True, env=env,
                   capture_output=True)
    text = (tmp_path / "data" / "applications" / "meterreader.desktop").read_text()
    quoted = (f"{tmp_path}/" + 'a|b&c%%d\\\\"e\\\\$f\\\\`g\\\\\\\\h' + "/meterreader")
    assert f'\nExec="{quoted}"\n' in text
    assert f'\nExec="{quoted}" --demo\n' in text
    assert f"\nTryExec={tmp_path}/" + 'a|b&c%d"e$f`g\\\\h/meterreader\n' in text
    validator = shutil.which("desktop-file-validate")
    if validator:
        proc = subprocess.run([validator, str(tmp_path / "data/applications/meterreader.desktop")],
                              capture_output=True, text=True)
        assert "error" not in proc.stdout.lower(), proc.stdout


def test_ico_layout_is_byte_exact():
    make_icons = _load("make_icons_under_test", INSTALLER / "make_icons.py")
    images = {16: b"A" * 5, 256: b"B" * 7}
    ico = make_icons.ico_bytes(images)
    assert ico[:6] == bytes.fromhex("000001000200")  # reserved, type icon, 2 images
    first = struct.unpack("<BBBBHHII", ico[6:22])
    second = struct.unpack("<BBBBHHII", ico[22:38])
    assert first == (16, 16, 0, 0, 1, 32, 5, 38)
    assert second == (0, 0, 0, 0, 1, 32, 7, 43)  # 0 means 256 pixels
    assert ico[38:] == b"A" * 5 + b"B" * 7


def test_icons_render_from_the_svg(tmp_path):
    proc = subprocess.run([sys.executable, str(INSTALLER / "make_icons.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, proc.stderr
    png = (tmp_path / "meterreader.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (256, 256)
    ico = (tmp_path / "meterreader.ico").read_bytes()
    count = struct.unpack("<H", ico[4:6])[0]
    sizes = [ico[6 + 16 * i] or 256 for i in range(count)]
    assert sizes == [16, 24, 32, 48, 64, 128, 256]
    for i in range(count):
        length, offset = struct.unpack("<II", ico[6 + 16 * i + 8:6 + 16 * i + 16])
        assert ico[offset:offset + 8] == b"\x89PNG\r\n\x1a\n" and offset + length <= len(ico)


def test_inno_setup_script_installs_the_bundle_with_menu_and_uninstall():
    text = (INSTALLER / "windows" / "meterreader.iss").read_text(encoding="utf-8")
    sections = set(re.findall(r"^\[(\w+)\]", text, re.M))
    assert {"Setup", "Files", "Icons", "Run"} <= sections
    assert re.search(r'^Source: "\.\.\\\.\.\\dist\\meterreader\\\*".*recursesubdirs', text, re.M)
    assert '#define AppExe "meterreader.exe"' in text
    assert re.search(r'^Name: "\{group\}\\meterreader"; Filename: "\{app\}\\\{#AppExe\}"',
                     text, re.M)
    assert re.search(r'^Name: "\{group\}\\.*Uninstall.*"; Filename: "\{uninstallexe\}"', text,
                     re.M)
    assert "SetupIconFile=" in text and "meterreader.ico" in text
    assert "UninstallDisplayIcon={app}\\meterreader.exe" in text
    assert "AppVersion={#AppVersion}" in text
    # No silent 0.0.0 installer: ISCC stops without /DAppVersion.
    assert re.search(r"^#ifndef AppVersion\n\s*#error ", text, re.M)
    assert '#define AppVersion "0.0.0"' not in text
    assert "VersionInfoVersion={#FileVersion}" in text  # numeric a.b.c.d, passed separately
    assert "Inno Setup 6.3" in text
    build = (INSTALLER / "windows" / "build.ps1").read_text(encoding="utf-8")
    assert '"/DAppVersion=$version" "/DFileVersion=$fileVersion"' in build
    assert "bundle: dist\\meterreader" in build  # the size is reported
    assert re.search(r"^AppId=\{\{[0-9A-F-]{36}\}", text, re.M)  # stable: upgrades in place


# -- the real bundle (slow) ------------------------------------------------------------------------

@pytest.mark.slow
def test_linux_bundle_builds_and_passes_its_selftest(tmp_path):
    """installer/build.sh: PyInstaller bundle, self-test, tar.gz; then the bundle's command line
    reads a simulated meter and renders both PDF reports through ``<bundle exe> -m MODULE``."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the Linux bundle is built on Linux")
    dist = tmp_path / "dist"
    env = {**_isolated_env(tmp_path), "METERREADER_DIST": str(dist),
           "METERREADER_GZIP_LEVEL": "1", "PYTHON": sys.executable}
    started = time.monotonic()
    proc = subprocess.run(["bash", str(INSTALLER / "build.sh")], capture_output=True, text=True,
                          timeout=900, env=env)
    build_seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    _assert_selftest_passed(proc.stdout)
    assert f"meterreader {PYPROJECT_VERSION} (bundle)" in proc.stdout

    bundle = dist / "meterreader"
    size_mb = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file()
                  and not p.is_symlink()) / 2**20
    print(f"bundle {size_mb:.0f} MB, build + selftest + tar {build_seconds:.0f} s")
    # 184 MB measured (PySide6 6.12 / numpy 2.4 wheels; see installer/README.md "Size"):
    # fail on growth beyond that plus 5 MB.
    assert size_mb < 189, f"bundle grew to {size_mb:.0f} MB"
    assert not [p for p in bundle.rglob("*") if p.is_symlink() and not p.exists()], \
        "dangling symbolic links in the bundle"
    tarball = dist / f"meterreader-{PYPROJECT_VERSION}-linux-x86_64.tar.gz"
    with tarfile.open(tarball) as tar:
        members = {m.name: m for m in tar.getmembers()}
    for name in ("meterreader/meterreader", "meterreader/meterreader.desktop",
                 "meterreader/meterreader.png", "meterreader/meterreader.svg",
                 "meterreader/install-desktop-entry.sh", "meterreader/_internal/pyproject.toml",
                 "meterreader/_internal/resources/icons/meterreader.svg",
                 "meterreader/_internal/resources/schema/meter-reading.xsd",
                 "meterreader/_internal/ui/conformance_pdf.py"):
        assert name in members, name
    assert members["meterreader/meterreader-cli"].issym()
    assert members["meterreader/meterreader"].mode & 0o111
    assert not [n for n in members if "/translations/" in n or "libqvnc" in n
                or "QtQuick" in n or "QtQml" in n or "libqjpeg" in n]

    cli = bundle / "meterreader-cli"
    version = subprocess.run([str(cli), "--version"], capture_output=True, text=True, env=env)
    assert version.stdout.strip() == f"meterreader {PYPROJECT_VERSION}"
    # The GUI executable runs the command line for --help and subcommands, without a display.
    headless = {k: v for k, v in env.items()
                if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    exe = bundle / "meterreader"
    decoded = subprocess.run([str(exe), "decode", HDLC_SNRM], capture_output=True, text=True,
                             timeout=60, env=headless)
    assert decoded.returncode == 0 and '"layer": "hdlc"' in decoded.stdout, decoded.stderr
    helped = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60,
                            env=headless)
    assert helped.returncode == 0 and "usage: meterreader [-h]" in helped.stdout, helped.stderr
    usage = subprocess.run([str(cli), "read", "--help"], capture_output=True, text=True,
                           timeout=60, env=headless)
    assert usage.stdout.startswith("usage: meterreader-cli read"), usage.stdout[:200]

    from meterreader.simulator import SimulatedMeter

    meter = SimulatedMeter()
    port = meter.serve_tcp(port=0)
    try:
        out = tmp_path / "out"
        read = subprocess.run(
            [str(cli), "read-meter", "--tcp", f"127.0.0.1:{port}", "--association", "mr",
             "--password", "12345678", "--category", "C", "--out", str(out), "--format",
             "pdf,xlsx", "--sections", "name_plate,instantaneous"],
            capture_output=True, text=True, timeout=120, env=env)
        assert read.returncode == 0, read.stdout + read.stderr
        pdfs = list(out.glob("*.pdf"))
        assert len(pdfs) == 1 and pdfs[0].read_bytes()[:5] == b"%PDF-"
        assert len(list(out.glob("*.xlsx"))) == 1
        bench = subprocess.run(
            [str(bundle / "meterreader"), "--cli", "conformance", "--tcp", f"127.0.0.1:{port}",
             "--category", "C", "--out", str(tmp_path / "bench"), "--format", "json,pdf"],
            capture_output=True, text=True, timeout=120, env=env)
        assert bench.returncode == 0, bench.stdout + bench.stderr
        pdfs = list((tmp_path / "bench").glob("conformance-*.pdf"))
        assert len(pdfs) == 1 and pdfs[0].read_bytes()[:5] == b"%PDF-"
        # HLS (utility settings, mechanism 2): AES through the stripped cryptography extension.
        hls = subprocess.run(
            [str(cli), "read", "--tcp", f"127.0.0.1:{port}", "--association", "us", "--key",
             "1111111111111111", "0.0.1.0.0.255:2"], capture_output=True, text=True,
            timeout=60, env=env)
        assert hls.returncode == 0 and "+05:30" in hls.stdout, hls.stdout + hls.stderr
    finally:
        meter.stop()
