"""The phone's audio devices through QtMultimedia.

:class:`AudioDevices` lists the inputs and outputs (``QMediaDevices``) and remembers which ones
the user chose (by device id, in QSettings), following devices as they appear and vanish.
:class:`AudioIO` moves audio between those devices and the phone's ring buffers: the
microphone (``QAudioSource`` in push mode) fills one, the speaker (``QAudioSink`` in push mode)
is fed from the other by :class:`SinkFeeder`. With no device it runs a null device: silence in,
frames discarded out. Qt wants its audio objects on the thread that made them (the GUI thread);
they only copy bytes there, and the media loop meets them only through the ring buffers.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtMultimedia import QAudioDevice, QAudioFormat, QAudioSink, QAudioSource, QMediaDevices, QtAudio

from console.phone.ring import FRAME_BYTES, SAMPLE_RATE, RingBuffer

log = logging.getLogger(__name__)

SETTINGS_KEYS = {"input": "audio/input", "output": "audio/output", "ringer": "audio/ringer"}
FEED_INTERVAL_MS = 10  # the speaker's writer tick (the GUI thread; the sink holds far more)
SINK_BUFFER_BYTES = FRAME_BYTES * 8  # 160 ms in the device: covers a busy GUI thread
SINK_TARGET_BYTES = FRAME_BYTES * 4  # keep about 80 ms queued: enough, and a short delay
SINK_LOW_BYTES = FRAME_BYTES  # below 20 ms queued and nothing to play: write silence
TONE_HZ = 440.0
TONE_SECONDS = 1.0
TONE_AMPLITUDE = 0.3
TONE_POLL_MS = 100
NO_INPUT = "No audio input device found: the phone sends silence"
NO_OUTPUT = "No audio output device found: what the phone receives is not played"
NO_DEVICES = "No audio devices found: the phone sends silence and plays nothing"


def audio_format() -> QAudioFormat:
    """48 kHz mono signed 16-bit: the leg's frames as they are."""
    fmt = QAudioFormat()
    fmt.setSampleRate(SAMPLE_RATE)
    fmt.setChannelCount(1)
    fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
    return fmt


def device_id(device: QAudioDevice) -> str:
    return bytes(device.id().data()).decode("utf-8", "replace")


class AudioDevices(QObject):
    """The audio inputs and outputs, and the chosen input, output and ringer.

    A choice is remembered by device id; ``""`` is the system default. The ``*_id`` properties
    give the device in use: the chosen one while it is present, otherwise the default (``""``
    when there is no device at all). ``changed`` fires when devices appear or vanish or a
    choice changes.

    Qt 6.11's PulseAudio backend reports devices that appear but keeps listing those that
    vanish (measured with null sinks loaded and unloaded); PulseAudio itself moves the streams
    of a vanished device to the default one, so a call goes on.
    """

    changed = Signal()

    def __init__(self, settings: QSettings | None = None, parent: QObject | None = None, *,
                 use_devices: bool = True) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings("switchboard", "console")
        self._media: QMediaDevices | None = None
        if use_devices:
            self._media = QMediaDevices(self)
            self._media.audioInputsChanged.connect(self._devices_changed)
            self._media.audioOutputsChanged.connect(self._devices_changed)
        self._inputs: list[QAudioDevice] = []
        self._outputs: list[QAudioDevice] = []
        self._scan()

    def _scan(self) -> None:
        if self._media is None:
            self._inputs, self._outputs = [], []
        else:
            self._inputs = list(QMediaDevices.audioInputs())
            self._outputs = list(QMediaDevices.audioOutputs())

    def _devices_changed(self) -> None:
        self._scan()
        self.changed.emit()

    # -- the lists -----------------------------------------------------------------------------

    def inputs(self) -> list[tuple[str, str]]:
        return [(device_id(d), d.description()) for d in self._inputs]

    def outputs(self) -> list[tuple[str, str]]:
        return [(device_id(d), d.description()) for d in self._outputs]

    def message(self) -> str | None:
        """What is missing, for the user; None when there are inputs and outputs."""
        if not self._inputs and not self._outputs:
            return NO_DEVICES
        if not self._inputs:
            return NO_INPUT
        if not self._outputs:
            return NO_OUTPUT
        return None

    # -- the choices ---------------------------------------------------------------------------

    def chosen(self, kind: str) -> str:
        """The remembered choice (``""``: the system default), present or not."""
        return str(self.settings.value(SETTINGS_KEYS[kind], "") or "")

    def choose(self, kind: str, ident: str) -> None:
        if ident != self.chosen(kind):
            self.settings.setValue(SETTINGS_KEYS[kind], ident)
            self.changed.emit()

    def _device(self, kind: str) -> QAudioDevice | None:
        devices = self._inputs if kind == "input" else self._outputs
        wanted = self.chosen(kind)
        if wanted:
            for device in devices:
                if device_id(device) == wanted:
                    return device
        if not devices:
            return None
        default = QMediaDevices.defaultAudioInput() if kind == "input" else QMediaDevices.defaultAudioOutput()
        if not default.isNull() and any(device_id(d) == device_id(default) for d in devices):
            return default
        return devices[0]

    def device(self, kind: str) -> QAudioDevice | None:
        """The device in use for ``input``, ``output`` or ``ringer``; None when there is none."""
        return self._device(kind)

    def in_use(self, kind: str) -> str:
        """The id of the device in use for ``kind`` (``""``: none)."""
        device = self._device(kind)
        return device_id(device) if device is not None else ""

    @property
    def input_id(self) -> str:
        return self.in_use("input")

    @input_id.setter
    def input_id(self, ident: str) -> None:
        self.choose("input", ident)

    @property
    def output_id(self) -> str:
        return self.in_use("output")

    @output_id.setter
    def output_id(self, ident: str) -> None:
        self.choose("output", ident)

    @property
    def ringer_id(self) -> str:
        return self.in_use("ringer")

    @ringer_id.setter
    def ringer_id(self, ident: str) -> None:
        self.choose("ringer", ident)


