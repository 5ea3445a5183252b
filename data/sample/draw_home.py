"""Home goods cutouts (design space 640x640)."""
from __future__ import annotations

import numpy as np

from .canvas import Canvas, Color
from .geometry import mirror, rotate
from .shading import BLACK, WHITE, cylx, highlight, lin, rad, scale_c, wave


def draw_lamp(cv: Canvas, base: Color = (40, 120, 120), shade: Color = (242, 232, 212),
              brass: Color = (200, 160, 80)) -> None:
    cv.paint(cv.mask().rect(309, 320, 331, 440), brass, cylx(309, 331, lo=0.6, hi=1.2))
    b = cv.mask().smooth(mirror([(350, 425), (392, 460), (410, 520), (392, 575), (340, 588)], 320))
    cv.paint(b, base, cylx(228, 412, lo=0.55, hi=1.15, light=-0.4), lin(0, 420, 0, 590, 1.05, 0.85))
    highlight(cv, b, 270, 490, 14, 40, op=0.55)
    cv.paint(cv.mask().rect(296, 414, 344, 432, r=4), brass, cylx(296, 344, lo=0.6, hi=1.2))
    cv.paint(cv.mask().ellipse(320, 594, 88, 12), brass, cylx(232, 408, lo=0.6, hi=1.15))
    sh = cv.mask().rpoly([(212, 110), (428, 110), (500, 330), (140, 330)], 8).ellipse(320, 330, 180, 14)
    glow = lambda xx, yy: (0.92 + 0.18 * np.exp(-((xx - 320) / 150) ** 2 - ((yy - 250) / 120) ** 2)).astype(
        np.float32)
    cv.paint(sh, shade, glow, cylx(140, 500, lo=0.8, hi=1.04))
    cv.paint(sh, WHITE, op=0.08, mode="atop", soft=lambda xx, yy: (np.sin(xx * 1.4) > 0.5).astype(np.float32))
    cv.paint(cv.mask().ellipse(320, 334, 180, 12), (255, 236, 180), rad(320, 334, 180, 1.05, 0.85),
             mode="atop")
    cv.paint(cv.mask().curve([(142, 330), (320, 344), (498, 330)], 4), scale_c(shade, 0.8), mode="atop")
    cv.paint(cv.mask().ellipse(320, 110, 108, 7), scale_c(shade, 0.86), mode="atop")


def draw_mug(cv: Canvas, glaze: Color = (226, 210, 184), seed: int = 3) -> None:
    rng = np.random.default_rng(seed)
    cv.paint(cv.mask().ring(448, 345, 76, 94, 30), glaze, rad(448, 345, 100, 1.05, 0.75))
    body = cv.mask().rect(190, 200, 450, 480).ellipse(320, 478, 130, 30)
    cv.paint(body, glaze, cylx(190, 450, lo=0.68, hi=1.06, light=-0.4))
    for _ in range(160):
        x, y = rng.uniform(195, 445), rng.uniform(205, 500)
        cv.paint(cv.mask().ellipse(x, y, float(rng.uniform(1.2, 2.6))), (92, 74, 60), mode="atop",
                 op=float(rng.uniform(0.4, 0.8)))
    cv.paint(cv.mask().rect(150, 455, 490, 520), (200, 160, 120), cylx(190, 450, lo=0.7, hi=1.05),
             mode="atop")
    cv.paint(cv.mask().curve([(191, 456), (320, 486), (449, 456)], 3), (150, 110, 80), mode="atop")
    cv.paint(cv.mask().ellipse(320, 200, 130, 30), scale_c(glaze, 1.05))
    cv.paint(cv.mask().ellipse(320, 201, 119, 25), scale_c(glaze, 0.7), lin(0, 176, 0, 226, 0.65, 1.0),
             mode="atop")
    highlight(cv, body, 240, 330, 14, 110, op=0.5)


