"""Raw attribute/method tables of the COSEM interface classes (DLMS UA Blue Book, IEC 62056-6-2).

Plain data only; :mod:`meterreader.cosem.interface_classes` turns it into frozen dataclasses.
Attribute 1 ``logical_name`` is prepended to every class automatically, so each attribute tuple
below starts at index 2. Names are the Blue Book's, with ``-`` replaced by ``_`` so that every name
is an identifier (``TCP-UDP_port`` → ``TCP_UDP_port``).

Attribute row: ``(name, type_hint, access, kind)`` where access is the access *usually* granted to
a reading client (``"r"``, ``"w"``, ``"rw"``, ``"-"``; the meter's object_list is the truth) and
kind is ``"s"`` (static) or ``"d"`` (dynamic), as marked in the Blue Book.
Method row: ``(name, params_hint)``.
"""

from __future__ import annotations

AttrRow = tuple[str, str, str, str]
MethodRow = tuple[str, str]
ClassRow = tuple[str, tuple[AttrRow, ...], tuple[MethodRow, ...]]

DT = "octet-string (date-time)"
ZERO = "integer (0)"

_REGISTER_ATTRS: tuple[AttrRow, ...] = (
    ("value", "CHOICE (number)", "r", "d"),
    ("scaler_unit", "scal_unit_type {integer scaler, enum unit}", "r", "s"),
)

_PROFILE_V1_ATTRS: tuple[AttrRow, ...] = (
    ("buffer", "array of structure (one per entry)", "r", "d"),
    ("capture_objects", "array of capture_object_definition", "r", "s"),
    ("capture_period", "double-long-unsigned (s; 0 = asynchronous)", "rw", "s"),
    ("sort_method", "enum (SortMethod)", "r", "s"),
    ("sort_object", "capture_object_definition", "r", "s"),
    ("entries_in_use", "double-long-unsigned", "r", "d"),
    ("profile_entries", "double-long-unsigned", "r", "s"),
)

_ASSOCIATION_LN_V0_ATTRS: tuple[AttrRow, ...] = (
    ("object_list", "object_list_type (array of object_list_element)", "r", "s"),
    ("associated_partners_id", "structure {integer client_SAP, long-unsigned server_SAP}", "r", "s"),
    ("application_context_name", "application_context_name (OID)", "r", "s"),
    ("xDLMS_context_info", "xDLMS_context_type (structure)", "r", "s"),
    ("authentication_mechanism_name", "mechanism_name (OID)", "r", "s"),
    ("secret", "octet-string", "w", "s"),
    ("association_status", "enum (AssociationStatus)", "r", "d"),
)
_ASSOCIATION_LN_V0_METHODS: tuple[MethodRow, ...] = (
    ("reply_to_HLS_authentication", "octet-string (f(StoC))"),
    ("change_HLS_secret", "octet-string (new secret)"),
    ("add_object", "object_list_element"),
    ("remove_object", "object_list_element"),
)
_ASSOCIATION_LN_V1_ATTRS = _ASSOCIATION_LN_V0_ATTRS + (
    ("security_setup_reference", "octet-string (logical name of a Security setup)", "r", "s"),
)
_ASSOCIATION_LN_V2_ATTRS = _ASSOCIATION_LN_V1_ATTRS + (
    ("user_list", "array of structure {unsigned user_id, visible-string user_name}", "r", "s"),
    ("current_user", "structure {unsigned user_id, visible-string user_name}", "r", "d"),
)

_HDLC_ATTRS = (
    ("comm_speed", "enum (0 = 300 … 5 = 9600 … 9 = 115200 baud)", "rw", "s"),
    ("window_size_transmit", "unsigned (1..7)", "rw", "s"),
    ("window_size_receive", "unsigned (1..7)", "rw", "s"),
)
_HDLC_TAIL = (
    ("inter_octet_time_out", "long-unsigned (ms)", "rw", "s"),
    ("inactivity_time_out", "long-unsigned (s)", "rw", "s"),
    ("device_address", "long-unsigned", "rw", "s"),
)

_PUSH_V0_ATTRS: tuple[AttrRow, ...] = (
    ("push_object_list", "array of object_definition", "rw", "s"),
    ("send_destination_and_method",
     "structure {enum transport_service, octet-string destination, enum message}", "rw", "s"),
    ("communication_window", "array of window_element {date-time start, date-time end}", "rw", "s"),
    ("randomisation_start_interval", "long-unsigned (s)", "rw", "s"),
    ("number_of_retries", "unsigned", "rw", "s"),
    ("repetition_delay", "long-unsigned (s)", "rw", "s"),
)
_PUSH_V1_ATTRS = _PUSH_V0_ATTRS + (
    ("port_reference", "octet-string (logical name of the port setup)", "rw", "s"),
    ("push_client_SAP", "integer", "rw", "s"),
    ("push_protection_parameters", "array of protection_parameters_element", "rw", "s"),
)
_PUSH_V2_ATTRS = tuple(
    ("repetition_delay", "structure {long-unsigned min, long-unsigned exponent, long-unsigned max}",
     "rw", "s") if row[0] == "repetition_delay" else row for row in _PUSH_V1_ATTRS) + (
    ("push_operation_method", "enum", "rw", "s"),
    ("confirmation_parameters", "structure {date-time start_date, double-long-unsigned interval}",
     "rw", "s"),
    ("last_confirmation_date_time", DT, "r", "d"),
)

