"""Accessory cutouts (design space 640x640)."""
from __future__ import annotations

import math

import numpy as np

from .canvas import Canvas, Color
from .geometry import flip_x, seg_quad
from .shading import BLACK, WHITE, cylx, highlight, lin, rad, ramp, scale_c, wave


def draw_wallet(cv: Canvas, leather: Color) -> None:
    body = cv.mask().rect(80, 170, 560, 470, r=22)
    cv.paint(body, leather, lin(0, 170, 0, 470, 1.05, 0.85), cylx(80, 560, lo=0.92, hi=1.04))
    cards = [(60, 110, 180), (220, 170, 60), (40, 150, 120), (200, 60, 70), (240, 240, 235), (90, 90, 100)]
    for half, x0 in enumerate((104, 336)):
        for i, y in enumerate((222, 280, 338)):
            c = cards[half * 3 + i]
            cv.paint(cv.mask().rect(x0 + 14, y - 22, x0 + 186, y + 10, r=6), c,
                     lin(0, y - 22, 0, y, 1.15, 0.9), mode="atop")
            pocket = cv.mask().rpoly([(x0, y), (x0 + 200, y - 6), (x0 + 200, 450), (x0, 450)], 8)
            cv.paint(pocket, scale_c(leather, 1.04 - 0.04 * i), lin(0, y, 0, y + 60, 1.1, 0.92),
                     mode="atop")
            cv.paint(cv.mask().line([(x0, y), (x0 + 200, y - 6)], 3), scale_c(leather, 0.6), mode="atop")
            cv.paint(cv.mask().dashes([(x0 + 8, y + 10), (x0 + 192, y + 4)], 1.6, 5, 4, smooth=False),
                     (225, 200, 165), mode="atop", op=0.8)
    cv.paint(cv.mask().rect(300, 170, 340, 470), BLACK, op=0.35, mode="atop",
             soft=lambda xx, yy: np.exp(-((xx - 320) / 14) ** 2))
    cv.paint(cv.mask().dashes([(96, 186), (544, 186), (544, 454), (96, 454), (96, 186)], 1.8, 6, 4,
                              smooth=False), (225, 200, 165), mode="atop", op=0.8)
    highlight(cv, body, 200, 200, 120, 30, op=0.2)


