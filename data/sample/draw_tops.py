"""Tops, coats and the dress, drawn on the 600x800 figure: the body part and the sleeves.

The body part goes on before the arms and the sleeves after them, so sleeves cover the arms.
"""
from __future__ import annotations

import numpy as np

from .canvas import Canvas, Mask, Shade
from .geometry import along
from .people import EL, SH, WR, Garment, side_pt, side_pts
from .shading import BLACK, cyl, cylx, highlight, lin, rad, scale_c, shadow_on, wave

RIBBED = ("hoodie", "sweater", "bomber")  # ribbed cuffs and hem band


def torso_shade(hem_y: float) -> tuple[Shade, Shade]:
    return (cylx(222, 378, lo=0.8, hi=1.05, light=-0.25), lin(0, 190, 0, hem_y, 1.03, 0.92))


def draw_top(cv: Canvas, g: Garment, label: float) -> None:
    """Tee, hoodie, bomber or sweater."""
    c = g.color
    k = g.kind
    hem_y = g.hem_y or (452 if k in ("hoodie", "sweater") else 446)
    if k == "hoodie":
        hood = cv.mask().smooth([(252, 206), (244, 132), (262, 82), (300, 66), (338, 82), (356, 132),
                                 (348, 206)])
        cv.paint(hood, c, cylx(244, 356, lo=0.72, hi=1.04), label=label)
        cv.paint(cv.mask().smooth([(266, 196), (262, 126), (278, 90), (300, 80), (322, 90), (338, 126),
                                   (334, 196)]), scale_c(c, 0.58), mode="atop")
    wide = 6 if k in RIBBED else 0
    body = cv.mask().rpoly([(228 - wide / 2, 192), (372 + wide / 2, 192), (380 + wide, 240),
                            (374 + wide, 330), (376 + wide, hem_y), (224 - wide, hem_y), (226 - wide, 330),
                            (220 - wide, 240)], 12)
    if k == "tee":
        body.ellipse(300, 190, 24, 20, fill=0)
    elif k == "hoodie":
        body.poly([(276, 190), (324, 190), (300, 222)], fill=0)
    else:
        body.ellipse(300, 190, 22, 17, fill=0)
    cv.paint(body, c, *torso_shade(hem_y), label=label)
    if k == "sweater":
        _cable_knit(cv, g, body, hem_y)
    # neckline trim
    if k == "tee":
        cv.paint(cv.mask().arc(300, 190, 24, 20, 0, 180, 5), scale_c(c, 0.88), mode="atop")
    elif k in ("sweater", "bomber"):
        rib = g.accent or scale_c(c, 0.88)
        cv.paint(cv.mask().arc(300, 190, 25, 20, 0, 180, 10, caps=False), rib, wave(0, 3.5, 0.15), label=label)
    elif k == "hoodie":
        cv.paint(cv.mask().line([(276, 192), (300, 222), (324, 192)], 7), scale_c(c, 0.85), label=label)
    # hem band
    if k in RIBBED:
        hm = cv.mask().rect(224 - wide, hem_y - 24, 376 + wide, hem_y, r=4)
        cv.paint(hm, g.accent or scale_c(c, 0.9), wave(0, 4, 0.12), *torso_shade(hem_y), label=label)
    else:
        cv.paint(cv.mask().line([(226, hem_y - 8), (374, hem_y - 8)], 1.4), BLACK, op=0.15, mode="atop")
    if k == "hoodie":
        _kangaroo_pocket(cv, g, hem_y, label)
    if k == "bomber":
        _zip_front(cv, g, hem_y, label)
    # soft folds
    for (x, y, ang) in ((258, 405, 60), (344, 405, -60), (300, 300, 0)):
        shadow_on(cv, body, x, y, 30, 6, op=0.10, angle=ang)
    highlight(cv, body, 262, 250, 30, 60, op=0.10)


def _cable_knit(cv: Canvas, g: Garment, body: Mask, hem_y: float) -> None:
    cv.paint(body, BLACK, op=0.09, mode="atop",
             soft=lambda xx, yy: (np.sin(xx * 2 * np.pi / 7) > 0.3).astype(np.float32))
    for xc in (266, 300, 334):
        cab = cv.mask().rect(xc - 9, 214, xc + 9, hem_y - 20)
        cv.paint(cab, scale_c(g.color, 1.12), mode="atop",
                 soft=lambda xx, yy, xc=xc: (0.5 + 0.5 * np.sin(
                     2 * np.pi * ((yy + np.abs(xx - xc) * 1.2) / 18))) ** 2)
        cv.paint(cv.mask().rect(xc - 11, 214, xc - 9, hem_y - 20), BLACK, op=0.2, mode="atop")
        cv.paint(cv.mask().rect(xc + 9, 214, xc + 11, hem_y - 20), BLACK, op=0.2, mode="atop")


