"""Connection profiles (meterreader/client/profile.py) and the secrets file
(meterreader/client/secret_store.py): validation, conversion to transport and settings, HDLC
address preview, JSON without secrets, masking, and the 0600 secrets file."""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterreader.client import ConnectionSettings, Framing
from meterreader.client.profile import (KEY_ERROR, SYSTEM_TITLE_ERROR, ConnectionProfile,
                                        ProfileError, key_error, parse_key, parse_system_title,
                                        preset_values)
from meterreader.client.secret_store import (SecretStoreError, default_secrets_path,
                                             delete_secrets, load_secrets, profile_names,
                                             save_secrets)
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.secret import SecretBytes, SecretFormatError
from meterreader.dlms.security import CipheringMode
from meterreader.transport import ModeETransport, SerialTransport, TcpTransport

EK = SecretBytes(bytes.fromhex("000102030405060708090A0B0C0D0E0F"))
AK = SecretBytes(bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"))
TITLE = bytes.fromhex("4D4D4D0000BC614E")
PASSWORD = b"12345678"


def mr(**overrides) -> ConnectionProfile:
    return ConnectionProfile.for_association("mr", **{"name": "Lab meter", **overrides})


# -- validation -----------------------------------------------------------------------------------

def test_defaults_and_presets_are_valid():
    assert ConnectionProfile().validate() == {}
    for name, sap, mechanism in (("pc", 16, 0), ("mr", 32, 1), ("us", 48, 2)):
        p = ConnectionProfile.for_association(name)
        assert (p.client_sap, p.mechanism, p.association) == (sap, mechanism, name)
        assert p.validate() == {} and p.is_valid
    assert ConnectionProfile.for_association("mr").password == SecretBytes(PASSWORD)
    assert ConnectionProfile.for_association("us").hls_key == SecretBytes(b"1" * 16)
    assert preset_values("custom") == {}
    with pytest.raises(ValueError):
        ConnectionProfile.for_association("xx")


@pytest.mark.parametrize("changes, field, text", [
    (dict(encryption_key=SecretBytes(b"\x01" * 15)), "encryption_key", KEY_ERROR),
    (dict(authentication_key=SecretBytes(b"\x01" * 17)), "authentication_key", KEY_ERROR),
    (dict(port=0), "port", "port must be 1..65535"),
    (dict(port=65536), "port", "port must be 1..65535"),
    (dict(client_sap=0), "client_sap", "client SAP must be 1..127"),
    (dict(client_sap=128), "client_sap", "client SAP must be 1..127"),
    (dict(system_title=b"\x01" * 7), "system_title", SYSTEM_TITLE_ERROR),
    (dict(host=" "), "host", "host is empty"),
    (dict(name=""), "name", "name is empty"),
    (dict(framing="udp"), "framing", "framing must be one of wrapper, hdlc"),
    (dict(address_size=3), "address_size", "address size must be 1, 2 or 4 bytes"),
    (dict(address_size=2, server_physical=200), "server_physical",
     "physical address must be 0..127 with 2-byte addresses"),
    (dict(server_logical=0x4000), "server_logical",
     "logical address must be 0..16383 with 4-byte addresses"),
    (dict(password=None), "password", "low level security needs a password"),
    (dict(mechanism=7), "mechanism", "unsupported authentication mechanism"),
    (dict(response_timeout=0), "response_timeout", "response timeout must be 0..600 s (more "
                                                   "than 0)"),
    (dict(retries=-1), "retries", "retries must be 0..100"),
    (dict(medium="serial"), "serial_port", "choose a serial port"),
    (dict(medium="serial", serial_port="/dev/ttyUSB0", mode_e=True, baudrate=115200),
     "baudrate", "mode E baud rate must be one of 300, 600, 1200, 2400, 4800, 9600, 19200"),
])
def test_validate_flags_bad_fields(changes, field, text):
    errors = mr(**changes).validate()
    assert errors == {field: text}


def test_validate_security_dependencies():
    us = ConnectionProfile.for_association("us", hls_key=SecretBytes(b"short"))
    assert us.validate() == {"hls_key": "HLS key must be 16 bytes (16 characters, or 0x and "
                                        "32 hex digits)"}
    ciphered = mr(ciphering="global")
    errors = ciphered.validate()
    assert set(errors) == {"encryption_key", "authentication_key", "system_title"}
    assert errors["encryption_key"].startswith(KEY_ERROR)
    good = ciphered.with_secrets(encryption_key=EK, authentication_key=AK).replace(
        system_title=TITLE)
    assert good.validate() == {}
    gmac = ConnectionProfile(mechanism=5, encryption_key=EK, authentication_key=AK)
    assert set(gmac.validate()) == {"system_title"}


def test_validate_never_raises_on_wrong_types():
    odd = ConnectionProfile(port="4059", client_sap=None, mechanism="x", address_size=True,
                            response_timeout="5", medium="tcp", framing=None)
    errors = odd.validate()
    assert {"port", "client_sap", "mechanism", "address_size", "response_timeout",
            "framing"} <= set(errors)
    with pytest.raises(ProfileError) as info:
        odd.to_settings()
    assert info.value.errors == errors and "port" in str(info.value)


# -- key and title parsing ------------------------------------------------------------------------

def test_parse_key_accepts_separators_and_rejects_everything_else():
    assert parse_key("00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f") == EK
    assert parse_key("0x000102030405060708090A0B0C0D0E0F") == EK
    assert parse_key("00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F") == EK
    for bad in ("", "abc", "00" * 15, "00" * 17, "zz" * 16, "0" * 31):
        with pytest.raises(SecretFormatError) as info:
            parse_key(bad)
        assert str(info.value) == KEY_ERROR
        assert key_error(bad) == KEY_ERROR
    assert key_error("11" * 16) is None


def test_key_error_never_echoes_the_text():
    with pytest.raises(SecretFormatError) as info:
        parse_key("SECRETSECRETSECRETSECRETSECRETSE")
    assert "SECRET" not in str(info.value)


def test_parse_system_title():
    assert parse_system_title("4D 4D 4D 00 00 BC 61 4E") == TITLE
    assert parse_system_title("0x4d4d4d0000bc614e") == TITLE
    for bad in ("4D4D", "4D4D4D0000BC614E00", "not hex!"):
        with pytest.raises(ValueError, match="system title must be 8 bytes"):
            parse_system_title(bad)


# -- conversion -----------------------------------------------------------------------------------

def test_tcp_wrapper_transport_and_settings():
    p = mr(host="192.0.2.7", port=4059)
    transport = p.to_transport()
    assert isinstance(transport, TcpTransport)
    assert (transport.host, transport.port, transport.is_open) == ("192.0.2.7", 4059, False)
    s = p.to_settings()
    assert isinstance(s, ConnectionSettings)
    assert s.framing is Framing.WRAPPER and s.client_sap == 32
    assert s.server_logical_address == 1 and s.mechanism is MechanismName.LOW
    assert s.password == SecretBytes(PASSWORD) and s.hls_secret is None
    assert s.response_timeout == 5.0 and s.retries == 3


def test_tcp_hdlc_settings_carry_the_hdlc_address():
    p = mr(framing="hdlc", server_logical=1, server_physical=17, address_size=2,
           response_timeout=1.5, retries=1)
    s = p.to_settings()
    assert s.framing is Framing.HDLC
    assert s.server_address.encode() == bytes.fromhex("0223")
    assert s.hdlc_config().client_address.encode() == bytes.fromhex("41")
    assert (s.response_timeout, s.retries) == (1.5, 1)
    assert isinstance(p.to_transport(), TcpTransport)


def test_serial_transport_always_hdlc():
    p = mr(medium="serial", serial_port="/dev/ttyUSB0", baudrate=19200, parity="E")
    transport = p.to_transport()
    assert isinstance(transport, SerialTransport) and not transport.is_open
    assert transport.line == (19200, 8, "E", 1) and transport.port == "/dev/ttyUSB0"
    assert p.to_settings().framing is Framing.HDLC  # "wrapper" only means something on TCP


def test_mode_e_transport():
    p = mr(medium="serial", serial_port="COM3", mode_e=True, baudrate=9600)
    transport = p.to_transport()
    assert isinstance(transport, ModeETransport)
    assert transport.ack_baud == 9600 and transport.serial.port == "COM3"
    assert p.to_settings().framing is Framing.HDLC
    assert "mode E" in p.describe()


def test_invalid_medium_refuses_a_transport():
    with pytest.raises(ProfileError) as info:
        mr(medium="serial").to_transport()
    assert set(info.value.errors) == {"serial_port"}


def test_us_and_ciphered_settings():
    us = ConnectionProfile.for_association("us").to_settings()
    assert us.mechanism is MechanismName.HIGH and us.hls_secret == SecretBytes(b"1" * 16)
    assert us.password is None
    base = mr(encryption_key=EK, authentication_key=AK, system_title=TITLE)
    glo = base.replace(ciphering="global").to_settings()
    assert glo.ciphering is CipheringMode.GLOBAL and glo.client_system_title == TITLE
    assert glo.keys.encryption_key == EK and glo.keys.authentication_key == AK
    assert base.replace(ciphering="general").to_settings().ciphering \
        is CipheringMode.GENERAL_GLOBAL
    a = base.replace(ciphering="dedicated").to_settings()
    b = base.replace(ciphering="dedicated").to_settings()
    assert a.ciphering is CipheringMode.DEDICATED and len(a.keys.dedicated_key) == 16
    assert a.keys.dedicated_key != b.keys.dedicated_key  # fresh for every association
    assert base.to_settings(close_timeout=0.5).close_timeout == 0.5


# -- texts ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("changes, server, client", [
    (dict(server_logical=1, server_physical=256, address_size=4), "00 02 04 01", "41"),
    (dict(server_logical=1, server_physical=17, address_size=2), "02 23", "41"),
    (dict(server_logical=1, address_size=1), "03", "41"),
    (dict(client_sap=16, server_logical=0x3FFF, server_physical=0x3FFF), "FE FE FE FF", "21"),
    (dict(client_sap=48, server_logical=1, server_physical=0x1000), "00 02 40 01", "61"),
])
def test_hdlc_address_preview(changes, server, client):
    p = mr(**changes)
    assert p.server_address_bytes() == bytes.fromhex(server)
    assert p.client_address_bytes() == bytes.fromhex(client)
    assert p.hdlc_address_preview() == f"server {server} · client {client}"


