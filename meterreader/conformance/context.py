"""What a check sees: the target meter, the category, sessions per association, evidence.

:class:`ConformanceTarget` is the meter under test: a base :class:`ConnectionProfile` (medium,
addressing, ciphering) plus the secrets of the meter reader (LLS password) and utility settings
(HLS key) associations. :class:`CheckContext` opens sessions per association on it, records every
traced frame and APDU as :class:`~meterreader.conformance.model.Evidence` of the running check,
and keeps a cache shared by all checks of one run (object lists …).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from meterreader.client.objects import CosemObjectInfo
from meterreader.client.profile import ConnectionProfile
from meterreader.client.session import Session
from meterreader.client.settings import Framing
from meterreader.client.trace import Trace, mask
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.errors import DlmsError, LocalProtocolError
from meterreader.dlms.hdlc import decode_frame
from meterreader.dlms.secret import SecretBytes
from meterreader.india.associations import (DEFAULT_HLS_KEY, DEFAULT_LLS_PASSWORD, AssociationDef,
                                            get_association)
from meterreader.india.catalogue_types import MeterCategory
from meterreader.conformance.model import Evidence
from meterreader.transport.base import CancelToken

__all__ = ["ASSOCIATION_KEYS", "CheckContext", "ConformanceTarget", "MAX_EVIDENCE",
           "MAX_EVIDENCE_BYTES"]

#: The association keys checks use, in IS 15959 order.
ASSOCIATION_KEYS = ("pc", "mr", "us")
#: At most this many evidence items are kept per check (one marker item says how many were cut).
MAX_EVIDENCE = 400
#: Longer frames/APDUs keep only their first bytes in the evidence (the summary says so).
MAX_EVIDENCE_BYTES = 2048


@dataclass(frozen=True, slots=True, kw_only=True)
class ConformanceTarget:
    """The meter under test. ``profile`` gives medium, addressing and ciphering (its association
    is a starting point only: checks choose theirs). ``mr_password``/``us_key`` are the LLS
    password and HLS key (None: that association is not available, its checks are skipped).
    ``settings`` are extra :class:`ConnectionSettings` fields for every session (timeouts …)."""

    profile: ConnectionProfile
    mr_password: SecretBytes | None = field(
        default_factory=lambda: SecretBytes(DEFAULT_LLS_PASSWORD))
    us_key: SecretBytes | None = field(default_factory=lambda: SecretBytes(DEFAULT_HLS_KEY))
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("mr_password", "us_key"):
            value = getattr(self, name)
            if isinstance(value, (bytes, bytearray, memoryview)):
                object.__setattr__(self, name, SecretBytes(value))

    @classmethod
    def from_profile(cls, profile: ConnectionProfile, *, mr_password: SecretBytes | None = None,
                     us_key: SecretBytes | None = None, **kwargs: Any) -> ConformanceTarget:
        """A target whose secrets default to the profile's own (when its association is MR/US)
        and else to the IS 15959 defaults."""
        if mr_password is None:
            mr_password = (profile.password if profile.association == "mr" and profile.password
                           else SecretBytes(DEFAULT_LLS_PASSWORD))
        if us_key is None:
            us_key = (profile.hls_key if profile.association == "us" and profile.hls_key
                      else SecretBytes(DEFAULT_HLS_KEY))
        return cls(profile=profile, mr_password=mr_password, us_key=us_key, **kwargs)

    @property
    def is_hdlc(self) -> bool:
        """True when the link is HDLC (serial, or HDLC over TCP); False for the wrapper."""
        return self.profile.session_framing is Framing.HDLC

    def available(self, association: str) -> bool:
        """False when the association's secret is missing (PC is always available)."""
        key = association.lower()
        return {"pc": True, "mr": self.mr_password is not None,
                "us": self.us_key is not None}.get(key, False)

    def describe(self) -> str:
        """The medium and addressing, without the association (e.g. ``"TCP 127.0.0.1:4059
        wrapper → LD 1/256"``)."""
        p = self.profile
        where = (f"LD {p.server_logical}" if p.address_size == 1
                 else f"LD {p.server_logical}/{p.server_physical}")
        return f"{p.medium_label()} → {where}"

    def profile_for(self, association: str, **overrides: Any) -> ConnectionProfile:
        """The base profile switched to ``association`` ("pc", "mr", "us"): its IS 15959 client
        SAP and mechanism (kept from the base profile when that already is this association),
        the target's secret, then ``overrides`` (e.g. ``client_sap=99``, ``password=…``).
        Ciphering is kept only for the base profile's own association: IS 15959 meters cipher
        one association (typically US, HLS-GMAC) and serve the others in the clear."""
        adef: AssociationDef = get_association(association)
        key = adef.name.lower()
        base = self.profile
        same = base.association == key
        values: dict[str, Any] = {
            "association": key,
            "client_sap": base.client_sap if same else adef.client_sap,
            "mechanism": base.mechanism if same else int(adef.mechanism),
            "ciphering": base.ciphering if same else "none",
            "password": None, "hls_key": None}
        mechanism = MechanismName(values["mechanism"])
        if mechanism is MechanismName.LOW:
            values["password"] = self.mr_password if key == "mr" else base.password
        elif mechanism is not MechanismName.NONE:
            values["hls_key"] = self.us_key if key == "us" else base.hls_key
        values.update(overrides)
        return base.replace(**values)


def _frame_ok(data: bytes) -> bool:
    try:
        decode_frame(data)
    except DlmsError:
        return False
    return True


