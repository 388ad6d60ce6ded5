"""A scripted caller for tests and benchmarks: espeak-ng lines at set times, as an RTP pcap
(G.722 wideband or G.711 A-law, 20 ms packets) and the sipp scenario that calls and plays it.

G.711 A-law is the default (G.722 needs the optional native codec, ``aiortp[g722]``). Measured
here: whisper tiny.en hears espeak-ng's "my order number is 4 2 7 1 5" right at 16 kHz but as
"... for two seven one time" after G.711's 8 kHz band limit ("two" and "five" suffer most);
"8 4 3 6 1" in the en-gb voice at 150 wpm survives it.

sipp (Debian package sip-tester) replays the pcap's RTP payloads with the pcap's timing.
"""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.speech.espeak import VoiceSettings
from engine.speech.tts import EspeakTTS

PCMA_SILENCE = 0xD5
PACKET_SAMPLES = 160  # 20 ms at 8 kHz
CALLER_VOICE = VoiceSettings(voice="en-gb", rate=150)


@dataclass(frozen=True)
class CallerLine:
    """``text`` spoken from ``at`` seconds after the call is answered."""

    at: float
    text: str


@dataclass
class CallerAudio:
    pcm: bytes  # the whole call's caller audio, 16 kHz 16-bit mono
    spans: list[tuple[float, float, str]]  # (start s, end s, text) of each line

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / 16000


def render_lines(lines: Sequence[CallerLine], tail_s: float = 3.0,
                 voice: VoiceSettings = CALLER_VOICE, language_voice: str | None = None) -> CallerAudio:
    """Speaks each line at its time (blocking); returns the audio and where each line is."""
    tts = EspeakTTS(VoiceSettings(voice=language_voice or voice.voice, rate=voice.rate,
                                  pitch=voice.pitch))
    audio = np.zeros(0, dtype="<i2")
    spans: list[tuple[float, float, str]] = []
    for line in lines:
        start = max(int(line.at * 16000), len(audio))
        speech = np.frombuffer(tts.render(line.text), dtype="<i2")
        audio = np.concatenate([audio, np.zeros(start - len(audio), dtype="<i2"), speech])
        spans.append((start / 16000, len(audio) / 16000, line.text))
    audio = np.concatenate([audio, np.zeros(int(tail_s * 16000), dtype="<i2")])
    return CallerAudio(audio.tobytes(), spans)


CODECS = {"G722": 9, "PCMA": 8}  # payload types (RFC 3551)


def write_pcap(pcm16k: bytes, path: Path, *, codec: str = "PCMA") -> Path:
    """RTP over UDP/IPv4/Ethernet in a classic pcap, one 20 ms packet per slot."""
    from aiortp.codecs.g711 import PcmaCodec
    from aiortp.codecs.g722 import G722Codec

    from engine.media.polyphase import resample

    payload_type = CODECS[codec]
    if codec == "G722":
        encoder: G722Codec | PcmaCodec = G722Codec()
        pcm, step = pcm16k, 320
    else:
        encoder, pcm, step = PcmaCodec(), resample(pcm16k, 16000, 8000), PACKET_SAMPLES
    samples = len(pcm) // 2
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for seq, offset in enumerate(range(0, samples - step + 1, step)):
        payload = encoder.encode(pcm[offset * 2:(offset + step) * 2])
        at = seq * 0.02
        rtp = struct.pack("!BBHII", 0x80, payload_type | (0x80 if seq == 0 else 0), seq & 0xFFFF,
                          (seq * PACKET_SAMPLES) & 0xFFFFFFFF, 0x5EED1234) + payload
        udp = struct.pack("!HHHH", 6000, 6002, 8 + len(rtp), 0) + rtp
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), seq & 0xFFFF, 0, 64, 17, 0,
                         bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
        ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
        frame = b"\x00" * 12 + b"\x08\x00" + ip + udp
        out += struct.pack("<IIII", int(at), round((at % 1) * 1e6) % 1_000_000, len(frame),
                           len(frame))
        out += frame
    path.write_bytes(bytes(out))
    return path


def _checksum(header: bytes) -> int:
    words: tuple[int, ...] = struct.unpack(f"!{len(header) // 2}H", header)
    total = sum(words)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def scenario(pcap: Path, seconds: float, path: Path, *, codec: str = "PCMA") -> Path:
    """sipp's uac_pcap calling, playing ``pcap``, waiting ``seconds``, then hanging up."""
    text = subprocess.run(["sipp", "-sd", "uac_pcap"], capture_output=True, text=True,
                          check=False).stdout
    start = text.index("  <!-- Play an out of band DTMF")
    end = text.index('<pause milliseconds="1000"/>', start) + len('<pause milliseconds="1000"/>')
    text = text[:start] + text[end:]
    text = text.replace("pcap/g711a.pcap", str(pcap))
    if codec == "G722":
        text = text.replace("RTP/AVP 8 101", "RTP/AVP 9 101").replace("a=rtpmap:8 PCMA/8000",
                                                                      "a=rtpmap:9 G722/8000")
    text = text.replace('<pause milliseconds="8000"/>', f'<pause milliseconds="{int(seconds * 1000)}"/>')
    path.write_text(text)
    return path
