"""Point-list geometry: smooth outlines, rounded corners, mirroring and rotation."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Point = tuple[float, float]
Points = Sequence[Point]


def spline(pts: Points, closed: bool = True, n: int = 10) -> list[Point]:
    """Catmull-Rom spline through ``pts``, ``n`` points per segment: a smooth outline from a few knots."""
    P = np.asarray(pts, dtype=float)
    if closed:
        E = np.vstack([P[-1], P, P[0], P[1]])
    else:
        E = np.vstack([P[0], P, P[-1]])
    t = np.linspace(0.0, 1.0, n, endpoint=False)[None, :, None]
    p0, p1, p2, p3 = (E[k:len(E) - 3 + k][:, None, :] for k in range(4))
    out = 0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                 + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3)
    out = out.reshape(-1, 2)
    if not closed:
        out = np.vstack([out, P[-1:]])
    return [(float(x), float(y)) for x, y in out]


def round_corners(pts: Points, r: float | Sequence[float]) -> list[Point]:
    """Polygon with every corner replaced by a quadratic curve of size ``r`` (one per corner, or one for all)."""
    out = []
    m = len(pts)
    for i in range(m):
        v = np.asarray(pts[i], float)
        a = np.asarray(pts[i - 1], float)
        b = np.asarray(pts[(i + 1) % m], float)
        rr = r[i] if isinstance(r, (list, tuple)) else r
        da, db = a - v, b - v
        la, lb = np.hypot(*da), np.hypot(*db)
        rr = min(rr, la * 0.5, lb * 0.5)
        p0 = v + da / la * rr
        p2 = v + db / lb * rr
        for t in np.linspace(0, 1, 6):
            q = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * v + t * t * p2
            out.append((float(q[0]), float(q[1])))
    return out


def flip_x(pts: Points, cx: float) -> list[Point]:
    """Mirror image of ``pts`` at the vertical line x = ``cx``."""
    return [(2 * cx - x, y) for x, y in pts]


def mirror(right: Points, cx: float) -> list[Point]:
    """Right half of an outline (top to bottom) -> the whole outline, symmetric about x = ``cx``."""
    return list(right) + flip_x(list(reversed(right)), cx)


def ellipse_pts(cx: float, cy: float, rx: float, ry: float, angle: float = 0.0, n: int = 72,
                a0: float = 0.0, a1: float = 360.0) -> list[Point]:
    ca, sa = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    out = []
    for t in np.linspace(math.radians(a0), math.radians(a1), n):
        x, y = rx * math.cos(t), ry * math.sin(t)
        out.append((cx + x * ca - y * sa, cy + x * sa + y * ca))
    return out


def rotate(pts: Points, angle: float, c: Point) -> list[Point]:
    ca, sa = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    return [(c[0] + (x - c[0]) * ca - (y - c[1]) * sa, c[1] + (x - c[0]) * sa + (y - c[1]) * ca)
            for x, y in pts]


def seg_quad(p1: Point, p2: Point, r1: float, r2: float) -> list[Point]:
    """Quadrilateral around the segment p1-p2, half-width ``r1`` at p1 and ``r2`` at p2 (a tapered limb)."""
    (x1, y1), (x2, y2) = p1, p2
    L = math.hypot(x2 - x1, y2 - y1) or 1.0
    nx, ny = -(y2 - y1) / L, (x2 - x1) / L
    return [(x1 + nx * r1, y1 + ny * r1), (x2 + nx * r2, y2 + ny * r2),
            (x2 - nx * r2, y2 - ny * r2), (x1 - nx * r1, y1 - ny * r1)]


def along(p1: Point, p2: Point, t: float) -> Point:
    return (p1[0] + (p2[0] - p1[0]) * t, p1[1] + (p2[1] - p1[1]) * t)
