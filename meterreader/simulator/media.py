"""Listeners of the meter simulator: TCP (wrapper or raw HDLC), a pty pair, a serial port.

Every client line runs on a thread of its own: it reads bytes, hands them to its
:class:`~meterreader.simulator.server.ClientSession`, passes the frames through the line's
:class:`~meterreader.simulator.faults.FaultInjector` and carries out the actions (paced writes,
pauses, TCP reset, stall, reboot). TCP listeners serve several clients at once (at most
``ServerOptions.max_clients`` over all TCP listeners of a meter; one more is closed at once),
each with its own session and association, and close a connection that stays silent for
``ServerOptions.idle_timeout`` seconds, or that does not take an answer within that time (a
client that sends but never reads cannot hold its slot: writes are non-blocking with a
deadline); a pty or serial port is one line shared by the clients
that take turns on it (HDLC sorts them out by SNRM/DISC).

``stop()`` closes the listening socket, every client socket and file descriptor, and joins every
thread it started: nothing is left behind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import logging
import os
import select
import socket
import struct
import threading
import time
import tty
from typing import Any, Callable

from .faults import LineOptions, Pause, Reboot, Reset, Stall, Write, pace
from .server import ClientSession, Framing, MeterServer

__all__ = ["Listener", "PtyListener", "SendTimeout", "SerialListener", "TcpListener"]

#: Longest a thread blocks before it looks at the stop flag again.
POLL = 0.05
_JOIN_TIMEOUT = 5.0
_READ_SIZE = 4096


class SendTimeout(TimeoutError):
    """The peer did not take an answer within the send deadline (it stopped reading)."""


def _send_within(conn: socket.socket, data: bytes, seconds: float | None,
                 stop: threading.Event) -> None:
    """Send all of ``data`` on the non-blocking ``conn`` in slices; raise :class:`SendTimeout`
    when it is not all taken within ``seconds`` (None = no deadline: a slow reader is waited
    for, but stop() still ends the wait). Returns early on stop."""
    view = memoryview(data)
    deadline = None if seconds is None else time.monotonic() + seconds
    while view and not stop.is_set():
        wait = POLL if deadline is None else min(POLL, max(0.0, deadline - time.monotonic()))
        _, ready, _ = select.select([], [conn], [], wait)
        if ready:
            try:
                sent = conn.send(view)
            except (BlockingIOError, InterruptedError):
                sent = 0
            view = view[sent:]
        if view and deadline is not None and time.monotonic() >= deadline:
            raise SendTimeout(f"answer not taken within {seconds:g} s")


class _LineLoop:
    """Runs one client line until EOF, a reset, a closed session or stop."""

    def __init__(self, session: ClientSession, line: LineOptions, stop: threading.Event, *,
                 read: Callable[[float], bytes | None], write: Callable[[bytes], None],
                 reset: Callable[[], None] | None = None,
                 set_baud: Callable[[int], None] | None = None,
                 idle_timeout: float | None = None,
                 logger: logging.Logger) -> None:
        self.session, self.line, self.stop = session, line, stop
        self.idle_timeout = idle_timeout
        self.read, self.write, self.reset, self.set_baud = read, write, reset, set_baud
        self.logger = logger
        self.injector = line.injector()
        self._baud = session.line_baud

    def run(self) -> None:
        last = time.monotonic()
        try:
            while not self.stop.is_set():
                data = self.read(POLL)
                if data is None:
                    silent = time.monotonic() - last
                    if self.idle_timeout is not None and silent >= self.idle_timeout:
                        self.logger.debug("[%s] idle for %.1f s: connection closed",
                                          self.session.peer, silent)
                        return
                    self.session.idle(silent)
                    self._follow_baud()
                    continue
                last = time.monotonic()
                if not data:
                    return  # EOF
                if self.injector.stalled:
                    continue  # a stalled meter swallows everything
                try:
                    frames = self.session.receive_data(data)
                except Exception:  # noqa: BLE001 - a bug must not take the line down
                    self.logger.exception("[%s] internal error; state forgotten",
                                          self.session.peer)
                    self.session.forget()
                    continue
                if not self._carry_out(frames):
                    return
                if self.session.closed:
                    return
                self._follow_baud()
        except OSError as exc:
            self.logger.debug("[%s] line closed: %s", self.session.peer, exc)
        finally:
            self.session.connection_lost()

    def _follow_baud(self) -> None:
        baud = self.session.line_baud
        if baud != self._baud and baud is not None and self.set_baud is not None:
            self.set_baud(baud)
        self._baud = baud

    def _carry_out(self, frames: list[bytes]) -> bool:
        """Write ``frames`` through the faults; False when the line must end (reset)."""
        for action in self.injector.outgoing(frames):
            if not _ACTIONS[type(action)](self, action):
                return False
        return True

    def _write_action(self, action: Write) -> bool:
        self._paced_write(action.data)
        return True

    def _pause(self, action: Pause) -> bool:
        self.stop.wait(action.seconds)
        return True

    def _reboot(self, action: Reboot) -> bool:
        self.logger.debug("[%s] fault: reboot, association forgotten", self.session.peer)
        self.session.forget()
        return True

    def _reset(self, action: Reset) -> bool:
        self.logger.debug("[%s] fault: connection reset", self.session.peer)
        if self.reset is not None:
            self.reset()
            return False
        # A serial line cannot be reset: it hangs up instead (state and counters start afresh
        # for the next client).
        self.session.forget()
        self.injector = self.line.injector()
        return True

    def _stall(self, action: Stall) -> bool:
        self.logger.debug("[%s] fault: stalled", self.session.peer)
        return True

    def _paced_write(self, data: bytes) -> None:
        deadline = None
        for chunk, seconds in pace(data, self.line.link_baud):
            self.write(chunk)
            if seconds:
                now = time.monotonic()
                deadline = (deadline if deadline is not None and deadline > now else now) + seconds
                if self.stop.wait(max(0.0, deadline - time.monotonic())):
                    return


_ACTIONS: dict[type, Callable[[_LineLoop, Any], bool]] = {
    Write: _LineLoop._write_action, Pause: _LineLoop._pause, Reboot: _LineLoop._reboot,
    Reset: _LineLoop._reset, Stall: _LineLoop._stall,
}


class Listener(ABC):
    """Base: ``start()``, ``stop()``, ``description`` (one line for the user)."""

    description = ""

    def __init__(self, server: MeterServer, line: LineOptions | None = None) -> None:
        self.server = server
        self.line = line or LineOptions()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    @property
    def logger(self) -> logging.Logger:
        return self.server.logger

    def _spawn(self, target: Callable[..., None], *args: Any, name: str) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    @abstractmethod
    def start(self) -> Listener:
        """Open the medium and start serving on background threads; returns self."""

    def stop(self) -> None:
        self._stop.set()
        self._close()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(_JOIN_TIMEOUT)

    def _close(self) -> None:
        pass


class TcpListener(Listener):
    """TCP server: IEC 62056-47 wrapper, or raw HDLC (what a serial-to-Ethernet converter in
    transparent / TCP-server mode delivers). One thread per client."""

    def __init__(self, server: MeterServer, framing: Framing, *, host: str = "127.0.0.1",
                 port: int = 0, line: LineOptions | None = None) -> None:
        super().__init__(server, line)
        self.framing = framing
        self.host, self.port = host, port
        self._socket: socket.socket | None = None
        self._clients: set[socket.socket] = set()

    @property
    def description(self) -> str:  # type: ignore[override]
        kind = "wrapper TCP" if self.framing is Framing.WRAPPER else "HDLC TCP"
        mode_e = " (IEC 62056-21 mode E opening)" if self.server.options.mode_e \
            and self.framing is Framing.HDLC else ""
        return f"{kind} listening on {self.host}:{self.port}{mode_e}"

    def start(self) -> TcpListener:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(16)
        except OSError:
            sock.close()
            raise
        self._socket = sock
        self.port = sock.getsockname()[1]
        self._spawn(self._accept_loop, name=f"sim-accept-{self.port}")
        return self

    def _accept_loop(self) -> None:
        sock = self._socket
        assert sock is not None
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([sock], [], [], POLL)
                if not ready:
                    continue
                conn, address = sock.accept()
            except (OSError, ValueError):
                if self._stop.is_set():
                    return
                continue
            if not self.server.admit():  # max_clients: no thread, no session for this one
                self.logger.debug("[%s:%s] refused: %d clients already connected", address[0],
                                  address[1], self.server.options.max_clients)
                conn.close()
                continue
            with self._lock:
                if self._stop.is_set():
                    self.server.leave()
                    conn.close()
                    return
                self._clients.add(conn)
            self._spawn(self._serve, conn, address, name=f"sim-client-{address[1]}")

    def _serve(self, conn: socket.socket, address: Any) -> None:
        peer = f"{address[0]}:{address[1]}"
        self.logger.debug("[%s] connected to %s", peer, self.description)

        def read(timeout: float) -> bytes | None:
            ready, _, _ = select.select([conn], [], [], timeout)
            if not ready:
                return None
            try:
                return conn.recv(_READ_SIZE)
            except (BlockingIOError, InterruptedError):
                return None

        idle_timeout = self.server.options.idle_timeout

        def write(data: bytes) -> None:
            # A client that stops reading must not hold its slot (or stop()) forever: the
            # answer goes out within the idle time-out or the connection is closed.
            try:
                _send_within(conn, data, idle_timeout, self._stop)
            except SendTimeout as exc:
                self.logger.debug("[%s] %s: connection closed", peer, exc)
                raise

        def reset() -> None:
            # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.setblocking(False)
            session = self.server.session(self.framing, peer)
            _LineLoop(session, self.line, self._stop, read=read, write=write,
                      reset=reset, idle_timeout=idle_timeout,
                      logger=self.logger).run()
        except OSError as exc:  # reset before the session started
            self.logger.debug("[%s] line closed: %s", peer, exc)
        finally:
            with self._lock:
                self._clients.discard(conn)
            conn.close()
            self.server.leave()
            self.logger.debug("[%s] disconnected", peer)

    def _close(self) -> None:
        with self._lock:
            clients = list(self._clients)
        for conn in clients:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._socket is not None:
            self._socket.close()


class PtyListener(Listener):
    """A pseudo-terminal pair: the simulator holds the master, a serial client opens the slave
    device (:attr:`path`). HDLC framing, optionally with the mode E opening."""

    def __init__(self, server: MeterServer, line: LineOptions | None = None) -> None:
        super().__init__(server, line)
        self._master = self._slave = -1
        self.path = ""

    @property
    def description(self) -> str:  # type: ignore[override]
        return f"HDLC pty at {self.path}"

    def start(self) -> PtyListener:
        self._master, self._slave = os.openpty()
        # Raw mode: no echo, no line editing, no CR/LF translation in either direction. The
        # slave stays open here so the master never sees a hang-up between clients.
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self._spawn(self._run, name=f"sim-pty-{os.path.basename(self.path)}")
        return self

    def _run(self) -> None:
        master = self._master
        session = self.server.session(Framing.HDLC, self.path)

        def read(timeout: float) -> bytes | None:
            ready, _, _ = select.select([master], [], [], timeout)
            return os.read(master, _READ_SIZE) if ready else None

        def write(data: bytes) -> None:
            # Non-blocking, in slices: a client that stops reading cannot hold up stop().
            view = memoryview(data)
            while view and not self._stop.is_set():
                _, ready, _ = select.select([], [master], [], POLL)
                if ready:
                    try:
                        view = view[os.write(master, view):]
                    except BlockingIOError:
                        pass

        _LineLoop(session, self.line, self._stop, read=read, write=write,
                  logger=self.logger).run()

    def stop(self) -> None:
        super().stop()
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1


class SerialListener(Listener):
    """A real serial port (pyserial), HDLC at ``baud`` in ``fmt`` (bytesize, parity, stopbits;
    default 8N1); with mode E the port starts at 300 Bd 7E1 and switches to the acknowledged
    rate in ``fmt``."""

    def __init__(self, server: MeterServer, device: str, *, baud: int = 9600,
                 fmt: tuple[int, str, float] = (8, "N", 1),
                 line: LineOptions | None = None) -> None:
        super().__init__(server, line)
        self.device, self.baud, self.fmt = device, baud, fmt
        self._port: Any = None

    @property
    def description(self) -> str:  # type: ignore[override]
        if self.server.options.mode_e:
            return f"HDLC serial on {self.device} (IEC 62056-21 mode E, 300 Bd 7E1 sign-on)"
        size, parity, stop = self.fmt
        return f"HDLC serial on {self.device} at {self.baud} Bd {size}{parity}{stop:g}"

    def start(self) -> SerialListener:
        import serial  # pyserial, only needed for a real port

        mode_e = self.server.options.mode_e
        size, parity, stop = self.fmt
        self._port = serial.Serial(
            self.device, baudrate=300 if mode_e else self.baud,
            bytesize=serial.SEVENBITS if mode_e else size,
            parity=serial.PARITY_EVEN if mode_e else parity,
            stopbits=1 if mode_e else stop, timeout=0)
        self._spawn(self._run, name=f"sim-serial-{os.path.basename(self.device)}")
        return self

    def _set_baud(self, baud: int) -> None:
        import serial

        sign_on = baud == 300 and self.server.options.mode_e
        size, parity, stop = self.fmt
        settings = {"baudrate": baud,
                    "bytesize": serial.SEVENBITS if sign_on else size,
                    "parity": serial.PARITY_EVEN if sign_on else parity,
                    "stopbits": 1 if sign_on else stop}
        try:
            self._port.flush()
            self._port.apply_settings(settings)
        except Exception as exc:  # noqa: BLE001 - termios.error on a pty, SerialException …
            self.logger.debug("[%s] line settings %s not applied: %s", self.device, settings,
                              exc)

    def _run(self) -> None:
        port = self._port
        session = self.server.session(Framing.HDLC, self.device)

        def read(timeout: float) -> bytes | None:
            ready, _, _ = select.select([port.fileno()], [], [], timeout)
            return (port.read(port.in_waiting or 1) or None) if ready else None

        _LineLoop(session, self.line, self._stop, read=read, write=port.write,
                  set_baud=self._set_baud, logger=self.logger).run()

    def stop(self) -> None:
        super().stop()
        if self._port is not None:
            self._port.close()
            self._port = None
