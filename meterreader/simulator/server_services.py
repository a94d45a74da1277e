"""Answering xDLMS request events from the object model (used by :mod:`.server`).

``answer(ld, ctx, event, lock=, logger=)`` turns a ``GetRequested`` … ``ActionRequested`` event of
a server :class:`~meterreader.dlms.connection.DlmsConnection` into its response event by calling
``LogicalDevice.get/set/action`` under ``lock``. A refusal (:class:`AccessError`) becomes the
Data-Access-Result / Action-Result it carries; any other exception from the object model is
logged and answered with other-reason, so a bug never takes a client session down. With-list
requests are answered item by item, each with its own result.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, ContextManager

from meterreader.dlms import connection_events as ev
from meterreader.dlms import xdlms as x
from meterreader.dlms.axdr import Data

from .device import LogicalDevice
from .objects import AccessContext, AccessError

__all__ = ["answer"]


def _result(result: Any, kind: type) -> Any:
    """``result`` as a member of ``kind`` (DataAccessResult or ActionResult)."""
    try:
        return kind(int(result))
    except ValueError:
        return kind.OTHER_REASON


def _name(d: Any) -> str:
    member = getattr(d, "attribute_id", getattr(d, "method_id", "?"))
    return f"{d.class_id}/{d.instance_id}/{member}"


class _Services:
    def __init__(self, ld: LogicalDevice, ctx: AccessContext, lock: ContextManager[Any],
                 logger: logging.Logger) -> None:
        self.ld, self.ctx, self.lock, self.logger = ld, ctx, lock, logger

    def get(self, d: x.CosemAttributeDescriptor, selection: x.SelectiveAccessDescriptor | None
            ) -> Data | x.DataAccessResult:
        try:
            with self.lock:
                return self.ld.get(self.ctx, d.class_id, d.instance_id, d.attribute_id, selection)
        except AccessError as exc:
            self.logger.debug("GET %s refused: %s", _name(d), exc)
            return _result(exc.result, x.DataAccessResult)
        except Exception:  # noqa: BLE001 - a bug in the object model must not kill the session
            self.logger.exception("GET %s failed", _name(d))
            return x.DataAccessResult.OTHER_REASON

    def set(self, d: x.CosemAttributeDescriptor, value: Data) -> x.DataAccessResult:
        try:
            with self.lock:
                self.ld.set(self.ctx, d.class_id, d.instance_id, d.attribute_id, value)
            return x.DataAccessResult.SUCCESS
        except AccessError as exc:
            self.logger.debug("SET %s refused: %s", _name(d), exc)
            return _result(exc.result, x.DataAccessResult)
        except Exception:  # noqa: BLE001
            self.logger.exception("SET %s failed", _name(d))
            return x.DataAccessResult.OTHER_REASON

    def on_get(self, e: ev.GetRequested) -> ev.Event:
        return ev.GetResponse(invoke_id=e.invoke_id, value=self.get(e.descriptor, e.selection))

    def on_get_list(self, e: ev.GetListRequested) -> ev.Event:
        return ev.GetListResponse(invoke_id=e.invoke_id, values=tuple(
            self.get(d.cosem_attribute_descriptor, d.access_selection) for d in e.descriptors))

    def on_set(self, e: ev.SetRequested) -> ev.Event:
        return ev.SetResponse(invoke_id=e.invoke_id, result=self.set(e.descriptor, e.value))

    def on_set_list(self, e: ev.SetListRequested) -> ev.Event:
        return ev.SetListResponse(invoke_id=e.invoke_id, results=tuple(
            self.set(d.cosem_attribute_descriptor, v) for d, v in zip(e.descriptors, e.values)))

    def on_action_list(self, e: ev.ActionListRequested) -> ev.Event:
        results = []
        for d, params in zip(e.descriptors, e.parameters):
            answer = self.on_action(ev.ActionRequested(invoke_id=e.invoke_id, descriptor=d,
                                                       parameters=params))
            results.append((answer.result, answer.return_value))
        return ev.ActionListResponse(invoke_id=e.invoke_id, results=tuple(results))

    def on_action(self, e: ev.ActionRequested) -> ev.Event:
        d = e.descriptor
        try:
            with self.lock:
                value = self.ld.action(self.ctx, d.class_id, d.instance_id, d.method_id,
                                       e.parameters)
        except AccessError as exc:
            self.logger.debug("ACTION %s refused: %s", _name(d), exc)
            return ev.ActionResponse(invoke_id=e.invoke_id,
                                     result=_result(exc.as_action().result, x.ActionResult))
        except Exception:  # noqa: BLE001
            self.logger.exception("ACTION %s failed", _name(d))
            return ev.ActionResponse(invoke_id=e.invoke_id, result=x.ActionResult.OTHER_REASON)
        return ev.ActionResponse(invoke_id=e.invoke_id, result=x.ActionResult.SUCCESS,
                                 return_value=value)


_HANDLERS: dict[type, Callable[[_Services, Any], ev.Event]] = {
    ev.GetRequested: _Services.on_get,
    ev.ActionListRequested: _Services.on_action_list,
    ev.GetListRequested: _Services.on_get_list,
    ev.SetRequested: _Services.on_set,
    ev.SetListRequested: _Services.on_set_list,
    ev.ActionRequested: _Services.on_action,
}


def answer(ld: LogicalDevice, ctx: AccessContext, event: ev.Event, *, lock: ContextManager[Any],
           logger: logging.Logger) -> ev.Event | None:
    """The response event for a request event; None for events that need no answer."""
    handler = _HANDLERS.get(type(event))
    return handler(_Services(ld, ctx, lock, logger), event) if handler is not None else None
