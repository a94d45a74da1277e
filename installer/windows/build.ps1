# Build the Windows bundle and installer of meterreader (see BUILD.md).
#   powershell -ExecutionPolicy Bypass -File installer\windows\build.ps1
# Needs: Python 3.11 x64 with a venv at .venv (pip install -e ".[dev]"), Inno Setup 6 (ISCC).
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")
$py = ".venv\Scripts\python.exe"
& $py -m PyInstaller --noconfirm --distpath dist --workpath build\pyinstaller installer\meterreader.spec
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed" }
& dist\meterreader\meterreader-cli.exe --selftest
if ($LASTEXITCODE -ne 0) { throw "selftest failed: not packing" }
$version = (& dist\meterreader\meterreader-cli.exe --version).Split(" ")[1]
$iscc = Get-Command iscc -ErrorAction SilentlyContinue
$isccPath = if ($iscc) { $iscc.Source } else { "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
& $isccPath "/DAppVersion=$version" installer\windows\meterreader.iss
if ($LASTEXITCODE -ne 0) { throw "ISCC failed" }
Write-Host "dist\meterreader-$version-windows-x64-setup.exe"