def draw_vase(cv: Canvas, top: Color = (206, 150, 60), bottom: Color = (30, 70, 140)) -> None:
    outline = mirror([(352, 112), (346, 136), (352, 196), (420, 280), (455, 380), (430, 490), (380, 548),
                      (350, 560)], 320)
    v = cv.mask().smooth(outline)
    colf = lambda xx, yy: (np.array(top, np.float32) + (np.array(bottom, np.float32) - np.array(top, np.float32))
                           * np.clip((yy[..., None] - 280) / 160, 0, 1)) * np.ones_like(xx)[..., None]
    cv.paint(v, colf, cylx(180, 460, lo=0.55, hi=1.12, light=-0.35))
    for y in (250, 262):
        cv.paint(cv.mask().rect(150, y, 490, y + 4), (245, 235, 215), mode="atop", op=0.8)
    cv.paint(cv.mask().ellipse(320, 114, 32, 8), (40, 28, 20), mode="atop")
    highlight(cv, v, 258, 370, 14, 70, op=0.55, angle=10)
    highlight(cv, v, 304, 160, 5, 30, op=0.4)


def draw_plant(cv: Canvas, pot: Color = (196, 104, 64)) -> None:
    leaves = [(-22, 300, 36), (-9, 340, 40), (5, 360, 42), (18, 310, 38), (-32, 230, 32), (30, 250, 34),
              (0, 250, 30)]
    for i, (ang, hgt, w) in enumerate(leaves):
        base = (320 + ang * 1.6, 400)
        pts = [(base[0] - w / 2, base[1]), (base[0] - w * 0.62, base[1] - hgt * 0.45),
               (base[0] - w * 0.3, base[1] - hgt * 0.85), (base[0], base[1] - hgt),
               (base[0] + w * 0.3, base[1] - hgt * 0.85), (base[0] + w * 0.62, base[1] - hgt * 0.45),
               (base[0] + w / 2, base[1])]
        pts = rotate(pts, ang * 0.9, base)
        lm = cv.mask().smooth(pts)
        green = (52 + i * 6, 110 + (i % 3) * 10, 56)
        cv.paint(lm, (200, 190, 80))
        inner = cv.mask().smooth([(base[0] + (x - base[0]) * 0.8, y + 6) for x, y in pts])
        cv.paint(inner, green, wave(90, 22, 0.16, phase=i * 0.3), lin(0, 400 - hgt, 0, 400, 1.1, 0.8),
                 mode="atop")
    cv.paint(cv.mask().rpoly([(236, 420), (404, 420), (388, 584), (252, 584)], 14), pot,
             cylx(236, 404, lo=0.62, hi=1.1), lin(0, 420, 0, 584, 1.05, 0.88))
    cv.paint(cv.mask().rect(222, 392, 418, 432, r=6), scale_c(pot, 1.06), cylx(222, 418, lo=0.62, hi=1.12))
    cv.paint(cv.mask().ellipse(320, 396, 92, 7), (60, 40, 30), mode="atop", op=0.85)
    cv.paint(cv.mask().rect(236, 432, 404, 440), BLACK, op=0.25, mode="atop")



def draw_candle_jar(cv: Canvas, glass: Color = (170, 90, 30), wax: Color = (246, 238, 222)) -> None:
    cv.paint(cv.mask().rect(210, 210, 430, 520, r=20).ellipse(320, 516, 110, 18), glass,
             cylx(210, 430, lo=0.5, hi=1.15))
    cv.paint(cv.mask().ellipse(320, 230, 104, 18), wax, lin(0, 212, 0, 248, 0.8, 1.05))
    cv.paint(cv.mask().line([(320, 230), (322, 206)], 4), (40, 30, 20))
    cv.paint(cv.mask().rect(230, 320, 410, 430, r=4), (244, 238, 226), cylx(210, 430, lo=0.8, hi=1.05),
             mode="atop")
    cv.paint(cv.mask().rect(262, 360, 378, 368), (60, 50, 40), mode="atop")
    cv.paint(cv.mask().rect(282, 380, 358, 386), (120, 100, 80), mode="atop")
    highlight(cv, cv.mask().rect(210, 210, 430, 520), 244, 360, 10, 140, op=0.5)

