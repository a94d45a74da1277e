"""Object model checks: object lists vs the IS 15959 catalogue, access rights as declared and as
enforced, and the A-XDR data type of every attribute vs its interface class.

References: IS 15959 Part 1 (mandatory objects and access rights per association, category
annexes); Blue Book (COSEM interface classes: attribute types; Association LN object_list and
access_rights); Green Book ed.9 (Data-Access-Result read-write-denied for a refused SET).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from meterreader.client.errors import AccessDenied, ServiceFailed
from meterreader.client.objects import CosemObjectInfo
from meterreader.conformance.context import ASSOCIATION_KEYS, CheckContext
from meterreader.conformance.registry import CheckFailed, CheckSkipped, check
from meterreader.cosem.interface_classes import (AttributeAccessMode, MethodAccessMode,
                                                 interface_class)
from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import TYPE_NAMES, Data, DataTag
from meterreader.india.catalogue import find_object, mandatory_objects

__all__ = ["expected_tags", "type_problem"]

#: At most this many items are named in a finding ("… and N more").
_SHOWN = 6

_UNSIGNED = frozenset({DataTag.UNSIGNED, DataTag.LONG_UNSIGNED, DataTag.DOUBLE_LONG_UNSIGNED,
                       DataTag.LONG64_UNSIGNED})
_SIGNED = frozenset({DataTag.INTEGER, DataTag.LONG, DataTag.DOUBLE_LONG, DataTag.LONG64})
_STRINGS = frozenset({DataTag.OCTET_STRING, DataTag.VISIBLE_STRING, DataTag.UTF8_STRING})
_NUMBERS = _UNSIGNED | _SIGNED | frozenset({DataTag.FLOATING_POINT, DataTag.FLOAT32,
                                            DataTag.FLOAT64, DataTag.BCD})
_FAMILIES = (_UNSIGNED, _SIGNED, _STRINGS)

# Blue Book type names (first word of an attribute's type in the IC tables) → A-XDR tag.
_TYPE_WORDS: dict[str, DataTag] = {
    "boolean": DataTag.BOOLEAN, "bit-string": DataTag.BIT_STRING,
    "double-long": DataTag.DOUBLE_LONG, "double-long-unsigned": DataTag.DOUBLE_LONG_UNSIGNED,
    "octet-string": DataTag.OCTET_STRING, "visible-string": DataTag.VISIBLE_STRING,
    "integer": DataTag.INTEGER, "long": DataTag.LONG, "unsigned": DataTag.UNSIGNED,
    "long-unsigned": DataTag.LONG_UNSIGNED, "long64": DataTag.LONG64,
    "long64-unsigned": DataTag.LONG64_UNSIGNED, "enum": DataTag.ENUM,
    "array": DataTag.ARRAY, "object_list_type": DataTag.ARRAY, "asslist_type": DataTag.ARRAY,
    "structure": DataTag.STRUCTURE, "scal_unit_type": DataTag.STRUCTURE,
    "capture_object_definition": DataTag.STRUCTURE, "value_definition": DataTag.STRUCTURE,
    "xDLMS_context_type": DataTag.STRUCTURE,
}
_WORD = re.compile(r"[A-Za-z0-9_\-]+")


def _listing(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def _available(ctx: CheckContext) -> list[str]:
    return [a for a in ASSOCIATION_KEYS if ctx.target.available(a)]


# -- object-list ----------------------------------------------------------------------------------

@check(check_id="object-list", title="Object list of each association holds the mandatory objects",
       clause="IS 15959 Part 1, mandatory objects per category and association; Blue Book, "
              "Association LN object_list", group="objects")
def object_list(ctx: CheckContext) -> str:
    """Every mandatory object of the category appears in each association's object_list with
    the catalogue's class."""
    problems: list[str] = []
    counts: list[str] = []
    for key in _available(ctx):
        listed = {o.logical_name: o for o in ctx.object_list(key)}
        wanted = mandatory_objects(ctx.category, key)
        missing = [f"{o.obis} ({o.name})" for o in wanted if o.obis not in listed]
        wrong = [f"{o.obis} is class {listed[o.obis].class_id}, not {o.class_id}"
                 for o in wanted if o.obis in listed and listed[o.obis].class_id != o.class_id]
        counts.append(f"{key.upper()} {len(listed)}/{len(wanted)}")
        if missing:
            problems.append(f"{key.upper()} lacks {_listing(missing)}")
        if wrong:
            problems.append(f"{key.upper()}: {_listing(wrong)}")
    if problems:
        raise CheckFailed("; ".join(problems))
    return (f"category {ctx.category.value}: every mandatory object listed (listed/mandatory: "
            f"{', '.join(counts)})")


# -- access-declared ------------------------------------------------------------------------------

def _plain(mode: AttributeAccessMode | int) -> str:
    """An access mode as "-", "r", "w" or "rw" (authenticated modes count as the plain ones)."""
    if not isinstance(mode, AttributeAccessMode):
        return f"?{mode}"
    return ("r" if mode.readable else "") + ("w" if mode.writable else "") or "-"