def test_hdlc_address_preview_of_bad_addresses():
    assert mr(address_size=2, server_physical=300).hdlc_address_preview() == \
        "server (invalid) · client 41"
    assert mr(client_sap=300).hdlc_address_preview().endswith("client (invalid)")


def test_describe():
    assert mr().describe() == "TCP 127.0.0.1:4059 wrapper · MR (client 32) → LD 1/256"
    assert ConnectionProfile(association="custom", client_sap=17, framing="hdlc", host="::1",
                             address_size=1).describe() == \
        "TCP [::1]:4059 HDLC · custom (client 17) → LD 1"
    assert mr(medium="serial", serial_port="/dev/ttyUSB0", parity="E").describe() == \
        "serial /dev/ttyUSB0 9600 8E1 HDLC · MR (client 32) → LD 1/256"
    assert mr(demo=True).describe().startswith("demo TCP")
    assert str(mr()).startswith("Lab meter: TCP")


# -- secrets in texts and JSON --------------------------------------------------------------------

def secret_profile() -> ConnectionProfile:
    return mr(encryption_key=EK, authentication_key=AK, system_title=TITLE,
              hls_key=SecretBytes(b"HLSKEYHLSKEYHLSK"))


def test_repr_and_str_mask_secrets():
    p = secret_profile()
    for text in (repr(p), str(p), f"{p}", repr(p.to_settings())):
        assert "12345678" not in text and "HLSKEY" not in text
        assert EK.reveal().hex() not in text.lower() and "SecretBytes(***)" in repr(p)


