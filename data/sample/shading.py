"""Colours and shading: callables (xx, yy) -> brightness factor, plus soft light and shadow spots.

Products get their volume from multiplying a flat colour by one or more of these factors.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .canvas import Canvas, Color, Mask, Shade
from .geometry import Point

WHITE: Color = (255, 255, 255)
BLACK: Color = (0, 0, 0)


def hexc(s: str) -> Color:
    s = s.lstrip("#")
    return tuple(int(s[i:i + 2], 16) for i in (0, 2, 4))


def scale_c(c: Color, k: float) -> Color:
    return tuple(min(255.0, v * k) for v in c)


def ramp(x0: float, y0: float, x1: float, y1: float, stops: Sequence[tuple[float, float]]) -> Shade:
    """Factor interpolated between ``stops`` (t, factor) along the line (x0, y0) -> (x1, y1)."""
    dx, dy = x1 - x0, y1 - y0
    L2 = dx * dx + dy * dy or 1.0
    ts = [s[0] for s in stops]
    ks = [s[1] for s in stops]

    def f(xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
        t = ((xx - x0) * dx + (yy - y0) * dy) / L2
        return np.interp(t, ts, ks).astype(np.float32)
    return f


def lin(x0: float, y0: float, x1: float, y1: float, k0: float, k1: float) -> Shade:
    return ramp(x0, y0, x1, y1, [(0, k0), (1, k1)])


def cyl(p1: Point, p2: Point, r: float, lo: float = 0.72, hi: float = 1.08, light: float = -0.35) -> Shade:
    """Cylinder shading across the axis p1->p2 (light on the left for vertical axes)."""
    (x1, y1), (x2, y2) = p1, p2
    L = math.hypot(x2 - x1, y2 - y1) or 1.0
    nx, ny = (y2 - y1) / L, -(x2 - x1) / L
    if ny > 1e-9 or (abs(ny) <= 1e-9 and nx < 0):
        nx, ny = -nx, -ny

    def f(xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
        u = ((xx - x1) * nx + (yy - y1) * ny) / r
        v = np.clip(np.abs(u - light) / (1 + abs(light)), 0, 1)
        return (hi - (hi - lo) * v ** 2.0).astype(np.float32)
    return f


def cylx(x0: float, x1: float, **kw: float) -> Shade:
    """Cylinder shading of a vertical body spanning x0..x1."""
    c = (x0 + x1) / 2
    return cyl((c, 0), (c, 1), (x1 - x0) / 2, **kw)


def rad(cx: float, cy: float, r: float, k0: float, k1: float) -> Shade:
    """Radial factor: k0 at the centre to k1 at radius ``r`` (domes, lenses, buttons)."""
    def f(xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
        t = np.clip(np.hypot(xx - cx, yy - cy) / r, 0, 1)
        return (k0 + (k1 - k0) * t ** 1.5).astype(np.float32)
    return f


def blob(cx: float, cy: float, rx: float, ry: float, angle: float = 0.0) -> Shade:
    """A soft elliptical Gaussian, 1 at the centre."""
    ca, sa = math.cos(math.radians(angle)), math.sin(math.radians(angle))

    def f(xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
        dx, dy = xx - cx, yy - cy
        u = (dx * ca + dy * sa) / rx
        v = (-dx * sa + dy * ca) / ry
        return np.exp(-(u * u + v * v) * 2.0).astype(np.float32)
    return f


def wave(angle: float, period: float, amp: float, phase: float = 0.0) -> Shade:
    """Sinusoidal ridges (ribbing, weave, knurling) running across ``angle``."""
    ca, sa = math.cos(math.radians(angle)), math.sin(math.radians(angle))

    def f(xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
        t = (xx * ca + yy * sa) / period
        return (1.0 + amp * np.sin(2 * np.pi * (t + phase))).astype(np.float32)
    return f


def _spot(cv: Canvas, m: Mask, color: Color, cx: float, cy: float, rx: float, ry: float, op: float,
          angle: float) -> None:
    r = 1.6 * max(rx, ry)  # the blob is negligible beyond this; limits the work area
    cv.paint(m, color, op=op, mode="atop", soft=blob(cx, cy, rx, ry, angle), box=(cx - r, cy - r, cx + r, cy + r))


def highlight(cv: Canvas, m: Mask, cx: float, cy: float, rx: float, ry: float, *, op: float,
              angle: float = 0.0) -> None:
    _spot(cv, m, WHITE, cx, cy, rx, ry, op, angle)


def shadow_on(cv: Canvas, m: Mask, cx: float, cy: float, rx: float, ry: float, *, op: float,
              angle: float = 0.0) -> None:
    _spot(cv, m, BLACK, cx, cy, rx, ry, op, angle)


def floor_shadow(cv: Canvas, cx: float, cy: float, rx: float, ry: float, op: float) -> None:
    m = cv.mask().rect(cx - 1.6 * rx, cy - 1.6 * ry, cx + 1.6 * rx, cy + 1.6 * ry)
    cv.paint(m, BLACK, op=op, soft=blob(cx, cy, rx, ry))
