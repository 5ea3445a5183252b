"""Shoes on the feet of a shoe-model template.

The template shows legs and feet on a plain studio backdrop. The feet are the two lowest blobs
that differ from the backdrop (estimated per row from the image's side strips); each gets a
shoe scaled to cover it, toes pointing outwards, standing where the foot stands.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

Box = tuple[int, int, int, int]  # left, top, right, bottom
_SIDE = 0.06  # side strips that show only backdrop, as a fraction of the width
_FOOT_BAND = 0.1  # how far above the lowest foreground row a foot reaches, of the height
_HUE_DIFFERENCE = 0.04  # of chromaticity (r, g, b over their sum): skin against a studio grey


def figure_mask(template: Image.Image) -> np.ndarray:
    """True where the template's hue differs from its backdrop (a per-row colour from the
    sides). Chromaticity, not brightness: the floor shadow under the feet is backdrop too."""
    rgb = np.asarray(template.convert("RGB"), np.float32) + 1.0
    strip = max(1, round(rgb.shape[1] * _SIDE))
    backdrop = np.median(np.concatenate([rgb[:, :strip], rgb[:, -strip:]], axis=1), axis=1)
    chroma = rgb / rgb.sum(axis=-1, keepdims=True)
    backdrop_chroma = backdrop / backdrop.sum(axis=-1, keepdims=True)
    return np.abs(chroma - backdrop_chroma[:, None, :]).sum(axis=-1) > _HUE_DIFFERENCE


def find_feet(template: Image.Image) -> list[Box]:
    """The two lowest foreground blobs, left to right; [] when the template shows none."""
    mask = figure_mask(template)
    h, w = mask.shape
    rows = np.nonzero(mask.sum(axis=1) > w * 0.01)[0]
    if rows.size == 0:
        return []
    bottom = int(rows.max()) + 1
    top = max(0, bottom - round(h * _FOOT_BAND))
    columns = mask[top:bottom].any(axis=0)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], columns.astype(np.int8), [0]])))
    segments = sorted(zip(edges[::2], edges[1::2]), key=lambda seg: seg[0] - seg[1])[:2]
    if len(segments) < 2 or min(b - a for a, b in segments) < w * 0.02:
        return []
    return [(int(a), top, int(b), bottom) for a, b in sorted(segments)]


def dress_feet(template: Image.Image, shoes: list[Image.Image]) -> Image.Image | None:
    """An RGBA layer with a shoe over each foot (the first shoe image mirrored for the left
    foot when only one is given), or None when no feet were found."""
    feet = find_feet(template)
    if not feet:
        return None
    layer = Image.new("RGBA", template.size, (0, 0, 0, 0))
    for index, (left, top, right, bottom) in enumerate(feet):
        shoe = shoes[min(index, len(shoes) - 1)]
        if index == 0:
            shoe = ImageOps.mirror(shoe)  # side views face right: the left foot's toe goes left
        box = shoe.getchannel("A").getbbox() or (0, 0, *shoe.size)
        shoe = shoe.crop(box)
        width = round((right - left) * 1.9)
        height = max(1, round(shoe.height * width / shoe.width))
        fitted = shoe.resize((max(1, width), height), Image.Resampling.LANCZOS)
        centre = (left + right) / 2 + (-0.35 if index == 0 else 0.35) * (right - left)
        layer.paste(fitted, (round(centre - width / 2), bottom - height + height // 12), fitted)
    return layer