def test_plain_bytes_secrets_are_wrapped():
    p = ConnectionProfile(password=PASSWORD, mechanism=1)
    assert isinstance(p.password, SecretBytes) and "12345678" not in repr(p)
    with pytest.raises(ValueError):
        ConnectionProfile(password="12345678")


def test_to_json_without_secrets_has_no_secret():
    p = secret_profile()
    data = p.to_json()
    text = json.dumps(data)
    for name in ("password", "hls_key", "encryption_key", "authentication_key"):
        assert name not in data
    for secret in (PASSWORD.hex(), "12345678", EK.reveal().hex(), AK.reveal().hex(),
                   b"HLSKEY".hex()):
        assert secret not in text.lower()
    assert data["system_title"] == TITLE.hex() and data["version"] == 1
    back = ConnectionProfile.from_json(data)
    assert back == p.without_secrets()


def test_json_round_trip_with_secrets():
    p = secret_profile()
    data = json.loads(json.dumps(p.to_json(include_secrets=True)))
    assert data["password"] == PASSWORD.hex()
    assert ConnectionProfile.from_json(data) == p


def test_from_json_tolerates_unknown_and_missing_keys_and_refuses_bad_types():
    assert ConnectionProfile.from_json({"name": "x", "future_field": 1, "port": 10}) == \
        ConnectionProfile(name="x", port=10)
    with pytest.raises(ProfileError) as info:
        ConnectionProfile.from_json({"port": [1], "password": "zz", "mode_e": "yes"})
    assert set(info.value.errors) == {"port", "password", "mode_e"}
    assert "zz" not in str(info.value)
    with pytest.raises(ProfileError):
        ConnectionProfile.from_json(["not", "a", "dict"])