def _declared_problems(ctx: CheckContext, key: str, objects: Iterable[CosemObjectInfo]
                       ) -> list[str]:
    out: list[str] = []
    for info in objects:
        ref = find_object(ctx.category, info.logical_name)
        if ref is None or ref.class_id != info.class_id:
            continue  # manufacturer-specific, or object-list reports the class
        if not ref.visible_in(key):
            readable = [i for i, m in info.attribute_access.items() if _plain(m) != "-"]
            if readable:
                out.append(f"{info.logical_name} listed (attributes {readable}) but not for "
                           f"{key.upper()}")
            continue
        for index in sorted(set(info.attribute_access) | set(ref.access[key.upper()])):
            have = _plain(info.attribute_access.get(index, AttributeAccessMode.NO_ACCESS))
            want = ref.attribute_access(key, index)
            if have != want:
                out.append(f"{info.logical_name}:{index} {have} (expected {want})")
        for index in sorted(set(info.method_access) | set(ref.methods.get(key.upper(), ()))):
            mode = info.method_access.get(index, MethodAccessMode.NO_ACCESS)
            have_m = isinstance(mode, MethodAccessMode) and mode is not MethodAccessMode.NO_ACCESS
            if have_m != ref.method_allowed(key, index):
                out.append(f"{info.logical_name} method {index} "
                           f"{'allowed' if have_m else 'denied'} (expected "
                           f"{'allowed' if not have_m else 'denied'})")
    return out


@check(check_id="access-declared", title="Declared access rights match IS 15959",
       clause="IS 15959 Part 1, access rights per association; Blue Book, Association LN "
              "access_rights", group="access")
def access_declared(ctx: CheckContext) -> str:
    """Each association's object_list declares, for every catalogue object it lists, the
    attribute and method access the IS 15959 catalogue gives that association."""
    problems: list[str] = []
    compared = 0
    for key in _available(ctx):
        objects = ctx.object_list(key)
        compared += len(objects)
        found = _declared_problems(ctx, key, objects)
        if found:
            problems.append(f"{key.upper()}: {_listing(found)}")
    if problems:
        raise CheckFailed("; ".join(problems))
    return f"access rights of {compared} object list entries as IS 15959 declares them"


# -- access-enforced ------------------------------------------------------------------------------

#: (class, logical name, attribute) tried with a SET of the value just read back.
_SET_PROBES = ((8, Obis(0, 0, 1, 0, 0, 255), 2), (8, Obis(0, 0, 1, 0, 0, 255), 3),
               (1, Obis(1, 0, 0, 8, 0, 255), 2), (1, Obis(0, 0, 96, 1, 0, 255), 2))
#: Read by PC although it is not in PC's object list (must be refused).
_PC_HIDDEN = (3, Obis(1, 0, 1, 8, 0, 255), 2)


def _set_probes(objects: Sequence[CosemObjectInfo]) -> list[tuple[int, Obis, int]]:
    by_name = {o.logical_name: o for o in objects}
    out = []
    for class_id, obis, attr in _SET_PROBES:
        info = by_name.get(obis)
        if info is not None and info.class_id == class_id and info.can_read(attr) \
                and not info.can_write(attr):
            out.append((class_id, obis, attr))
    return out


@check(check_id="access-enforced", title="A denied SET is refused (MR and PC)",
       clause="IS 15959 Part 1, access rights per association; Green Book ed.9, "
              "Data-Access-Result read-write-denied", group="access")
def access_enforced(ctx: CheckContext) -> str:
    """As MR and as PC, SET (to the value just read) attributes the association declares
    read-only: the meter must answer read-write-denied (or scope-of-access-violated). PC must
    also be refused a GET of an energy register outside its object list."""
    problems: list[str] = []
    tried: list[str] = []
    for key in ("mr", "pc"):
        if not ctx.target.available(key):
            continue
        probes = _set_probes(ctx.object_list(key))
        listed = {o.logical_name for o in ctx.object_list(key)}
        with ctx.session(key) as s:
            for class_id, obis, attr in probes:
                what = f"{key.upper()} SET {obis}:{attr}"
                try:
                    value = s.get(class_id, obis, attr)
                except ServiceFailed as exc:
                    ctx.note(f"{what} not tried: reading it was refused ({_result(exc)})")
                    continue
                tried.append(what)
                ctx.note(f"{what} (declared read-only) with the value just read")
                try:
                    s.set(class_id, obis, attr, value)
                except AccessDenied:
                    continue
                except ServiceFailed as exc:
                    problems.append(f"{what} refused with {_result(exc)}, not "
                                    "read-write-denied")
                    continue
                problems.append(f"{what} was accepted")
            if key == "pc" and _PC_HIDDEN[1] not in listed:
                class_id, obis, attr = _PC_HIDDEN
                what = f"PC GET {obis}:{attr} (not in its object list)"
                tried.append(what)
                try:
                    s.get(class_id, obis, attr)
                    problems.append(f"{what} was answered")
                except ServiceFailed:
                    pass
    if problems:
        raise CheckFailed("; ".join(problems))
    if not tried:
        raise CheckSkipped("no association declares a read-only attribute to probe")
    return f"{len(tried)} denied requests refused ({_listing(tried)})"


