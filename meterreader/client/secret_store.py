"""The user's private secrets file: passwords and keys of named connection profiles.

Used only when the user ticks "Remember secrets". One JSON file,
``$XDG_CONFIG_HOME/meterreader/secrets.json`` (default ``~/.config/…``; ``%APPDATA%`` on Windows),
``{"version": 1, "profiles": {name: {field: hex}}}``. The file is created with mode 0600 (the
folder 0700) and replaced atomically; on Windows the user's profile folder protects it. Nothing
here logs or prints a secret, and error messages never quote the file's contents.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from meterreader.dlms.errors import LocalProtocolError
from meterreader.dlms.secret import SecretBytes

__all__ = ["SecretStoreError", "default_secrets_path", "delete_secrets", "load_secrets",
           "profile_names", "save_secrets"]

FILE_MODE = 0o600
DIR_MODE = 0o700
_VERSION = 1


class SecretStoreError(LocalProtocolError, OSError):
    """The secrets file could not be read or written (the message names the file only)."""


def default_secrets_path() -> Path:
    """``$XDG_CONFIG_HOME/meterreader/secrets.json`` (``~/.config`` when unset; ``%APPDATA%``
    on Windows)."""
    if os.name == "nt" and os.environ.get("APPDATA"):
        base = Path(os.environ["APPDATA"])
    else:
        xdg = os.environ.get("XDG_CONFIG_HOME", "")
        base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".config"
    return base / "meterreader" / "secrets.json"


def _read_all(path: Path) -> dict[str, dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SecretStoreError(f"cannot read the secrets file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise SecretStoreError(f"the secrets file {path} is not valid JSON") from None
    profiles = data.get("profiles") if isinstance(data, dict) else None
    if not isinstance(profiles, dict):
        raise SecretStoreError(f"the secrets file {path} has no 'profiles' object")
    return {name: entry for name, entry in profiles.items() if isinstance(entry, dict)}


def _write_all(path: Path, profiles: Mapping[str, Mapping[str, str]]) -> None:
    """Write atomically: a 0600 temporary file in the same folder, then rename over ``path``."""
    folder = path.parent
    try:
        if not folder.exists():
            folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        payload = json.dumps({"version": _VERSION, "profiles": profiles}, indent=1,
                             sort_keys=True).encode("utf-8")
        # mkstemp opens with O_CREAT | O_EXCL and mode 0600: never readable by others.
        fd, temp = tempfile.mkstemp(prefix=".secrets-", suffix=".tmp", dir=folder)
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, FILE_MODE)
            with os.fdopen(fd, "wb") as stream:
                stream.write(payload)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temp, path)
        except BaseException:
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise
        if hasattr(os, "chmod") and os.name != "nt":
            os.chmod(path, FILE_MODE)
    except OSError as exc:
        raise SecretStoreError(f"cannot write the secrets file {path}: "
                               f"{exc.strerror or exc}") from None


def _path(path: str | os.PathLike[str] | None) -> Path:
    return Path(path) if path is not None else default_secrets_path()


def save_secrets(path: str | os.PathLike[str] | None, profile_name: str,
                 secrets: Mapping[str, SecretBytes]) -> Path:
    """Store ``secrets`` (field name → SecretBytes) for ``profile_name``, replacing what was
    stored for it; an empty mapping removes the profile's entry. Returns the file's path."""
    if not isinstance(profile_name, str) or not profile_name:
        raise LocalProtocolError("the profile name must be a non-empty string")
    entry: dict[str, str] = {}
    for name, value in secrets.items():
        if value is None:
            continue
        if not isinstance(value, SecretBytes):
            raise TypeError(f"secret {name!r} must be SecretBytes, got {type(value).__name__}")
        entry[str(name)] = value.reveal().hex()
    target = _path(path)
    profiles = _read_all(target)
    if entry:
        profiles[profile_name] = entry
    else:
        profiles.pop(profile_name, None)
    _write_all(target, profiles)
    return target


def load_secrets(path: str | os.PathLike[str] | None, profile_name: str
                 ) -> dict[str, SecretBytes]:
    """The secrets stored for ``profile_name`` ({} when none or no file). Entries that are not
    hex are skipped."""
    entry = _read_all(_path(path)).get(profile_name, {})
    out: dict[str, SecretBytes] = {}
    for name, text in entry.items():
        if isinstance(text, str):
            try:
                out[name] = SecretBytes(bytes.fromhex(text))
            except ValueError:
                continue
    return out


def delete_secrets(path: str | os.PathLike[str] | None, profile_name: str) -> bool:
    """Forget ``profile_name``'s secrets; True if there were any."""
    target = _path(path)
    profiles = _read_all(target)
    if profile_name not in profiles:
        return False
    del profiles[profile_name]
    _write_all(target, profiles)
    return True


def profile_names(path: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the profiles that have stored secrets."""
    return sorted(_read_all(_path(path)))
