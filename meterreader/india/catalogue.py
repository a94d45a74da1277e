"""IS 15959 object catalogue per meter category: what the meter must have, and who may do what.

* :func:`catalogue` — every object (registers, data, clock, associations, profiles) of a category;
* :func:`profiles` / :func:`profile` — the profile generics with their capture objects;
* :func:`mandatory_objects` — the mandatory objects an association's object_list must list;
* :func:`find_object` — one object by logical name.

Category differences: A (feeders, DT centres) and B (boundary/ABT) meter both directions —
import and export energies, export block energies, PT ratio. A (energy audit) adds the reactive
energies of all four quadrants and the average power factor per phase in its block load. B
(ABT settlement) adds the net active energy (import − export, 1.0.16.8.0.255, also in its daily
load and billing), the net block energy (1.0.16.29.0.255) and the average frequency of each block
(1.0.14.27.0.255) in its block load, whose ABT interval is 15 minutes (900 s, the default for
all).
C (HT/LT consumers) bills import energy and MD per time-of-day zone (registers 1.0.1.8.1–8.255,
1.0.9.8.1–8.255 and MD 1.0.1.6.1–8.255, 1.0.9.6.1–8.255 under an activity calendar); its
export registers and PT ratio are optional.

MD reset: ACTION on the script table :data:`MD_RESET_SCRIPT_TABLE` (0.0.10.0.1.255), method 1
``execute`` with script identifier 1, from the utility settings association; the billing dates
that do it automatically are the single action schedule 0.0.15.0.0.255 pointing at that script.

The catalogue is the reference the simulator serves and the conformance checks compare against;
the meter's object_list is what a reading client must follow.
"""

from __future__ import annotations

from functools import cache
from types import MappingProxyType
from typing import Mapping

from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import DataTag
from meterreader.dlms.errors import DlmsError, LocalProtocolError
from meterreader.india.associations import AssociationDef, get_association
from meterreader.india.catalogue_objects import (
    BILLING_DATES_SCHEDULE, MD_RESET_METHOD, MD_RESET_SCRIPT_ID, MD_RESET_SCRIPT_TABLE, TOD_ZONES,
    register_objects,
)
from meterreader.india.catalogue_profiles import (
    BILLING, BLOCK_LOAD, DAILY_LOAD, INSTANTANEOUS, NAME_PLATE, SCALER_BILLING, SCALER_BLOCK_LOAD,
    SCALER_DAILY_LOAD, SCALER_EVENTS, SCALER_INSTANTANEOUS, build_profiles, scaler_columns,
)
from meterreader.india.catalogue_types import (
    VALUE_KINDS, CaptureObjectDef, MeterCategory, ObjectDef, ProfileDef, object_def,
)

__all__ = [
    "BILLING", "BILLING_DATES_SCHEDULE", "BLOCK_LOAD", "DAILY_LOAD", "INSTANTANEOUS",
    "MD_RESET_METHOD", "MD_RESET_SCRIPT_ID", "MD_RESET_SCRIPT_TABLE", "NAME_PLATE",
    "SCALER_BILLING", "SCALER_BLOCK_LOAD", "SCALER_DAILY_LOAD", "SCALER_EVENTS",
    "SCALER_INSTANTANEOUS", "TOD_ZONES", "VALUE_KINDS", "CaptureObjectDef", "MeterCategory",
    "ObjectDef", "PROFILE_METHODS", "ProfileDef", "catalogue", "find_object",
    "mandatory_objects", "profile", "profiles", "scaler_columns",
]


#: Profile generic methods US may invoke on the data profiles: reset (1) and capture (2).
PROFILE_METHODS = (1, 2)


def _profile_object(p: ProfileDef) -> ObjectDef:
    """The class-7 ObjectDef of a profile: PC reads the name plate; US may change the block
    load capture period (logged as event 153) and reset/capture the data profiles."""
    obis = str(p.obis)
    methods = {} if p.is_scaler_profile else {"US": PROFILE_METHODS}
    return object_def(7, p.obis, p.name, "scaler_profile" if p.is_scaler_profile else "profile",
                      value_type=DataTag.ARRAY, pc=obis == NAME_PLATE,
                      us_write=(4,) if obis == BLOCK_LOAD else (), methods=methods,
                      mandatory=p.mandatory)


@cache
def profiles(category: MeterCategory | str) -> tuple[ProfileDef, ...]:
    """Every profile generic of a category: data profiles, then scaler profiles."""
    return build_profiles(MeterCategory.parse(category))


@cache
def catalogue(category: MeterCategory | str) -> tuple[ObjectDef, ...]:
    """Every object of a category, profiles last; logical names are unique."""
    cat = MeterCategory.parse(category)
    return register_objects(cat) + tuple(_profile_object(p) for p in profiles(cat))


@cache
def _index(category: MeterCategory) -> Mapping[Obis, ObjectDef]:
    return MappingProxyType({o.obis: o for o in catalogue(category)})


@cache
def _profile_index(category: MeterCategory) -> Mapping[Obis, ProfileDef]:
    return MappingProxyType({p.obis: p for p in profiles(category)})


def _obis(obis: Obis | str | bytes) -> Obis | None:
    try:
        return Obis.parse(obis)
    except DlmsError:
        return None


def find_object(category: MeterCategory | str, obis: Obis | str | bytes) -> ObjectDef | None:
    """The object with that logical name in the category's catalogue, or None."""
    o = _obis(obis)
    return _index(MeterCategory.parse(category)).get(o) if o is not None else None


def profile(category: MeterCategory | str, obis: Obis | str | bytes) -> ProfileDef | None:
    """The profile (data or scaler profile) with that logical name, or None."""
    o = _obis(obis)
    return _profile_index(MeterCategory.parse(category)).get(o) if o is not None else None


def mandatory_objects(category: MeterCategory | str,
                      association: "AssociationDef | str | int") -> tuple[ObjectDef, ...]:
    """Mandatory objects that the association's object_list must list (catalogue order)."""
    name = get_association(association).name
    return tuple(o for o in catalogue(MeterCategory.parse(category))
                 if o.mandatory and o.visible_in(name))


def data_profiles_of(category: MeterCategory | str,
                     scaler_profile: Obis | str | bytes) -> tuple[ProfileDef, ...]:
    """The data profiles whose scalers a scaler profile holds (all event logs for 1.0.94.91.7)."""
    o = _obis(scaler_profile)
    if o is None:
        raise LocalProtocolError(f"not an OBIS code: {scaler_profile!r}")
    return tuple(p for p in profiles(category) if p.scaler_profile == o)
