"""Named connection profiles kept in QSettings; their secrets only in the user's secrets file.

Each profile is stored as one JSON text under ``profiles/<name>`` (``ConnectionProfile.to_json``
without secrets, plus whether the user asked to remember its secrets). Passwords and keys never go
to QSettings: when the user ticks "Remember secrets", they go to the 0600 JSON file of
:mod:`meterreader.client.secret_store` and are merged back by :meth:`ProfileStore.load`.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, unquote

from PySide6.QtCore import QSettings

from meterreader.client import secret_store
from meterreader.client.profile import SECRET_FIELDS, ConnectionProfile

__all__ = ["ProfileStore"]

_GROUP = "profiles"
_LAST_USED = "profile_store/last_used"


def _key(name: str) -> str:
    # QSettings treats "/" and "\" in keys as group separators: percent-encode the name.
    return f"{_GROUP}/{quote(name, safe='')}"


class ProfileStore:
    """Named ConnectionProfiles in ``settings`` (default: the application's QSettings).

    ``secrets_path`` is the secrets file used when ``save``/``load`` are not given one (default:
    ``secret_store.default_secrets_path()``)."""

    def __init__(self, settings: QSettings | None = None, *,
                 secrets_path: str | Path | None = None) -> None:
        self.settings = settings if settings is not None else QSettings()
        self.secrets_path = Path(secrets_path) if secrets_path is not None else None

    def _secrets_path(self, path: str | Path | None) -> Path:
        if path is not None:
            return Path(path)
        if self.secrets_path is not None:
            return self.secrets_path
        return secret_store.default_secrets_path()

    def _record(self, name: str) -> dict | None:
        # A default of "" (not None): PySide6 6.12 miscounts references to a returned None.
        raw = self.settings.value(_key(name), "")
        if not isinstance(raw, str) or not raw:
            return None
        try:
            record = json.loads(raw)
        except ValueError:
            return None
        return record if isinstance(record, dict) and isinstance(record.get("profile"),
                                                                  dict) else None

    def names(self) -> list[str]:
        """The saved profile names, sorted case-insensitively."""
        self.settings.beginGroup(_GROUP)
        try:
            keys = self.settings.childKeys()
        finally:
            self.settings.endGroup()
        return sorted((unquote(k) for k in keys), key=lambda n: (n.casefold(), n))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._record(name) is not None

    def remembers_secrets(self, name: str) -> bool:
        """Whether the profile ``name`` was saved with "Remember secrets"."""
        record = self._record(name)
        return bool(record and record.get("remember_secrets"))

    def load(self, name: str, *, secrets_path: str | Path | None = None) -> ConnectionProfile:
        """The profile ``name``, with its remembered secrets merged in when there are any.

        Raises KeyError for an unknown name and ``ProfileError`` for a damaged entry."""
        record = self._record(name)
        if record is None:
            raise KeyError(name)
        data = {k: v for k, v in record["profile"].items() if k not in SECRET_FIELDS}
        data["name"] = name
        profile = ConnectionProfile.from_json(data)
        if record.get("remember_secrets"):
            secrets = secret_store.load_secrets(self._secrets_path(secrets_path), name)
            known = {k: v for k, v in secrets.items() if k in SECRET_FIELDS}
            if known:
                profile = profile.with_secrets(**known)
        return profile

    def save(self, profile: ConnectionProfile, remember_secrets: bool = False,
             secrets_path: str | Path | None = None) -> None:
        """Save ``profile`` under ``profile.name`` (replacing it) and make it the last used.

        Secrets go to the secrets file only with ``remember_secrets``; otherwise any secrets
        remembered earlier for this name are forgotten."""
        name = profile.name
        if not name.strip():
            raise ValueError("a saved profile needs a name")
        data = {k: v for k, v in profile.to_json(include_secrets=False).items()
                if k not in SECRET_FIELDS}
        path = self._secrets_path(secrets_path)
        if remember_secrets:
            secret_store.save_secrets(path, name, profile.secrets())
        else:
            self._forget_secrets(path, name)
        record = {"profile": data, "remember_secrets": bool(remember_secrets)}
        self.settings.setValue(_key(name), json.dumps(record, sort_keys=True))
        self.last_used = name
        self.settings.sync()

    @staticmethod
    def _forget_secrets(path: Path, name: str) -> None:
        # A damaged secrets file cannot hold a readable secret either: nothing to forget.
        if path.exists():
            try:
                secret_store.delete_secrets(path, name)
            except secret_store.SecretStoreError:
                pass

    def delete(self, name: str, *, secrets_path: str | Path | None = None) -> None:
        """Forget the profile ``name`` and its remembered secrets (no error if unknown)."""
        self.settings.remove(_key(name))
        path = self._secrets_path(secrets_path)
        self._forget_secrets(path, name)
        if self.last_used == name:
            self.settings.remove(_LAST_USED)
        self.settings.sync()

    @property
    def last_used(self) -> str | None:
        """The name of the profile saved or connected last, or None."""
        value = self.settings.value(_LAST_USED, "")
        return value if isinstance(value, str) and value else None

    @last_used.setter
    def last_used(self, name: str | None) -> None:
        if name:
            self.settings.setValue(_LAST_USED, name)
        else:
            self.settings.remove(_LAST_USED)
