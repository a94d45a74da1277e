"""TCP transport: IEC 62056-47 wrapper or raw HDLC through a serial-to-Ethernet converter."""

from __future__ import annotations

import errno
import os
import select
import socket
import threading
import time

from meterreader.transport.base import (
    POLL_INTERVAL,
    Cancelled,
    CancelToken,
    ConnectionFailed,
    ConnectionLost,
    Transport,
)

_RECV_SIZE = 65536

# errno → wording used in ConnectionFailed messages.
_CONNECT_ERRORS: dict[int, str] = {
    errno.ECONNREFUSED: "connection refused",
    errno.ETIMEDOUT: "connection timed out",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.EADDRNOTAVAIL: "address not available",
    errno.ECONNRESET: "connection reset by peer",
}


def _format_target(host: str, port: int) -> str:
    return f"TCP [{host}]:{port}" if ":" in host else f"TCP {host}:{port}"


def _connect_reason(err: int) -> str:
    return _CONNECT_ERRORS.get(err) or f"{errno.errorcode.get(err, err)} ({os.strerror(err)})"


AddrInfo = tuple[int, int, int, str, tuple]


def resolve(host: str, port: int, *, timeout: float = 5.0,
            cancel: CancelToken | None = None) -> list[AddrInfo]:
    """``getaddrinfo`` for a TCP ``host``, bounded and cancellable: a numeric address resolves at
    once; a name is looked up on a helper thread (the system resolver can block for tens of
    seconds and cannot be interrupted) that is abandoned after ``timeout`` seconds or a cancel.

    Raises :class:`ConnectionFailed` ("cannot resolve host …") or :class:`Cancelled`."""
    target = _format_target(host, port)
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                  flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError):
        pass  # a name: look it up below
    box: dict[str, object] = {}
    done = threading.Event()

    def lookup() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            box["error"] = exc
        done.set()

    threading.Thread(target=lookup, name=f"resolve {host}", daemon=True).start()
    deadline = time.monotonic() + max(0.0, timeout)
    while not done.wait(min(POLL_INTERVAL, max(0.0, deadline - time.monotonic()))):
        if cancel is not None and cancel.cancelled:
            raise Cancelled(f"resolving {host} cancelled")
        if time.monotonic() >= deadline:
            raise ConnectionFailed(f"{target}: cannot resolve host (no answer from the name "
                                   f"service within {timeout:.1f} s)")
    if "error" in box:
        raise ConnectionFailed(f"{target}: cannot resolve host ({box['error']})")
    return box["infos"]  # type: ignore[return-value]


class TcpTransport(Transport):
    """A TCP client socket with TCP_NODELAY; connect and read are cancellable.

    ``host`` may be a name, an IPv4 or an IPv6 address; every address ``getaddrinfo`` returns is
    tried in turn within the overall ``connect_timeout``. ``write_timeout`` bounds a write the
    peer does not drain.
    """

    def __init__(self, host: str, port: int, *, connect_timeout: float = 5.0,
                 write_timeout: float = 10.0) -> None:
        super().__init__()
        if not 0 < port < 65536:
            raise ValueError(f"TCP port out of range: {port}")
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.write_timeout = write_timeout
        self._sock: socket.socket | None = None

    @property
    def description(self) -> str:
        return _format_target(self.host, self.port)

    # -- open / close -----------------------------------------------------------------------------

    def _open(self, cancel: CancelToken | None) -> None:
        target = self.description
        deadline = time.monotonic() + self.connect_timeout
        infos = resolve(self.host, self.port, timeout=self.connect_timeout, cancel=cancel)
        reason = "no address"
        for family, kind, proto, _name, address in infos:
            sock = socket.socket(family, kind, proto)
            try:
                err = self._connect(sock, address, deadline, cancel)
            except BaseException:
                sock.close()
                raise
            if err == 0:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._sock = sock
                return
            sock.close()
            reason = _connect_reason(err)
            if err == errno.ETIMEDOUT and time.monotonic() >= deadline:
                reason = f"no connection within {self.connect_timeout:.1f} s"
                break
        raise ConnectionFailed(f"{target}: {reason}")

    def _connect(self, sock: socket.socket, address: tuple, deadline: float,
                 cancel: CancelToken | None) -> int:
        """Non-blocking connect polled in slices; return 0 or an errno (ETIMEDOUT at deadline)."""
        sock.setblocking(False)
        err = sock.connect_ex(address)
        if err == 0:
            return 0
        if err not in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN, errno.EALREADY):
            return err
        while True:
            if cancel is not None and cancel.cancelled:
                raise Cancelled(f"connecting to {self.description} cancelled")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return errno.ETIMEDOUT
            _r, writable, failed = select.select([], [sock], [sock],
                                                 min(POLL_INTERVAL, remaining))
            if writable or failed:
                return sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)

    def _close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    # -- bytes ------------------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        sock = self._live_socket()
        view = memoryview(data)
        deadline = time.monotonic() + self.write_timeout
        while view:
            try:
                sent = sock.send(view)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                raise self._lost(exc) from None
            view = view[sent:]
            if not view:
                return
            if self._cancel is not None and self._cancel.cancelled:
                raise Cancelled(f"write to {self.description} cancelled")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConnectionLost(f"{self.description}: peer does not accept data "
                                     f"(write stalled for {self.write_timeout:.1f} s)")
            select.select([], [sock], [], min(POLL_INTERVAL, remaining))

    def _read_some(self, wait: float) -> bytes:
        sock = self._live_socket()
        try:
            readable, _w, _x = select.select([sock], [], [], wait)
            if not readable:
                return b""
            data = sock.recv(_RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return b""
        except (OSError, ValueError) as exc:
            raise self._lost(exc) from None
        if not data:
            raise ConnectionLost(f"{self.description}: peer closed the connection")
        return data

    def _live_socket(self) -> socket.socket:
        if self._sock is None:
            raise ConnectionLost(f"{self.description}: not open")
        return self._sock

    def _lost(self, exc: BaseException) -> ConnectionLost:
        if isinstance(exc, ConnectionResetError):
            return ConnectionLost(f"{self.description}: connection reset by peer")
        if isinstance(exc, (BrokenPipeError, ConnectionAbortedError)):
            return ConnectionLost(f"{self.description}: peer closed the connection")
        return ConnectionLost(f"{self.description}: {exc}")
