"""The model's body, head and hair, and the plain studio they stand in (design space 600x800)."""
from __future__ import annotations

from itertools import pairwise

import numpy as np

from .canvas import Canvas, Color
from .geometry import Point
from .people import ANK, EL, HIP, KNEE, SH, WR, Person, side_pt, side_pts
from .shading import blob, cyl, cylx, floor_shadow, highlight, lin, rad, scale_c

PORTRAIT = (600, 800)  # model shots and shoe templates (3:4)


def studio(bg: tuple[Color, Color], shadow_y: float, shadow_rx: float, shadow_ry: float) -> Canvas:
    """A portrait canvas with a plain wall-and-floor backdrop and a soft shadow where the feet stand."""
    cv = Canvas(*PORTRAIT)
    top, bottom = np.array(bg[0], np.float32), np.array(bg[1], np.float32)
    floor = 660.0

    # separable: a vertical colour ramp times a horizontal vignette
    def f(xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
        t = np.clip(yy / floor, 0, 1)[..., None]
        wall = top + (bottom - top) * t
        fl = bottom * (0.97 + 0.04 * np.clip((yy - floor) / 140, 0, 1))[..., None]
        w = np.clip((yy - floor + 20) / 40, 0, 1)[..., None]
        vign = (1 - 0.06 * ((xx - 300) / 300) ** 2)[..., None]
        return (wall * (1 - w) + fl * w).astype(np.float32) * vign.astype(np.float32)
    cv.fill(f)
    floor_shadow(cv, 300, shadow_y, shadow_rx, shadow_ry, 0.35)
    return cv


def skin_limb(cv: Canvas, side: int, joints: tuple[Point, Point, Point], radii: tuple[float, float, float],
              skin: Color) -> list[Point]:
    """An arm or leg on ``side``: two tapered capsules through three joints; returns the placed joints."""
    pts = [side_pt(side, p) for p in joints]
    for (p1, p2), (r1, r2) in zip(pairwise(pts), pairwise(radii)):
        m = cv.mask().capsule(p1, p2, r1, r2)
        cv.paint(m, skin, cyl(p1, p2, max(r1, r2), lo=0.78, hi=1.04, light=-0.3))
    return pts


def draw_torso_and_legs(cv: Canvas, person: Person) -> None:
    for side in (0, 1):
        _, knee, ank = skin_limb(cv, side, (HIP, KNEE, ANK), (31, 21, 12), person.skin)
        calf_x = side_pt(side, (266, 640))[0]
        cv.paint(cv.mask().ellipse(calf_x, 640, 19, 42), person.skin, cyl(knee, ank, 22, lo=0.8, hi=1.04))
    pelvis = cv.mask().poly([(236, 398), (364, 398), (372, 452), (300, 480), (228, 452)])
    cv.paint(pelvis, person.skin, cylx(228, 372, lo=0.8, hi=1.03))
    torso = cv.mask().rpoly([(232, 196), (368, 196), (376, 240), (362, 340), (366, 420), (234, 420),
                             (238, 340), (224, 240)], 14)
    cv.paint(torso, person.skin, cylx(224, 376, lo=0.78, hi=1.04))
    neck = cv.mask().rect(284, 140, 316, 206, r=6)
    cv.paint(neck, person.skin, cylx(284, 316, lo=0.7, hi=1.0), lin(0, 150, 0, 200, 0.85, 1.0))
    for side in (0, 1):  # shoes
        pts = side_pts(side, [(240, 722), (278, 722), (286, 748), (280, 760), (232, 760), (228, 746)])
        cv.paint(cv.mask().rpoly(pts, 8), person.shoes, lin(0, 722, 0, 760, 1.05, 0.8))
        sx0 = 228 if side == 0 else 314
        cv.paint(cv.mask().rect(sx0 - 4, 754, sx0 + 62, 762, r=3), scale_c(person.shoes, 0.7), mode="atop")


def draw_arms(cv: Canvas, person: Person) -> None:
    for side in (0, 1):
        skin_limb(cv, side, (SH, EL, WR), (19, 15, 11), person.skin)
        hx, hy = side_pt(side, (186, 446))
        hand = cv.mask().ellipse(hx, hy, 13, 23, angle=8 if side == 0 else -8)
        cv.paint(hand, person.skin, cylx(hx - 13, hx + 13, lo=0.8, hi=1.02), lin(0, 425, 0, 470, 1.0, 0.9))


def draw_back_hair(cv: Canvas, person: Person) -> None:
    """Hair that falls behind the shoulders, drawn before the body."""
    if person.hair_style == "long":
        m = cv.mask().smooth([(262, 90), (252, 150), (244, 246), (276, 256), (324, 256), (356, 246),
                              (348, 150), (338, 90)])
    elif person.hair_style == "bob":
        m = cv.mask().smooth([(262, 90), (254, 140), (256, 172), (300, 178), (344, 172), (346, 140),
                              (338, 90)])
    else:
        return
    cv.paint(m, person.hair, lin(0, 80, 0, 250, 1.0, 0.8), cylx(244, 356, lo=0.75, hi=1.05))


def draw_head(cv: Canvas, person: Person) -> None:
    for x in (264, 336):  # ears
        cv.paint(cv.mask().ellipse(x, 118, 7, 12), scale_c(person.skin, 0.92))
    face = cv.mask().smooth([(300, 66), (330, 76), (337, 110), (331, 140), (314, 156), (300, 160),
                             (286, 156), (269, 140), (263, 110), (270, 76)])
    cv.paint(face, person.skin, rad(292, 108, 60, 1.05, 0.86))
    # features
    for x in (286, 314):
        cv.paint(cv.mask().ellipse(x, 116, 5.5, 3.6), (250, 250, 248))
        cv.paint(cv.mask().ellipse(x, 116, 3.2, 3.2), (48, 36, 30))
        cv.paint(cv.mask().curve([(x - 8, 107), (x, 104), (x + 8, 106)], 2.2), scale_c(person.hair, 0.9))
    cv.paint(cv.mask().curve([(301, 118), (298, 132), (303, 135)], 1.6), scale_c(person.skin, 0.75), op=0.8)
    cv.paint(cv.mask().ellipse(300, 144, 8.5, 3.4), person.lips, lin(0, 141, 0, 148, 0.9, 1.05))
    for x in (280, 320):
        cv.paint(face, (230, 120, 110), op=0.18, mode="atop", soft=blob(x, 132, 9, 6))
    # front hair
    if person.hair_style in ("long", "bob"):
        pts = [(262, 132), (258, 92), (276, 68), (300, 60), (324, 68), (342, 92), (338, 132), (332, 100),
               (312, 84), (290, 82), (272, 96)]
    else:  # short, bun
        pts = [(264, 112), (262, 86), (280, 64), (300, 58), (320, 64), (338, 86), (336, 112), (330, 92),
               (300, 80), (272, 92)]
    if person.hair_style == "bun":
        cv.paint(cv.mask().ellipse(300, 56, 20, 17), person.hair, rad(294, 50, 22, 1.1, 0.8))
    hm = cv.mask().smooth(pts)
    cv.paint(hm, person.hair, lin(0, 58, 0, 130, 1.1, 0.85))
    highlight(cv, hm, 286, 72, 18, 6, op=0.25, angle=-20)