_SECURITY_V0_ATTRS: tuple[AttrRow, ...] = (
    ("security_policy", "enum", "r", "s"),
    ("security_suite", "enum (0 = AES-GCM-128)", "r", "s"),
    ("client_system_title", "octet-string (8 bytes)", "r", "s"),
    ("server_system_title", "octet-string (8 bytes)", "r", "s"),
)
_SECURITY_V1_ATTRS = (("security_policy", "enum (bit flags)", "r", "s"),) + _SECURITY_V0_ATTRS[1:] + (
    ("certificates", "array of certificate_info", "r", "s"),
)

#: (class_id, version) -> (Blue Book class name, attributes from index 2, methods from index 1)
CLASSES: dict[tuple[int, int], ClassRow] = {
    (1, 0): ("Data", (("value", "CHOICE (any type)", "r", "d"),), ()),
    (3, 0): ("Register", _REGISTER_ATTRS, (("reset", ZERO),)),
    (4, 0): ("Extended register", _REGISTER_ATTRS + (
        ("status", "CHOICE", "r", "d"),
        ("capture_time", DT, "r", "d"),
    ), (("reset", ZERO),)),
    (5, 0): ("Demand register", (
        ("current_average_value", "CHOICE (number)", "r", "d"),
        ("last_average_value", "CHOICE (number)", "r", "d"),
        ("scaler_unit", "scal_unit_type {integer scaler, enum unit}", "r", "s"),
        ("status", "CHOICE", "r", "d"),
        ("capture_time", DT, "r", "d"),
        ("start_time_current", DT, "r", "d"),
        ("period", "double-long-unsigned (s)", "rw", "s"),
        ("number_of_periods", "long-unsigned", "rw", "s"),
    ), (("reset", ZERO), ("next_period", ZERO))),
    (6, 0): ("Register activation", (
        ("register_assignment", "array of object_definition {long-unsigned class_id, "
                                "octet-string logical_name}", "rw", "s"),
        ("mask_list", "array of register_act_mask {octet-string mask_name, array index_list}",
         "rw", "s"),
        ("active_mask", "octet-string (mask_name)", "rw", "d"),
    ), (("add_register", "object_definition"), ("add_mask", "register_act_mask"),
        ("delete_mask", "octet-string (mask_name)"))),
    (7, 0): ("Profile generic", _PROFILE_V1_ATTRS, (
        ("reset", ZERO), ("capture", ZERO),
        ("get_buffer_by_range", "structure (range_descriptor)"),
        ("get_buffer_by_index", "structure (entry_descriptor)"),
    )),
    (7, 1): ("Profile generic", _PROFILE_V1_ATTRS, (("reset", ZERO), ("capture", ZERO))),
    (8, 0): ("Clock", (
        ("time", DT, "rw", "d"),
        ("time_zone", "long (deviation, min)", "rw", "s"),
        ("status", "unsigned (clock_status bits)", "r", "d"),
        ("daylight_savings_begin", DT, "rw", "s"),
        ("daylight_savings_end", DT, "rw", "s"),
        ("daylight_savings_deviation", "integer (min)", "rw", "s"),
        ("daylight_savings_enabled", "boolean", "rw", "s"),
        ("clock_base", "enum (ClockBase)", "r", "s"),
    ), (
        ("adjust_to_quarter", ZERO),
        ("adjust_to_measuring_period", ZERO),
        ("adjust_to_minute", ZERO),
        ("adjust_to_preset_time", ZERO),
        ("preset_adjusting_time", "structure {date-time preset_time, date-time "
                                  "validity_interval_start, date-time validity_interval_end}"),
        ("shift_time", "long (s, -900..900)"),
    )),
    (9, 0): ("Script table", (
        ("scripts", "array of script {long-unsigned script_identifier, array actions}", "r", "s"),
    ), (("execute", "long-unsigned (script_identifier)"),)),
    (11, 0): ("Special days table", (
        ("entries", "array of spec_day_entry {long-unsigned index, octet-string date, "
                    "unsigned day_id}", "rw", "s"),
    ), (("insert", "spec_day_entry"), ("delete", "long-unsigned (index)"))),
    (15, 0): ("Association LN", _ASSOCIATION_LN_V0_ATTRS, _ASSOCIATION_LN_V0_METHODS),
    (15, 1): ("Association LN", _ASSOCIATION_LN_V1_ATTRS, _ASSOCIATION_LN_V0_METHODS),
    (15, 2): ("Association LN", _ASSOCIATION_LN_V2_ATTRS, _ASSOCIATION_LN_V0_METHODS + (
        ("add_user", "structure {unsigned user_id, visible-string user_name}"),
        ("remove_user", "structure {unsigned user_id, visible-string user_name}"),
    )),
    (17, 0): ("SAP assignment", (
        ("SAP_assignment_list", "asslist_type (array of {long-unsigned SAP, "
                                "octet-string logical_device_name})", "r", "s"),
    ), (("connect_logical_device", "asslist_element"),)),
    (18, 0): ("Image transfer", (
        ("image_block_size", "double-long-unsigned (bytes)", "r", "s"),
        ("image_transferred_blocks_status", "bit-string", "r", "d"),
        ("image_first_not_transferred_block_number", "double-long-unsigned", "r", "d"),
        ("image_transfer_enabled", "boolean", "rw", "s"),
        ("image_transfer_status", "enum (ImageTransferStatus)", "r", "d"),
        ("image_to_activate_info", "array of {double-long-unsigned size, octet-string "
                                   "identification, octet-string signature}", "r", "d"),
    ), (
        ("image_transfer_initiate", "structure {octet-string image_identifier, "
                                    "double-long-unsigned image_size}"),
        ("image_block_transfer", "structure {double-long-unsigned image_block_number, "
                                 "octet-string image_block_value}"),
        ("image_verify", ZERO),
        ("image_activate", ZERO),
    )),
    (19, 1): ("IEC local port setup", (
        ("default_mode", "enum (0 = IEC 62056-21 protocol, 1 = DLMS/COSEM, 2 = none)", "rw", "s"),
        ("default_baud", "enum (0 = 300 … 9 = 115200 baud)", "rw", "s"),
        ("prop_baud", "enum (baud)", "rw", "s"),
        ("response_time", "enum (0 = 20 ms, 1 = 200 ms)", "rw", "s"),
        ("device_addr", "octet-string", "rw", "s"),
        ("pass_p1", "octet-string", "w", "s"),
        ("pass_p2", "octet-string", "w", "s"),
        ("pass_w5", "octet-string", "w", "s"),
    ), ()),
    (20, 0): ("Activity calendar", (
        ("calendar_name_active", "octet-string", "r", "s"),
        ("season_profile_active", "array of season", "r", "s"),
        ("week_profile_table_active", "array of week_profile", "r", "s"),
        ("day_profile_table_active", "array of day_profile", "r", "s"),
        ("calendar_name_passive", "octet-string", "rw", "s"),
        ("season_profile_passive", "array of season", "rw", "s"),
        ("week_profile_table_passive", "array of week_profile", "rw", "s"),
        ("day_profile_table_passive", "array of day_profile", "rw", "s"),
        ("activate_passive_calendar_time", DT, "rw", "s"),
    ), (("activate_passive_calendar", ZERO),)),
    (21, 0): ("Register monitor", (
        ("thresholds", "array of CHOICE (threshold values)", "rw", "s"),
        ("monitored_value", "value_definition {long-unsigned class_id, octet-string "
                            "logical_name, integer attribute_index}", "rw", "s"),
        ("actions", "array of action_set {action_up, action_down}", "rw", "s"),
    ), ()),
    (22, 0): ("Single action schedule", (
        ("executed_script", "structure {octet-string script_logical_name, "
                            "long-unsigned script_selector}", "rw", "s"),
        ("type", "enum (1..5)", "r", "s"),
        ("execution_time", "array of {octet-string time, octet-string date}", "rw", "s"),
    ), ()),
    (23, 0): ("IEC HDLC setup", _HDLC_ATTRS + (
        ("max_info_field_length_transmit", "unsigned", "rw", "s"),
        ("max_info_field_length_receive", "unsigned", "rw", "s"),
    ) + _HDLC_TAIL, ()),
    (23, 1): ("IEC HDLC setup", _HDLC_ATTRS + (
        ("max_info_field_length_transmit", "long-unsigned (32..2030)", "rw", "s"),
        ("max_info_field_length_receive", "long-unsigned (32..2030)", "rw", "s"),
    ) + _HDLC_TAIL, ()),
    (40, 0): ("Push setup", _PUSH_V0_ATTRS, (("push", ZERO),)),
    (40, 1): ("Push setup", _PUSH_V1_ATTRS, (("push", ZERO),)),
    (40, 2): ("Push setup", _PUSH_V2_ATTRS, (("push", ZERO), ("reset", ZERO))),
    (41, 0): ("TCP-UDP setup", (
        ("TCP_UDP_port", "long-unsigned (default 4059)", "rw", "s"),
        ("IP_reference", "octet-string (logical name of the IP setup)", "rw", "s"),
        ("MSS", "long-unsigned (40..65535)", "rw", "s"),
        ("nb_of_sim_conn", "unsigned", "rw", "s"),
        ("inactivity_time_out", "long-unsigned (s)", "rw", "s"),
    ), ()),
    (42, 0): ("IPv4 setup", (
        ("DL_reference", "octet-string (logical name of the data link setup)", "rw", "s"),
        ("IP_address", "double-long-unsigned", "rw", "d"),
        ("multicast_IP_address", "array of double-long-unsigned", "rw", "s"),
        ("IP_options", "array of IP_options_element", "rw", "s"),
        ("subnet_mask", "double-long-unsigned", "rw", "s"),
        ("gateway_IP_address", "double-long-unsigned", "rw", "s"),
        ("use_DHCP_flag", "boolean", "rw", "s"),
        ("primary_DNS_address", "double-long-unsigned", "rw", "s"),
        ("secondary_DNS_address", "double-long-unsigned", "rw", "s"),
    ), (
        ("add_mc_IP_address", "double-long-unsigned"),
        ("delete_mc_IP_address", "double-long-unsigned"),
        ("get_nbof_mc_IP_addresses", ZERO),
    )),
    (64, 0): ("Security setup", _SECURITY_V0_ATTRS, (
        ("security_activate", "enum (security_policy)"),
        ("global_key_transfer", "array of key_data {enum key_id, octet-string key_wrapped}"),
    )),
    (64, 1): ("Security setup", _SECURITY_V1_ATTRS, (
        ("security_activate", "enum (security_policy)"),
        ("key_transfer", "array of key_data {enum key_id, octet-string key_wrapped}"),
        ("key_agreement", "array of key_agreement_data"),
        ("generate_key_pair", "enum (key_pair_info)"),
        ("generate_certificate_request", "enum (key_pair_info)"),
        ("import_certificate", "octet-string (certificate)"),
        ("export_certificate", "structure (certificate_identification)"),
        ("remove_certificate", "structure (certificate_identification)"),
    )),
    (70, 0): ("Disconnect control", (
        ("output_state", "boolean (true = connected)", "r", "d"),
        ("control_state", "enum (ControlState)", "r", "d"),
        ("control_mode", "enum (0..6)", "rw", "s"),
    ), (("remote_disconnect", ZERO), ("remote_reconnect", ZERO))),
    (71, 0): ("Limiter", (
        ("monitored_value", "value_definition {long-unsigned class_id, octet-string "
                            "logical_name, integer attribute_index}", "rw", "s"),
        ("threshold_active", "CHOICE (number)", "r", "d"),
        ("threshold_normal", "CHOICE (number)", "rw", "s"),
        ("threshold_emergency", "CHOICE (number)", "rw", "s"),
        ("min_over_threshold_duration", "double-long-unsigned (s)", "rw", "s"),
        ("min_under_threshold_duration", "double-long-unsigned (s)", "rw", "s"),
        ("emergency_profile", "structure {long-unsigned id, date-time activation_time, "
                              "double-long-unsigned duration}", "rw", "s"),
        ("emergency_profile_group_id_list", "array of long-unsigned", "rw", "s"),
        ("emergency_profile_active", "boolean", "r", "d"),
        ("actions", "structure {action_over_threshold, action_under_threshold}", "rw", "s"),
    ), ()),
}

#: Version used when the caller does not know it: the one IS 15959 meters usually report.
DEFAULT_VERSIONS: dict[int, int] = {7: 1, 15: 1, 23: 1, 40: 0, 64: 0}

#: Names of further interface classes a meter may list, without attribute tables here.
OTHER_CLASS_NAMES: dict[int, str] = {
    10: "Schedule", 12: "Association SN", 24: "IEC twisted pair (1) setup",
    25: "M-Bus slave port setup", 26: "Utility tables", 27: "Modem configuration",
    28: "Auto answer", 29: "Auto connect", 43: "MAC address setup", 44: "PPP setup",
    45: "GPRS modem setup", 46: "SMTP setup", 47: "GSM diagnostic", 48: "IPv6 setup",
    61: "Register table", 62: "Compact data", 63: "Status mapping", 65: "Parameter monitor",
    67: "Sensor manager", 68: "Arbitrator", 72: "M-Bus client", 74: "M-Bus master port setup",
    100: "NTP setup", 111: "Account", 112: "Credit", 113: "Charge", 115: "Token gateway",
    122: "Function control", 123: "Array manager", 124: "Communication port protection",
}
