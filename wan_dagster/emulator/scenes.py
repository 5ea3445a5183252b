"""Scenes that follow the prompt, and products placed in them, for the emulator's stills.

A reviewer looking at emulated media should see the request in them: "white studio" is a
bright seamless sweep, "marble" a veined stone counter, "wood" planks, "beach" sand under a blue
sky and sea, and colour words tint the scene. The product sits on the scene's floor with margins
around it. Painted with numpy at a fraction of the size and upscaled: smooth and cheap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

Size = tuple[int, int]

#: Colour words and the RGB they tint a scene with.
COLOURS: dict[str, tuple[int, int, int]] = {
    "white": (246, 246, 244), "black": (28, 28, 30), "grey": (128, 128, 132),
    "gray": (128, 128, 132), "red": (196, 36, 40), "scarlet": (210, 30, 36),
    "burgundy": (120, 24, 40), "pink": (236, 150, 180), "coral": (240, 120, 100),
    "orange": (236, 128, 36), "yellow": (240, 210, 60), "mustard": (210, 170, 40),
    "gold": (212, 175, 55), "golden": (222, 170, 70), "green": (60, 150, 70),
    "olive": (110, 120, 50), "teal": (30, 128, 128), "blue": (40, 90, 200),
    "navy": (30, 40, 100), "cobalt": (0, 71, 171), "purple": (120, 60, 160),
    "lavender": (180, 160, 220), "beige": (225, 205, 170), "brown": (120, 80, 45),
    "pastel": (220, 200, 230),
}


@dataclass(frozen=True)
class Surface:
    """A floor (and the wall above it) a prompt word asks for."""

    wall: tuple[int, int, int]
    floor: tuple[int, int, int]
    texture: str  # "plain", "marble", "planks", "sand", "noise", "bricks"
    horizon: float = 0.62  # where the floor begins, as a fraction of the height


SURFACES: dict[str, Surface] = {
    "studio": Surface((236, 236, 234), (226, 226, 224), "plain", horizon=0.7),
    "marble": Surface((214, 208, 200), (236, 234, 230), "marble"),
    "wood": Surface((200, 176, 146), (150, 100, 58), "planks"),
    "wooden": Surface((200, 176, 146), (150, 100, 58), "planks"),
    "oak": Surface((200, 176, 146), (170, 120, 70), "planks"),
    "walnut": Surface((180, 150, 120), (100, 64, 40), "planks"),
    "floorboards": Surface((200, 176, 146), (160, 110, 64), "planks"),
    "beach": Surface((120, 180, 230), (226, 206, 160), "sand", horizon=0.5),
    "sand": Surface((120, 180, 230), (226, 206, 160), "sand", horizon=0.5),
    "sandy": Surface((120, 180, 230), (226, 206, 160), "sand", horizon=0.5),
    "concrete": Surface((170, 170, 168), (150, 150, 148), "noise"),
    "asphalt": Surface((120, 124, 130), (70, 72, 76), "noise"),
    "brick": Surface((160, 80, 60), (120, 110, 100), "bricks"),
    "forest": Surface((60, 110, 70), (90, 80, 50), "noise", horizon=0.7),
    "pine": Surface((60, 110, 70), (90, 80, 50), "noise", horizon=0.7),
    "pool": Surface((200, 220, 230), (70, 160, 210), "noise"),
    "water": Surface((200, 220, 230), (70, 160, 210), "noise"),
}
DEFAULT_SURFACE = Surface((222, 220, 216), (206, 202, 196), "plain")
_PAINT_SIDE = 160  # painted this small, then upscaled
#: Around the product: kept in place when its margins are already this wide, else scaled.
MIN_MARGIN = 0.1
TARGET_MARGIN = 0.14


def words(prompt: str) -> list[str]:
    return re.findall(r"[a-z]+", prompt.lower())


def surface_for(prompt: str) -> Surface:
    """The first surface word in the prompt, tinted by its colour words ("white studio"
    stays white; "red studio" turns red)."""
    found = words(prompt)
    surface = next((SURFACES[w] for w in found if w in SURFACES), DEFAULT_SURFACE)
    tints = [COLOURS[w] for w in found if w in COLOURS]
    if not tints:
        return surface
    tint = np.mean(np.array(tints, dtype=np.float32), axis=0)
    mix = lambda rgb, k: tuple(int(v) for v in (1 - k) * np.array(rgb) + k * tint)  # noqa: E731
    return Surface(mix(surface.wall, 0.8), mix(surface.floor, 0.5), surface.texture,
                   surface.horizon)


def scene(prompt: str, size: Size, rng: np.random.Generator) -> Image.Image:
    """A wall over a floor as the prompt describes, lit from above, at ``size``."""
    surface = surface_for(prompt)
    scale = _PAINT_SIDE / max(size)
    w, h = max(16, round(size[0] * scale)), max(16, round(size[1] * scale))
    y = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    x = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :, None]
    wall = np.array(surface.wall, np.float32) * (1.04 - 0.12 * y)
    floor = np.array(surface.floor, np.float32) * (0.9 + 0.15 * y) * _texture(surface.texture,
                                                                              (w, h), rng)[..., None]
    blend = np.clip((y - surface.horizon) * h / 3.0 + 0.5, 0.0, 1.0)
    canvas = wall * (1 - blend) + floor * blend
    light = rng.uniform(0.35, 0.65)  # where the light falls: seeded, off centre
    canvas = canvas * (1.0 - 0.36 * (x - light) ** 2)
    small = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8), "RGB")
    return small.resize(size, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(0.6))


def _texture(kind: str, size: Size, rng: np.random.Generator) -> np.ndarray:
    """Brightness multipliers around 1 for a floor material, shape (h, w)."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    noise = rng.normal(0.0, 1.0, (h, w)).astype(np.float32)
    if kind == "marble":
        phase = x / w * 9 + y / h * 5 + 2.5 * _smooth(noise, 4)
        return 1.0 - 0.18 * np.abs(np.sin(phase)) ** 8
    if kind == "planks":
        rows = np.floor(y / max(2.0, h / 14))
        return 0.9 + 0.08 * np.sin(rows * 2.3) + 0.05 * np.sin(x / w * 60 + rows) + \
            0.03 * _smooth(noise, 1)
    if kind == "sand":
        return 1.0 + 0.04 * noise
    if kind == "bricks":
        course = np.floor(y / max(2.0, h / 16))
        mortar = (np.mod(y, max(2.0, h / 16)) < 1) | (np.mod(x + course * 4, 12) < 1)
        return np.where(mortar, 1.2, 1.0 + 0.05 * noise)
    if kind == "noise":
        return 1.0 + 0.08 * _smooth(noise, 2)
    return np.ones((h, w), np.float32)


