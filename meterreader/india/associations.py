"""IS 15959 associations (public client, meter reader, utility settings) and server addressing.

IS 15959 fixes three client associations, each with its own Association LN object, client SAP and
authentication mechanism. The meter's own object_list (Association LN attribute 2) is the truth
about what each association may do; the tables here are what the companion specification and
common meters use, and the simulator serves exactly these.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from meterreader.cosem.obis import Obis
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.errors import LocalProtocolError

#: Default LLS password of the meter reader association (8 ASCII characters).
DEFAULT_LLS_PASSWORD = b"12345678"
#: Default HLS mechanism-2 key of the utility settings association (16 ASCII characters, used as
#: the AES-128 key: the reply to a challenge is AES-128-ECB(key, peer challenge)).
DEFAULT_HLS_KEY = b"1111111111111111"

#: Server upper HDLC address / wrapper destination port: the management logical device.
MANAGEMENT_LOGICAL_DEVICE = 1
#: Server lower HDLC address (IS 15959 meters; IEC meters often use 17).
SERVER_PHYSICAL_ADDRESS = 256
#: TCP port of the IEC 62056-47 wrapper.
WRAPPER_PORT = 4059


@dataclass(frozen=True, slots=True, kw_only=True)
class AssociationDef:
    """One IS 15959 association: who connects (client SAP), how they authenticate, what they do.

    ``default_secret`` is the LLS password (MR) or the HLS key (US); empty for the public client.
    """

    name: str
    title: str
    client_sap: int
    association_ln: Obis
    mechanism: MechanismName
    services: str
    default_secret: bytes = b""


PUBLIC_CLIENT = AssociationDef(
    name="PC", title="Public client", client_sap=0x10,
    association_ln=Obis(0, 0, 40, 0, 1, 255), mechanism=MechanismName.NONE,
    services="GET (clock and name plate)")
METER_READER = AssociationDef(
    name="MR", title="Meter reader", client_sap=0x20,
    association_ln=Obis(0, 0, 40, 0, 2, 255), mechanism=MechanismName.LOW,
    services="GET, block transfer, selective access", default_secret=DEFAULT_LLS_PASSWORD)
UTILITY_SETTINGS = AssociationDef(
    name="US", title="Utility settings", client_sap=0x30,
    association_ln=Obis(0, 0, 40, 0, 3, 255), mechanism=MechanismName.HIGH,
    services="GET, SET, ACTION, block transfer, selective access",
    default_secret=DEFAULT_HLS_KEY)

#: The three associations in client-SAP order.
ASSOCIATIONS: tuple[AssociationDef, ...] = (PUBLIC_CLIENT, METER_READER, UTILITY_SETTINGS)
#: Association names in the same order ("PC", "MR", "US").
ASSOCIATION_NAMES: tuple[str, ...] = tuple(a.name for a in ASSOCIATIONS)

_BY_NAME: Mapping[str, AssociationDef] = MappingProxyType({a.name: a for a in ASSOCIATIONS})
_BY_SAP: Mapping[int, AssociationDef] = MappingProxyType({a.client_sap: a for a in ASSOCIATIONS})
_BY_LN: Mapping[Obis, AssociationDef] = MappingProxyType(
    {a.association_ln: a for a in ASSOCIATIONS})


def association_by_name(name: str) -> AssociationDef | None:
    """The association called ``name`` ("pc", "MR", "Us" …, case-insensitive), or None."""
    if not isinstance(name, str):
        return None
    return _BY_NAME.get(name.strip().upper())


def association_by_client_sap(client_sap: int) -> AssociationDef | None:
    """The association a client SAP (16, 32, 48) opens, or None (the meter then rejects it)."""
    return _BY_SAP.get(client_sap) if isinstance(client_sap, int) else None


def association_by_ln(obis: Obis | str | bytes) -> AssociationDef | None:
    """The association whose Association LN object is ``obis``, or None."""
    try:
        return _BY_LN.get(Obis.parse(obis))
    except LocalProtocolError:
        return None


def get_association(key: "str | int | AssociationDef") -> AssociationDef:
    """Look up by name or client SAP; raises LocalProtocolError naming the valid choices."""
    if isinstance(key, AssociationDef):
        return key
    found = (association_by_client_sap(key) if isinstance(key, int) and not isinstance(key, bool)
             else association_by_name(key) if isinstance(key, str) else None)
    if found is None:
        choices = ", ".join(f"{a.name} (client SAP {a.client_sap})" for a in ASSOCIATIONS)
        raise LocalProtocolError(f"no IS 15959 association {key!r}; expected one of {choices}")
    return found
