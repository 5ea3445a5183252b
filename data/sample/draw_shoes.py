"""Shoe cutouts, drawn from the side with the toe to the left (design space 640x640)."""
from __future__ import annotations

import math

import numpy as np

from .canvas import Canvas, Color
from .geometry import along
from .shading import BLACK, cylx, highlight, lin, scale_c, wave


def draw_sneaker(cv: Canvas, upper: Color, accent: Color, sole: Color = (246, 244, 238),
                 lace: Color = (250, 250, 250), high: bool = False, runner: bool = False) -> None:
    """Low-top by default; ``high`` adds an ankle collar and star patch, ``runner`` a mesh upper."""
    sole_dark = scale_c(sole, 0.78) if not runner else scale_c(accent, 0.7)
    top = 150 if high else 200
    # tongue
    if high:
        tongue = [(318, 290), (336, 150), (372, 130), (396, 160), (388, 300)]
    else:
        tongue = [(318, 250), (336, 190), (372, 178), (398, 204), (390, 256)]
    m = cv.mask().smooth(tongue)
    cv.paint(m, scale_c(upper, 0.95), lin(0, top - 20, 0, 300, 1.05, 0.85))
    # upper
    if high:
        outline = [(78, 398), (90, 344), (140, 306), (220, 276), (300, 240), (350, 175), (365, 138),
                   (430, 150), (500, 140), (548, 138), (566, 200), (570, 300), (582, 384), (330, 400)]
    else:
        outline = [(78, 398), (90, 344), (140, 306), (220, 276), (296, 242), (352, 206), (404, 224),
                   (470, 224), (538, 200), (566, 250), (582, 384), (330, 400)]
    up = cv.mask().smooth(outline)
    cv.paint(up, upper, lin(0, top, 0, 400, 1.06, 0.86), cylx(70, 590, lo=0.9, hi=1.04, light=-0.5))
    if runner:  # engineered mesh texture
        cv.paint(up, BLACK, op=0.10, mode="atop",
                 soft=lambda xx, yy: (np.sin(xx * 0.9) * np.sin(yy * 0.9) > 0.35).astype(np.float32))
    # collar opening (dark lining)
    if high:
        lining = [(368, 140), (430, 152), (505, 142), (546, 140), (520, 158), (440, 168), (380, 160)]
    else:
        lining = [(356, 208), (404, 228), (470, 228), (536, 204), (522, 232), (462, 244), (400, 240)]
    cv.paint(cv.mask().smooth(lining), (58, 52, 50), mode="atop")
    # toe cap / overlays
    toe = cv.mask().smooth([(70, 400), (84, 346), (130, 312), (190, 292), (208, 350), (190, 402)])
    cv.paint(toe, accent if high else scale_c(upper, 0.93), lin(0, 300, 0, 400, 1.05, 0.88),
             mode="atop", op=1.0 if high else 0.6)
    heel = cv.mask().smooth([(520, 190), (562, 206), (586, 340), (586, 395), (516, 396), (530, 300)])
    cv.paint(heel, accent, lin(0, 190, 0, 400, 1.08, 0.85), mode="atop")
    # side stripe / swoosh
    if not high:
        sw = cv.mask().smooth([(180, 372), (300, 340), (420, 292), (524, 250), (476, 310),
                               (360, 366), (250, 390)])
        cv.paint(sw, accent, lin(0, 250, 0, 390, 1.1, 0.85), mode="atop")
    else:
        m = cv.mask().ellipse(468, 230, 32)
        cv.paint(m, (248, 248, 244), mode="atop")
        cv.paint(cv.mask().ring(468, 230, 32, 32, 5), (30, 30, 30), mode="atop")
        star = [(468 + 18 * math.cos(math.radians(-90 + i * 36)) * (1 if i % 2 == 0 else 0.45),
                 230 + 18 * math.sin(math.radians(-90 + i * 36)) * (1 if i % 2 == 0 else 0.45))
                for i in range(10)]
        cv.paint(cv.mask().poly(star), accent, mode="atop")
    # laces and eyelets
    if high:
        p_a, p_b, n = (222, 280), (350, 160), 7
    else:
        p_a, p_b, n = (218, 282), (346, 214), 5
    for i in range(n):
        c = along(p_a, p_b, (i + 0.5) / n)
        cv.paint(cv.mask().ellipse(c[0] + 12, c[1] + 10, 4.5), (40, 40, 40), mode="atop")
        cv.paint(cv.mask().line([(c[0] - 16, c[1] - 2), (c[0] + 20, c[1] + 14)], 8), lace,
                 lin(0, c[1] - 6, 0, c[1] + 16, 1.05, 0.8))
    # stitching
    cv.paint(cv.mask().dashes([(100, 372), (200, 340), (300, 330), (420, 330), (560, 320)], 2.2),
             scale_c(upper, 0.7), mode="atop", op=0.8)
    # sole
    so = cv.mask().smooth([(64, 402), (110, 388), (300, 392), (470, 384), (574, 374), (590, 402),
                           (582, 444), (545, 455), (300, 456), (105, 452), (70, 440), (58, 420)])
    cv.paint(so, sole, lin(0, 380, 0, 456, 1.04, 0.9))
    cv.paint(cv.mask().rect(40, 436 if not runner else 430, 600, 470), sole_dark, mode="atop")
    if runner:
        cv.paint(cv.mask().curve([(80, 420), (200, 412), (330, 424), (460, 404), (580, 396)], 5), accent,
                 mode="atop")
    else:
        cv.paint(cv.mask().line([(70, 414), (585, 404)], 2.5), scale_c(sole, 0.82), mode="atop")
    highlight(cv, up, 150, 330, 70, 30, op=0.35, angle=-25)
    highlight(cv, up, 470, 280, 60, 25, op=0.18, angle=-10)