def test_secret_helpers():
    p = secret_profile()
    assert set(p.secrets()) == {"password", "hls_key", "encryption_key", "authentication_key"}
    bare = p.without_secrets()
    assert bare.secrets() == {} and bare.system_title == TITLE
    assert bare.with_secrets(p.secrets()) == p
    assert bare.with_secrets(password=PASSWORD).password == SecretBytes(PASSWORD)
    with pytest.raises(ValueError):
        bare.with_secrets(host="x")


@settings(max_examples=60, deadline=None)
@given(port=st.integers(1, 65535), sap=st.integers(1, 127), logical=st.integers(0, 0x3FFF),
       physical=st.integers(0, 0x3FFF), name=st.text(min_size=1, max_size=20).filter(str.strip),
       password=st.binary(min_size=1, max_size=16), timeout=st.floats(0.1, 60),
       framing=st.sampled_from(["wrapper", "hdlc"]))
def test_json_round_trip_property(port, sap, logical, physical, name, password, timeout,
                                  framing):
    p = ConnectionProfile(name=name, port=port, client_sap=sap, server_logical=logical,
                          server_physical=physical, framing=framing, mechanism=1,
                          password=SecretBytes(password), response_timeout=timeout)
    data = json.loads(json.dumps(p.to_json(include_secrets=True)))
    assert ConnectionProfile.from_json(data) == p
    assert "password" not in p.to_json()
    assert ConnectionProfile.from_json(p.to_json()) == p.without_secrets()
    assert p.validate() == {}


# -- the secrets file -----------------------------------------------------------------------------

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


@posix_only
def test_secret_store_file_mode_and_round_trip(tmp_path):
    path = tmp_path / "cfg" / "meterreader" / "secrets.json"
    written = save_secrets(path, "Lab meter", {"password": SecretBytes(PASSWORD),
                                               "encryption_key": EK})
    assert written == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_secrets(path, "Lab meter") == {"password": SecretBytes(PASSWORD),
                                               "encryption_key": EK}
    assert load_secrets(path, "other") == {}
    assert not list(path.parent.glob(".secrets-*"))  # no temporary file left behind


@posix_only
def test_secret_store_rewrites_a_loose_file_as_0600(tmp_path):
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"version": 1, "profiles": {}}))
    os.chmod(path, 0o644)
    save_secrets(path, "a", {"password": SecretBytes(b"pw")})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_secret_store_keeps_other_profiles_replaces_and_deletes(tmp_path):
    path = tmp_path / "secrets.json"
    save_secrets(path, "a", {"password": SecretBytes(b"one")})
    save_secrets(path, "b", {"hls_key": SecretBytes(b"two")})
    save_secrets(path, "a", {"encryption_key": EK})
    assert load_secrets(path, "a") == {"encryption_key": EK}
    assert load_secrets(path, "b") == {"hls_key": SecretBytes(b"two")}
    assert profile_names(path) == ["a", "b"]
    save_secrets(path, "b", {})
    assert profile_names(path) == ["a"]
    assert delete_secrets(path, "a") is True and delete_secrets(path, "a") is False
    assert load_secrets(tmp_path / "missing.json", "a") == {}


def test_secret_store_refuses_plain_bytes_and_reports_a_broken_file(tmp_path):
    path = tmp_path / "secrets.json"
    with pytest.raises(TypeError):
        save_secrets(path, "a", {"password": b"plain"})
    path.write_text("{ not json 12345678")
    with pytest.raises(SecretStoreError) as info:
        load_secrets(path, "a")
    assert "12345678" not in str(info.value) and str(path) in str(info.value)


def test_profile_secrets_through_the_store(tmp_path):
    p = secret_profile()
    path = save_secrets(tmp_path / "s.json", p.name, p.secrets())
    restored = p.without_secrets().with_secrets(load_secrets(path, p.name))
    assert restored == p


def test_default_path_honours_xdg_config_home(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "name", "posix")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_secrets_path() == tmp_path / "meterreader" / "secrets.json"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_secrets_path() == tmp_path / "home" / ".config" / "meterreader" / \
        "secrets.json"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    save_secrets(None, "x", {"password": SecretBytes(b"pw")})
    assert load_secrets(None, "x") == {"password": SecretBytes(b"pw")}
