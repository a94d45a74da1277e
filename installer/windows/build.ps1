# Build the Windows bundle and installer of meterreader (see BUILD.md).
#   powershell -ExecutionPolicy Bypass -File installer\windows\build.ps1
# Needs: Python 3.11 x64 with a venv at .venv (pip install -e ".[dev]"), Inno Setup 6.3 or newer (ISCC).
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")
$py = ".venv\Scripts\python.exe"
& $py -m PyInstaller --noconfirm --distpath dist --workpath build\pyinstaller installer\meterreader.spec
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed" }
& dist\meterreader\meterreader-cli.exe --selftest
if ($LASTEXITCODE -ne 0) { throw "selftest failed: not packing" }
$version = (& dist\meterreader\meterreader-cli.exe --version).Split(" ")[1]
# Windows file versions are four numbers: 1.2.0rc1 -> 1.2.0.0
$numbers = @([regex]::Match($version, "^\d+(\.\d+){0,3}").Value.Split(".") | ForEach-Object { [int]$_ })
while ($numbers.Count -lt 4) { $numbers += 0 }
$fileVersion = ($numbers[0..3] -join ".")
$bytes = (Get-ChildItem dist\meterreader -Recurse -File | Measure-Object -Property Length -Sum).Sum
Write-Host ("bundle: dist\meterreader, {0:N0} MB" -f ($bytes / 1MB))
$iscc = Get-Command iscc -ErrorAction SilentlyContinue
$isccPath = if ($iscc) { $iscc.Source } else { "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
& $isccPath "/DAppVersion=$version" "/DFileVersion=$fileVersion" installer\windows\meterreader.iss
if ($LASTEXITCODE -ne 0) { throw "ISCC failed" }
Write-Host "dist\meterreader-$version-windows-x64-setup.exe"