def draw_chelsea(cv: Canvas, leather: Color, gore: Color = (42, 36, 32), sole: Color = (40, 32, 28)) -> None:
    # pull tabs (behind)
    cv.paint(cv.mask().rect(502, 70, 534, 140, r=10), scale_c(leather, 0.8))
    cv.paint(cv.mask().rect(322, 84, 352, 140, r=10), scale_c(leather, 0.75))
    cv.paint(cv.mask().rect(508, 80, 528, 98, r=6), BLACK, mode="erase")
    up = cv.mask().smooth([(68, 425), (82, 372), (140, 345), (230, 328), (300, 290), (326, 200),
                           (330, 112), (430, 108), (528, 112), (524, 240), (548, 320), (574, 380),
                           (576, 425), (330, 430)])
    cv.paint(up, leather, lin(0, 110, 0, 430, 1.05, 0.85), cylx(60, 590, lo=0.85, hi=1.05, light=-0.4))
    # suede-like soft texture bands
    cv.paint(up, BLACK, op=0.06, mode="atop", soft=lambda xx, yy: (np.sin(xx * 0.11 + yy * 0.05) + 1) / 2)
    # elastic gore with ribs
    g = cv.mask().smooth([(372, 114), (470, 112), (456, 250), (426, 300), (392, 250)])
    cv.paint(g, gore, wave(0, 7, 0.25), lin(0, 112, 0, 300, 1.1, 0.85), mode="atop")
    cv.paint(cv.mask().dashes([(366, 116), (384, 250), (426, 312), (466, 250), (478, 116)], 2.0, 5, 4),
             (230, 210, 180), mode="atop", op=0.8)
    # top edge shading
    cv.paint(cv.mask().rect(320, 100, 540, 124), scale_c(leather, 0.7), mode="atop", op=0.7)
    # welt stitching
    cv.paint(cv.mask().dashes([(82, 410), (200, 414), (330, 416), (460, 414), (570, 412)], 2.4, 6, 4),
             (236, 214, 176), mode="atop")
    # sole + stacked heel
    so = cv.mask().rpoly([(60, 424), (585, 418), (585, 452), (64, 452)], 8)
    cv.paint(so, sole, lin(0, 418, 0, 452, 1.2, 0.85))
    heel = cv.mask().rpoly([(452, 430), (585, 428), (582, 478), (458, 478)], 5)
    cv.paint(heel, scale_c(leather, 0.55), wave(90, 9, 0.08), lin(0, 430, 0, 478, 1.1, 0.85))
    cv.paint(cv.mask().rect(458, 468, 585, 480), (25, 20, 18), mode="atop")
    cv.paint(cv.mask().smooth([(60, 450), (200, 448), (330, 452), (445, 452), (445, 466), (300, 462),
                               (120, 462), (66, 458)]), (25, 20, 18))
    highlight(cv, up, 140, 365, 70, 22, op=0.35, angle=-20)
    highlight(cv, up, 360, 190, 25, 90, op=0.22)
    highlight(cv, up, 505, 260, 20, 80, op=0.18)


