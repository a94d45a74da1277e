"""``SimulatedMeter``: a complete simulated IS 15959 meter, ready to serve, in one object.

    with SimulatedMeter(category="C", seed=1) as meter:
        port = meter.serve_tcp(port=0)          # wrapper on 127.0.0.1, background thread
        hdlc_port = meter.serve_tcp(hdlc=True)  # raw HDLC over TCP
        path = meter.serve_pty()                # a pty for a serial client
        ...                                     # meter.stop() on leaving the block

The GUI starts one in-process as its demo meter; the ``simulate`` command line wraps it.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from typing import Callable, Iterable

from meterreader.dlms.cosem_time import BLUE_BOOK
from meterreader.dlms.hdlc import HdlcParameters
from meterreader.dlms.secret import SecretBytes
from meterreader.india.associations import (DEFAULT_HLS_KEY, DEFAULT_LLS_PASSWORD,
                                            SERVER_PHYSICAL_ADDRESS)

from .builder import build_meter
from .defects import apply_device_defects, parse_defects
from .device import PhysicalDevice
from .faults import Fault, LineOptions
from .media import Listener, PtyListener, SerialListener, TcpListener
from .serial_line import LineFormat, parse_format
from .server import (DEFAULT_IDENTIFICATION, DEFAULT_IDLE_TIMEOUT, DEFAULT_INACTIVITY_TIMEOUT,
                     DEFAULT_MAX_CLIENTS, CipheredClient, Framing, MeterServer, ServerOptions)

__all__ = ["SimulatedMeter"]

#: IEC 62056-21 baud-rate characters '0'…'6' of modes C and E.
_MODE_E_BAUDS = (300, 600, 1200, 2400, 4800, 9600, 19200)


def _identification_for(baud: int) -> bytes:
    """The default identification message offering ``baud`` (IEC 62056-21 baud character)."""
    if baud not in _MODE_E_BAUDS:
        raise ValueError(f"a mode E meter offers 300…19200 Bd, not serial_baud={baud}")
    character = b"%d" % _MODE_E_BAUDS.index(baud)
    return DEFAULT_IDENTIFICATION[:4] + character + DEFAULT_IDENTIFICATION[5:]


def _secret(value: str | bytes | SecretBytes) -> SecretBytes:
    return SecretBytes(value.encode("ascii") if isinstance(value, str) else value)


class SimulatedMeter:
    """One simulated meter and its listeners (see the module docstring).

    Meter model: ``category`` A/B/C, ``seed`` (same seed, same history), ``start`` (the meter
    clock's start, naive = meter local time; default: real time), ``capture_period`` of the block
    load (900 or 1800 s), ``days_of_block_load`` of history, ``block_load_entries`` (its
    depth; default 45 days of blocks), ``deviation_sign`` (-1 Blue Book,
    +1 for meters that send +330 for IST), ``password`` (LLS, MR), ``hls_key`` (HLS mechanism 2,
    US). Network: ``physical_address`` (HDLC lower address), ``ciphered_client`` (client SAP of
    the optional HLS-GMAC + global-ciphering association) with ``encryption_key``,
    ``authentication_key`` and the server ``system_title`` (default "MRD" + the serial number),
    ``max_pdu_size``, ``hdlc_parameters``, ``mode_e`` (IEC 62056-21 opening on HDLC lines; a
    client that starts with HDLC is served too), ``mode_e_only`` (HDLC ignored until the
    sign-on; implies ``mode_e``),
    ``inactivity_timeout`` (seconds of silence after which an HDLC line drops its links and
    returns to the mode E sign-on; None = never; 2-byte HDLC server addresses also answer to
    the lower address 17), ``address_sizes`` (HDLC server address sizes answered, e.g. ``(1,)``
    for a 1-byte-addressing-only meter; frames with other sizes get no answer), ``wrapper_only``
    (the wrapper port discards an HDLC probe silently and keeps the connection; default: it
    closes the connection). Limits: ``max_clients`` (concurrent TCP connections, more are
    closed at once), ``idle_timeout`` (seconds of silence after which a TCP connection is
    closed; None = never), ``replay_guard`` (the ciphered client's invocation counters are
    checked across connections too).
    Serial port (:meth:`serve_serial` and the line emulator
    :class:`~meterreader.simulator.serial_line.EmulatedSerialMeter`; a pty ignores them):
    ``serial_baud`` (the meter's HDLC baud rate; with mode E the highest rate its identification
    offers, 300…19200) and ``serial_format`` ("8N1", "7E1", "8E1"…: character framing of the
    HDLC phase — a "7E1" meter keeps 7E1 after the sign-on, so 8-bit HDLC cannot cross it).
    Line: ``link_baud`` and ``faults`` (:class:`Fault` or ``"drop=3"`` strings), applied to every
    listener started afterwards. ``logger`` receives the verbose frame log at DEBUG.
    ``defects``: names of :data:`~meterreader.simulator.defects.DEFECTS` — the meter breaks
    those rules on purpose (an unknown name raises ValueError listing the known ones).
    """

    def __init__(self, category: str = "C", seed: int = 1, start: dt.datetime | None = None, *,
                 now: Callable[[], dt.datetime] | None = None,
                 capture_period: int = 900, days_of_block_load: int = 35,
                 block_load_entries: int | None = None,
                 deviation_sign: int = BLUE_BOOK,
                 password: str | bytes | SecretBytes = DEFAULT_LLS_PASSWORD,
                 hls_key: str | bytes | SecretBytes = DEFAULT_HLS_KEY,
                 physical_address: int = SERVER_PHYSICAL_ADDRESS,
                 ciphered_client: int | None = None,
                 encryption_key: str | bytes | SecretBytes | None = None,
                 authentication_key: str | bytes | SecretBytes | None = None,
                 system_title: bytes | None = None, ciphered_association: str = "US",
                 max_pdu_size: int = 0xFFFF, hdlc_parameters: HdlcParameters | None = None,
                 mode_e: bool = False, mode_e_only: bool = False,
                 identification: bytes | None = None,
                 serial_baud: int = 9600, serial_format: str = "8N1",
                 address_sizes: Iterable[int] = (1, 2, 4), wrapper_only: bool = False,
                 inactivity_timeout: float | None = DEFAULT_INACTIVITY_TIMEOUT,
                 idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
                 max_clients: int = DEFAULT_MAX_CLIENTS, replay_guard: bool = False,
                 link_baud: int | None = None, faults: Iterable[Fault | str] = (),
                 logger: logging.Logger | None = None,
                 rng: Callable[[int], bytes] = secrets.token_bytes,
                 defects: Iterable[str] = ()) -> None:
        if deviation_sign not in (-1, 1):
            raise ValueError(f"deviation_sign must be -1 or +1, not {deviation_sign!r}")
        self.defects = parse_defects(defects)
        if isinstance(serial_baud, bool) or not isinstance(serial_baud, int) or serial_baud <= 0:
            raise ValueError(f"serial_baud must be a positive int, not {serial_baud!r}")
        self.serial_baud = serial_baud
        self.serial_format: LineFormat = parse_format(serial_format)
        mode_e = mode_e or mode_e_only
        if identification is None:
            identification = DEFAULT_IDENTIFICATION
            if mode_e:
                identification = _identification_for(serial_baud)
        self.device: PhysicalDevice = build_meter(
            category, seed=seed, start=start, now=now, capture_period=capture_period,
            deviation_sign=deviation_sign, days_of_block_load=days_of_block_load,
            block_load_entries=block_load_entries,
            lls_password=_secret(password), hls_key=_secret(hls_key))
        self.device.physical_address = physical_address
        apply_device_defects(self.device, self.defects)
        ciphered = None
        if ciphered_client is not None:
            if encryption_key is None or authentication_key is None:
                raise ValueError("a ciphered client needs encryption_key and authentication_key")
            serial = self.device.serial
            number = int(serial) % 2**40 if serial.isdigit() else 0
            title = system_title or b"MRD" + number.to_bytes(5, "big")
            if len(title) != 8:
                raise ValueError("system_title must be 8 bytes")
            ciphered = CipheredClient(client_sap=ciphered_client,
                                      encryption_key=_secret(encryption_key),
                                      authentication_key=_secret(authentication_key),
                                      system_title=bytes(title),
                                      association_name=ciphered_association)
        options = ServerOptions(physical_address=physical_address, ciphered=ciphered,
                                max_pdu_size=max_pdu_size, mode_e=mode_e,
                                mode_e_only=mode_e_only, identification=identification,
                                address_sizes=tuple(address_sizes), wrapper_only=wrapper_only,
                                inactivity_timeout=inactivity_timeout, defects=self.defects,
                                idle_timeout=idle_timeout, max_clients=max_clients,
                                replay_guard=replay_guard,
                                **({"hdlc_parameters": hdlc_parameters} if hdlc_parameters
                                   else {}))
        self.server = MeterServer(self.device, options, logger=logger, rng=rng)
        self.line = LineOptions(link_baud=link_baud, faults=tuple(
            f if isinstance(f, Fault) else Fault.parse(f) for f in faults))
        self.listeners: list[Listener] = []

    @property
    def options(self) -> ServerOptions:
        return self.server.options

    def _add(self, listener: Listener) -> Listener:
        listener.start()
        self.listeners.append(listener)
        return listener

    def serve_tcp(self, port: int = 0, hdlc: bool = False, host: str = "127.0.0.1") -> int:
        """Listen on TCP (wrapper, or raw HDLC with ``hdlc=True``) on a background thread;
        returns the bound port at once."""
        listener = self._add(TcpListener(self.server, Framing.HDLC if hdlc else Framing.WRAPPER,
                                         host=host, port=port, line=self.line))
        assert isinstance(listener, TcpListener)
        return listener.port

    def serve_pty(self) -> str:
        """Open a pty pair and serve HDLC on it; returns the device path for a serial client."""
        listener = self._add(PtyListener(self.server, line=self.line))
        assert isinstance(listener, PtyListener)
        return listener.path

    def serve_serial(self, device: str, baud: int | None = None) -> str:
        """Serve HDLC on a real serial port (at ``baud``, default :attr:`serial_baud`);
        returns the listener's description."""
        fmt = self.serial_format
        return self._add(SerialListener(self.server, device, baud=baud or self.serial_baud,
                                        fmt=(fmt.bytesize, fmt.parity, fmt.stopbits),
                                        line=self.line)).description

    def stop(self) -> None:
        """Stop every listener: sockets and fds closed, threads joined."""
        listeners, self.listeners = self.listeners, []
        for listener in reversed(listeners):
            listener.stop()

    def __enter__(self) -> SimulatedMeter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