def _smooth(noise: np.ndarray, radius: float) -> np.ndarray:
    img = Image.fromarray(((noise * 40) + 128).clip(0, 255).astype(np.uint8), "L")
    out = np.asarray(img.filter(ImageFilter.GaussianBlur(radius)), np.float32)
    return (out - 128) / 40 * 2.0


def framed(cutout: Image.Image) -> Image.Image:
    """The cutout as the service frames a product: left in place when it already has margins
    (so its opaque pixels stay bit-identical), else scaled down to ``TARGET_MARGIN`` on each
    side, centred, standing on the bottom margin."""
    alpha = cutout.getchannel("A") if cutout.mode == "RGBA" else Image.new("L", cutout.size, 255)
    box = alpha.point(lambda v: 255 if v > 8 else 0).getbbox()
    w, h = cutout.size
    if box is None:
        return cutout
    left, top, right, bottom = box
    if min(left / w, top / h, (w - right) / w, (h - bottom) / h) >= MIN_MARGIN:
        return cutout
    product = cutout.convert("RGBA").crop(box)
    fit = min(w * (1 - 2 * TARGET_MARGIN) / product.width, h * (1 - 2 * TARGET_MARGIN) / product.height)
    product = product.resize((max(1, round(product.width * fit)), max(1, round(product.height * fit))),
                             Image.Resampling.LANCZOS)
    out = Image.new("RGBA", cutout.size, (0, 0, 0, 0))
    out.paste(product, ((w - product.width) // 2, round(h * (1 - TARGET_MARGIN)) - product.height))
    return out
