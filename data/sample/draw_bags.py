"""Bag cutouts (design space 640x640)."""
from __future__ import annotations

import numpy as np

from .canvas import Canvas, Color
from .shading import cyl, cylx, highlight, lin, rad, scale_c


def draw_handbag(cv: Canvas, leather: Color, metal: Color = (212, 175, 90)) -> None:
    # handle (an arch, transparent inside)
    cv.paint(cv.mask().arc(320, 262, 140, 150, 185, 355, 24), scale_c(leather, 0.9),
             cyl((320, 262), (320, 100), 150, lo=0.9, hi=1.0))
    cv.paint(cv.mask().arc(320, 262, 140, 150, 200, 340, 3), scale_c(leather, 0.6), mode="atop", op=0.8)
    for x in (178, 462):
        cv.paint(cv.mask().ring(x, 262, 16, 16, 7), metal, rad(x - 4, 256, 16, 1.25, 0.75))
    body = cv.mask().rpoly([(150, 262), (490, 262), (540, 540), (100, 540)], [30, 30, 60, 60])
    cv.paint(body, leather, lin(0, 262, 0, 540, 1.06, 0.82), cylx(100, 540, lo=0.85, hi=1.05))
    flap = cv.mask().rpoly([(150, 262), (490, 262), (508, 390), (320, 410), (132, 390)], [30, 30, 30, 60, 30])
    cv.paint(flap, scale_c(leather, 0.96), lin(0, 262, 0, 410, 1.1, 0.9), mode="atop")
    cv.paint(cv.mask().curve([(134, 392), (320, 412), (506, 392)], 4), scale_c(leather, 0.55), mode="atop")
    for pts in ([(164, 276), (476, 276)], [(146, 384), (320, 398), (494, 384)],
                [(118, 520), (320, 526), (522, 520)]):
        cv.paint(cv.mask().dashes(pts, 2.2, 7, 5), (250, 232, 200), mode="atop", op=0.85)
    cv.paint(cv.mask().rect(292, 380, 348, 420, r=6), metal, lin(0, 380, 0, 420, 1.25, 0.75))
    cv.paint(cv.mask().rect(304, 392, 336, 408, r=4), scale_c(metal, 0.6))
    highlight(cv, body, 220, 300, 90, 30, op=0.28, angle=-8)


def draw_backpack(cv: Canvas, color: Color, trim: Color = (196, 150, 100)) -> None:
    cv.paint(cv.mask().arc(320, 150, 46, 40, 180, 360, 14), (40, 40, 44))
    for x0 in (150, 470):  # shoulder straps peeking out
        cv.paint(cv.mask().rect(x0, 200, x0 + 22, 520, r=8), scale_c(color, 0.6))
    body = cv.mask().rpoly([(160, 150), (480, 150), (492, 560), (148, 560)], [110, 110, 40, 40])
    cv.paint(body, color, lin(0, 150, 0, 560, 1.08, 0.85), cylx(148, 492, lo=0.8, hi=1.06))
    pocket = cv.mask().rpoly([(200, 340), (440, 340), (448, 530), (192, 530)], 38)
    cv.paint(pocket, scale_c(color, 1.05), lin(0, 340, 0, 530, 1.1, 0.88), mode="atop")
    cv.paint(cv.mask().curve([(205, 356), (320, 350), (435, 356)], 4), (28, 28, 32), mode="atop")
    cv.paint(cv.mask().curve([(176, 300), (180, 210), (250, 162), (320, 156), (390, 162), (460, 210),
                              (464, 300)], 4), (28, 28, 32), mode="atop")
    for (x, y) in ((412, 352), (176, 300)):
        cv.paint(cv.mask().rect(x - 7, y, x + 7, y + 38, r=5), trim, lin(0, y, 0, y + 38, 1.1, 0.8))
    cv.paint(cv.mask().rect(282, 276, 358, 314, r=6), trim, lin(0, 276, 0, 314, 1.1, 0.85), mode="atop")
    cv.paint(cv.mask().dashes([(288, 282), (352, 282), (352, 308), (288, 308), (288, 282)], 1.8, 4, 3,
                              smooth=False), (250, 236, 210), mode="atop")
    for pts in ([(200, 544), (440, 544)], [(214, 520), (426, 520)]):
        cv.paint(cv.mask().dashes(pts, 2, 6, 4), scale_c(color, 1.5), mode="atop", op=0.6)
    highlight(cv, body, 240, 220, 90, 50, op=0.2)


def draw_tote(cv: Canvas, canvas_c: Color = (232, 220, 196), stripe: Color = (40, 80, 150),
              strap: Color = (150, 105, 70)) -> None:
    cv.paint(cv.mask().arc(320, 262, 100, 190, 195, 345, 20), scale_c(strap, 0.75))
    body = cv.mask().rpoly([(130, 250), (510, 250), (540, 570), (100, 570)], 14)
    weave = lambda xx, yy: (1 + 0.035 * np.sin(xx * 2.2) * np.sin(yy * 2.2)).astype(np.float32)
    cv.paint(body, canvas_c, weave, lin(0, 250, 0, 570, 1.04, 0.86), cylx(100, 540, lo=0.88, hi=1.04))
    for y in (400, 440):
        cv.paint(cv.mask().rect(80, y, 560, y + 26), stripe, weave, mode="atop")
    cv.paint(cv.mask().rect(100, 250, 540, 274), scale_c(canvas_c, 0.85), mode="atop")
    cv.paint(cv.mask().arc(320, 262, 100, 180, 192, 348, 20), strap, lin(0, 80, 0, 262, 1.1, 0.9))
    for x in (226, 414):
        cv.paint(cv.mask().rect(x - 14, 256, x + 14, 320, r=3), strap, lin(0, 256, 0, 320, 1.1, 0.85))
        cv.paint(cv.mask().dashes([(x - 8, 268), (x + 8, 308)], 2, 5, 3, smooth=False),
                 (240, 225, 200), mode="atop")
    highlight(cv, body, 230, 320, 100, 40, op=0.18)



def draw_clutch(cv: Canvas, color: Color, metal: Color = (215, 185, 120)) -> None:
    body = cv.mask().rect(90, 220, 550, 460, r=18)
    cv.paint(body, color, lin(0, 220, 0, 460, 1.06, 0.86), cylx(90, 550, lo=0.9, hi=1.04))
    flap = cv.mask().rpoly([(90, 220), (550, 220), (320, 390)], [18, 18, 30])
    cv.paint(flap, scale_c(color, 1.04), lin(0, 220, 0, 390, 1.08, 0.9), mode="atop")
    cv.paint(cv.mask().line([(100, 226), (320, 388), (540, 226)], 3), scale_c(color, 0.7), mode="atop")
    cv.paint(cv.mask().ellipse(320, 372, 24, 16), metal, lin(0, 356, 0, 388, 1.3, 0.7))
    highlight(cv, body, 220, 250, 120, 20, op=0.25)

