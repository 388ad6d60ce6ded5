"""baresip as a loopback SIP phone for tests: its own config directory, SIP on a free loopback
port, auto-answer, a sine tone (the ``ausine`` source) as its microphone, the ALSA ``null``
device as its speaker, every call's received and sent audio dumped to WAV files by the
``sndfile`` module, and its ``ctrl_tcp`` control socket for commands such as ``hangup``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.harness.ports import free_port, free_udp_port
from tests.harness.processes import stop_process

requires_baresip = pytest.mark.skipif(shutil.which("baresip") is None,
                                      reason="baresip is not installed (Debian package baresip)")

SINE_HZ = 440  # ausine's default frequency
USER = "+15550199"

CONFIG = """\
poll_method		epoll
sip_listen		127.0.0.1:{sip_port}
call_local_timeout	120
call_max_calls		4
audio_player		alsa,null
audio_source		ausine,{sine_hz}
audio_alert		alsa,null
ausrc_srate		48000  # ausine runs at 48 kHz stereo only
auplay_srate		8000
ausrc_channels		2
auplay_channels		1
audio_buffer		20-160
rtp_ports		{rtp_low}-{rtp_high}
rtcp_mux		no
jitter_buffer_delay	5-10
module_path		/usr/lib/baresip/modules
module			g711.so
module			alsa.so
module			ausine.so
module			sndfile.so
module			ctrl_tcp.so
module_tmp		account.so
module_app		menu.so
snd_path		{snd_path}
ctrl_tcp_listen		127.0.0.1:{ctrl_port}
"""


class Baresip:
    """One baresip process answering calls to ``sip:USER@127.0.0.1:port`` automatically."""

    def __init__(self, root: Path, sine_hz: int = SINE_HZ) -> None:
        self.root = root
        self.sine_hz = sine_hz
        self.port = free_port()
        self.ctrl_port = free_port()
        self.dumps = root / "dumps"
        self.proc: asyncio.subprocess.Process | None = None
        self.output = bytearray()
        self._reader: asyncio.Task[None] | None = None

    def write_config(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.dumps.mkdir(exist_ok=True)
        rtp_low = free_udp_port() & ~1
        (self.root / "config").write_text(CONFIG.format(
            sip_port=self.port, sine_hz=self.sine_hz, rtp_low=rtp_low, rtp_high=rtp_low + 40,
            snd_path=self.dumps, ctrl_port=self.ctrl_port))
        (self.root / "accounts").write_text(
            f"<sip:{USER}@127.0.0.1:{self.port}>;regint=0;answermode=auto\n")
        (self.root / "contacts").write_text("")

    async def __aenter__(self) -> Baresip:
        self.write_config()
        self.proc = await asyncio.create_subprocess_exec(
            "baresip", "-f", str(self.root), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        self._reader = asyncio.create_task(self._read())
        await self.wait_output(b"baresip is ready", 10.0)
        return self

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while chunk := await self.proc.stdout.read(4096):
            self.output += chunk

    async def wait_output(self, needle: bytes, within: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while needle not in self.output:
            if loop.time() > deadline or (self.proc is not None and self.proc.returncode is not None):
                raise AssertionError(f"baresip never printed {needle!r}:\n{self.log}")
            await asyncio.sleep(0.05)

    @property
    def log(self) -> str:
        return self.output.decode(errors="replace")

    async def command(self, command: str, params: str = "") -> dict[str, object]:
        """One ctrl_tcp command (a JSON netstring) and its response."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.ctrl_port)
        try:
            body = json.dumps({"command": command, "params": params, "token": "t1"}).encode()
            writer.write(str(len(body)).encode() + b":" + body + b",")
            await writer.drain()
            while True:
                length = await asyncio.wait_for(reader.readuntil(b":"), 5.0)
                data = await reader.readexactly(int(length[:-1]) + 1)
                message = json.loads(data[:-1])
                if message.get("response"):
                    return dict(message)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None:
            await stop_process(self.proc, 5.0)
        if self._reader is not None:
            await self._reader

    def received_wav(self) -> Path:
        """The WAV of audio baresip decoded from the call (sndfile's ``-dec`` dump)."""
        found = sorted(self.dumps.glob("dump-*-dec.wav"))
        assert found, f"no sndfile dump in {self.dumps}: {list(self.dumps.iterdir())}"
        return found[-1]


def wav_mono(path: Path, channel: int = 0) -> tuple[np.ndarray, int]:
    """One channel of a 16-bit WAV as float samples, and its rate."""
    with wave.open(str(path)) as wav:
        rate, channels = wav.getframerate(), wav.getnchannels()
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return data.reshape(-1, channels)[:, channel].astype(np.float64), rate


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    """The strongest frequency of the loudest second of ``samples``."""
    window = min(len(samples), rate)
    if window < rate // 4:
        return 0.0
    energy = [np.abs(samples[i:i + window]).sum() for i in range(0, len(samples) - window + 1,
                                                                 max(1, window // 4))]
    start = int(np.argmax(energy)) * max(1, window // 4)
    chunk = samples[start:start + window] * np.hanning(window)
    spectrum = np.abs(np.fft.rfft(chunk))
    spectrum[:5] = 0  # DC
    return float(np.argmax(spectrum) * rate / window)
