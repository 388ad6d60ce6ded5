"""What a live-call operation refuses: :class:`CallError` carries a code (``CALL_NOT_LIVE``,
``TRANSFER_IN_PROGRESS`` …), a message, and the request field at fault; the API maps codes to HTTP
statuses in one table (:mod:`engine.api.errors`)."""

from __future__ import annotations


class CallError(Exception):
    """A command, join or transfer that cannot run on this call now."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def not_live(call_id: str, status: str) -> CallError:
    return CallError("CALL_NOT_LIVE", f"call {call_id} is not live (status {status})")


def unsupported(message: str) -> CallError:
    return CallError("CONTROL_UNSUPPORTED", message)


__all__ = ["CallError", "not_live", "unsupported"]