class CheckContext:
    """The environment of one conformance run (see the module docstring).

    ``evidence`` collects what the running check exchanged (the runner takes it after each
    check); ``cache`` is shared by every check of the run; ``cancel`` stops the run.
    """

    def __init__(self, target: ConformanceTarget, category: MeterCategory | str,
                 allow_destructive: bool = False, *, cancel: CancelToken | None = None,
                 on_trace: Trace | None = None) -> None:
        self.target = target
        #: Also sees every recorded frame/APDU (e.g. the CLI's ``--trace``).
        self.on_trace = on_trace
        self.category = MeterCategory.parse(category)
        self.allow_destructive = allow_destructive
        self.cancel = cancel if cancel is not None else CancelToken()
        self.evidence: list[Evidence] = []
        self.cache: dict[Any, Any] = {}
        #: The id of the running check (set by the runner; "" outside a check).
        self.check_id = ""
        self._dropped = 0

    # -- evidence ---------------------------------------------------------------------------------

    def record(self, direction: str, layer: str, data: bytes, summary: str) -> None:
        """Add one exchanged frame/APDU (or a note: ``layer="note"``, ``data=b""``) to the
        running check's evidence."""
        data, summary = self._masked(layer, bytes(data), summary)
        if self.on_trace is not None and layer != "note":
            self.on_trace(direction, layer, data, summary)
        if len(self.evidence) >= MAX_EVIDENCE:
            self._dropped += 1
            return
        data = bytes(data)
        if len(data) > MAX_EVIDENCE_BYTES:
            summary = f"{summary} [{len(data)} bytes, first {MAX_EVIDENCE_BYTES} shown]"
            data = data[:MAX_EVIDENCE_BYTES]
        self.evidence.append(Evidence(direction=direction, layer=layer, hex=data.hex(),
                                      summary=summary, timestamp=time.time()))

    def _masked(self, layer: str, data: bytes, summary: str) -> tuple[bytes, str]:
        """``data`` with the target's secrets (LLS password, HLS key, global encryption and
        authentication keys) masked (``*``). An HDLC frame is re-encoded so its HCS/FCS still
        verify; one that cannot be (a deliberately broken frame) is marked "(masked)" in the
        summary, so that its old FCS is not taken for the meter's error."""
        t = self.target
        p = t.profile
        secrets = [v.reveal() for v in (t.mr_password, t.us_key, p.password, p.hls_key,
                                        p.encryption_key, p.authentication_key)
                   if v is not None and len(v) >= 4]
        for secret in secrets:
            if secret not in data:
                continue
            data = mask(data, secret)
            if layer == "hdlc" and not _frame_ok(data) and not summary.endswith("(masked)"):
                summary = f"{summary} (masked)"
        return data, summary

    def note(self, text: str) -> None:
        """A line of explanation in the evidence (what the check is about to try …)."""
        self.record("note", "note", b"", text)

    @property
    def trace(self) -> Trace:
        """An ``on_trace`` callback for a Session or a raw link that records evidence."""
        return self.record

    def take_evidence(self) -> tuple[Evidence, ...]:
        """The running check's evidence (cleared for the next check)."""
        if self._dropped:
            self.evidence.append(Evidence(
                direction="note", layer="note", hex="", timestamp=time.time(),
                summary=f"{self._dropped} more frames/APDUs not kept in the evidence"))
        out = tuple(self.evidence)
        self.evidence = []
        self._dropped = 0
        return out

    # -- sessions ---------------------------------------------------------------------------------

    def profile(self, association: str, **overrides: Any) -> ConnectionProfile:
        """The connection profile of one association (see
        :meth:`ConformanceTarget.profile_for`)."""
        return self.target.profile_for(association, **overrides)

    def open_session(self, association: str, *, settings: Mapping[str, Any] | None = None,
                     **profile_overrides: Any) -> Session:
        """A new, unconnected Session on ``association`` that records into the evidence."""
        if association.lower() not in ASSOCIATION_KEYS:
            raise LocalProtocolError(f"no association {association!r}; expected pc, mr or us")
        profile = self.profile(association, **profile_overrides)
        values = dict(self.target.settings)
        values.update(settings or {})
        return Session(profile.to_transport(), profile.to_settings(**values), cancel=self.cancel,
                       on_trace=self.record)

    @contextmanager
    def session(self, association: str, *, settings: Mapping[str, Any] | None = None,
                **profile_overrides: Any) -> Iterator[Session]:
        """Open, associate, yield the session, release and close. Association failures
        (AssociationRejected, MeterNotAnswering …) propagate from the ``with``."""
        session = self.open_session(association, settings=settings, **profile_overrides)
        try:
            session.connect()
            yield session
        finally:
            session.close()

    def object_list(self, association: str) -> list[CosemObjectInfo]:
        """The object list an association sees (read once per run, cached in ``cache``; a
        cached list adds a note naming the check whose evidence holds the reading)."""
        key = ("object_list", association.lower())
        if key in self.cache:
            objects, source = self.cache[key]
            if source != self.check_id:
                self.note(f"{association.upper()} object list: {len(objects)} entries, read "
                          f"earlier in this run (evidence of {source or 'the run'})")
        else:
            with self.session(association) as s:
                objects = s.object_list()
            self.store_object_list(association, objects)
        return list(objects)

    def store_object_list(self, association: str, objects: list[CosemObjectInfo]) -> None:
        """Remember an object list read by the running check for later checks."""
        self.cache[("object_list", association.lower())] = (list(objects), self.check_id)
