"""The REFER of a blind transfer: :class:`~engine.sip.refer.Refer` that also reports the REFER's
own 2xx, and can stop listening for NOTIFYs when the call ends first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.sip.message import Response
from engine.sip.refer import Refer


class TransferRefer(Refer):
    """A :class:`Refer` that also reports the REFER's own 2xx (``on_accepted``)."""

    def __init__(self, *args: Any, on_accepted: Callable[[int], None] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_accepted = on_accepted or (lambda _status: None)

    def _on_response(self, response: Response) -> None:
        first = self.refer_status is None and 200 <= response.status < 300
        super()._on_response(response)
        if first:
            self.on_accepted(response.status)

    def give_up(self) -> None:
        """Stops following the REFER (the call ended while it was outstanding)."""
        self._done("timeout")


__all__ = ["TransferRefer"]
