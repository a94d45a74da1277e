"""Run the registered checks against one meter and collect a :class:`ConformanceReport`.

Checks run one after another, sorted by group (:data:`~meterreader.conformance.registry.
GROUP_ORDER`) then registration order. A check is SKIPped without running when it is not for the
chosen category, needs an HDLC link on a wrapper target, needs a secret the target lacks, is
destructive and not allowed, or the run was cancelled.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from typing import Any

from meterreader.conformance.context import CheckContext, ConformanceTarget
from meterreader.conformance.model import CheckOutcome, ConformanceReport, Verdict
from meterreader.conformance.registry import (CheckDef, CheckFailed, CheckSkipped, all_checks,
                                              group_rank)
from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.errors import DlmsError, LocalProtocolError
from meterreader.india.catalogue_types import MeterCategory
from meterreader.transport.base import Cancelled, CancelToken

__all__ = ["IDENTITY_OBJECTS", "Progress", "plan_checks", "read_identity", "run_check",
           "run_conformance"]

#: ``progress(check, outcome)``: ``outcome`` None when the check starts, then its outcome.
Progress = Callable[[CheckDef, CheckOutcome | None], None]

#: Name plate data read (as the public client) into the report's identity.
IDENTITY_OBJECTS = (("serial_number", "0.0.96.1.0.255"), ("manufacturer", "0.0.96.1.1.255"),
                    ("firmware", "1.0.0.2.0.255"), ("meter_type", "0.0.94.91.9.255"),
                    ("category", "0.0.94.91.11.255"))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).astimezone()


def plan_checks(target: ConformanceTarget, category: MeterCategory | str, *,
                check_ids: Iterable[str] | None = None,
                allow_destructive: bool = False) -> list[tuple[CheckDef, str | None]]:
    """The checks a run would do, in order, each with the reason it will be skipped (None when
    it runs). ``check_ids`` picks checks (LocalProtocolError naming the known ids if one is
    unknown)."""
    cat = MeterCategory.parse(category)
    registered = all_checks()
    if check_ids is None:
        chosen = list(registered.values())
    else:
        ids = list(dict.fromkeys(check_ids))
        unknown = [i for i in ids if i not in registered]
        if unknown:
            raise LocalProtocolError(f"unknown check id(s) {', '.join(unknown)}; known: "
                                     f"{', '.join(registered)}")
        chosen = [registered[i] for i in ids]
    order = {c.check_id: n for n, c in enumerate(registered.values())}
    chosen.sort(key=lambda c: (group_rank(c.group), order[c.check_id]))
    return [(c, _skip_reason(c, target, cat, allow_destructive)) for c in chosen]


def _skip_reason(c: CheckDef, target: ConformanceTarget, category: MeterCategory,
                 allow_destructive: bool) -> str | None:
    if category.value not in c.categories:
        return f"not a check for category {category.value} meters"
    if "hdlc" in c.needs and not target.is_hdlc:
        return "needs an HDLC link; the target uses the TCP wrapper"
    for assoc in ("pc", "mr", "us"):
        if assoc in c.needs and not target.available(assoc):
            return f"no {assoc.upper()} secret given for this meter"
    if c.destructive and not allow_destructive:
        return "changes the meter; not allowed in this run"
    return None


def run_check(c: CheckDef, ctx: CheckContext) -> CheckOutcome:
    """Run one check in ``ctx`` and return its outcome (never raises except KeyboardInterrupt)."""
    ctx.take_evidence()  # start clean
    ctx.check_id = c.check_id
    started = time.monotonic()
    try:
        ctx.cancel.raise_if_cancelled(c.check_id)
        finding = c.fn(ctx)
        verdict = Verdict.PASS
        if not isinstance(finding, str) or not finding:
            finding = "passed"
    except CheckFailed as exc:
        verdict, finding = Verdict.FAIL, exc.finding
    except CheckSkipped as exc:
        verdict, finding = Verdict.SKIP, exc.reason
    except Cancelled:
        verdict, finding = Verdict.SKIP, "run cancelled"
    except Exception as exc:  # noqa: BLE001 - any other failure is the ERROR verdict
        text = str(exc) or type(exc).__name__
        verdict, finding = Verdict.ERROR, f"{type(exc).__name__}: {text}"
    finally:
        ctx.check_id = ""
    return _outcome(c, verdict, finding, ctx.take_evidence(), time.monotonic() - started)


def _outcome(c: CheckDef, verdict: Verdict, finding: str, evidence: tuple = (),
             elapsed: float = 0.0) -> CheckOutcome:
    return CheckOutcome(check_id=c.check_id, title=c.title, clause=c.clause, group=c.group,
                        verdict=verdict, finding=" ".join(finding.split()), evidence=evidence,
                        elapsed=round(elapsed, 4))


def _text(value: Data) -> str:
    if value.tag in (DataTag.OCTET_STRING, DataTag.VISIBLE_STRING, DataTag.UTF8_STRING) \
            and isinstance(value.value, (bytes, str)):
        raw = value.value
        text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
        return text if text.isprintable() else raw.hex() if isinstance(raw, bytes) else text
    return str(value.value)


def read_identity(ctx: CheckContext) -> dict[str, str]:
    """The name plate data the public client reads (fields that fail are left out; an
    ``error`` field says why nothing could be read)."""
    out: dict[str, str] = {}
    try:
        with ctx.session("pc") as s:
            values = s.get_many([(1, Obis.parse(o), 2) for _, o in IDENTITY_OBJECTS])
    except (DlmsError, OSError) as exc:
        return {"error": str(exc)}
    finally:
        ctx.take_evidence()
    for (name, _), value in zip(IDENTITY_OBJECTS, values):
        if isinstance(value, Data):
            out[name] = _text(value)
    return out


def run_conformance(target: ConformanceTarget, category: MeterCategory | str, *,
                    check_ids: Iterable[str] | None = None, allow_destructive: bool = False,
                    progress: Progress | None = None, cancel: CancelToken | None = None,
                    identity: bool = True, on_trace: Any = None) -> ConformanceReport:
    """Run the checks (all, or ``check_ids``) and return the report. ``progress`` sees each check
    start and finish; ``cancel`` skips the remaining checks; ``identity`` reads the name plate
    first (as the public client); ``on_trace(direction, layer, data, summary)`` sees every
    recorded frame/APDU too."""
    cat = MeterCategory.parse(category)
    plan = plan_checks(target, cat, check_ids=check_ids, allow_destructive=allow_destructive)
    ctx = CheckContext(target, cat, allow_destructive, cancel=cancel, on_trace=on_trace)
    started = _now()
    who = read_identity(ctx) if identity and not ctx.cancel.cancelled else {}
    outcomes: list[CheckOutcome] = []
    for c, reason in plan:
        if progress is not None:
            progress(c, None)
        if ctx.cancel.cancelled:
            outcome = _outcome(c, Verdict.SKIP, "run cancelled")
        elif reason is not None:
            outcome = _outcome(c, Verdict.SKIP, reason)
        else:
            outcome = run_check(c, ctx)
        outcomes.append(outcome)
        if progress is not None:
            progress(c, outcome)
    options: dict[str, Any] = {
        "checks": [c.check_id for c, _ in plan] if check_ids is not None else "all",
        "allow_destructive": allow_destructive, "framing": target.profile.session_framing.value,
        "cancelled": ctx.cancel.cancelled}
    return ConformanceReport(category=cat.value, identity=who, started=started,
                             finished=_now(), target=target.describe(),
                             outcomes=tuple(outcomes), options=options)
