"""YUV 4:2:0 frame helpers shared by the emulator's video makers: a picture is converted once
and each frame is an even-aligned crop that swscale rescales, several times faster than
resampling RGB with PIL."""

from __future__ import annotations

import av
import numpy as np
from PIL import Image


def even(value: float) -> int:
    """Nearest even integer: 4:2:0 chroma needs even sizes and offsets."""
    return 2 * round(value / 2)


def smoothstep(x: float) -> float:
    """Ease in/out so camera moves and fades start and stop gently."""
    x = min(1.0, max(0.0, x))
    return x * x * (3.0 - 2.0 * x)


def yuv420_planes(img: Image.Image) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y, U, V planes of an even-sized RGB image, as PyAV lays them out."""
    w, h = img.size
    flat = av.VideoFrame.from_image(img).reformat(format="yuv420p").to_ndarray().ravel()
    luma, chroma = w * h, w * h // 4
    return (
        flat[:luma].reshape(h, w),
        flat[luma : luma + chroma].reshape(h // 2, w // 2),
        flat[luma + chroma :].reshape(h // 2, w // 2),
    )


def crop_yuv420(planes: tuple[np.ndarray, ...], x0: int, y0: int, w: int, h: int) -> np.ndarray:
    """Crop (even x0, y0, w, h) into PyAV's packed yuv420p ndarray layout, shape (h * 3 // 2, w)."""
    y, u, v = planes
    cx, cy, cw, ch = x0 // 2, y0 // 2, w // 2, h // 2
    parts = (y[y0 : y0 + h, x0 : x0 + w], u[cy : cy + ch, cx : cx + cw], v[cy : cy + ch, cx : cx + cw])
    return np.concatenate([part.ravel() for part in parts]).reshape(h * 3 // 2, w)