class SinkFeeder:
    """Feeds a device from a ring buffer. The device's ``write`` may take fewer bytes than
    offered (it is full): the remainder is offered first next time, so nothing is lost or
    reordered. When the ring is dry and the device nearly so, it writes silence."""

    def __init__(self, ring: RingBuffer, write: Callable[[bytes], int]) -> None:
        self.ring = ring
        self.write = write
        self.pending = b""
        self.bytes_played = 0
        self.silence_written = 0

    def feed(self, room: int, queued: int) -> int:
        """Offers up to ``room`` bytes (the device's free space, with ``queued`` bytes waiting
        in it); returns how many it took."""
        room = min(room, max(0, SINK_TARGET_BYTES - queued) + len(self.pending))
        room -= room % 2
        if room <= 0:
            return 0
        offer = self.pending[:room]
        if len(offer) < room:
            offer += self.ring.read(room - len(offer))
        silence = 0
        if not offer and queued < SINK_LOW_BYTES:
            silence = min(room, FRAME_BYTES)
            offer = bytes(silence)
        if not offer:
            return 0
        written = max(0, self.write(offer))
        self.pending = offer[written:]
        played = max(0, written - silence)
        self.bytes_played += played
        self.silence_written += written - played
        return written


class AudioIO(QObject):
    """The microphone into ``mic``, ``speaker`` out to the output device, while started.

    Without an input device nothing is captured (the leg sends silence); without an output
    device what arrives is discarded at the pace it comes. A device change restarts the stream
    on the new device.
    """

    message = Signal(str)  # why a device runs as the null device ("" when it does not)

    def __init__(self, devices: AudioDevices, mic: RingBuffer, speaker: RingBuffer,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.devices = devices
        self.mic = mic
        self.speaker = speaker
        self.capture = False
        self.play = False
        self.active = False
        self.source: QAudioSource | None = None
        self.sink: QAudioSink | None = None
        self._source_io: QIODevice | None = None
        self._sink_io: QIODevice | None = None
        self._input_id = ""
        self._output_id = ""
        self.feeder: SinkFeeder | None = None
        self.bytes_captured = 0
        self.bytes_discarded = 0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(FEED_INTERVAL_MS)
        self._timer.timeout.connect(self._feed)
        devices.changed.connect(self._devices_changed)

    @property
    def input_null(self) -> bool:
        return self.source is None

    @property
    def output_null(self) -> bool:
        return self.sink is None

    @property
    def bytes_played(self) -> int:
        return self.feeder.bytes_played if self.feeder is not None else 0

    def start(self, capture: bool = True, play: bool = True) -> None:
        """Opens the input (when ``capture``) and the output (when ``play``) devices."""
        self.stop()
        self.active = True
        self.capture = capture
        self.play = play
        self._open_input()
        if play:
            self._open_output()
        self._timer.start()
        self.message.emit(self.devices.message() or "")

    def stop(self) -> None:
        self.active = False
        self._timer.stop()
        self._close_input()
        self._close_output()
        self.mic.clear()
        self.speaker.clear()

    # -- the microphone ------------------------------------------------------------------------

    def _open_input(self) -> None:
        device = self.devices.device("input") if self.capture else None
        self._input_id = device_id(device) if device is not None else ""
        if device is None:
            return
        source = QAudioSource(device, audio_format(), self)
        source.setBufferSize(FRAME_BYTES * 4)
        io = source.start()
        if io is None or source.error() != QtAudio.Error.NoError:
            log.warning("cannot open the audio input %s: %s", device.description(), source.error())
            source.deleteLater()
            return
        io.readyRead.connect(self._read)
        self.source, self._source_io = source, io

    def _read(self) -> None:
        io = self._source_io
        if io is None:
            return
        data = io.readAll()
        if data.size():
            chunk = bytes(data.data())
            self.bytes_captured += len(chunk)
            self.mic.write(chunk)

    def _close_input(self) -> None:
        source, self.source, self._source_io = self.source, None, None
        if source is not None:
            source.stop()
            source.deleteLater()

    # -- the speaker ---------------------------------------------------------------------------

    def _open_output(self) -> None:
        device = self.devices.device("output")
        self._output_id = device_id(device) if device is not None else ""
        if device is None:
            return
        sink = QAudioSink(device, audio_format(), self)
        sink.setBufferSize(SINK_BUFFER_BYTES)
        io = sink.start()
        if io is None or sink.error() != QtAudio.Error.NoError:
            log.warning("cannot open the audio output %s: %s", device.description(), sink.error())
            sink.deleteLater()
            return
        self.sink, self._sink_io = sink, io
        self.feeder = SinkFeeder(self.speaker, lambda data: int(io.write(data)))

    def _feed(self) -> None:
        sink, feeder = self.sink, self.feeder
        if sink is None or feeder is None:
            self.bytes_discarded += len(self.speaker.read(len(self.speaker)))
            return
        free = sink.bytesFree()
        feeder.feed(free, max(0, sink.bufferSize() - free))

    def _close_output(self) -> None:
        sink, self.sink, self._sink_io = self.sink, None, None
        if sink is not None:
            sink.stop()
            sink.deleteLater()

    # -- devices coming and going --------------------------------------------------------------

    def _devices_changed(self) -> None:
        if not self.active:
            return
        wanted_in = self.devices.input_id if self.capture else ""
        if wanted_in != self._input_id or (self.capture and self.source is None and wanted_in):
            self._close_input()
            self._open_input()
        wanted_out = self.devices.output_id if self.play else ""
        if self.play and (wanted_out != self._output_id or (self.sink is None and wanted_out)):
            self._close_output()
            self._open_output()
        self.message.emit(self.devices.message() or "")


def tone(seconds: float = TONE_SECONDS, hz: float = TONE_HZ) -> bytes:
    """A sine at ``hz`` with 10 ms fades, as 48 kHz mono 16-bit PCM."""
    n = int(SAMPLE_RATE * seconds)
    t = np.arange(n) / SAMPLE_RATE
    wave = TONE_AMPLITUDE * np.sin(2 * math.pi * hz * t)
    fade = min(n // 2, SAMPLE_RATE // 100)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade)
        wave[:fade] *= ramp
        wave[-fade:] *= ramp[::-1]
    return (wave * 32767).astype("<i2").tobytes()


class TonePlayer(QObject):
    """Plays a short tone on an output device ("Test speaker", the ringer)."""

    finished = Signal()

    def __init__(self, devices: AudioDevices, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.devices = devices
        self.sink: QAudioSink | None = None
        self._buffer: QBuffer | None = None
        self.level = 0.0
        self._watch = QTimer(self)
        self._watch.setInterval(TONE_POLL_MS)
        self._watch.timeout.connect(self._check)

    @property
    def playing(self) -> bool:
        return self.sink is not None

    def play(self, kind: str = "output", seconds: float = TONE_SECONDS) -> bool:
        """Starts the tone on the ``output`` or ``ringer`` device; False when there is none."""
        self.stop()
        device = self.devices.device(kind)
        if device is None:
            return False
        pcm = tone(seconds)
        self._buffer = QBuffer(self)
        self._buffer.setData(QByteArray(pcm))
        self._buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        sink = QAudioSink(device, audio_format(), self)
        self.sink = sink
        self.level = TONE_AMPLITUDE / math.sqrt(2)
        sink.start(self._buffer)
        self._watch.start()
        return True

    def _check(self) -> None:
        # polled: PySide6 6.11 cannot deliver QAudioSink.stateChanged (its QAudio::State argument
        # does not convert), so the end of the tone is seen from state()
        sink = self.sink
        if sink is not None and sink.state() in (QtAudio.State.IdleState, QtAudio.State.StoppedState):
            self.stop()

    def stop(self) -> None:
        sink, self.sink = self.sink, None
        buffer, self._buffer = self._buffer, None
        self._watch.stop()
        if sink is not None:
            sink.stop()
            sink.deleteLater()
            self.level = 0.0
            self.finished.emit()
        if buffer is not None:
            buffer.close()
            buffer.deleteLater()
