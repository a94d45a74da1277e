"""The meter subcommands ``objects``, ``read``, ``write``, ``action`` and ``logical-devices``
(``profile`` lives in :mod:`meterreader.cli_profile`). Each connects with the shared options of
:mod:`meterreader.cli_connect`, does its work, releases the association and exits with the codes
listed there."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from dataclasses import dataclass
from typing import Any, Sequence

from meterreader.cli_connect import (EXIT_CODES_TEXT, EXIT_OK, EXIT_USAGE, UsageError,
                                     add_connection_options)
from meterreader.cli_run import RunContext, run_session
from meterreader.cli_values import (TYPE_HELP, VALUE_TYPES, Target, cell_text, display,
                                    json_safe, parse_param, parse_target, parse_value, type_name)
from meterreader.cosem.obis import Obis
from meterreader.dlms.errors import DlmsError

__all__ = ["ClassResolver", "Reading", "add_parsers", "print_table", "read_targets"]


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *,
                out: Any = None, max_width: int = 48) -> None:
    """Left-aligned columns, padded to their widest cell up to ``max_width`` (longer cells
    overflow); the last column is never padded."""
    out = out or sys.stdout
    widths = [min(max_width, max([len(h)] + [len(r[i]) for r in rows]))
              for i, h in enumerate(headers)]
    for row in [list(headers)] + [list(r) for r in rows]:
        cells = [c.ljust(w) for c, w in zip(row[:-1], widths)] + [row[-1]]
        out.write("  ".join(cells).rstrip() + "\n")


def _dump(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


# -- class ids ------------------------------------------------------------------------------------

class ClassResolver:
    """Class ids of targets given without one: IS 15959 catalogue knowledge first (no traffic),
    the meter's object list (read once, only when needed) otherwise or when the meter says the
    catalogue's guess is wrong."""

    def __init__(self, session: Any, default: int | None = None) -> None:
        self.session = session
        self.default = default
        self._objects: dict[Obis, Any] | None = None

    def first_guess(self, target: Target) -> tuple[int | None, bool]:
        """(class id, whether it is a guess that the object list may correct)."""
        from meterreader.client.session_profile import catalogue_class

        if target.class_id is not None:
            return target.class_id, False
        if self.default is not None:
            return self.default, False
        found = catalogue_class(target.obis)
        if found is not None:
            return found, True
        return self.from_object_list(target.obis), False

    def from_object_list(self, obis: Obis) -> int | None:
        if self._objects is None:
            self._objects = {o.logical_name: o for o in self.session.object_list()}
        info = self._objects.get(obis)
        return info.class_id if info is not None else None


def _not_listed(target: Target, verb: str) -> Exception:
    from meterreader.client import ObjectUndefined

    return ObjectUndefined(f"{verb} {target.obis}: the object is not in the object list of this "
                           "association (give the class as CLASS/OBIS/N if it is hidden)",
                           target=str(target.obis))


def _with_class(resolver: ClassResolver, target: Target, verb: str, call: Any) -> Any:
    """``call(class_id)`` with the resolved class; retried once with the object list's class
    when the meter says the guessed one is wrong."""
    from meterreader.client import ObjectUndefined

    class_id, guessed = resolver.first_guess(target)
    if class_id is None:
        raise _not_listed(target, verb)
    try:
        return class_id, call(class_id)
    except ObjectUndefined:
        if not guessed:
            raise
        listed = resolver.from_object_list(target.obis)
        if listed is None or listed == class_id:
            raise
        return listed, call(listed)


# -- read -----------------------------------------------------------------------------------------

@dataclass(slots=True)
class Reading:
    """One target's outcome: ``data`` (raw value), ``quantity`` (registers) or ``error``."""

    target: Target
    class_id: int | None = None
    data: Any = None
    quantity: Any = None
    error: BaseException | None = None


def _get_all(session: Any, items: list[tuple[int, Obis, int]]) -> list[Any]:
    """Each item's Data, or the ServiceFailed saying why not (one with-list GET when possible)."""
    from meterreader.client import ServiceFailed
    from meterreader.client.errors import describe_target, refusal
    from meterreader.dlms.xdlms import DataAccessResult

    if not items:
        return []
    try:
        values: list[Any] = session.get_many(items)
    except ServiceFailed:
        values = []
        for item in items:
            try:
                values.append(session.get(*item))
            except ServiceFailed as exc:
                values.append(exc)
    out = []
    for (cid, obis, attr), value in zip(items, values):
        if isinstance(value, DataAccessResult):
            value = refusal("reading", describe_target(cid, obis, attribute=attr), value)
        out.append(value)
    return out


