"""Jeans, plain trousers and the pleated skirt, drawn on the 600x800 figure."""
from __future__ import annotations

import numpy as np

from .canvas import Canvas
from .people import ANK, Garment, side_pts
from .shading import BLACK, WHITE, cylx, highlight, lin, rad, scale_c, shadow_on, wave


def draw_pants(cv: Canvas, g: Garment, label: float) -> None:
    """Jeans (the product) or plain trousers (what a model wears under a top)."""
    c = g.color
    jeans = g.kind == "jeans"
    stitch = g.accent or (214, 150, 70)
    hem = ANK[1] + 2
    pants = cv.mask().poly([(236, 398), (364, 398), (368, 450), (300, 482), (232, 450)])
    legs = []
    for side in (0, 1):
        pts = side_pts(side, [(236, 398), (300, 398), (302, 478), (292, 600), (286, hem), (238, hem), (232, 600),
                              (226, 460)])
        legs.append(cv.mask().poly(pts))
        pants.poly(pts)
    hip_sh = cylx(226, 374, lo=0.82, hi=1.04, light=-0.2)
    leg_l = cylx(226, 302, lo=0.76, hi=1.05, light=-0.1)
    leg_r = cylx(298, 374, lo=0.76, hi=1.05, light=-0.1)

    # one cylinder over the hips, blending into one per leg
    def pants_shade(xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
        t = np.clip((yy - 440) / 70, 0, 1)
        per_leg = np.where(xx < 300, leg_l(xx, yy), leg_r(xx, yy))
        return (1 - t) * hip_sh(xx, yy) + t * per_leg
    tex = (wave(45, 3.2, 0.06),) if jeans else ()
    cv.paint(pants, c, pants_shade, lin(0, 398, 0, hem, 1.02, 0.9), *tex, label=label)
    for side, leg in enumerate(legs):
        if jeans:
            xc = 264 if side == 0 else 336
            highlight(cv, leg, xc, 520, 18, 70, op=0.22)
            highlight(cv, leg, xc, 660, 12, 30, op=0.15)
            for yy in (470, 482, 494):  # whiskers
                cv.paint(cv.mask().line([(xc - 14, yy), (xc + 14, yy - 8 if side == 0 else yy + 8)], 2),
                         WHITE, op=0.16, mode="atop")
            seam = side_pts(side, [(232, 430), (234, 600), (240, hem)])
            cv.paint(cv.mask().dashes(seam, 1.6, 5, 3), stitch, mode="atop")
            cv.paint(cv.mask().rect(230 if side == 0 else 310, hem - 12, 290 if side == 0 else 370, hem - 2),
                     scale_c(c, 0.85), mode="atop")
        else:
            cv.paint(cv.mask().line([(264 if side == 0 else 336, 470), (262 if side == 0 else 338, hem)], 1.5),
                     BLACK, op=0.15, mode="atop")
    shadow_on(cv, pants, 300, 520, 6, 60, op=0.25)
    wb = cv.mask().rect(234, 396, 366, 414)
    cv.paint(wb, scale_c(c, 0.96), lin(0, 396, 0, 414, 1.08, 0.9), label=label)
    if jeans:
        cv.paint(cv.mask().dashes([(236, 410), (364, 410)], 1.4, 4, 3, smooth=False), stitch, mode="atop")
        for x in (248, 286, 314, 352):  # belt loops
            cv.paint(cv.mask().rect(x - 3, 394, x + 3, 418, r=1), scale_c(c, 0.9), label=label)
        cv.paint(cv.mask().ellipse(300, 405, 5), (190, 160, 110), rad(298, 403, 5, 1.3, 0.8), label=label)
        cv.paint(cv.mask().dashes([(306, 416), (308, 450), (300, 462)], 1.6, 4, 3), stitch, mode="atop")
        for sx in (-1, 1):
            cv.paint(cv.mask().curve([(300 + sx * 58, 416), (300 + sx * 52, 436), (300 + sx * 30, 440)], 2),
                     BLACK, op=0.3, mode="atop")
    else:
        cv.paint(cv.mask().line([(300, 414), (300, 460)], 1.5), BLACK, op=0.25, mode="atop")


def draw_skirt(cv: Canvas, g: Garment, label: float) -> None:
    c = g.color
    sk = cv.mask().poly([(240, 372), (360, 372), (398, 584), (300, 590), (202, 584)])

    # a sawtooth of light across the flaring panels
    def pleats(xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
        t = np.clip((yy - 372) / 212, 0, 1)
        xl = 240 - 38 * t
        xr = 360 + 38 * t
        u = (xx - xl) / (xr - xl)
        tri = np.abs(((u * 9) % 1.0) - 0.5) * 2
        return (0.86 + 0.2 * tri).astype(np.float32)
    cv.paint(sk, c, pleats, cylx(202, 398, lo=0.85, hi=1.05), lin(0, 372, 0, 590, 1.02, 0.9), label=label)
    highlight(cv, sk, 270, 470, 14, 90, op=0.22, angle=10)
    wb = cv.mask().rect(238, 360, 362, 380, r=3)
    cv.paint(wb, scale_c(c, 0.92), lin(0, 360, 0, 380, 1.1, 0.9), label=label)
