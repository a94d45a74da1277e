"""Error APDUs: ExceptionResponse (0xD8) and ConfirmedServiceError (0x0E), Green Book ed.9 ASN.1."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, unique
from typing import ClassVar

from meterreader.dlms.errors import LocalProtocolError, Reason

from . import _wire as w
from .common import ApduTag


def _words(member: IntEnum) -> str:
    return member.name.lower().replace("_", "-")


# -- ExceptionResponse ---------------------------------------------------------------------------

@unique
class StateError(IntEnum):
    """ExceptionResponse state-error."""

    SERVICE_NOT_ALLOWED = 1
    SERVICE_UNKNOWN = 2

    def describe(self) -> str:
        return {StateError.SERVICE_NOT_ALLOWED: "the service is not allowed in this state "
                                                "(e.g. no association)",
                StateError.SERVICE_UNKNOWN: "the service is unknown to the meter"}[self]


@unique
class ServiceError(IntEnum):
    """ExceptionResponse service-error (a CHOICE; invocation-counter-error carries Unsigned32)."""

    OPERATION_NOT_POSSIBLE = 1
    SERVICE_NOT_SUPPORTED = 2
    OTHER_REASON = 3
    PDU_TOO_LONG = 4
    DECIPHERING_ERROR = 5
    INVOCATION_COUNTER_ERROR = 6

    def describe(self) -> str:
        return _SERVICE_WORDS[self]


_SERVICE_WORDS = {
    ServiceError.OPERATION_NOT_POSSIBLE: "the operation is not possible",
    ServiceError.SERVICE_NOT_SUPPORTED: "the service is not supported (see negotiated conformance)",
    ServiceError.OTHER_REASON: "refused for another reason",
    ServiceError.PDU_TOO_LONG: "the request is longer than the meter accepts",
    ServiceError.DECIPHERING_ERROR: "the meter could not decipher the request (keys or "
                                    "security control)",
    ServiceError.INVOCATION_COUNTER_ERROR: "the invocation counter was not accepted",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ExceptionResponse:
    """ExceptionResponse: state-error, service-error and, for invocation-counter-error only, the
    invocation counter value the meter expects (Unsigned32)."""

    TAG: ClassVar[ApduTag] = ApduTag.EXCEPTION_RESPONSE
    state_error: StateError
    service_error: ServiceError
    invocation_counter: int | None = None

    def describe(self) -> str:
        text = f"{self.state_error.describe()}; {self.service_error.describe()}"
        if self.invocation_counter is not None:
            text += f" (the meter expects invocation counter {self.invocation_counter})"
        return text

    def encode(self) -> bytes:
        out = (bytes((self.TAG,)) + w.enum_byte(self.state_error, StateError, "state-error")
               + w.enum_byte(self.service_error, ServiceError, "service-error"))
        if self.service_error == ServiceError.INVOCATION_COUNTER_ERROR:
            if self.invocation_counter is None:
                raise LocalProtocolError("invocation-counter-error needs an invocation_counter")
            return out + w.u32(self.invocation_counter, "invocation counter")
        if self.invocation_counter is not None:
            raise LocalProtocolError("invocation_counter only goes with invocation-counter-error")
        return out

    @classmethod
    def decode(cls, data: bytes) -> "ExceptionResponse":
        buf = bytes(data)
        offset = w.expect_byte(buf, 0, cls.TAG, "ExceptionResponse tag", Reason.UNEXPECTED)
        state, offset = w.read_enum(buf, offset, StateError, "state-error")
        service, offset = w.read_choice(buf, offset, ServiceError, "service-error")
        counter = None
        if service == ServiceError.INVOCATION_COUNTER_ERROR:
            counter, offset = w.read_u32(buf, offset, "invocation-counter-error")
        w.expect_end(buf, offset, "ExceptionResponse")
        return cls(state_error=state, service_error=service, invocation_counter=counter)


# -- ConfirmedServiceError -------------------------------------------------------------------------

@unique
class ConfirmedService(IntEnum):
    """The CHOICE of ConfirmedServiceError: which service failed."""

    INITIATE_ERROR = 1
    GET_STATUS = 2
    GET_NAME_LIST = 3
    GET_VARIABLE_ATTRIBUTE = 4
    READ = 5
    WRITE = 6
    GET_DATA_SET_ATTRIBUTE = 7
    GET_TI_ATTRIBUTE = 8
    CHANGE_SCOPE = 9
    START = 10
    STOP = 11
    RESUME = 12
    MAKE_USABLE = 13
    INITIATE_LOAD = 14
    LOAD_SEGMENT = 15
    TERMINATE_LOAD = 16
    INITIATE_UP_LOAD = 17
    UP_LOAD_SEGMENT = 18
    TERMINATE_UP_LOAD = 19


@unique
class ServiceErrorType(IntEnum):
    """The CHOICE of ServiceError (tags 8 and 10 are reserved)."""

    APPLICATION_REFERENCE = 0
    HARDWARE_RESOURCE = 1
    VDE_STATE_ERROR = 2
    SERVICE = 3
    DEFINITION = 4
    ACCESS = 5
    INITIATE = 6
    LOAD_DATA_SET = 7
    TASK = 9


@unique
class ApplicationReference(IntEnum):
    OTHER = 0
    TIME_ELAPSED = 1
    APPLICATION_UNREACHABLE = 2
    APPLICATION_REFERENCE_INVALID = 3
    APPLICATION_CONTEXT_UNSUPPORTED = 4
    PROVIDER_COMMUNICATION_ERROR = 5
    DECIPHERING_ERROR = 6


@unique
class HardwareResource(IntEnum):
    OTHER = 0
    MEMORY_UNAVAILABLE = 1
    PROCESSOR_RESOURCE_UNAVAILABLE = 2
    MASS_STORAGE_UNAVAILABLE = 3
    OTHER_RESOURCE_UNAVAILABLE = 4


@unique
class VdeStateError(IntEnum):
    OTHER = 0
    NO_DLMS_CONTEXT = 1
    LOADING_DATA_SET = 2
    STATUS_NOCHANGE = 3
    STATUS_INOPERABLE = 4


@unique
class Service(IntEnum):
    OTHER = 0
    PDU_SIZE = 1
    SERVICE_UNSUPPORTED = 2


@unique
class Definition(IntEnum):
    OTHER = 0
    OBJECT_UNDEFINED = 1
    OBJECT_CLASS_INCONSISTENT = 2
    OBJECT_ATTRIBUTE_INCONSISTENT = 3


@unique
class Access(IntEnum):
    OTHER = 0
    SCOPE_OF_ACCESS_VIOLATED = 1
    OBJECT_ACCESS_VIOLATED = 2
    HARDWARE_FAULT = 3
    OBJECT_UNAVAILABLE = 4


@unique
class Initiate(IntEnum):
    OTHER = 0
    DLMS_VERSION_TOO_LOW = 1
    INCOMPATIBLE_CONFORMANCE = 2
    PDU_SIZE_TOO_SHORT = 3
    REFUSED_BY_THE_VDE_HANDLER = 4


@unique
class LoadDataSet(IntEnum):
    OTHER = 0
    PRIMITIVE_OUT_OF_SEQUENCE = 1
    NOT_LOADABLE = 2
    DATASET_SIZE_TOO_LARGE = 3
    NOT_AWAITED_SEGMENT = 4
    INTERPRETATION_FAILURE = 5
    STORAGE_FAILURE = 6
    DATA_SET_NOT_READY = 7


@unique
class Task(IntEnum):
    OTHER = 0
    NO_REMOTE_CONTROL = 1
    TI_STOPPED = 2
    TI_RUNNING = 3
    TI_UNUSABLE = 4


#: ServiceError CHOICE tag -> the ENUMERATED it carries.
SERVICE_ERROR_ENUMS: dict[ServiceErrorType, type[IntEnum]] = {
    ServiceErrorType.APPLICATION_REFERENCE: ApplicationReference,
    ServiceErrorType.HARDWARE_RESOURCE: HardwareResource,
    ServiceErrorType.VDE_STATE_ERROR: VdeStateError,
    ServiceErrorType.SERVICE: Service,
    ServiceErrorType.DEFINITION: Definition,
    ServiceErrorType.ACCESS: Access,
    ServiceErrorType.INITIATE: Initiate,
    ServiceErrorType.LOAD_DATA_SET: LoadDataSet,
    ServiceErrorType.TASK: Task,
}
_ERROR_TYPE_OF = {enum: kind for kind, enum in SERVICE_ERROR_ENUMS.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfirmedServiceError:
    """ConfirmedServiceError: the failed ``service`` and the ServiceError value ``error``, a member
    of one of the ServiceError enumerations (ApplicationReference … Task); its CHOICE tag is
    ``error_type``. Sent e.g. instead of an InitiateResponse in a rejecting AARE."""

    TAG: ClassVar[ApduTag] = ApduTag.CONFIRMED_SERVICE_ERROR
    service: ConfirmedService
    error: IntEnum

    @property
    def error_type(self) -> ServiceErrorType:
        try:
            return _ERROR_TYPE_OF[type(self.error)]
        except KeyError:
            raise LocalProtocolError(
                f"ConfirmedServiceError.error must be a ServiceError enumeration, "
                f"got {self.error!r}") from None

    def describe(self) -> str:
        return (f"{_words(self.service)} failed: {_words(self.error_type)} error "
                f"{_words(self.error)}")

    def encode(self) -> bytes:
        return (bytes((self.TAG,)) + w.enum_byte(self.service, ConfirmedService, "service")
                + bytes((self.error_type, self.error)))

    @classmethod
    def decode(cls, data: bytes) -> "ConfirmedServiceError":
        buf = bytes(data)
        offset = w.expect_byte(buf, 0, cls.TAG, "ConfirmedServiceError tag", Reason.UNEXPECTED)
        service, offset = w.read_choice(buf, offset, ConfirmedService, "ConfirmedServiceError")
        kind, offset = w.read_choice(buf, offset, ServiceErrorType, "ServiceError")
        error, offset = w.read_enum(buf, offset, SERVICE_ERROR_ENUMS[kind], _words(kind))
        w.expect_end(buf, offset, "ConfirmedServiceError")
        return cls(service=service, error=error)