def _plan(class_id: int, index: int) -> list[int]:
    from meterreader.client.values import REGISTER_ATTRIBUTES

    regs = REGISTER_ATTRIBUTES.get(class_id)
    if regs is not None and index == regs[0]:
        return [a for a in regs if a is not None]
    return [index]


def _fetch(session: Any, readings: list[Reading]) -> None:
    from meterreader.client.values import make_quantity

    plans = [(r, _plan(r.class_id, r.target.index)) for r in readings]
    items = [(r.class_id, r.target.obis, a) for r, attrs in plans for a in attrs]
    values = iter(_get_all(session, items))
    for reading, attrs in plans:
        got = [next(values) for _ in attrs]
        reading.data = reading.quantity = reading.error = None
        if isinstance(got[0], BaseException):
            reading.error = got[0]
            continue
        reading.data = got[0]
        if len(got) > 1 and not isinstance(got[1], BaseException):
            when = got[2] if len(got) > 2 and not isinstance(got[2], BaseException) else None
            try:
                reading.quantity = make_quantity(
                    got[0], got[1], when, deviation_sign=session.settings.deviation_sign,
                    where=f"scaler_unit of {reading.target.obis}")
            except DlmsError:
                pass  # a malformed scaler_unit: show the raw value


def read_targets(session: Any, targets: Sequence[Target], default_class: int | None = None
                 ) -> list[Reading]:
    """Read every target (registers scaled); refusals are kept per target, not raised."""
    from meterreader.client import ObjectUndefined

    resolver = ClassResolver(session, default_class)
    readings, guessed = [], []
    for t in targets:
        class_id, guess = resolver.first_guess(t)
        reading = Reading(target=t, class_id=class_id)
        if class_id is None:
            reading.error = _not_listed(t, "reading")
        readings.append(reading)
        guessed.append(guess)
    _fetch(session, [r for r in readings if r.class_id is not None])
    retry = []
    for reading, guess in zip(readings, guessed):
        if guess and isinstance(reading.error, ObjectUndefined):
            listed = resolver.from_object_list(reading.target.obis)
            if listed is not None and listed != reading.class_id:
                reading.class_id = listed
                retry.append(reading)
    _fetch(session, retry)
    return readings


def _value_text(r: Reading, sign: int) -> str:
    if r.quantity is not None:
        text = f"{cell_text(r.quantity.value)} {r.quantity.unit_text}".rstrip()
        when = r.quantity.capture_time
        return f"{text} at {cell_text(when)}" if when is not None else text
    return display(r.data, sign)


def _reading_json(r: Reading, ctx: RunContext, sign: int = -1) -> dict[str, Any]:
    from meterreader.cosem.interface_classes import attribute_name
    from meterreader.dlms.axdr_values import data_to_json
    from meterreader.india.profiles import object_title

    t = r.target
    node: dict[str, Any] = {"target": t.text or f"{t.obis}:{t.index}", "obis": str(t.obis),
                            "class_id": r.class_id, "attribute": t.index,
                            "name": object_title(t.obis),
                            "attribute_name": attribute_name(r.class_id, t.index)
                            if r.class_id else None}
    if r.error is not None:
        node["error"] = ctx.failure(r.error)[1]
        return node
    node["type"] = type_name(r.data)
    if r.quantity is not None:
        q = r.quantity
        node.update(value=json_safe(q.value, sign), unit=q.unit_text or None, scaler=q.scaler,
                    raw=json_safe(q.raw, sign), capture_time=json_safe(q.capture_time, sign))
    else:
        node["value"] = json_safe(r.data, sign)
    node["data"] = data_to_json(r.data)
    return node


def _read(session: Any, args: argparse.Namespace, ctx: RunContext) -> int:
    from meterreader.cosem.interface_classes import attribute_name
    from meterreader.india.profiles import object_title

    readings = read_targets(session, args.targets, args.class_id)
    sign = session.settings.deviation_sign
    failed = [r for r in readings if r.error is not None]
    if args.json:
        _dump([_reading_json(r, ctx, sign) for r in readings])
    else:
        rows = [(str(r.target.obis), object_title(r.target.obis),
                 f"{r.target.index} {attribute_name(r.class_id, r.target.index)}",
                 _value_text(r, sign), type_name(r.data))
                for r in readings if r.error is None]
        if rows:
            print_table(("OBIS", "Name", "Attribute", "Value", "Type"), rows)
    worst = EXIT_OK
    for r in failed:
        code, message = ctx.failure(r.error)
        print(f"meterreader read: {message}", file=sys.stderr)
        worst = max(worst, code)
    return worst


