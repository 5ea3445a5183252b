"""Electronics cutouts (design space 640x640)."""
from __future__ import annotations

import numpy as np

from .canvas import Canvas, Color
from .shading import BLACK, WHITE, cylx, highlight, lin, rad, ramp, scale_c, wave


def draw_headphones(cv: Canvas, body: Color = (38, 38, 42), accent: Color = (150, 150, 158)) -> None:
    band = cv.mask().arc(320, 330, 196, 220, 190, 350, 34)
    cv.paint(band, body, lin(0, 110, 0, 330, 1.3, 0.9))
    cv.paint(cv.mask().arc(320, 344, 180, 200, 200, 340, 18), (70, 64, 60), lin(0, 140, 0, 330, 1.1, 0.9))
    for sx in (-1, 1):
        x = 320 + sx * 190
        cv.paint(cv.mask().rect(x - 7, 290, x + 7, 372, r=3), accent, cylx(x - 7, x + 7, lo=0.6, hi=1.3))
        cup = cv.mask().ellipse(x - sx * 6, 440, 66, 96)
        cv.paint(cup, body, rad(x - sx * 20, 410, 110, 1.25, 0.8))
        cush = cv.mask().ellipse(x + sx * (-44), 440, 30, 92)
        cv.paint(cush, (58, 54, 52), cylx(x - sx * 44 - 30, x - sx * 44 + 30, lo=0.7, hi=1.2), mode="atop")
        cv.paint(cv.mask().ring(x - sx * 4, 440, 40, 60, 4), accent, mode="atop")
        highlight(cv, cup, x - sx * 6 - 18, 400, 20, 34, op=0.25)
        cv.paint(cv.mask().rect(x - 8, 356, x + 8, 374, r=4), accent)
    highlight(cv, band, 260, 118, 110, 10, op=0.35)


def draw_phone(cv: Canvas, frame: Color = (60, 64, 80),
               wall: tuple[Color, Color] = ((40, 40, 120), (220, 90, 140))) -> None:
    for y0, y1 in ((170, 210), (230, 290)):
        cv.paint(cv.mask().rect(194, y0, 206, y1, r=4), frame)
    cv.paint(cv.mask().rect(434, 200, 446, 280, r=4), frame)
    ph = cv.mask().rect(200, 70, 440, 570, r=44)
    cv.paint(ph, frame, cylx(200, 440, lo=0.6, hi=1.25, light=-0.6))
    cv.paint(cv.mask().rect(206, 76, 434, 564, r=39), (12, 12, 14))
    scr = cv.mask().rect(214, 84, 426, 556, r=32)
    c0, c1 = np.array(wall[0], np.float32), np.array(wall[1], np.float32)
    wallf = lambda xx, yy: c0 + (c1 - c0) * np.clip(((xx - 214) * 0.4 + (yy - 84)) / 560, 0, 1)[..., None]
    cv.paint(scr, wallf, mode="atop")
    cv.paint(cv.mask().smooth([(214, 400), (300, 360), (426, 380), (426, 556), (214, 556)]),
             (255, 170, 120), mode="atop", op=0.5)
    cv.paint(cv.mask().rect(290, 96, 350, 116, r=10), BLACK, mode="atop")
    for i, y in enumerate((150, 210, 270)):
        for j, x in enumerate((236, 282, 328, 374)):
            hue = [(250, 90, 80), (80, 180, 240), (120, 210, 110), (250, 200, 70)][(i + j) % 4]
            cv.paint(cv.mask().rect(x, y, x + 34, y + 34, r=9), hue, lin(0, y, 0, y + 34, 1.1, 0.9),
                     mode="atop")
    cv.paint(cv.mask().rect(236, 500, 408, 540, r=18), WHITE, op=0.35, mode="atop")
    cv.paint(cv.mask().rect(234, 92, 258, 102, r=3), WHITE, op=0.8, mode="atop")
    cv.paint(scr, WHITE, op=0.16, mode="atop",
             soft=lambda xx, yy: ((xx - 214) * 1.0 + (yy - 84) * 0.5 < 150).astype(np.float32))