def _result(exc: ServiceFailed) -> str:
    result = exc.result
    return result.name.lower().replace("_", "-") if result is not None else "a service error"


# -- data-types -----------------------------------------------------------------------------------

def expected_tags(type_hint: str) -> frozenset[DataTag] | None:
    """The A-XDR tags an attribute typed ``type_hint`` (the IC table's text) may have; None when
    the type is not checked (CHOICE, OIDs)."""
    match = _WORD.match(type_hint.strip())
    word = match.group(0) if match else ""
    if word == "CHOICE":
        return _NUMBERS if "number" in type_hint else None
    if "date-time" in type_hint and word == "octet-string":
        return frozenset({DataTag.OCTET_STRING, DataTag.DATE_TIME})
    tag = _TYPE_WORDS.get(word)
    return frozenset({tag}) if tag is not None else None


def _family(tag: DataTag) -> frozenset[DataTag]:
    return next((f for f in _FAMILIES if tag in f), frozenset({tag}))


def type_problem(class_id: int, version: int, attr: int, value: Data,
                 catalogue_type: DataTag | None = None) -> str | None:
    """Why ``value`` does not fit attribute ``attr`` of the class, or None when it does.

    The IC table decides; for a CHOICE value attribute the IS 15959 catalogue's usual type
    (``catalogue_type``) is accepted too, and for Data (class 1, any type) values of the
    catalogue type's family (unsigned, signed, strings) are required."""
    ic = interface_class(class_id, version) or interface_class(class_id)
    adef = ic.attribute(attr) if ic is not None else None
    if adef is None:
        return None
    hint = adef.type_hint
    allowed = expected_tags(hint)
    got = value.tag
    if hint.startswith("CHOICE") and catalogue_type is not None:
        extra = _family(catalogue_type)
        allowed = extra if allowed is None else allowed | extra
    if allowed is None or got in allowed:
        return _shape_problem(hint, value)
    names = "/".join(sorted(TYPE_NAMES[t] for t in allowed))
    return f"is {TYPE_NAMES.get(got, str(got))}, expected {names} ({hint})"


def _shape_problem(hint: str, value: Data) -> str | None:
    if value.tag is DataTag.OCTET_STRING and isinstance(value.value, bytes):
        size = len(value.value)
        if "[6]" in hint and size != 6:
            return f"is {size} bytes, expected 6 ({hint})"
        if "date-time" in hint and size != 12:
            return f"is {size} bytes, expected a 12-byte date-time ({hint})"
    if hint.startswith("scal_unit_type"):
        parts = value.value if isinstance(value.value, tuple) else ()
        tags = tuple(p.tag for p in parts if isinstance(p, Data))
        if tags != (DataTag.INTEGER, DataTag.ENUM):
            shown = ", ".join(TYPE_NAMES.get(t, str(t)) for t in tags)
            return f"is structure {{{shown}}}, expected {{integer, enum}} ({hint})"
    return None


def _attributes_to_read(info: CosemObjectInfo) -> list[int]:
    out = []
    for attr in sorted(info.attribute_access):
        if not info.can_read(attr):
            continue
        if (info.class_id, attr) in ((7, 2), (15, 2)):
            continue  # profile buffers are checked by the profile checks; object_list was parsed
        out.append(attr)
    return out


@check(check_id="data-types", title="Attribute data types match the interface classes",
       clause="Blue Book, COSEM interface classes (attribute data types); IS 15959 Part 1, "
              "object catalogue", group="types")
def data_types(ctx: CheckContext) -> str:
    """Read every readable attribute of every object the widest available association lists
    (profile buffers excepted) and compare its A-XDR type with the interface class."""
    keys = [k for k in ("us", "mr", "pc") if ctx.target.available(k)]
    if not keys:
        raise CheckSkipped("no association available")
    key = max(keys, key=lambda k: len(ctx.object_list(k)))
    objects = ctx.object_list(key)
    items = [(o, attr) for o in objects for attr in _attributes_to_read(o)]
    problems: list[str] = []
    refused: list[str] = []
    with ctx.session(key) as s:
        values = s.get_many([(o.class_id, o.logical_name, attr) for o, attr in items])
    for (info, attr), value in zip(items, values):
        where = f"{info.logical_name}:{attr}"
        if not isinstance(value, Data):
            refused.append(f"{where} ({value.name.lower().replace('_', '-')})")
            continue
        ref = find_object(ctx.category, info.logical_name)
        catalogue_type = ref.value_type if ref is not None and attr == 2 else None
        problem = type_problem(info.class_id, info.version, attr, value, catalogue_type)
        if problem:
            problems.append(f"{where} {problem}")
    if refused:
        problems.append(f"declared readable but refused: {_listing(refused)}")
    if problems:
        raise CheckFailed("; ".join(problems))
    return (f"{len(items)} attributes of {len(objects)} objects ({key.upper()}) have their "
            "interface class types")
