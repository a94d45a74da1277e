"""Configuration of an HDLC link, modelled on h2's ``H2Configuration``: typed options validated on
assignment and an injected logger (default: one that discards everything).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from meterreader.dlms.errors import LocalProtocolError
from meterreader.dlms.hdlc.frame import MAX_FRAME_LENGTH, MIN_FRAME_LENGTH, HdlcAddress
from meterreader.dlms.hdlc.params import HdlcParameters

T = TypeVar("T")


class DummyLogger:
    """A logger that discards everything (h2 style: ``debug`` and ``trace``, printf arguments)."""

    def debug(self, *args: Any, **kwargs: Any) -> None:
        pass

    def trace(self, *args: Any, **kwargs: Any) -> None:
        pass


class _Option(Generic[T]):
    """A config attribute checked by ``check`` on every assignment."""

    def __init__(self, check: Callable[[Any], bool], expected: str) -> None:
        self.check = check
        self.expected = expected
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> T:
        if obj is None:
            return self  # type: ignore[return-value]
        return obj.__dict__[self.name]

    def __set__(self, obj: Any, value: T) -> None:
        if not self.check(value):
            raise LocalProtocolError(
                f"HdlcConfig.{self.name} must be {self.expected}, not {value!r}")
        obj.__dict__[self.name] = value


def _is_logger(value: Any) -> bool:
    return callable(getattr(value, "debug", None)) and callable(getattr(value, "trace", None))

#: Default bound of a reassembled segmented message (bytes).
MAX_MESSAGE_SIZE = 1 << 20


class HdlcConfig:
    """Options of one :class:`~meterreader.dlms.hdlc.link.HdlcLink`.

    ``client_address`` may be None on a server only: it then accepts an SNRM from any client and
    talks to that client until the link is closed. ``parameters`` are this station's limits
    (a client's proposal, a server's maximum). ``llc`` adds/strips the LLC header
    (E6 E6 00 / E6 E7 00). ``max_frame_length`` bounds received frames (bytes between the flags).
    ``max_retries`` timeouts in a row give up the link. ``max_message_size`` bounds a message
    reassembled from segments (default 1 MiB, far above any DLMS PDU): a longer one is dropped
    with a FrameRejected. ``logger`` needs ``debug`` and ``trace``.
    """

    client_address = _Option[HdlcAddress | None](
        lambda v: v is None or (isinstance(v, HdlcAddress) and v.size == 1),
        "a one-byte HdlcAddress or None")
    server_address = _Option[HdlcAddress](lambda v: isinstance(v, HdlcAddress), "an HdlcAddress")
    parameters = _Option[HdlcParameters](lambda v: isinstance(v, HdlcParameters),
                                         "HdlcParameters")
    llc = _Option[bool](lambda v: type(v) is bool, "a bool")
    max_frame_length = _Option[int](
        lambda v: type(v) is int and MIN_FRAME_LENGTH <= v <= MAX_FRAME_LENGTH,
        f"an int {MIN_FRAME_LENGTH}..{MAX_FRAME_LENGTH}")
    max_retries = _Option[int](lambda v: type(v) is int and v >= 0, "an int >= 0")
    max_message_size = _Option[int](lambda v: type(v) is int and v >= 1, "an int >= 1")
    logger = _Option[Any](_is_logger, "an object with debug() and trace() methods")

    def __init__(self, *, server_address: HdlcAddress, client_address: HdlcAddress | None = None,
                 parameters: HdlcParameters | None = None, llc: bool = True,
                 max_frame_length: int = MAX_FRAME_LENGTH, max_retries: int = 3,
                 max_message_size: int = MAX_MESSAGE_SIZE, logger: Any = None) -> None:
        self.server_address = server_address
        self.client_address = client_address
        self.parameters = HdlcParameters() if parameters is None else parameters
        self.llc = llc
        self.max_frame_length = max_frame_length
        self.max_retries = max_retries
        self.max_message_size = max_message_size
        self.logger = DummyLogger() if logger is None else logger
