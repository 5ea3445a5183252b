"""Camera moves that follow a video prompt's motion words.

"zoom in" / "push-in" and "zoom out" / "pull back" scale the picture; "pan left" / "pan right"
(and "glide", "dolly", "sweep", "track" across) slide it; "360", "turntable", "rotate",
"orbit", "turn", "spin" turn the subject around its vertical axis; "static" keeps the camera
still. With no motion word the camera pushes in slowly, as image-to-video models tend to.
Zooms and pans are crops of one YUV 4:2:0 copy of the picture, rescaled by swscale: fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

import av
import numpy as np
from PIL import Image, ImageFilter, ImageOps

from .yuv import crop_yuv420, even, smoothstep, yuv420_planes

Size = tuple[int, int]
ZOOM = 1.25  # how far a zoom goes
PAN = 0.25  # how far a pan travels, as a fraction of the frame width


@dataclass(frozen=True)
class Move:
    kind: str  # "zoom", "pan", "turn" or "static"
    amount: float = 1.0  # zoom: +1 in, -1 out; pan: +1 right, -1 left; turn: turns (1 = 360°)


def move_for(prompt: str) -> Move:
    text = prompt.lower()
    if re.search(r"\bstatic\b|\bstill camera\b|\blocked[- ]off\b", text):
        return Move("static", 0.0)
    if re.search(r"360|turntable|rotat|orbit|\bturn|\bspin", text):
        return Move("turn", 0.5 if re.search(r"180|half", text) else 1.0)
    if re.search(r"zoom(ing)? out|pull(s|ing)?[- ](back|out)|dolly[- ]out", text):
        return Move("zoom", -1.0)
    if re.search(r"zoom|push(es|ing)?[- ]in|dolly[- ]in|close[- ]up", text):
        return Move("zoom", 1.0)
    if re.search(r"pan(s|ning)? left|to the left|right to left", text):
        return Move("pan", -1.0)
    if re.search(r"\bpan|glide|dolly|sweep|track|slide|left to right|toe to heel", text):
        return Move("pan", 1.0)
    return Move("zoom", 0.5)


def frames(picture: Image.Image, size: Size, count: int, move: Move) -> Iterator[av.VideoFrame]:
    """``count`` frames of ``picture`` filmed with ``move`` at ``size``."""
    if move.kind == "turn":
        yield from _turn(picture, size, count, move.amount)
        return
    margin = {"zoom": ZOOM, "pan": 1.0 + PAN}.get(move.kind, 1.0)
    source = ImageOps.fit(picture.convert("RGB"), (even(size[0] * margin), even(size[1] * margin)),
                          Image.Resampling.LANCZOS)
    planes = yuv420_planes(source)
    sh, sw = planes[0].shape
    for i in range(count):
        t = smoothstep(i / (count - 1)) if count > 1 else 0.0
        if move.kind == "zoom":  # level 1 shows the whole source, ZOOM its centre
            progress = t if move.amount > 0 else 1.0 - t
            level = 1.0 + (ZOOM - 1.0) * abs(move.amount) * progress
            bw, bh = even(sw / level), even(sh / level)
            x0, y0 = even((sw - bw) / 2), even((sh - bh) / 2)
        else:  # a pan right slides the window right, so the content moves left
            bw, bh = even(sw / margin), even(sh / margin)
            where = 0.5 if move.kind == "static" else t if move.amount > 0 else 1.0 - t
            x0, y0 = even((sw - bw) * where), even((sh - bh) / 2)
        bw, bh = min(bw, sw - x0), min(bh, sh - y0)
        crop = av.VideoFrame.from_ndarray(crop_yuv420(planes, x0, y0, bw, bh), format="yuv420p")
        yield crop.reformat(width=size[0], height=size[1], interpolation="BILINEAR")


def _turn(picture: Image.Image, size: Size, count: int, turns: float) -> Iterator[av.VideoFrame]:
    """The picture spins about its vertical axis in front of a blurred copy of itself: its
    width follows |cos| and it shows mirrored while its back faces the camera. Squeezed by
    swscale and pasted plane by plane in YUV, so a frame costs about what a zoom frame does."""
    front = ImageOps.fit(picture.convert("RGB"), size, Image.Resampling.LANCZOS)
    faces = [av.VideoFrame.from_image(face) for face in (front, ImageOps.mirror(front))]
    behind = yuv420_planes(front.resize((max(1, size[0] // 8), max(1, size[1] // 8))).filter(
        ImageFilter.GaussianBlur(3)).resize(size, Image.Resampling.BILINEAR))
    w, h = size
    for i in range(count):
        angle = 2 * np.pi * turns * (smoothstep(i / (count - 1)) if count > 1 else 0.0)
        width = min(w, max(2, even(w * abs(float(np.cos(angle))))))
        face = faces[0 if np.cos(angle) >= 0 else 1].reformat(width=width, height=h,
                                                                 format="yuv420p")
        packed = face.to_ndarray().ravel()
        x0 = even((w - width) / 2)
        planes = [plane.copy() for plane in behind]
        luma, chroma = width * h, width * h // 4
        planes[0][:, x0:x0 + width] = packed[:luma].reshape(h, width)
        planes[1][:, x0 // 2:(x0 + width) // 2] = packed[luma:luma + chroma].reshape(h // 2, width // 2)
        planes[2][:, x0 // 2:(x0 + width) // 2] = packed[luma + chroma:].reshape(h // 2, width // 2)
        frame = np.concatenate([plane.ravel() for plane in planes]).reshape(h * 3 // 2, w)
        yield av.VideoFrame.from_ndarray(frame, format="yuv420p")