# -- objects, logical devices ---------------------------------------------------------------------

_ATTRIBUTE_CODES = {0: "-", 1: "r", 2: "w", 3: "rw", 4: "r+", 5: "w+", 6: "rw+"}
_METHOD_CODES = {0: "-", 1: "x", 2: "x+"}


def _access(modes: Any, codes: dict[int, str]) -> str:
    return " ".join(f"{i}:{codes.get(int(m), str(int(m)))}" for i, m in sorted(modes.items()))


def _objects(session: Any, args: argparse.Namespace) -> int:
    from meterreader.cosem.interface_classes import attribute_access_text, method_access_text

    objects = [o for o in session.object_list()
               if args.class_id is None or o.class_id == args.class_id]
    if args.json:
        _dump([{"class_id": o.class_id, "class_name": o.class_name, "version": o.version,
                "obis": str(o.logical_name), "name": o.name,
                "attributes": {str(i): attribute_access_text(m)
                               for i, m in sorted(o.attribute_access.items())},
                "methods": {str(i): method_access_text(m)
                            for i, m in sorted(o.method_access.items())},
                "selectors": {str(i): list(s) for i, s in sorted(o.access_selectors.items())}}
               for o in objects])
        return EXIT_OK
    rows = [(f"{o.class_id} {o.class_name}", str(o.version), str(o.logical_name), o.name or "",
             _access(o.attribute_access, _ATTRIBUTE_CODES),
             _access(o.method_access, _METHOD_CODES)) for o in objects]
    print_table(("Class", "Ver", "OBIS", "Name", "Attributes", "Methods"), rows, max_width=40)
    print(f"\n{len(objects)} objects; access: r read, w write, + authenticated, x method "
          "allowed, - none")
    return EXIT_OK


def _logical_devices(session: Any, args: argparse.Namespace) -> int:
    devices = session.logical_devices()
    if args.json:
        _dump([{"sap": d.sap, "name": d.name} for d in devices])
    else:
        print_table(("SAP", "Logical device name"), [(str(d.sap), d.name) for d in devices])
    return EXIT_OK


# -- write, action --------------------------------------------------------------------------------

def _write(session: Any, args: argparse.Namespace, value: Any) -> int:
    from meterreader.client.errors import describe_target

    resolver = ClassResolver(session, args.class_id)
    t = args.target
    class_id, _ = _with_class(resolver, t, "writing",
                              lambda cid: session.set(cid, t.obis, t.index, value))
    target = describe_target(class_id, t.obis, attribute=t.index)
    shown = display(value, session.settings.deviation_sign)
    if args.json:
        _dump({"target": target, "obis": str(t.obis), "class_id": class_id,
               "attribute": t.index, "value": json_safe(value), "type": type_name(value),
               "result": "success"})
    else:
        print(f"wrote {target}: {shown} ({type_name(value)})")
    return EXIT_OK


def _action(session: Any, args: argparse.Namespace, param: Any) -> int:
    from meterreader.client.errors import describe_target

    resolver = ClassResolver(session, args.class_id)
    t = args.target
    class_id, returned = _with_class(resolver, t, "invoking",
                                     lambda cid: session.action(cid, t.obis, t.index, param))
    target = describe_target(class_id, t.obis, method=t.index)
    if args.json:
        _dump({"target": target, "obis": str(t.obis), "class_id": class_id,
               "method": t.index, "result": "success",
               "return": json_safe(returned) if returned is not None else None})
    else:
        extra = f"; returned {display(returned)} ({type_name(returned)})" if returned else ""
        print(f"invoked {target}: success{extra}")
    return EXIT_OK


def _typed(kind: str, text: str, what: str, deviation_sign: int = -1) -> Any:
    try:
        return parse_value(kind, text, deviation_sign)
    except (ValueError, DlmsError) as exc:
        raise UsageError(f"{what}: {exc}") from None


def _usage(args: argparse.Namespace, exc: UsageError) -> int:
    print(f"meterreader {args.command}: {exc}", file=sys.stderr)
    return EXIT_USAGE


def _cmd_read(args: argparse.Namespace) -> int:
    return run_session(args, lambda session, ctx: _read(session, args, ctx))


def _cmd_objects(args: argparse.Namespace) -> int:
    return run_session(args, lambda session, _ctx: _objects(session, args))