def draw_pump(cv: Canvas, color: Color, lining: Color = (232, 205, 180)) -> None:
    up = cv.mask().smooth([(52, 448), (64, 414), (120, 392), (220, 382), (300, 360), (400, 310),
                           (470, 272), (512, 258), (530, 272), (528, 316), (480, 330), (380, 360),
                           (300, 404), (230, 436), (140, 450)])
    cv.paint(up, color, lin(0, 260, 0, 450, 1.1, 0.8), cylx(40, 540, lo=0.85, hi=1.05, light=-0.6))
    # lining visible inside the opening
    lin_m = cv.mask().smooth([(220, 384), (300, 362), (400, 314), (470, 278), (510, 262), (516, 282),
                              (470, 296), (390, 330), (300, 375), (232, 392)])
    cv.paint(lin_m, lining, lin(0, 270, 0, 390, 0.95, 0.8), mode="atop")
    # heel
    heel = cv.mask().poly([(470, 318), (528, 312), (508, 470), (494, 470)])
    cv.paint(heel, color, cylx(470, 530, lo=0.6, hi=1.1, light=-0.3))
    cv.paint(cv.mask().rect(490, 462, 512, 478, r=2), (25, 20, 20))
    # sole edge
    cv.paint(cv.mask().curve([(54, 450), (140, 452), (232, 440), (300, 408), (380, 364), (470, 334),
                              (528, 318)], 6), (40, 28, 28))
    highlight(cv, up, 110, 410, 55, 14, op=0.65, angle=-12)
    highlight(cv, up, 330, 355, 80, 8, op=0.55, angle=-30)
    highlight(cv, heel, 495, 360, 6, 40, op=0.5)


def draw_loafer(cv: Canvas, color: Color, sole: Color = (58, 36, 28)) -> None:
    up = cv.mask().smooth([(58, 424), (68, 380), (116, 346), (220, 318), (320, 290), (362, 284),
                           (450, 288), (534, 282), (560, 318), (568, 416), (330, 426)])
    cv.paint(up, color, lin(0, 282, 0, 426, 1.1, 0.8), cylx(50, 580, lo=0.85, hi=1.05, light=-0.5))
    cv.paint(cv.mask().smooth([(356, 288), (450, 292), (530, 286), (546, 300), (450, 310), (362, 304)]),
             (150, 110, 80), mode="atop")
    # moc-toe seam
    cv.paint(cv.mask().curve([(92, 388), (130, 348), (230, 318), (326, 298)], 5), scale_c(color, 0.7),
             mode="atop")
    cv.paint(cv.mask().dashes([(98, 396), (138, 358), (234, 328), (330, 308)], 2, 5, 4),
             (226, 196, 160), mode="atop", op=0.8)
    # penny strap with slot
    strap = cv.mask().smooth([(236, 330), (350, 300), (362, 344), (250, 372)])
    cv.paint(strap, scale_c(color, 0.9), lin(0, 300, 0, 372, 1.1, 0.8), mode="atop")
    cv.paint(cv.mask().line([(240, 334), (354, 304)], 2.5), BLACK, op=0.35, mode="atop")
    cv.paint(cv.mask().ellipse(300, 338, 22, 6, angle=-14), (30, 18, 16), mode="atop")
    # sole and heel
    cv.paint(cv.mask().rpoly([(54, 418), (572, 410), (574, 436), (60, 438)], 8), sole,
             lin(0, 410, 0, 438, 1.2, 0.85))
    cv.paint(cv.mask().rpoly([(470, 428), (574, 428), (570, 462), (474, 462)], 5), sole,
             lin(0, 428, 0, 462, 1.1, 0.8))
    cv.paint(cv.mask().dashes([(70, 426), (300, 424), (560, 420)], 2, 5, 4, smooth=False),
             (200, 170, 130), mode="atop")
    highlight(cv, up, 120, 370, 50, 14, op=0.55, angle=-30)
    highlight(cv, up, 460, 330, 60, 8, op=0.35)

