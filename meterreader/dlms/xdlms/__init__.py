"""xDLMS service APDUs (Green Book ed.9 §9.3, LN referencing) as pure A-XDR codecs.

Every PDU is a frozen dataclass with ``encode() -> bytes`` and ``decode(data) -> PDU``;
:func:`decode_apdu` dispatches any APDU by its tag.
"""

from .action import (ActionRequest, ActionRequestNextPblock, ActionRequestNormal,
                     ActionRequestType, ActionRequestWithFirstPblock, ActionRequestWithList,
                     ActionRequestWithListAndFirstPblock, ActionRequestWithPblock, ActionResponse,
                     ActionResponseNextPblock, ActionResponseNormal, ActionResponseType,
                     ActionResponseWithList, ActionResponseWithOptionalData,
                     ActionResponseWithPblock)
from .apdu import ACSE_TAGS, Apdu, decode_apdu, encode_apdu
from .ciphered import (GENERAL_CIPHERED_TAGS, SERVICE_SPECIFIC_CIPHERED_TAGS, AgreedKey,
                       CipheredApdu, GeneralCiphering, GeneralSigning, IdentifiedKey, KekId, KeyId,
                       KeyInfo, KeyInfoType, WrappedKey)
from .common import (AccessSelector, ActionResult, ApduTag, CaptureObjectDefinition,
                     CosemAttributeDescriptor, CosemAttributeDescriptorWithSelection,
                     CosemMethodDescriptor, DataAccessResult, EntryDescriptor,
                     InvokeIdAndPriority, LongInvokeIdAndPriority, RangeDescriptor,
                     SelectiveAccessDescriptor)
from .datablock import DataBlockG, DataBlockSA, GetDataResult
from .errors_pdu import (SERVICE_ERROR_ENUMS, Access, ApplicationReference, ConfirmedService,
                         ConfirmedServiceError, Definition, ExceptionResponse, HardwareResource,
                         Initiate, LoadDataSet, Service, ServiceError, ServiceErrorType,
                         StateError, Task, VdeStateError)
from .gbt import GeneralBlockTransfer
from .get import (GetRequest, GetRequestNext, GetRequestNormal, GetRequestType,
                  GetRequestWithList, GetResponse, GetResponseNormal, GetResponseType,
                  GetResponseWithDatablock, GetResponseWithList)
from .notification import DataNotification, EventNotificationRequest
from .set import (SetRequest, SetRequestNormal, SetRequestType, SetRequestWithDatablock,
                  SetRequestWithFirstDatablock, SetRequestWithList,
                  SetRequestWithListAndFirstDatablock, SetResponse, SetResponseDatablock,
                  SetResponseLastDatablock, SetResponseLastDatablockWithList, SetResponseNormal,
                  SetResponseType, SetResponseWithList)

__all__ = [name for name in dir() if not name.startswith("_")
           and name not in {"action", "apdu", "ciphered", "common", "datablock", "errors_pdu",
                            "gbt", "get", "notification", "set"}]
