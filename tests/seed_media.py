"""Real media for seed-fidelity tests: audio and video of a chosen length, size and rate,
encoded with PyAV so that every decoder in the chain reads them as the service would."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np

from wan_dagster.emulator import media


def audio(seconds: float, fmt: str = "mp3", rate: int = 16000) -> bytes:
    """A quiet tone of ``seconds`` in ``fmt`` (``mp3``, ``wav`` or ``adts`` for AAC)."""
    codec, sample_format = {"mp3": ("libmp3lame", "fltp"), "wav": ("pcm_s16le", "s16"),
                            "adts": ("aac", "fltp")}[fmt]
    tone = 0.1 * np.sin(2 * np.pi * 440 * np.arange(round(seconds * rate)) / rate)
    samples = (tone * 32767).astype(np.int16) if sample_format == "s16" else tone.astype(np.float32)
    out = io.BytesIO()
    with av.open(out, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        stream.codec_context.format = sample_format
        for start in range(0, len(samples), 1152):
            chunk = np.ascontiguousarray(samples[start:start + 1152]).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format=sample_format, layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def video(seconds: float, size: tuple[int, int] = (320, 240), fps: int = 24,
          sound: bool = False) -> bytes:
    """An H.264 MP4 of ``seconds`` at ``size`` and ``fps`` (the emulator's own encoder)."""
    return media.video(first=None, last=None, width=size[0], height=size[1], duration_s=seconds,
                       fps=fps, audio=sound, seed=7)