def _kangaroo_pocket(cv: Canvas, g: Garment, hem_y: float, label: float) -> None:
    """The hoodie's front pocket and drawstrings."""
    pocket = cv.mask().rpoly([(254, 340), (346, 340), (366, hem_y - 24), (234, hem_y - 24)], 8)
    cv.paint(pocket, scale_c(g.color, 0.96), mode="atop")
    for pts in ([(254, 340), (240, 400)], [(346, 340), (360, 400)]):
        cv.paint(cv.mask().line(pts, 3), BLACK, op=0.25, mode="atop")
    for x0, x1 in ((290, 284), (310, 316)):
        cv.paint(cv.mask().curve([(x0, 214), (x1 + (x0 - 300) * 0.2, 260), (x1, 300)], 3.2),
                 g.accent or (240, 240, 240), label=label)
        cv.paint(cv.mask().rect(x1 - 2.5, 298, x1 + 2.5, 314, r=1), (200, 200, 205), label=label)


def _zip_front(cv: Canvas, g: Garment, hem_y: float, label: float) -> None:
    """The bomber's zip and its welt pockets."""
    cv.paint(cv.mask().line([(300, 208), (300, hem_y - 4)], 5), (40, 40, 44), mode="atop")
    cv.paint(cv.mask().dashes([(300, 210), (300, hem_y - 6)], 7, 2, 2, smooth=False), (150, 150, 156),
             mode="atop", op=0.7)
    cv.paint(cv.mask().rect(295, 208, 305, 230, r=2), (190, 190, 196), label=label)
    for sx in (-1, 1):
        cv.paint(cv.mask().line([(300 + sx * 46, 350), (300 + sx * 56, 396)], 5), scale_c(g.color, 0.6),
                 mode="atop")


def draw_trench(cv: Canvas, g: Garment, label: float) -> None:
    c = g.color
    body = cv.mask().rpoly([(226, 192), (374, 192), (384, 240), (378, 330), (372, 372), (404, 622),
                            (196, 622), (228, 372), (222, 330), (216, 240)], 12)
    cv.paint(body, c, *torso_shade(622), label=label)
    cv.paint(cv.mask().line([(316, 226), (316, 620)], 2), scale_c(c, 0.7), mode="atop")
    for sx in (-1, 1):  # lapels + collar
        lap = [(300 + sx * 12, 188), (300 + sx * 44, 194), (300 + sx * 40, 240), (300 + sx * 56, 250),
               (300 + sx * 6, 318)]
        cv.paint(cv.mask().poly(lap), scale_c(c, 1.05), lin(0, 190, 0, 318, 1.08, 0.92), label=label)
        cv.paint(cv.mask().line(lap[1:], 2), scale_c(c, 0.7), mode="atop")
    for x in (286, 332):
        for y in (282, 322):
            cv.paint(cv.mask().ellipse(x, y, 6), (60, 44, 30), rad(x - 2, y - 2, 6, 1.3, 0.8), label=label)
    belt = cv.mask().rpoly([(224, 360), (376, 360), (378, 384), (222, 384)], 3)
    cv.paint(belt, scale_c(c, 0.95), lin(0, 360, 0, 384, 1.1, 0.85), label=label)
    cv.paint(cv.mask().rect(306, 356, 336, 388, r=3), (70, 52, 36), label=label)
    cv.paint(cv.mask().rect(312, 362, 330, 382, r=2), scale_c(c, 0.95), label=label)
    for sx in (-1, 1):
        cv.paint(cv.mask().line([(300 + sx * 56, 420), (300 + sx * 62, 470)], 4), scale_c(c, 0.65),
                 mode="atop")
    cv.paint(cv.mask().dashes([(200, 610), (400, 610)], 1.5, 5, 3, smooth=False), scale_c(c, 0.6),
             mode="atop")
    for (x, y, ang) in ((260, 520, 80), (340, 520, -80), (300, 560, 90)):
        shadow_on(cv, body, x, y, 50, 6, op=0.12, angle=ang)


