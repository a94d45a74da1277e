"""SecretBytes never shows its bytes; equality is constant-time; reveal() is the only way out."""

import argparse
import copy
import dataclasses
import json
import logging
import pickle
import pprint
import traceback

import pytest

from meterreader.dlms import secret as secret_module
from meterreader.dlms.errors import DlmsError, LocalProtocolError
from meterreader.dlms.secret import SecretBytes, SecretFormatError
from meterreader.dlms.security import SecurityKeys

RAW = b"Zebra-Quokka-71!"  # 16 recognisable bytes
SECRET = SecretBytes(RAW)


def forbidden_fragments(raw: bytes = RAW) -> list[str]:
    """Every textual form of ``raw`` that must never appear."""
    return [raw.decode("latin-1"), raw.hex(), raw.hex().upper(), raw.hex(" "), raw.hex(" ").upper(),
            repr(raw), str(list(raw)), "Quokka"]


def assert_hidden(text: str, raw: bytes = RAW) -> None:
    for fragment in forbidden_fragments(raw):
        assert fragment not in text, f"secret leaked as {fragment!r} in {text!r}"


# -- rendering -------------------------------------------------------------------------------------

@pytest.mark.parametrize("render", [
    repr, str, ascii, lambda s: format(s), lambda s: format(s, ">30"), lambda s: format(s, "x"),
    lambda s: f"{s}", lambda s: f"{s!r}", lambda s: f"{s!s}", lambda s: f"{s:^20}",
    lambda s: "%s" % s, lambda s: "%r" % s, lambda s: "%a" % (s,), lambda s: "{}".format(s),
    lambda s: "{0!r}".format(s), lambda s: json.dumps({"key": s}, default=str),
    lambda s: json.dumps([s], default=repr), lambda s: repr([s, {"k": (s,)}]),
    lambda s: pprint.pformat({"password": s}),
], ids=lambda f: getattr(f, "__name__", "lambda"))
def test_renderings_are_masked(render):
    text = render(SECRET)
    assert "***" in text
    assert_hidden(text)


def test_repr_and_str_exact():
    assert repr(SECRET) == "SecretBytes(***)"
    assert str(SECRET) == "***"
    assert f"{SECRET:08x}" == "***"


def test_exception_messages_and_tracebacks_are_masked():
    with pytest.raises(LocalProtocolError) as info:
        raise LocalProtocolError(f"association refused with password {SECRET}")
    assert_hidden(str(info.value))
    assert_hidden(repr(info.value))
    try:
        raise RuntimeError("key", SECRET)
    except RuntimeError as exc:
        assert_hidden("".join(traceback.format_exception(exc)))
        assert_hidden(str(exc) + repr(exc))


def test_logging_with_secret_args_is_masked(caplog):
    logger = logging.getLogger("meterreader.test.secret")
    with caplog.at_level(logging.DEBUG, logger=logger.name):
        logger.info("password %s", SECRET)
        logger.debug("keys %r and %s", SecurityKeys(encryption_key=SECRET), SECRET)
        logger.warning("dict %s", {"ak": SECRET})
        try:
            raise ValueError(SECRET)
        except ValueError:
            logger.exception("failed with %s", SECRET)
    assert len(caplog.records) == 4
    for record in caplog.records:
        assert record.args  # the secret really went through as an argument
        assert_hidden(record.getMessage())
    handler_text = caplog.text
    assert "***" in handler_text
    assert_hidden(handler_text)


def test_formatter_output_is_masked():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "secret=%s repr=%r",
                               (SECRET, SECRET),
                               None)
    assert_hidden(logging.Formatter("%(message)s %(args)s").format(record))


def test_containers_holding_secrets_are_masked():
    keys = SecurityKeys(encryption_key=SECRET, authentication_key=RAW)
    for text in (repr(keys), str(keys), repr(dataclasses.asdict(keys))):
        assert_hidden(text)
    assert isinstance(keys.authentication_key, SecretBytes)  # bytes were wrapped


# -- no way out but reveal() -----------------------------------------------------------------------

def test_reveal_returns_the_bytes():
    assert SECRET.reveal() == RAW
    assert type(SECRET.reveal()) is bytes


def test_not_bytes_like():
    assert not isinstance(SECRET, (bytes, bytearray, str))
    assert not hasattr(SECRET, "__bytes__")
    with pytest.raises(TypeError):
        bytes(SECRET)
    with pytest.raises(TypeError):
        iter(SECRET)
    with pytest.raises(TypeError):
        SECRET[0]  # noqa: B018
    with pytest.raises(TypeError):
        memoryview(SECRET)
    with pytest.raises(TypeError):
        b"" + SECRET  # noqa: B018
    assert not hasattr(SECRET, "__dict__")


