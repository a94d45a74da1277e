"""Result records of the conformance bench: verdicts, evidence, one outcome per check, the report.

Everything here is plain data (frozen dataclasses) with a JSON form: ``ConformanceReport.to_json()``
/ ``from_json()`` round-trip exactly, so a saved report opens back equal to the one written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum, unique
from pathlib import Path
from typing import Any

from meterreader.atomic import atomic_write_text

__all__ = ["ConformanceReport", "CheckOutcome", "Evidence", "REPORT_FORMAT", "ReportFormatError",
           "Verdict"]

#: ``format`` key of the JSON report (bumped when the layout changes incompatibly).
REPORT_FORMAT = "meterreader-conformance/1"


@unique
class Verdict(StrEnum):
    """The result of one check."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"


class ReportFormatError(ValueError):
    """A JSON report that is not one this module wrote (message names the bad key)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """One exchanged frame or APDU: ``direction`` "tx"/"rx" (client view), ``layer`` "hdlc",
    "wrapper" or "apdu", ``hex`` the bytes (secrets masked), ``summary`` a decoded one-liner,
    ``timestamp`` seconds since the epoch."""

    direction: str
    layer: str
    hex: str
    summary: str
    timestamp: float

    @property
    def data(self) -> bytes:
        """The bytes (empty when ``hex`` was cut short and is not valid hex any more)."""
        try:
            return bytes.fromhex(self.hex)
        except ValueError:
            return b""

    def to_json(self) -> dict[str, Any]:
        return {"direction": self.direction, "layer": self.layer, "hex": self.hex,
                "summary": self.summary, "timestamp": self.timestamp}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evidence:
        return cls(direction=str(_key(data, "direction")), layer=str(_key(data, "layer")),
                   hex=str(_key(data, "hex")), summary=str(_key(data, "summary")),
                   timestamp=float(_key(data, "timestamp")))


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckOutcome:
    """The result of one check: identity (id, title, clause, group), verdict, the one-line
    finding and the evidence recorded while it ran; ``elapsed`` in seconds."""

    check_id: str
    title: str
    clause: str
    group: str
    verdict: Verdict
    finding: str
    evidence: tuple[Evidence, ...] = ()
    elapsed: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"check_id": self.check_id, "title": self.title, "clause": self.clause,
                "group": self.group, "verdict": self.verdict.value, "finding": self.finding,
                "elapsed": self.elapsed, "evidence": [e.to_json() for e in self.evidence]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckOutcome:
        try:
            verdict = Verdict(_key(data, "verdict"))
        except ValueError:
            raise ReportFormatError(f"unknown verdict {data.get('verdict')!r}") from None
        evidence = _key(data, "evidence")
        if not isinstance(evidence, list):
            raise ReportFormatError("evidence is not a list")
        return cls(check_id=str(_key(data, "check_id")), title=str(_key(data, "title")),
                   clause=str(_key(data, "clause")), group=str(_key(data, "group")),
                   verdict=verdict, finding=str(_key(data, "finding")),
                   evidence=tuple(Evidence.from_json(e) for e in evidence),
                   elapsed=float(data.get("elapsed", 0.0)))


@dataclass(frozen=True, slots=True, kw_only=True)
class ConformanceReport:
    """One run of the bench against one meter.

    ``category`` "A"/"B"/"C"; ``identity`` what the meter says it is (serial number,
    manufacturer, firmware …, as read); ``started``/``finished`` aware datetimes; ``target`` the
    connection profile's ``describe()``; ``options`` how the run was asked for (checks chosen,
    destructive allowed …).
    """

    category: str
    identity: dict[str, str]
    started: dt.datetime
    finished: dt.datetime
    target: str
    outcomes: tuple[CheckOutcome, ...]
    options: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[Verdict, int]:
        """Number of outcomes per verdict (every verdict present, zero when none)."""
        out = {v: 0 for v in Verdict}
        for o in self.outcomes:
            out[o.verdict] += 1
        return out

    @property
    def failed(self) -> tuple[CheckOutcome, ...]:
        """The outcomes that failed (verdict FAIL)."""
        return tuple(o for o in self.outcomes if o.verdict is Verdict.FAIL)

    @property
    def errored(self) -> tuple[CheckOutcome, ...]:
        """The outcomes that could not be decided (verdict ERROR)."""
        return tuple(o for o in self.outcomes if o.verdict is Verdict.ERROR)

    @property
    def ok(self) -> bool:
        """True when nothing failed and nothing errored (passes and skips only)."""
        return not any(o.verdict in (Verdict.FAIL, Verdict.ERROR) for o in self.outcomes)

    def outcome(self, check_id: str) -> CheckOutcome | None:
        """The outcome of one check, or None when it did not run."""
        return next((o for o in self.outcomes if o.check_id == check_id), None)

    def summary(self) -> str:
        """E.g. ``"12 pass, 1 fail, 2 skip, 0 error"``."""
        counts = self.counts()
        return ", ".join(f"{counts[v]} {v.value}" for v in Verdict)

    # -- JSON -------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (see :data:`REPORT_FORMAT`)."""
        return {"format": REPORT_FORMAT, "category": self.category,
                "identity": dict(self.identity), "started": self.started.isoformat(),
                "finished": self.finished.isoformat(), "target": self.target,
                "options": dict(self.options),
                "counts": {v.value: n for v, n in self.counts().items()},
                "outcomes": [o.to_json() for o in self.outcomes]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConformanceReport:
        """The report ``to_json`` wrote; ReportFormatError for anything else."""
        if not isinstance(data, Mapping) or data.get("format") != REPORT_FORMAT:
            raise ReportFormatError(f"not a conformance report (format must be {REPORT_FORMAT})")
        outcomes = _key(data, "outcomes")
        identity = _key(data, "identity")
        options = data.get("options", {})
        if not isinstance(outcomes, list) or not isinstance(identity, Mapping) \
                or not isinstance(options, Mapping):
            raise ReportFormatError("outcomes, identity or options has the wrong type")
        try:
            started = dt.datetime.fromisoformat(str(_key(data, "started")))
            finished = dt.datetime.fromisoformat(str(_key(data, "finished")))
        except ValueError:
            raise ReportFormatError("started/finished is not an ISO date-time") from None
        return cls(category=str(_key(data, "category")),
                   identity={str(k): str(v) for k, v in identity.items()},
                   started=started, finished=finished, target=str(_key(data, "target")),
                   outcomes=tuple(CheckOutcome.from_json(o) for o in outcomes),
                   options=dict(options))

    def json_text(self) -> str:
        """The JSON report exactly as :meth:`save_json` writes it."""
        return json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n"

    def fingerprint(self) -> str:
        """The first 16 hex digits of the SHA-256 of :meth:`json_text` (UTF-8): printed on the
        PDF so that a signed paper report can be matched to its JSON file
        (``sha256sum report.json``)."""
        return hashlib.sha256(self.json_text().encode("utf-8")).hexdigest()[:16]

    def save_json(self, path: str | os.PathLike[str]) -> Path:
        """Write the JSON report atomically; returns the path."""
        atomic_write_text(path, self.json_text(), newline="")  # bytes as fingerprinted
        return Path(path)

    @classmethod
    def load_json(cls, path: str | os.PathLike[str]) -> ConformanceReport:
        """Read a report written by :meth:`save_json` (ReportFormatError if it is not one)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ReportFormatError(f"{path}: not JSON ({exc.msg})") from None
        return cls.from_json(data)


def _key(data: Mapping[str, Any], name: str) -> Any:
    if not isinstance(data, Mapping) or name not in data:
        raise ReportFormatError(f"missing key {name!r}")
    return data[name]