def draw_speaker(cv: Canvas, color: Color = (236, 100, 84), rubber: Color = (40, 40, 44)) -> None:
    cv.paint(cv.mask().rect(430, 200, 470, 460, r=16), scale_c(rubber, 1.3))
    cv.paint(cv.mask().rect(436, 214, 462, 446, r=10), BLACK, mode="erase")
    body = cv.mask().rect(200, 120, 440, 560, r=70)
    cv.paint(body, color, cylx(200, 440, lo=0.6, hi=1.1, light=-0.35))
    mesh = lambda xx, yy: (0.9 + 0.1 * np.cos(xx * 1.6) * np.cos(yy * 1.6)).astype(np.float32)
    cv.paint(cv.mask().rect(200, 190, 440, 490), color, mesh, cylx(200, 440, lo=0.6, hi=1.1, light=-0.35),
             mode="atop")
    for y0, y1 in ((120, 190), (490, 560)):
        cv.paint(cv.mask().rect(190, y0, 450, y1), rubber, cylx(200, 440, lo=0.6, hi=1.3, light=-0.35),
                 mode="atop")
    for x, sym in ((270, "-"), (320, "o"), (370, "+")):
        cv.paint(cv.mask().ellipse(x, 150, 14, 10), scale_c(rubber, 1.6), mode="atop")
        if sym == "o":
            cv.paint(cv.mask().ring(x, 150, 6, 5, 2), WHITE, mode="atop")
        else:
            cv.paint(cv.mask().line([(x - 6, 150), (x + 6, 150)], 2), WHITE, mode="atop")
            if sym == "+":
                cv.paint(cv.mask().line([(x, 145), (x, 155)], 2), WHITE, mode="atop")
    cv.paint(cv.mask().rect(280, 320, 360, 346, r=12), rubber, mode="atop")
    cv.paint(cv.mask().rect(296, 329, 344, 337, r=4), scale_c(color, 1.2), mode="atop")
    highlight(cv, body, 250, 340, 16, 160, op=0.3)


def draw_camera(cv: Canvas, body_c: Color = (36, 36, 38), top_c: Color = (200, 200, 204)) -> None:
    cv.paint(cv.mask().rpoly([(262, 205), (378, 205), (392, 150), (248, 150)], 10), top_c,
             lin(0, 150, 0, 205, 1.25, 0.8))
    cv.paint(cv.mask().rect(400, 176, 446, 202, r=4), top_c, wave(0, 4, 0.2))
    cv.paint(cv.mask().rect(460, 180, 500, 200, r=6), top_c, cylx(460, 500, lo=0.7, hi=1.2))
    body = cv.mask().rect(100, 200, 540, 470, r=26)
    cv.paint(body, body_c, lin(0, 200, 0, 470, 1.3, 0.85))
    cv.paint(cv.mask().rect(100, 200, 540, 262), top_c, lin(0, 200, 0, 262, 1.2, 0.85), mode="atop")
    grip = cv.mask().rpoly([(100, 262), (175, 262), (190, 470), (100, 470)], 18)
    cv.paint(grip, (24, 24, 26), wave(45, 5, 0.1), cylx(100, 190, lo=0.7, hi=1.2), mode="atop")
    cv.paint(cv.mask().ellipse(490, 240, 10), (240, 150, 60), rad(487, 236, 10, 1.3, 0.8), mode="atop")
    cx, cy = 340, 350
    cv.paint(cv.mask().ellipse(cx, cy, 138), (28, 28, 30), rad(cx, cy, 138, 1.3, 0.9))
    ridges = lambda xx, yy: (1 + 0.18 * np.sin(60 * np.arctan2(yy - cy, xx - cx))).astype(np.float32)
    cv.paint(cv.mask().ring(cx, cy, 130, 130, 22), (60, 60, 64), ridges, mode="atop")
    cv.paint(cv.mask().ellipse(cx, cy, 100), top_c, ramp(cx - 100, cy - 100, cx + 100, cy + 100,
                                                         [(0, 1.2), (0.5, 0.7), (1, 1.1)]), mode="atop")
    glass = cv.mask().ellipse(cx, cy, 80)
    cv.paint(glass, (20, 26, 44), rad(cx, cy, 80, 0.6, 1.4), mode="atop")
    cv.paint(cv.mask().ring(cx, cy, 56, 56, 6), (90, 60, 140), mode="atop", op=0.6)
    cv.paint(cv.mask().ring(cx, cy, 36, 36, 4), (60, 140, 110), mode="atop", op=0.5)
    highlight(cv, glass, cx - 30, cy - 32, 20, 12, op=0.75, angle=-40)
    highlight(cv, glass, cx + 34, cy + 30, 10, 6, op=0.4, angle=-40)
    highlight(cv, body, 300, 215, 180, 10, op=0.3)



def draw_earbuds(cv: Canvas, white: Color = (244, 244, 242)) -> None:
    case = cv.mask().rect(170, 220, 470, 470, r=110)
    cv.paint(case, white, rad(280, 300, 300, 1.05, 0.75))
    cv.paint(cv.mask().curve([(172, 300), (320, 304), (468, 300)], 2.5), (170, 170, 170), mode="atop")
    cv.paint(cv.mask().ellipse(320, 380, 5), (60, 200, 90), mode="atop")
    highlight(cv, case, 250, 260, 80, 20, op=0.6)
    bud = cv.mask().ellipse(520, 420, 42, 48).capsule((528, 450), (536, 540), 14, 12)
    cv.paint(bud, white, rad(505, 405, 90, 1.05, 0.75))
    cv.paint(cv.mask().ellipse(508, 414, 20, 24), (60, 60, 64), mode="atop")