def test_len_and_bool():
    assert len(SECRET) == 16
    assert SECRET
    assert not SecretBytes(b"")
    assert len(SecretBytes(b"")) == 0


def test_immutable_and_copy_safe():
    with pytest.raises(AttributeError):
        SECRET.value = b"x"  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        del SECRET._SecretBytes__value  # type: ignore[attr-defined]
    source = bytearray(b"abc")
    held = SecretBytes(source)
    source[0] = 0x7A
    assert held.reveal() == b"abc"
    assert copy.copy(SECRET) is SECRET
    assert copy.deepcopy({"k": SECRET})["k"] is SECRET
    assert SecretBytes(SECRET) == SECRET


def test_pickle_refused():
    with pytest.raises(TypeError):
        pickle.dumps(SECRET)
    with pytest.raises(TypeError):
        pickle.dumps(SecurityKeys(encryption_key=SECRET))


def test_construction_needs_bytes():
    for bad in ("text", 123, None, [1, 2]):
        with pytest.raises(LocalProtocolError):
            SecretBytes(bad)  # type: ignore[arg-type]


# -- equality and hashing --------------------------------------------------------------------------

def test_equality():
    assert SecretBytes(RAW) == SECRET
    assert not SecretBytes(RAW) != SECRET
    assert SecretBytes(b"Zebra-Quokka-72!") != SECRET
    assert SecretBytes(RAW[:-1]) != SECRET
    assert SECRET != RAW  # never equal to plain bytes
    assert SECRET != RAW.decode()
    assert hash(SecretBytes(RAW)) == hash(SECRET)
    assert len({SecretBytes(RAW), SECRET, SecretBytes(b"other")}) == 2


def test_equality_is_constant_time(monkeypatch):
    calls = []
    real = secret_module.hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(secret_module.hmac, "compare_digest", spy)
    assert SecretBytes(RAW) == SECRET
    assert SecretBytes(b"x" * 16) != SECRET
    assert calls == [(RAW, RAW), (b"x" * 16, RAW)]


def test_hash_does_not_hash_the_raw_bytes():
    assert hash(SECRET) != hash(RAW)


# -- parsing ---------------------------------------------------------------------------------------

def test_from_text():
    assert SecretBytes.from_text("12345678").reveal() == b"12345678"
    assert SecretBytes.from_text("caf\u00e9").reveal() == b"caf\xe9"  # latin-1


@pytest.mark.parametrize("text", [
    "000102030405060708090A0B0C0D0E0F", "0x000102030405060708090a0b0c0d0e0f",
    "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F",
    "00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f",
    "  0X0001020304050607-08090A0B0C0D0E0F  ",
])
def test_from_hex(text):
    assert SecretBytes.from_hex(text).reveal() == bytes(range(16))


def test_parse_modes():
    assert SecretBytes.parse("1111111111111111").reveal() == b"1111111111111111"  # IS 15959 text
    assert SecretBytes.parse("0x31313131").reveal() == b"1111"
    assert SecretBytes.parse("31313131", as_hex=True).reveal() == b"1111"
    assert SecretBytes.parse("0x31", as_hex=False).reveal() == b"0x31"


@pytest.mark.parametrize("call", [
    lambda: SecretBytes.from_hex("0xZebraQuokka71"),
    lambda: SecretBytes.from_hex("Zebra-Quokka-71!"),
    lambda: SecretBytes.from_hex("abc"), lambda: SecretBytes.from_hex(""),
    lambda: SecretBytes.from_text("Zebra-Quokka-\u20ac"), lambda: SecretBytes.parse("0xQuokka"),
])
def test_parse_errors_never_echo_the_text(call):
    with pytest.raises(SecretFormatError) as info:
        call()
    assert isinstance(info.value, (DlmsError, ValueError))
    assert "Quokka" not in str(info.value) and "Zebra" not in str(info.value)
    assert "abc" not in str(info.value)


def test_argparse_reports_our_message_not_the_text(capsys):
    parser = argparse.ArgumentParser(prog="meterreader")
    parser.add_argument("--key", type=SecretBytes.parse)
    assert parser.parse_args(["--key", "0x0001"]).key == SecretBytes(b"\x00\x01")
    with pytest.raises(SystemExit):
        parser.parse_args(["--key", "0xQuokka-secret"])
    err = capsys.readouterr().err
    assert "not a hex digit" in err
    assert "Quokka" not in err
