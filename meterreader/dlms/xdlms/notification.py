"""Unsolicited APDUs: EventNotificationRequest (0xC2) and DataNotification (0x0F), Green Book
ed.9 §9.3."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from meterreader.dlms.axdr import Data
from meterreader.dlms.errors import Reason

from . import _wire as w
from .common import ApduTag, CosemAttributeDescriptor, LongInvokeIdAndPriority


@dataclass(frozen=True, slots=True, kw_only=True)
class EventNotificationRequest:
    """EventNotificationRequest: optional time (OCTET STRING, normally a 12-byte date-time), the
    attribute that changed and its value."""

    TAG: ClassVar[ApduTag] = ApduTag.EVENT_NOTIFICATION_REQUEST
    time: bytes | None = None
    cosem_attribute_descriptor: CosemAttributeDescriptor
    attribute_value: Data

    def encode(self) -> bytes:
        time = b"\x00" if self.time is None else b"\x01" + w.octet_string(self.time, "time")
        return (bytes((self.TAG,)) + time + self.cosem_attribute_descriptor.encode()
                + w.data(self.attribute_value))

    @classmethod
    def decode(cls, data: bytes) -> "EventNotificationRequest":
        buf = bytes(data)
        offset = w.expect_byte(buf, 0, cls.TAG, "EventNotificationRequest tag", Reason.UNEXPECTED)
        present, offset = w.read_present(buf, offset, "time")
        time = None
        if present:
            time, offset = w.read_octet_string(buf, offset, "time")
        descriptor, offset = CosemAttributeDescriptor.decode_from(buf, offset)
        value, offset = w.read_data(buf, offset)
        w.expect_end(buf, offset, "EventNotificationRequest")
        return cls(time=time, cosem_attribute_descriptor=descriptor, attribute_value=value)


@dataclass(frozen=True, slots=True, kw_only=True)
class DataNotification:
    """Data-Notification: long-invoke-id-and-priority, date-time (OCTET STRING, empty when the
    meter sends none) and the notification body (one Data value)."""

    TAG: ClassVar[ApduTag] = ApduTag.DATA_NOTIFICATION
    long_invoke_id_and_priority: LongInvokeIdAndPriority = LongInvokeIdAndPriority()
    date_time: bytes = b""
    notification_body: Data

    def encode(self) -> bytes:
        return (bytes((self.TAG,)) + self.long_invoke_id_and_priority.encode()
                + w.octet_string(self.date_time, "date-time") + w.data(self.notification_body))

    @classmethod
    def decode(cls, data: bytes) -> "DataNotification":
        buf = bytes(data)
        offset = w.expect_byte(buf, 0, cls.TAG, "DataNotification tag", Reason.UNEXPECTED)
        liip, offset = LongInvokeIdAndPriority.decode_from(buf, offset)
        date_time, offset = w.read_octet_string(buf, offset, "date-time")
        body, offset = w.read_data(buf, offset)
        w.expect_end(buf, offset, "DataNotification")
        return cls(long_invoke_id_and_priority=liip, date_time=date_time, notification_body=body)
