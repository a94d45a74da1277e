"""The check registry: every conformance check is a function registered with :func:`check`.

A check function takes the :class:`~meterreader.conformance.context.CheckContext` and returns the
one-line finding when it passes; it raises :class:`CheckFailed` (FAIL) or :class:`CheckSkipped`
(SKIP); any other exception makes the verdict ERROR with the exception's message.

Importing :mod:`meterreader.conformance.checks` (done by :func:`all_checks`) imports every checks
module, which fills :data:`CHECKS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from meterreader.conformance.context import CheckContext

__all__ = ["CHECKS", "CHECK_MODULES", "CheckDef", "CheckFailed", "CheckSkipped", "GROUP_ORDER",
           "NEEDS", "all_checks", "check", "group_rank"]

CheckFn = Callable[["CheckContext"], str]

#: What a check may need from the target: an association's secret ("mr" password, "us" key)
#: or an HDLC link ("hdlc"; the check is skipped on wrapper targets).
NEEDS = frozenset({"pc", "mr", "us", "hdlc"})

#: Groups in report order; checks of other groups follow, alphabetically.
GROUP_ORDER = ("association", "objects", "access", "types", "scalers", "profiles", "events",
               "billing", "clock", "hdlc", "transfer")

#: The modules that register checks (missing ones are ignored, so a half-built tree still runs).
CHECK_MODULES = ("meterreader.conformance.checks_association",
                 "meterreader.conformance.checks_objects",
                 "meterreader.conformance.checks_profiles",
                 "meterreader.conformance.checks_hdlc")


class CheckFailed(Exception):
    """Raised by a check whose expectation is not met; the message is the finding."""

    def __init__(self, finding: str) -> None:
        super().__init__(finding)
        self.finding = finding


class CheckSkipped(Exception):
    """Raised by a check that cannot apply to this target; the message is the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckDef:
    """One registered check. ``clause`` cites the standard (e.g. "IS 15959 Part 1, associations");
    ``categories`` the meter categories it applies to; ``destructive`` checks change the meter
    and run only when allowed; ``needs`` see :data:`NEEDS`."""

    check_id: str
    title: str
    clause: str
    group: str
    fn: CheckFn
    categories: tuple[str, ...] = ("A", "B", "C")
    destructive: bool = False
    needs: tuple[str, ...] = ()


#: Every registered check by id, in registration order.
CHECKS: dict[str, CheckDef] = {}


def check(*, check_id: str, title: str, clause: str, group: str,
          categories: tuple[str, ...] = ("A", "B", "C"), destructive: bool = False,
          needs: tuple[str, ...] = ()) -> Callable[[CheckFn], CheckFn]:
    """Decorator registering ``fn`` as a check into :data:`CHECKS` (ValueError on a duplicate id
    or an unknown need). Returns ``fn`` unchanged."""
    unknown = set(needs) - NEEDS
    if unknown:
        raise ValueError(f"check {check_id}: unknown needs {sorted(unknown)}; "
                         f"known: {sorted(NEEDS)}")

    def register(fn: CheckFn) -> CheckFn:
        old = CHECKS.get(check_id)
        if old is not None and (old.fn.__module__, old.fn.__qualname__) != \
                (fn.__module__, fn.__qualname__):
            raise ValueError(f"duplicate check id {check_id!r}")
        CHECKS[check_id] = CheckDef(check_id=check_id, title=title, clause=clause, group=group,
                                    fn=fn, categories=tuple(categories),
                                    destructive=destructive, needs=tuple(needs))
        return fn

    return register


def group_rank(group: str) -> tuple[int, str]:
    """Sort key of a group: its place in :data:`GROUP_ORDER`, unknown groups last."""
    try:
        return (GROUP_ORDER.index(group), "")
    except ValueError:
        return (len(GROUP_ORDER), group)


def all_checks() -> dict[str, CheckDef]:
    """Import every checks module (once) and return :data:`CHECKS`."""
    for name in CHECK_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return CHECKS
