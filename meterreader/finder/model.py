"""The finder's result records: one probe (:class:`Attempt`), the meter found (:class:`FoundMeter`),
the outcome of a search (:class:`FindResult`) and a plain-language :class:`Diagnosis`.

All are frozen: the finder runs on a worker thread and hands them to the GUI thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum, unique
from types import MappingProxyType
from typing import Any

from meterreader.client.profile import ConnectionProfile

__all__ = ["AnswerKind", "Attempt", "Diagnosis", "FindResult", "FoundMeter"]


@unique
class AnswerKind(StrEnum):
    """What came back for one probe."""

    UA = "ua"  # HDLC UA: the link is up (IEC 62056-46)
    DM = "dm"  # HDLC DM: a station answered but refuses the link (address or busy)
    FRMR = "frmr"  # HDLC FRMR: the frame or its parameters were rejected
    OTHER_FRAME = "other-frame"  # a valid HDLC frame of another kind (I, RR, DISC, UI …)
    GARBAGE = "garbage"  # bytes, but no valid frame / packet / identification
    SILENCE = "silence"  # nothing at all
    WRAPPER = "wrapper"  # a valid IEC 62056-47 wrapper packet
    MODE_E_IDENT = "mode-e-ident"  # an IEC 62056-21 identification message "/XXXZ…"
    CLOSED = "closed"  # TCP: the peer accepted the connection, then closed it without a word

    @property
    def is_answer(self) -> bool:
        """True when the peer spoke a protocol we recognise (not garbage, silence or a close)."""
        return self not in (AnswerKind.GARBAGE, AnswerKind.SILENCE, AnswerKind.CLOSED)


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    """One probe and its answer.

    ``description`` is a line for humans, e.g. ``"HDLC 9600 8N1, server 1/256 (4-byte), client
    16"``; ``medium`` is "serial" or "tcp"; ``settings`` holds the :class:`ConnectionProfile` field
    values the probe used (``baudrate``, ``mode_e``, ``server_logical`` …, never secrets);
    ``tx``/``rx`` are the bytes sent and received; ``elapsed`` is seconds spent on this probe;
    ``outcome`` replaces the answer's name in :meth:`line` for steps that are not a single probe
    (e.g. "associated", "rejected").
    """

    description: str
    medium: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    answer: AnswerKind = AnswerKind.SILENCE
    tx: bytes = b""
    rx: bytes = b""
    elapsed: float = 0.0
    outcome: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))
        object.__setattr__(self, "tx", bytes(self.tx))
        object.__setattr__(self, "rx", bytes(self.rx))

    def line(self) -> str:
        """E.g. ``"HDLC 9600 8N1, server 1/256 (4-byte), client 16 → UA (0.12 s)"``."""
        return f"{self.description} → {self.result_text} ({self.elapsed:.2f} s)"

    @property
    def result_text(self) -> str:
        """``outcome`` when set, else the answer's name ("UA", "MODE E IDENT" …)."""
        return self.outcome or self.answer.name.replace('_', ' ')


@dataclass(frozen=True, slots=True, kw_only=True)
class FoundMeter:
    """A meter that answered and accepted the public client, with what could be read from it.

    ``profile`` is ready to use (public client, no secrets) and fills the wizard's fields;
    ``logical_devices`` are ``(sap, name)`` from the SAP assignment; text fields are "" and
    ``object_count`` is None when the meter did not give them; ``notes`` are remarks for the user
    (e.g. "SAP assignment not readable by the public client").
    """

    profile: ConnectionProfile
    logical_devices: tuple[tuple[int, str], ...] = ()
    serial: str = ""
    manufacturer: str = ""
    firmware: str = ""
    object_count: int | None = None
    notes: tuple[str, ...] = ()

    def connection_text(self) -> str:
        """How to reach the meter, e.g. ``"TCP host:4059 wrapper · public client 16 → logical
        device 1"`` (the wrapper has no physical address) or the profile's own description."""
        profile = self.profile
        if profile.medium == "tcp" and profile.framing == "wrapper":
            host = f"[{profile.host}]" if ":" in profile.host else profile.host
            return (f"TCP {host}:{profile.port} wrapper · client {profile.client_sap} → "
                    f"logical device {profile.server_logical}")
        return profile.describe()

    def summary_lines(self) -> list[str]:
        """Human lines: connection, serial, manufacturer, firmware, devices, object count."""
        lines = [f"connection: {self.connection_text()}"]
        for label, value in (("serial number", self.serial), ("manufacturer", self.manufacturer),
                             ("firmware", self.firmware)):
            if value:
                lines.append(f"{label}: {value}")
        if self.logical_devices:
            lines.append("logical devices: " + ", ".join(
                f"{sap} {name}".rstrip() for sap, name in self.logical_devices))
        if self.object_count is not None:
            lines.append(f"objects visible to the public client: {self.object_count}")
        lines.extend(f"note: {note}" for note in self.notes)
        return lines


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnosis:
    """Why a connection failed, in plain language, from the bytes actually seen.

    ``code`` is stable for programs: "no-answer", "garbage", "mode-e-needed", "dm", "frmr",
    "aare-rejected", "wrong-password", "wrong-client", "context-not-supported",
    "exception-response", "timeout", "incomplete" (the meter answered the link request but
    the association did not complete), "closed" (a TCP peer closed the connection at once),
    "refused", "no-port", "port-busy", "link-lost", "cancelled" or "unknown". ``title`` is one
    line; ``explanation`` says what the bytes show; ``next_steps`` what to try, in order;
    ``evidence`` a short hex excerpt of what was received (never secrets).
    """

    code: str
    title: str
    explanation: str = ""
    next_steps: tuple[str, ...] = ()
    evidence: str = ""

    def lines(self) -> list[str]:
        """Title, explanation, "try:" steps and evidence as lines for a terminal or a banner."""
        out = [self.title]
        if self.explanation:
            out.append(self.explanation)
        out.extend(f"try: {step}" for step in self.next_steps)
        if self.evidence:
            out.append(f"received: {self.evidence}")
        return out

    def text(self) -> str:
        return "\n".join(self.lines())


@dataclass(frozen=True, slots=True, kw_only=True)
class FindResult:
    """The outcome of :func:`find_serial` / :func:`find_tcp`: the meter (None if none found),
    every attempt in order, a diagnosis when nothing was found, the total time and whether the
    search was cancelled (by the token or the budget running out: see ``budget_exhausted``)."""

    found: FoundMeter | None
    attempts: tuple[Attempt, ...] = ()
    diagnosis: Diagnosis | None = None
    elapsed: float = 0.0
    cancelled: bool = False
    budget_exhausted: bool = False

    @property
    def ok(self) -> bool:
        return self.found is not None
