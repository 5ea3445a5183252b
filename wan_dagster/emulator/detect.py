"""Synchronous detect models (face-detect, aa-detect): a direct answer, no task.

Each detector answers in its own documented shape (they differ: ``check_pass``, ``pass``,
bare bounding boxes). The emulator always passes the check and places the boxes around the
image's centre, so a pipeline can carry them into the generation request that follows.
"""

from __future__ import annotations

from typing import Any, Callable

from PIL import Image

#: ``ratio`` parameter → width/height of the extended box.
_RATIOS = {"1:1": 1.0, "3:4": 3 / 4}


def _boxes(image: Image.Image, ratio: str) -> tuple[list[int], list[int]]:
    """A face box in the upper middle and an extended box of ``ratio`` around it."""
    w, h = image.size
    side = min(w, h) // 3
    cx, cy = w // 2, h // 3
    face = [cx - side // 2, cy - side // 2, cx + side // 2, cy + side // 2]
    ext_h = min(h, 3 * side)
    ext_w = min(w, round(ext_h * _RATIOS.get(ratio, 1.0)))
    left, top = max(0, cx - ext_w // 2), max(0, cy - ext_h // 2)
    return face, [left, top, left + ext_w, top + ext_h]


def _emo(image: Image.Image, parameters: dict[str, Any]) -> dict[str, Any]:
    face, ext = _boxes(image, parameters.get("ratio", "1:1"))
    return {"check_pass": True, "face_bbox": face, "ext_bbox": ext}


def _emoji(image: Image.Image, parameters: dict[str, Any]) -> dict[str, Any]:
    face, ext = _boxes(image, "1:1")
    return {"bbox_face": face, "ext_bbox_face": ext}


_OUTPUTS: dict[str, Callable[[Image.Image, dict[str, Any]], dict[str, Any]]] = {
    "wan2.2-s2v-detect": lambda image, p: {"check_pass": True, "humanoid": True},
    "animate-anyone-detect-gen2": lambda image, p: {"check_pass": True, "bodystyle": "full"},
    "emo-detect-v1": _emo,
    "liveportrait-detect": lambda image, p: {"pass": True, "message": ""},
    "emoji-detect-v1": _emoji,
}


def detect_output(model: str, image: Image.Image, parameters: dict[str, Any]) -> dict[str, Any]:
    """The ``output`` of a passed check; models without a documented shape say ``check_pass``."""
    make = _OUTPUTS.get(model, lambda image, p: {"check_pass": True})
    return make(image, parameters)