def _cmd_logical_devices(args: argparse.Namespace) -> int:
    return run_session(args, lambda session, _ctx: _logical_devices(session, args))


def _cmd_write(args: argparse.Namespace) -> int:
    try:
        value = _typed(args.type, args.value, f"VALUE as {args.type}",
                       getattr(args, "deviation_sign", -1))
    except UsageError as exc:
        return _usage(args, exc)
    return run_session(args, lambda session, _ctx: _write(session, args, value))


def _cmd_action(args: argparse.Namespace) -> int:
    try:
        param = (_typed(*args.param, "--param", getattr(args, "deviation_sign", -1))
                 if args.param else None)
    except UsageError as exc:
        return _usage(args, exc)
    return run_session(args, lambda session, _ctx: _action(session, args, param))


# -- parsers --------------------------------------------------------------------------------------

def _method_target(text: str) -> Target:
    return parse_target(text, what="method", default=None)


def add_parsers(sub: Any) -> None:
    """Add objects, read, write, action and logical-devices to ``sub``."""
    def add(name: str, help_: str, description: str, examples: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help_, description=textwrap.fill(description, 79),
                                epilog=f"examples:\n{examples}\n\n{EXIT_CODES_TEXT}",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
        add_connection_options(parser)
        return parser

    def class_option(p: argparse.ArgumentParser, text: str) -> None:
        p.add_argument("--class", dest="class_id", type=int, metavar="N", help=text)

    p = add("objects", "list the objects the association sees (class, version, OBIS, access)",
            "List the meter's object list (Association LN attribute 2) as this association "
            "sees it.", "  meterreader objects --tcp 127.0.0.1:4059 --association mr "
                        "--password 12345678")
    class_option(p, "only objects of this interface class")
    p.set_defaults(func=_cmd_objects)

    p = add("read", "read attributes (registers with scaler and unit)",
            "Read attributes. TARGET is OBIS[:ATTRIBUTE] or CLASS/OBIS/ATTRIBUTE (attribute "
            "default 2). Without a class, the IS 15959 catalogue's is used, else the object "
            "list's (read once, only when needed). Registers, extended and demand registers "
            "show their value with scaler and unit applied.",
            "  meterreader read --tcp 127.0.0.1:4059 --association mr --password 12345678 "
            "0.0.1.0.0.255:2 1.0.1.8.0.255:2\n  meterreader read --serial /dev/ttyUSB0 "
            "--mode-e 0.0.96.1.0.255 3/1.0.32.7.0.255/3")
    p.add_argument("targets", nargs="+", type=parse_target, metavar="TARGET")
    class_option(p, "class of the targets given without one")
    p.set_defaults(func=_cmd_read)

    p = add("write", "write one attribute (SET)",
            f"Write one attribute. TARGET as for read. {TYPE_HELP}",
            "  meterreader write --tcp 127.0.0.1:4059 --association us --key - "
            "1.0.0.8.0.255:2 1800 --type long-unsigned\n  meterreader write ... "
            "0.0.1.0.0.255:2 2024-05-01T10:00:00+05:30 --type date-time")
    p.add_argument("target", type=parse_target, metavar="TARGET")
    p.add_argument("value", metavar="VALUE")
    p.add_argument("--type", required=True, choices=tuple(VALUE_TYPES), metavar="TYPE",
                   help="data type of VALUE: " + ", ".join(VALUE_TYPES))
    class_option(p, "interface class (default: catalogue, else object list)")
    p.set_defaults(func=_cmd_write)

    p = add("action", "invoke a method (ACTION), e.g. an MD reset",
            f"Invoke a method. TARGET_METHOD is OBIS:METHOD or CLASS/OBIS/METHOD. {TYPE_HELP}",
            "  MD reset: meterreader action --tcp 127.0.0.1:4059 --association us --key - "
            "0.0.10.0.1.255:1 --class 9 --param long-unsigned:1")
    p.add_argument("target", type=_method_target, metavar="TARGET_METHOD")
    p.add_argument("--param", type=parse_param, metavar="TYPE:VALUE",
                   help="method parameter, e.g. long-unsigned:1 (default: none)")
    class_option(p, "interface class (default: catalogue, else object list)")
    p.set_defaults(func=_cmd_action)

    p = add("logical-devices", "list the logical devices (SAP assignment)",
            "List the logical devices of the physical meter (SAP assignment 0.0.41.0.0.255).",
            "  meterreader logical-devices --tcp 127.0.0.1:4059")
    p.set_defaults(func=_cmd_logical_devices)
