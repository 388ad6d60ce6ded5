"""What every live call shares of the engine's media: the media loop (and its clock), the local
address RTP binds to, the recordings folder, RTP ports, the G.711 batch, the agents' legs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aiortp.port_allocator import PortAllocator

from engine.media import MediaClock
from engine.media.loop import MediaLoop
from engine.sip.rtp_batch import RtpBatch

if TYPE_CHECKING:
    from engine.calls.agent_leg import AgentLegs


@dataclass
class MediaContext:
    """Shared media resources of the telephony service."""

    loop: MediaLoop
    local_ip: str
    recordings_dir: Path
    allocator: PortAllocator | None = None
    batch: RtpBatch | None = None  # G.711 legs converted together (lives on the media loop)
    speak: bool = True  # synthesize first_message; False plays a tone (tests, benchmarks)
    answer_after_s: float = 0.0  # ring this long before answering
    agents: AgentLegs | None = None  # the AI agent's speech pipeline answers

    @property
    def clock(self) -> MediaClock:
        return self.loop.clock


__all__ = ["MediaContext"]
