; Inno Setup script of meterreader for Windows (64-bit).
; Needs Inno Setup 6.3 or newer (ArchitecturesAllowed=x64compatible).
; Build the bundle first (installer\windows\BUILD.md), then from the repository root:
;   iscc /DAppVersion=0.1.0 /DFileVersion=0.1.0.0 installer\windows\meterreader.iss
; (installer\windows\build.ps1 does both and takes the version from the bundle.)
; AppVersion is the version as written in pyproject.toml (0.1.0, 1.2.0rc1 …); FileVersion the
; numeric a.b.c.d Windows puts in the setup program's file properties (default: AppVersion
; itself, which ISCC accepts only when it is numeric).
; Paths are relative to this file. Output: dist\meterreader-<version>-windows-x64-setup.exe
; Installs dist\meterreader\ (meterreader.exe: the application; meterreader-cli.exe: the
; command line), a Start-menu group (application, demo meter, uninstall), an optional desktop
; icon, and the uninstaller (Settings > Apps, or the Start-menu entry).

#ifndef AppVersion
  #error AppVersion is not defined: iscc /DAppVersion=<version from pyproject.toml> (build.ps1 passes it)
#endif
#ifndef FileVersion
  #define FileVersion AppVersion
#endif
#define AppName "meterreader"
#define AppExe "meterreader.exe"

[Setup]
; Never change AppId: installers with the same id upgrade and uninstall each other.
AppId={{B3CCBA22-26C1-49DE-878B-ED7197412AAD}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=meterreader
AppComments=DLMS/COSEM (IEC 62056) meter reading instrument for IS 15959 meters
VersionInfoVersion={#FileVersion}
VersionInfoProductTextVersion={#AppVersion}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; Per-machine by default; a user without admin rights may install for themselves only.
PrivilegesRequired=admin
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir=..\..\dist
OutputBaseFilename={#AppName}-{#AppVersion}-windows-x64-setup
SetupIconFile=..\..\build\icons\meterreader.ico
UninstallDisplayIcon={app}\meterreader.exe
UninstallDisplayName={#AppName} {#AppVersion}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "..\..\dist\meterreader\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; A previous version's libraries must not linger beside the new ones.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{group}\meterreader"; Filename: "{app}\{#AppExe}"; WorkingDir: "{userdocs}"
Name: "{group}\meterreader (demo meter)"; Filename: "{app}\{#AppExe}"; Parameters: "--demo"; WorkingDir: "{userdocs}"
Name: "{group}\Uninstall meterreader"; Filename: "{uninstallexe}"
Name: "{autodesktop}\meterreader"; Filename: "{app}\{#AppExe}"; WorkingDir: "{userdocs}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,meterreader}"; Flags: nowait postinstall skipifsilent