def draw_sunglasses(cv: Canvas, frame: Color = (120, 70, 30), lens: Color = (40, 50, 45), seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    lens_l = [(108, 262), (292, 256), (290, 330), (262, 398), (150, 404), (112, 350)]
    lens_r = flip_x(lens_l, 320)
    fr = cv.mask()
    for L in (lens_l, lens_r):
        cx = sum(p[0] for p in L) / len(L)
        cy = sum(p[1] for p in L) / len(L)
        big = [(cx + (x - cx) * 1.16, cy + (y - cy) * 1.2) for x, y in L]
        fr.rpoly(big, 40)
    fr.rect(60, 230, 580, 262, r=12)  # brow bar
    fr.arc(320, 282, 40, 26, 200, 340, 16)
    fr.poly([(60, 236), (40, 250), (44, 272), (86, 262)])
    fr.poly([(580, 236), (600, 250), (596, 272), (554, 262)])
    cv.paint(fr, frame, lin(0, 230, 0, 420, 1.15, 0.8))
    for _ in range(70):  # tortoiseshell spots
        x, y = rng.uniform(50, 590), rng.uniform(225, 430)
        rx, ry = rng.uniform(6, 22), rng.uniform(4, 12)
        cv.paint(cv.mask().ellipse(x, y, rx, ry, angle=float(rng.uniform(0, 180))),
                 (50, 26, 12) if rng.random() < 0.7 else (200, 140, 60), mode="atop",
                 op=float(rng.uniform(0.45, 0.85)))
    for L in (lens_l, lens_r):
        lm = cv.mask().rpoly(L, 36)
        cv.paint(lm, lens, lin(0, 250, 0, 404, 0.7, 1.5), mode="atop")
        x0 = min(p[0] for p in L)
        cv.paint(lm, WHITE, op=0.35, mode="atop",
                 soft=lambda xx, yy, x0=x0: np.exp(-(((xx - x0 - 60) + (yy - 300) * 0.6) / 18) ** 2))
        cv.paint(lm, WHITE, op=0.18, mode="atop",
                 soft=lambda xx, yy, x0=x0: np.exp(-(((xx - x0 - 130) + (yy - 300) * 0.6) / 8) ** 2))
    highlight(cv, fr, 200, 238, 120, 6, op=0.4)
    highlight(cv, fr, 440, 238, 120, 6, op=0.4)


def draw_watch(cv: Canvas, dial: Color = (24, 40, 84), strap: Color = (110, 60, 34),
               steel: Color = (200, 204, 210)) -> None:
    cx, cy = 320, 320
    for y0, y1 in ((70, 230), (410, 590)):
        st = cv.mask().rpoly([(262, y0), (378, y0), (372, y1), (268, y1)], 14)
        cv.paint(st, strap, cylx(262, 378, lo=0.75, hi=1.05), lin(0, y0, 0, y1, 1.0, 0.92))
        cv.paint(cv.mask().dashes([(276, y0 + 10), (276, y1 - 10)], 1.6, 5, 4, smooth=False) |
                 cv.mask().dashes([(364, y0 + 10), (364, y1 - 10)], 1.6, 5, 4, smooth=False),
                 (235, 215, 190), mode="atop", op=0.85)
    for y in (470, 505, 540):
        cv.paint(cv.mask().ellipse(320, y, 6, 8), (40, 22, 12), mode="atop")
    for sx in (-1, 1):  # lugs
        for sy in (-1, 1):
            cv.paint(cv.mask().rect(cx + sx * 58 - 14, cy + sy * 110 - 20, cx + sx * 58 + 14,
                                    cy + sy * 110 + 20, r=5), steel, lin(0, 200, 0, 440, 1.15, 0.75))
    cv.paint(cv.mask().rect(436, 306, 462, 334, r=5), steel, wave(90, 4, 0.15))
    case = cv.mask().ellipse(cx, cy, 124)
    cv.paint(case, steel, ramp(200, 200, 440, 440, [(0, 1.2), (0.45, 0.85), (0.6, 1.1), (1, 0.7)]))
    cv.paint(cv.mask().ellipse(cx, cy, 110), scale_c(steel, 0.8), rad(cx, cy, 110, 1.0, 1.25), mode="atop")
    dm = cv.mask().ellipse(cx, cy, 102)
    ang = lambda xx, yy: (1 + 0.05 * np.sin(24 * np.arctan2(yy - cy, xx - cx))).astype(np.float32)
    cv.paint(dm, dial, ang, rad(cx, cy, 102, 1.3, 0.8), mode="atop")
    for i in range(12):
        a = math.radians(i * 30 - 90)
        long_ = i % 3 == 0
        p1 = (cx + math.cos(a) * 92, cy + math.sin(a) * 92)
        p2 = (cx + math.cos(a) * (70 if long_ else 80), cy + math.sin(a) * (70 if long_ else 80))
        cv.paint(cv.mask().line([p1, p2], 7 if long_ else 4, caps=False), (235, 235, 238), mode="atop")
    cv.paint(cv.mask().rect(372, 312, 392, 328), (245, 245, 240), mode="atop")
    cv.paint(cv.mask().line([(380, 316), (384, 324)], 2), (30, 30, 30), mode="atop")
    for ang_deg, length, w in ((-50, 52, 8), (40, 80, 5)):
        a = math.radians(ang_deg)
        tip = (cx + math.cos(a) * length, cy + math.sin(a) * length)
        cv.paint(cv.mask().poly(seg_quad((cx - math.cos(a) * 12, cy - math.sin(a) * 12), tip, w / 2, 1.2)),
                 (240, 240, 242), mode="atop")
    a = math.radians(150)
    cv.paint(cv.mask().line([(cx - math.cos(a) * 20, cy - math.sin(a) * 20),
                             (cx + math.cos(a) * 92, cy + math.sin(a) * 92)], 2), (220, 50, 40), mode="atop")
    cv.paint(cv.mask().ellipse(cx, cy, 7), (230, 230, 232), mode="atop")
    highlight(cv, case, 270, 265, 70, 30, op=0.22, angle=-40)


def draw_cap(cv: Canvas, color: Color) -> None:
    brim_under = cv.mask().smooth([(170, 392), (90, 410), (44, 440), (90, 462), (200, 450), (300, 425)])
    cv.paint(brim_under, scale_c(color, 0.62))
    crown = cv.mask().smooth([(150, 410), (160, 300), (228, 212), (330, 178), (440, 200), (512, 268),
                              (536, 360), (534, 420), (340, 425)])
    cv.paint(crown, color, lin(0, 180, 0, 425, 1.1, 0.82), cylx(150, 536, lo=0.82, hi=1.05, light=-0.3))
    for pts in ([(330, 180), (270, 260), (240, 410)], [(330, 180), (380, 280), (400, 420)],
                [(330, 180), (460, 260), (520, 400)]):
        cv.paint(cv.mask().curve(pts, 3), scale_c(color, 0.7), mode="atop")
        cv.paint(cv.mask().dashes([(x + 8, y) for x, y in pts], 1.6, 5, 4), scale_c(color, 1.3),
                 mode="atop", op=0.7)
    for (x, y) in ((290, 245), (420, 245)):
        cv.paint(cv.mask().ellipse(x, y, 6), scale_c(color, 0.5), mode="atop")
    cv.paint(cv.mask().ellipse(330, 180, 14, 8), scale_c(color, 0.9), lin(0, 172, 0, 188, 1.2, 0.8))
    cv.paint(cv.mask().rpoly([(258, 318), (322, 304), (330, 340), (266, 354)], 6), (245, 240, 228),
             mode="atop")
    cv.paint(cv.mask().line([(272, 332), (316, 322)], 4), scale_c(color, 0.6), mode="atop")
    brim = cv.mask().smooth([(160, 405), (80, 418), (36, 440), (60, 452), (180, 440), (300, 420)])
    cv.paint(brim, scale_c(color, 0.95), lin(0, 405, 0, 452, 1.1, 0.8))
    cv.paint(cv.mask().curve([(70, 440), (170, 426), (280, 414)], 1.6), scale_c(color, 1.3), mode="atop")
    highlight(cv, crown, 260, 240, 70, 40, op=0.25)

