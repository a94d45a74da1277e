"""``meterreader`` command line: read meters (``objects``, ``read``, ``write``, ``action``,
``profile``, ``logical-devices``), translate PDUs (``decode``), run the meter simulator
(``simulate``) and a self-contained ``demo``.

The meter subcommands share the connection options of :mod:`meterreader.cli_connect`; they live
in :mod:`meterreader.cli_meter` and :mod:`meterreader.cli_profile`, the demo in
:mod:`meterreader.cli_demo`.

Exit codes (shared by all subcommands): 0 success, 1 other failure (malformed input, decode
failure, protocol error, I/O), 2 bad arguments, 3 connection failure (refused, no such port,
meter not answering, timeout, link lost), 4 association rejected (wrong password/key/client),
5 access denied, object undefined or another refusal of the service by the meter, 6 (only
``conformance``) at least one check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from meterreader import __version__
from meterreader.cli_connect import EXIT_CODES_TEXT, UsageError
from meterreader.dlms.errors import DlmsError

EXIT_OK = 0
EXIT_DECODE = 1
EXIT_USAGE = 2

# Published vectors (../shared/vectors): SNRM, UA, AARQ, AARE of a public-client association,
# then a GET of the clock; the GUI translator offers them as examples.
DEMO_EXCHANGE = (
    ("client → meter: SNRM (open the HDLC link)", "7EA00802232193BD647E"),
    ("meter → client: UA (link parameters granted)",
     "7EA01F21022373E6C781801205019A06019A070400000001080400000001CCA27E"),
    ("client → meter: AARQ (LLS password association)",
     "6036A1090607608574050801018A0207808B0760857405080201AC0A80083132333435363738BE10040E01000000"
     "065F1F0400007E1F04B0"),
    ("meter → client: AARE (association accepted)",
     "6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F040000501F01F40007"),
    ("client → meter: GET clock 0.0.1.0.0.255 attribute 2", "C001C1000800000100 00FF0200"),
)


def _key_arg(text: str) -> "SecretBytes":
    """argparse type: a 16-byte AES key given as 32 hex digits (never echoed in errors)."""
    from meterreader.dlms.secret import SecretBytes

    try:
        key = SecretBytes.from_hex(text)
    except DlmsError:
        raise argparse.ArgumentTypeError("not a hex key (32 hex digits expected)") from None
    if len(key) != 16:
        raise argparse.ArgumentTypeError(f"an AES-128 key is 16 bytes (32 hex digits), "
                                         f"got {len(key)} bytes")
    return key


def _system_title_arg(text: str) -> bytes:
    """argparse type: an 8-byte system title in hex."""
    try:
        value = bytes.fromhex(text.replace(" ", "").removeprefix("0x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not hex: {text!r}") from None
    if len(value) != 8:
        raise argparse.ArgumentTypeError(f"a system title is 8 bytes, got {len(value)}")
    return value


def _env_key(name: str) -> "SecretBytes | None":
    """A key from METERREADER_EK/AK/DK; a malformed one is a usage error naming the variable."""
    text = os.environ.get(f"METERREADER_{name.upper()}")
    if not text:
        return None
    try:
        return _key_arg(text)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"environment METERREADER_{name.upper()}: {exc}") from None


def _cmd_decode(args: argparse.Namespace) -> int:
    from meterreader.dlms.security import SecurityKeys
    from meterreader.translator import Decryption, TranslationError, translate

    text = " ".join(args.hex)
    if text.strip() == "-":
        text = sys.stdin.read()
    try:
        decryption = None
        keys = {name: getattr(args, name) or _env_key(name) for name in ("ek", "ak", "dk")}
        if any(keys.values()):
            decryption = Decryption(
                keys=SecurityKeys(encryption_key=keys["ek"], authentication_key=keys["ak"],
                                  dedicated_key=keys["dk"]),
                system_title=args.system_title)
        result = translate(text, layer=args.layer, decryption=decryption)
    except (TranslationError, DlmsError) as exc:
        print(f"meterreader decode: {exc}", file=sys.stderr)
        return EXIT_DECODE
    json.dump(result, sys.stdout, indent=None if args.compact else 2, ensure_ascii=False)
    sys.stdout.write("\n")
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from meterreader.cli_demo import run_demo

    return run_demo(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meterreader",
        description="DLMS/COSEM (IEC 62056) meter reading instrument for IS 15959 meters.",
        epilog="example: meterreader read --tcp 127.0.0.1:4059 --association mr --password "
               "12345678 0.0.1.0.0.255:2 1.0.1.8.0.255:2\n'meterreader COMMAND --help' "
               "describes each command.\n\n" + EXIT_CODES_TEXT,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"meterreader {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    from meterreader.cli_meter import add_parsers as add_meter_parsers
    from meterreader.cli_profile import add_parser as add_profile_parser
    from meterreader.cli_read_meter import add_parsers as add_read_meter_parsers
    add_meter_parsers(sub)
    add_profile_parser(sub)
    add_read_meter_parsers(sub)
    from meterreader.cli_conformance import add_parser as add_conformance_parser
    add_conformance_parser(sub)
    from meterreader.cli_detect import add_parser as add_detect_parser
    add_detect_parser(sub)

    decode = sub.add_parser(
        "decode", help="translate HDLC frames, wrapper packets, APDUs or A-XDR data given in hex",
        description="Translate hex into a JSON description of every protocol layer. Accepts HDLC "
                    "frame(s), an IEC 62056-47 wrapper packet, an xDLMS/ACSE APDU or A-XDR Data; "
                    "spaces, colons and newlines are ignored; '-' reads standard input.")
    decode.add_argument("hex", nargs="+", help="hex bytes, e.g. 7E A0 0A 00 02 04 01 41 93 22 D0 7E")
    decode.add_argument("--layer", choices=("hdlc", "wrapper", "apdu", "data"),
                        help="decode as this layer instead of detecting it")
    decode.add_argument("--compact", action="store_true", help="one-line JSON")
    decode.add_argument("--ek", metavar="HEX", type=_key_arg, help="global encryption key (32 hex digits) to "
                        "decrypt ciphered APDUs; or environment METERREADER_EK")
    decode.add_argument("--ak", metavar="HEX", type=_key_arg, help="authentication key (32 hex digits); or "
                        "environment METERREADER_AK")
    decode.add_argument("--dk", metavar="HEX", type=_key_arg, help="dedicated key for ded- APDUs; or "
                        "environment METERREADER_DK")
    decode.add_argument("--system-title", metavar="HEX", type=_system_title_arg,
                        help="the sender's system title (8 bytes), needed for glo-/ded- APDUs")
    decode.set_defaults(func=_cmd_decode)

    from meterreader.simulator.cli import add_parser as add_simulate_parser
    add_simulate_parser(sub)

    demo = sub.add_parser("demo", help="read the built-in meter simulator and print a short "
                                       "report", description="Start the built-in IS 15959 meter "
                          "simulator on a free TCP port, read it as the meter reader and print "
                          "name plate, clock, values, logical devices and the last block-load "
                          "rows.")
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad arguments, 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"meterreader: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("meterreader: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. piped into `head`
        # Python flushes stdout at exit: point it at devnull so that raises nothing either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