def draw_dress(cv: Canvas, g: Garment, label: float) -> None:
    c = g.color
    pts = [(238, 190), (268, 188), (300, 236), (332, 188), (362, 190), (368, 245), (358, 330),
           (352, 368), (376, 450), (404, 602), (352, 612), (300, 616), (248, 612), (196, 602), (224, 450),
           (248, 368), (242, 330), (232, 245)]
    body = cv.mask().rpoly(pts, 9)
    cv.paint(body, c, cylx(196, 404, lo=0.8, hi=1.05, light=-0.25), lin(0, 190, 0, 616, 1.04, 0.9),
             label=label)
    dot = g.detail or (245, 245, 240)
    dots = cv.mask()
    for row, y in enumerate(range(205, 620, 26)):
        for x in range(170 + (13 if row % 2 else 0), 430, 26):
            dots.ellipse(x, y, 4.2)
    cv.paint(dots & body, dot, mode="atop")
    for pts_f in ([(276, 380), (250, 600)], [(300, 380), (300, 610)], [(324, 380), (350, 600)]):
        cv.paint(cv.mask().line(pts_f, 10), BLACK, op=0.10, mode="atop")
    belt = cv.mask().rect(240, 356, 360, 376)
    cv.paint(belt & body, scale_c(c, 0.8), mode="atop")
    cv.paint(cv.mask().smooth([(306, 352), (324, 360), (306, 380), (296, 366)]), scale_c(c, 0.75),
             label=label)
    cv.paint(cv.mask().dashes([(200, 596), (300, 610), (400, 596)], 1.4, 4, 3), (240, 240, 240),
             mode="atop", op=0.5)
    highlight(cv, body, 270, 260, 24, 50, op=0.12)


def long_sleeve(cv: Canvas, g: Garment, side: int, label: float) -> None:
    c = g.color
    wide = 1.12 if g.kind == "trench" else 1.0
    el, wr = side_pt(side, EL), side_pt(side, WR)
    s = side_pt(side, (SH[0] + 2, SH[1] + 6 + 2 * wide))
    w_end = along(el, wr, 0.92)
    m = cv.mask().capsule(s, el, 24 * wide, 21 * wide).seg(el, w_end, 21 * wide, 17 * wide)
    m.rpoly(side_pts(side, [(258, 189), (226, 192), (212, 212), (214, 232), (258, 244)]), 8)  # shoulder
    cv.paint(m, c, cyl(s, w_end, 24 * wide, lo=0.74, hi=1.05, light=-0.2), label=label)
    # elbow crease
    cv.paint(cv.mask().curve([el, (el[0] + (8 if side == 0 else -8), el[1] + 6)], 3), BLACK, op=0.12, mode="atop")
    if g.kind in RIBBED:
        cuff_a = along(el, wr, 0.8)
        cm = cv.mask().seg(cuff_a, w_end, 17.5, 17.2)
        rib_col = g.accent or scale_c(c, 0.9)
        cv.paint(cm, rib_col, wave(0, 4, 0.12), cyl(cuff_a, w_end, 18, lo=0.75, hi=1.05), label=label)
    if g.kind == "bomber" and side == 0:  # utility pocket
        pk = cv.mask().rpoly([(206, 250), (226, 252), (224, 278), (204, 276)], 3)
        cv.paint(pk, scale_c(c, 0.92), mode="atop")
        cv.paint(cv.mask().rect(209, 256, 221, 262), (60, 60, 60), mode="atop")
    if g.kind == "trench":  # cuff strap
        cv.paint(cv.mask().seg(along(el, wr, 0.7), along(el, wr, 0.78), 19.5), scale_c(c, 0.85), mode="atop")


def tee_sleeve(cv: Canvas, g: Garment, side: int, label: float) -> None:
    m = cv.mask().rpoly(side_pts(side, [(256, 187), (222, 196), (194, 276), (240, 290), (256, 236)]), 8)
    a = side_pt(side, (222, 210))
    b = side_pt(side, (217, 283))
    cv.paint(m, g.color, cyl(a, b, 26, lo=0.78, hi=1.05, light=-0.1), label=label)
    hem = side_pts(side, [(195, 270), (240, 284)])
    cv.paint(cv.mask().line(hem, 3), BLACK, op=0.12, mode="atop")
    cv.paint(cv.mask().dashes([(hem[0][0] + (1 if side == 0 else -1), hem[0][1] - 7),
                               (hem[1][0], hem[1][1] - 7)], 1.4, 4, 3, smooth=False), BLACK, op=0.18,
             mode="atop")


def draw_epaulettes(cv: Canvas, g: Garment, label: float) -> None:
    """The trench's shoulder straps, drawn over the sleeves."""
    for sx in (-1, 1):
        cv.paint(cv.mask().rpoly([(300 + sx * 40, 192), (300 + sx * 74, 196), (300 + sx * 74, 208),
                                  (300 + sx * 40, 206)], 3), scale_c(g.color, 0.95), label=label)
