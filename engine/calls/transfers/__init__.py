"""Transfers of live calls: blind (REFER, or dial and bridge) and warm (consult each destination
in turn while the caller waits), started by :class:`Transfers` with a :class:`TransferContext`
of the engine's services."""

from engine.calls.transfers.attempts import Attempt, Destination
from engine.calls.transfers.base import (
    NOT_CONNECTED,
    TRANSFERRED,
    TransferBase,
    failure_cause,
    sipfrag_cause,
)
from engine.calls.transfers.blind import BlindTransfer
from engine.calls.transfers.context import (
    CallJoins,
    Lookups,
    RtpPorts,
    SipDialer,
    Target,
    TransferableCall,
    TransferContext,
)
from engine.calls.transfers.manager import Transfers, refer_allowed
from engine.calls.transfers.warm import GOODBYE, TAKE_MESSAGE, TAKE_MESSAGE_INSTRUCTION, WarmTransfer

__all__ = [
    "GOODBYE",
    "NOT_CONNECTED",
    "TAKE_MESSAGE",
    "TAKE_MESSAGE_INSTRUCTION",
    "TRANSFERRED",
    "Attempt",
    "BlindTransfer",
    "CallJoins",
    "Destination",
    "Lookups",
    "RtpPorts",
    "SipDialer",
    "Target",
    "TransferBase",
    "TransferContext",
    "TransferableCall",
    "Transfers",
    "WarmTransfer",
    "failure_cause",
    "refer_allowed",
    "sipfrag_cause",
]
