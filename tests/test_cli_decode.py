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
