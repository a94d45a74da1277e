"""``meterreader decode``: the PDU translator, run as a subprocess like a user would."""

import json
import subprocess
import sys

import pytest

from meterreader.dlms.hdlc.frame import FrameType, HdlcAddress, HdlcFrame, encode_frame

GET_CLOCK = "C0 01 C1 00 08 00 00 01 00 00 FF 02 00"


def run(*args, stdin=None):
    proc = subprocess.run([sys.executable, "-m", "meterreader", "decode", *args], input=stdin,
                          capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


def decode_ok(*args, stdin=None):
    code, out, err = run(*args, stdin=stdin)
    assert code == 0, err
    assert err == ""
    return json.loads(out)


def test_snrm_from_is15959_notes():
    result = decode_ok("7E A0 0A 00 02 04 01 41 93 22 D0 7E")
    [frame] = result["frames"]
    assert result["layer"] == "hdlc"
    assert frame["destination"] == {"pdu": "HdlcAddress", "upper": 1, "lower": 256, "size": 4}
    assert frame["source"]["upper"] == 32
    assert frame["control"]["frame_type"] == "SNRM" and frame["control"]["poll_final"] is True


def test_ua_parameters(vectors):
    ua = next(v for v in vectors["hdlc"] if v["name"].startswith("UA"))
    result = decode_ok(ua["hex"])
    params = result["frames"][0]["parameters"]
    assert params["max_info_field_length_transmit"] == 154
    assert params["max_info_field_length_receive"] == 154
    assert params["window_size_transmit"] == 1 and params["window_size_receive"] == 1


def test_i_frames_with_llc_and_segmentation_are_joined():
    client = HdlcAddress(upper=16)
    server = HdlcAddress(upper=1, lower=256, size=4)
    lsdu = b"\xE6\xE6\x00" + bytes.fromhex(GET_CLOCK.replace(" ", ""))
    first = HdlcFrame(destination=server, source=client, frame_type=FrameType.I, n_s=0, n_r=0,
                      segmented=True, info=lsdu[:7], poll_final=False)
    second = HdlcFrame(destination=server, source=client, frame_type=FrameType.I, n_s=1, n_r=0,
                       info=lsdu[7:], poll_final=True)
    # The two frames share one flag, as some meters send them.
    stream = encode_frame(first) + encode_frame(second)[1:]
    result = decode_ok(stream.hex())
    assert [f["control"]["n_s"] for f in result["frames"]] == [0, 1]
    [apdu] = result["apdus"]
    assert apdu["llc"].startswith("command")
    descriptor = apdu["apdu"]["cosem_attribute_descriptor"]
    assert descriptor["instance_id"] == "0.0.1.0.0.255"
    assert descriptor["class_name"] == "Clock" and descriptor["attribute_name"] == "time"
    assert apdu["apdu"]["invoke_id_and_priority"]["invoke_id"] == 1


def test_wrapper_packet():
    result = decode_ok("0001 0010 0001 000D " + GET_CLOCK)
    [packet] = result["packets"]
    assert (packet["source_wport"], packet["destination_wport"]) == (16, 1)
    assert packet["apdu"]["pdu"] == "GetRequestNormal"


def test_aarq_vector_hides_password(vectors):
    aarq = vectors["apdu"][0]["hex"]
    code, out, err = run(aarq)
    assert code == 0, err
    assert "12345678" not in out and "3132333435363738" not in out
    assert json.loads(out)["apdu"]["pdu"] == "AARQ"


def test_ciphered_apdu_shows_security_header(vectors):
    suite = vectors["security_suite0"]["authenticated_encryption_get_request"]
    result = decode_ok(suite["general_glo_ciphering_apdu"])
    apdu = result["apdu"]
    assert apdu["system_title"] == "4D4D4D0000BC614E"
    assert apdu["invocation_counter"] == 0x01234567


def test_axdr_data_with_datetime_annotation(vectors):
    result = decode_ok(vectors["axdr"][0]["hex"])
    assert result["layer"] == "data"
    first_row = result["data"]["value"][0]["value"]
    assert "2019-12-31" in json.dumps(first_row[0])
    assert [c["value"] for c in first_row[1:]] == [6, 1517, 1620]


def test_stdin_and_forced_layer():
    result = decode_ok("-", "--layer", "data", stdin="12 00 05\n")
    assert result["data"] == {"type": "long-unsigned", "value": 5}


@pytest.mark.parametrize("args, expected", [
    (("7E A0 0A 00 02 04 01 41 93 22 D1 7E",), "frame check sequence mismatch at byte 9"),
    (("C0 01 C1 00 08 00 00",), "APDU:"),
    (("zz",), "not hex"),
    (("ABC",), "odd number of hex digits"),
    (("0001 0010 0001 00FF C0 01",), "wrapper:"),
    (("12 00",), "A-XDR data"),
    (("09 05 01 02",), "byte"),
])
def test_malformed_input_one_line_no_traceback(args, expected):
    code, out, err = run(*args)
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert expected in err


def test_demo_runs():
    proc = subprocess.run([sys.executable, "-m", "meterreader", "demo"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "AARE" in proc.stdout and "GetRequestNormal" in proc.stdout


def test_bad_arguments_exit_2():
    proc = subprocess.run([sys.executable, "-m", "meterreader", "decode", "--layer", "nope", "00"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2


# --- ciphered APDUs (issue 4: decode with --ek/--ak) ------------------------------------------

EK = "000102030405060708090A0B0C0D0E0F"
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"


def test_ciphered_without_keys_says_encrypted(vectors):
    suite = vectors["security_suite0"]["authenticated_encryption_get_request"]
    apdu = decode_ok(suite["glo_get_request_apdu"])["apdu"]
    assert apdu["tag"]["name"] == "glo-get-request"
    assert apdu["security_control"]["authenticated"] and apdu["security_control"]["encrypted"]
    assert apdu["invocation_counter"] == 0x01234567
    assert apdu["content"].startswith("encrypted")
    assert "decrypted_apdu" not in apdu


@pytest.mark.parametrize("which, extra", [
    ("general_glo_ciphering_apdu", ()),
    ("glo_get_request_apdu", ("--system-title", "4D4D4D0000BC614E")),
])
def test_ciphered_with_keys_shows_inner_apdu(vectors, which, extra):
    suite = vectors["security_suite0"]["authenticated_encryption_get_request"]
    apdu = decode_ok(suite[which], "--ek", EK, "--ak", AK, *extra)["apdu"]
    inner = apdu["decrypted_apdu"]
    assert inner["pdu"] == "GetRequestNormal"
    assert inner["cosem_attribute_descriptor"]["instance_id"] == "0.0.1.0.0.255"


def test_ciphered_keys_from_environment(vectors):
    suite = vectors["security_suite0"]["authenticated_encryption_get_request"]
    proc = subprocess.run([sys.executable, "-m", "meterreader", "decode",
                           suite["general_glo_ciphering_apdu"]], capture_output=True, text=True,
                          timeout=60, env={**__import__("os").environ, "METERREADER_EK": EK,
                                           "METERREADER_AK": AK})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["apdu"]["decrypted_apdu"]["pdu"] == "GetRequestNormal"


def test_wrong_key_is_tag_mismatch_and_never_echoes_keys(vectors):
    suite = vectors["security_suite0"]["authenticated_encryption_get_request"]
    wrong = "0F0E0D0C0B0A09080706050403020100"
    code, out, err = run(suite["general_glo_ciphering_apdu"], "--ek", wrong, "--ak", AK)
    assert code == 1 and out == ""
    assert "authentication tag mismatch" in err
    assert wrong not in err.upper() and AK not in err.upper()


def test_missing_system_title_for_service_specific(vectors):
    suite = vectors["security_suite0"]["authenticated_encryption_get_request"]
    apdu = decode_ok(suite["glo_get_request_apdu"], "--ek", EK, "--ak", AK)["apdu"]
    assert "--system-title" in apdu["content"]


# --- robustness of the translator's input handling ---------------------------------------------

def test_extra_flags_before_between_and_after_frames(vectors):
    snrm = vectors["hdlc"][0]["hex"]
    result = decode_ok("7E 7E " + snrm + " 7E 7E")
    assert result["skipped"]["bytes"] == "7E7E"
    assert [f["control"]["frame_type"] for f in result["frames"]] == ["SNRM"]


def test_0x_prefix_on_every_byte(vectors):
    snrm = bytes.fromhex(vectors["hdlc"][0]["hex"])
    result = decode_ok(" ".join(f"0x{b:02X}" for b in snrm))
    assert result["frames"][0]["control"]["frame_type"] == "SNRM"


def test_hex_error_names_column():
    code, _, err = run("C0 01 G1")
    assert code == 1 and "column 7" in err


def test_aare_shows_initiate_response(vectors):
    aare = decode_ok(vectors["apdu"][1]["hex"])["apdu"]
    assert aare["initiate_response"]["server_max_receive_pdu_size"] == 0x01F4
    assert aare["initiate_response"]["vaa_name"] == 7


def test_ambiguous_first_byte_reports_the_reading_that_got_further(vectors):
    truncated_profile = vectors["axdr"][0]["hex"][:40]
    code, _, err = run(truncated_profile)
    assert code == 1 and err.startswith("meterreader decode: A-XDR data")


def test_error_offset_in_second_wrapper_packet():
    packet = "0001 0010 0001 000D " + GET_CLOCK
    code, _, err = run(packet + " 0001 0010")
    assert code == 1 and "at byte 25" in err  # 21-byte packet, then 4 of 8 header bytes


def test_error_offset_inside_segmented_apdu_points_into_last_frame():
    client = HdlcAddress(upper=16)
    server = HdlcAddress(upper=1, lower=256, size=4)
    lsdu = b"\xE6\xE6\x00" + bytes.fromhex("C001C1000800000100")  # GET cut after 6 bytes
    first = HdlcFrame(destination=server, source=client, frame_type=FrameType.I, segmented=True,
                      info=lsdu[:6])
    second = HdlcFrame(destination=server, source=client, frame_type=FrameType.I, n_s=1,
                       info=lsdu[6:], poll_final=True)
    wire_first, wire_second = encode_frame(first), encode_frame(second)
    code, _, err = run((wire_first + wire_second).hex())
    assert code == 1
    reported = int(err.split("at byte ")[1].split()[0])
    second_info_end = len(wire_first) + len(wire_second) - 3
    assert reported == second_info_end  # the APDU ran out exactly where frame 2's info ends


def test_hdlc_aarq_with_password_never_shows_it(vectors):
    client = HdlcAddress(upper=16)
    server = HdlcAddress(upper=1, lower=256, size=4)
    aarq = bytes.fromhex(vectors["apdu"][0]["hex"])
    frame = HdlcFrame(destination=server, source=client, frame_type=FrameType.I,
                      info=b"\xE6\xE6\x00" + aarq, poll_final=True)
    code, out, err = run(encode_frame(frame).hex())
    assert code == 0, err
    assert "3132333435363738" not in out.upper() and "12345678" not in out
    assert json.loads(out)["apdus"][0]["apdu"]["pdu"] == "AARQ"


@pytest.mark.parametrize("args, option", [
    (("--ek", "0011"), "--ek"), (("--ak", "zz"), "--ak"), (("--system-title", "0102"), "--system-title"),
])
def test_malformed_key_options_are_usage_errors(args, option):
    code, _, err = run(GET_CLOCK, *args)
    assert code == 2 and f"argument {option}" in err


def test_encryption_only_is_marked_unauthenticated():
    from meterreader.dlms.security import CipheringMode, SecurityKeys, protect_apdu
    keys = SecurityKeys(encryption_key=bytes.fromhex(EK), authentication_key=bytes.fromhex(AK))
    title = bytes.fromhex("4D4D4D0000BC614E")
    apdu = protect_apdu(bytes.fromhex(GET_CLOCK.replace(" ", "")), mode=CipheringMode.GENERAL_GLOBAL,
                        security_control=0x20, system_title=title, invocation_counter=7, keys=keys)
    result = decode_ok(apdu.hex(), "--ek", EK, "--ak", AK)["apdu"]
    assert result["content"].startswith("decrypted, not authenticated")
    assert result["decrypted_apdu"]["pdu"] == "GetRequestNormal"
    code, _, err = run(apdu.hex(), "--ek", "0F0E0D0C0B0A09080706050403020100", "--ak", AK)
    assert code == 1 and "wrong key?" in err
