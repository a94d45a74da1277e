"""Cache of the meters' object lists: in memory and as JSON files, keyed by serial and association.

Reading the object list takes several seconds over a slow link, and it changes only with the
firmware, so the main window reads it once per association and keeps it per meter serial. The
Refresh action reads it again and replaces the entry. Qt-free; the directory defaults to the
user cache dir chosen by the GUI (``QStandardPaths.CacheLocation``/objects).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from meterreader.client import CosemObjectInfo
from meterreader.cosem.interface_classes import (AttributeAccessMode, MethodAccessMode,
                                                 class_name)
from meterreader.cosem.obis import Obis
from meterreader.dlms.errors import DlmsError

__all__ = ["FORMAT", "ObjectListCache", "objects_from_json", "objects_to_json"]

FORMAT = "meterreader-object-list/1"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _mode(enum: type, value: int) -> Any:
    try:
        return enum(value)
    except ValueError:
        return value


def objects_to_json(objects: Sequence[CosemObjectInfo]) -> list[dict[str, Any]]:
    """Plain JSON for an object list (access modes as their integer values)."""
    return [{
        "class_id": o.class_id, "version": o.version, "logical_name": str(o.logical_name),
        "attribute_access": {str(k): int(v) for k, v in o.attribute_access.items()},
        "method_access": {str(k): int(v) for k, v in o.method_access.items()},
        "access_selectors": {str(k): list(v) for k, v in o.access_selectors.items()},
        "name": o.name, "class_name": o.class_name,
    } for o in objects]


def objects_from_json(items: Sequence[Mapping[str, Any]]) -> list[CosemObjectInfo]:
    """The inverse of :func:`objects_to_json`; ValueError when an entry is malformed."""
    out = []
    try:
        for item in items:
            out.append(CosemObjectInfo(
                class_id=int(item["class_id"]), version=int(item["version"]),
                logical_name=Obis.parse(item["logical_name"]),
                attribute_access=MappingProxyType({
                    int(k): _mode(AttributeAccessMode, int(v))
                    for k, v in item.get("attribute_access", {}).items()}),
                method_access=MappingProxyType({
                    int(k): _mode(MethodAccessMode, int(v))
                    for k, v in item.get("method_access", {}).items()}),
                access_selectors=MappingProxyType({
                    int(k): tuple(int(s) for s in v)
                    for k, v in item.get("access_selectors", {}).items()}),
                name=item.get("name"),
                class_name=item.get("class_name") or class_name(int(item["class_id"]))))
    except (KeyError, TypeError, AttributeError, DlmsError) as exc:
        raise ValueError(f"malformed cached object list entry: {exc}") from exc
    return out


class ObjectListCache:
    """Object lists per (meter serial, association key); ``directory`` None = memory only."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory) if directory is not None else None
        self._memory: dict[tuple[str, str], list[CosemObjectInfo]] = {}

    def path(self, serial: str, association: str) -> Path | None:
        """The JSON file of this entry (None without a directory)."""
        if self.directory is None:
            return None
        serial_part = _UNSAFE.sub("_", serial).lstrip(".") or "unknown"
        name = f"{serial_part}__{_UNSAFE.sub('_', association).lstrip('.')}.json"
        return self.directory / name

    def get(self, serial: str, association: str) -> list[CosemObjectInfo] | None:
        """The cached list (memory first, then the file), or None."""
        key = (serial, association)
        if key in self._memory:
            return list(self._memory[key])
        path = self.path(serial, association)
        if path is None or not path.is_file():
            return None
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            if document.get("format") != FORMAT or document.get("serial") != serial:
                return None
            objects = objects_from_json(document["objects"])
        except (OSError, ValueError, KeyError, AttributeError):
            return None  # unreadable or stale: read the meter again
        self._memory[key] = objects
        return list(objects)

    def put(self, serial: str, association: str, objects: Sequence[CosemObjectInfo]) -> None:
        """Remember ``objects``; the file is written atomically (errors leave memory only)."""
        self._memory[(serial, association)] = list(objects)
        path = self.path(serial, association)
        if path is None:
            return
        document = {"format": FORMAT, "serial": serial, "association": association,
                    "objects": objects_to_json(objects)}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(document, indent=1), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass

    def forget(self, serial: str, association: str) -> None:
        """Drop an entry (memory and file)."""
        self._memory.pop((serial, association), None)
        path = self.path(serial, association)
        if path is not None:
            try:
                path.unlink()
            except OSError:
                pass
