"""Audio in and out: decoding what callers send, encoding what we play or store.

Inputs accepted by speech recognition: raw 16-bit PCM (any rate), WAV, FLAC,
and 8 kHz µ-law (telephony). Everything becomes mono float32 at 16 kHz.
Outputs: 16-bit PCM, 8 kHz µ-law, and Ogg Opus or MP3 files.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

import av
import numpy as np
import numpy.typing as npt

from engines.errors import InvalidAudio

WHISPER_RATE = 16_000
MIN_RATE, MAX_RATE = 8_000, 192_000
TELEPHONY_RATE = 8_000
Samples = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Audio:
    """Mono float32 samples in [-1, 1] and their rate."""

    samples: Samples
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate if self.rate else 0.0


def resample(audio: Audio, rate: int) -> Audio:
    """Band-limited resampling (FFmpeg's resampler)."""
    if audio.rate == rate:
        return audio
    if not len(audio.samples):
        return Audio(np.zeros(0, np.float32), rate)
    frame = av.AudioFrame.from_ndarray(
        audio.samples.reshape(1, -1).astype(np.float32), format="flt", layout="mono"
    )
    frame.sample_rate = audio.rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    chunks = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return Audio(samples.astype(np.float32), rate)


def from_pcm16(data: bytes, rate: int) -> Audio:
    if len(data) % 2:
        raise InvalidAudio("16-bit PCM needs an even number of bytes")
    samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    return Audio(samples, rate)


def to_pcm16(samples: Samples) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


# G.711 µ-law, as telephony (Twilio Media Streams) sends and expects it.
_BIAS = 0x84


def _mulaw_decode_table() -> npt.NDArray[np.int16]:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign, exponent, mantissa = codes & 0x80, (codes >> 4) & 0x07, codes & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


_MULAW_TABLE = _mulaw_decode_table()


def from_mulaw(data: bytes, rate: int = TELEPHONY_RATE) -> Audio:
    pcm = _MULAW_TABLE[np.frombuffer(data, dtype=np.uint8)]
    return Audio(pcm.astype(np.float32) / 32768.0, rate)


_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])


def to_mulaw(samples: Samples) -> bytes:
    """G.711 µ-law, bit-exact with the ITU reference (14-bit magnitudes)."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int32) >> 2
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(pcm), 8159) + 0x21
    segment = np.searchsorted(_SEGMENT_ENDS, magnitude)
    code = np.where(segment > 7, 0x7F, (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F))
    return (code ^ mask).astype(np.uint8).tobytes()


def decode_file(data: bytes) -> Audio:
    """Decode a WAV, FLAC (or any FFmpeg-readable) file to mono float32."""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            stream = container.streams.audio[0]
            rate = stream.rate or WHISPER_RATE
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            chunks = [
                out.to_ndarray().reshape(-1)
                for frame in container.decode(stream)
                for out in resampler.resample(frame)
            ]
    except (av.FFmpegError, IndexError, ValueError) as exc:
        raise InvalidAudio(f"unreadable audio file: {exc}") from None
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return Audio(samples.astype(np.float32), rate)


Encoding = Literal["pcm16", "mulaw", "wav", "flac"]


def decode(data: bytes, encoding: Encoding, rate: int | None = None) -> Audio:
    """Any accepted input to mono float32 at 16 kHz, ready for Whisper."""
    if rate is not None and not MIN_RATE <= rate <= MAX_RATE:
        raise InvalidAudio(f"sample rate {rate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz")
    if encoding == "pcm16":
        if rate is None:
            raise InvalidAudio("raw PCM needs its sample rate")
        audio = from_pcm16(data, rate)
    elif encoding == "mulaw":
        audio = from_mulaw(data, rate or TELEPHONY_RATE)
    else:
        audio = decode_file(data)
    return resample(audio, WHISPER_RATE)


FILE_CODECS = {  # container -> codec, sample rate, bits a second (mono speech)
    "ogg": ("libopus", 48_000, 48_000),
    "mp3": ("libmp3lame", 44_100, 64_000),
}


def encode_file(audio: Audio, container: Literal["ogg", "mp3"]) -> bytes:
    """An Ogg Opus or MP3 file of ``audio`` (narrations)."""
    if not len(audio.samples):
        raise InvalidAudio("there is no audio to encode")
    codec, rate, bit_rate = FILE_CODECS[container]
    audio = resample(audio, rate)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as output:
        stream = output.add_stream(codec, rate=rate, layout="mono")
        assert isinstance(stream, av.AudioStream)
        stream.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(
            audio.samples.reshape(1, -1), format="flt", layout="mono"
        )
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    return buffer.getvalue()
