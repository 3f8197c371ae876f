; Inno Setup 6 script for Reviewer Workstation on Windows.
; First build the app on Windows: `python installer\build.py` (makes dist\reviewer-workstation),
; then compile this script: `iscc installer\windows\reviewer-workstation.iss`.
; The installer is written to dist\installer\. Paths below are relative to this file.

#define AppName "Reviewer Workstation"
#define AppVersion "0.1.0"
#define AppExe "reviewer-workstation.exe"

[Setup]
AppId={{6C3A1E52-4B7D-4C1F-9A0E-2F5B7D8C9E10}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Reviewer Workstation
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist\installer
OutputBaseFilename=reviewer-workstation-{#AppVersion}-windows-x64-setup
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
InfoBeforeFile=..\licences.txt

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "..\..\dist\reviewer-workstation\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Only what the installer put there; the user's data directory is left alone.
Type: filesandordirs; Name: "{app}\_internal"
