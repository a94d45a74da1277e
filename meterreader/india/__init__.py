"""IS 15959 (Indian DLMS/COSEM companion specification): associations, object catalogues per
meter category, profiles with their scaler profiles, event codes, and scaler helpers.

Pure data and small functions: no Qt, no I/O.

``meterreader.india.catalogue`` and ``meterreader.india.profiles`` are modules; their functions
``catalogue(category)`` and ``profiles(category)`` are re-exported here as
``category_catalogue`` and ``category_profiles`` so that the package attributes stay the modules.
"""

from meterreader.india.associations import (
    ASSOCIATION_NAMES, ASSOCIATIONS, DEFAULT_HLS_KEY, DEFAULT_LLS_PASSWORD,
    MANAGEMENT_LOGICAL_DEVICE, METER_READER, PUBLIC_CLIENT, SERVER_PHYSICAL_ADDRESS,
    UTILITY_SETTINGS, WRAPPER_PORT, AssociationDef, association_by_client_sap,
    association_by_ln, association_by_name, get_association,
)
from meterreader.india.catalogue import (
    BILLING_DATES_SCHEDULE, MD_RESET_METHOD, MD_RESET_SCRIPT_ID, MD_RESET_SCRIPT_TABLE,
    CaptureObjectDef, MeterCategory, ObjectDef, ProfileDef, data_profiles_of, find_object,
    mandatory_objects, profile,
)
from meterreader.india.catalogue import catalogue as category_catalogue
from meterreader.india.catalogue import profiles as category_profiles
from meterreader.india.events import (
    CODE_RANGES, EVENT_CODES, EventCompartment, EventDef, compartment_of, compartment_of_block,
    describe_event,
)
from meterreader.india.profiles import apply_scaler, column_title, scalers_from_scaler_profile

__all__ = [
    "ASSOCIATIONS", "ASSOCIATION_NAMES", "AssociationDef", "BILLING_DATES_SCHEDULE", "CODE_RANGES",
    "CaptureObjectDef", "DEFAULT_HLS_KEY", "DEFAULT_LLS_PASSWORD", "EVENT_CODES",
    "EventCompartment", "EventDef", "MANAGEMENT_LOGICAL_DEVICE", "MD_RESET_METHOD",
    "MD_RESET_SCRIPT_ID", "MD_RESET_SCRIPT_TABLE", "METER_READER", "MeterCategory", "ObjectDef",
    "PUBLIC_CLIENT", "ProfileDef", "SERVER_PHYSICAL_ADDRESS", "UTILITY_SETTINGS", "WRAPPER_PORT",
    "apply_scaler", "association_by_client_sap", "association_by_ln", "association_by_name",
    "category_catalogue", "category_profiles", "column_title", "compartment_of",
    "compartment_of_block", "data_profiles_of", "describe_event", "find_object", "get_association",
    "mandatory_objects", "profile", "scalers_from_scaler_profile",
]
