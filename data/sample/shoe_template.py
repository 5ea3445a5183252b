"""Shoe templates: lower legs and bare feet standing, front view, for trying shoes on (600x800)."""
from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from .canvas import Color
from .draw_body import studio
from .geometry import Point, Points, flip_x, rotate, spline
from .people import side_pts
from .shading import BLACK, WHITE, cylx, highlight, lin, scale_c, shadow_on, wave


@dataclass(frozen=True)
class ShoeTemplate:
    skin: Color
    bg: tuple[Color, Color]
    hem: str = "shorts"  # shorts | skirt: what is seen at the top of the image
    hem_color: Color = (70, 100, 150)
    spread: float = 0    # extra stance width, so the templates do not all look alike


def render_shoe_template(t: ShoeTemplate) -> Image.Image:
    """Knees and both feet are in view, and the feet stay well away from the left/right edges."""
    cv = studio(t.bg, 752, 180, 20)
    # left leg (viewer's left); the right one is mirrored, then both are spread apart
    outer = [(200, -10), (202, 200), (212, 330), (206, 430), (220, 540), (234, 636)]
    inner = [(268, 636), (282, 540), (296, 420), (292, 330), (298, 200), (300, -10)]
    for side in (0, 1):
        d = -(24 + t.spread) if side == 0 else 24 + t.spread  # stance: feet apart

        def place(pts: Points) -> list[Point]:
            return [(x + d * max(y, 0) / 640, y) for x, y in side_pts(side, pts)]
        leg = place(outer + inner)
        lm = cv.mask().poly(spline(leg, True, 8))
        xl = min(x for x, _ in leg)
        cv.paint(lm, t.skin, cylx(xl, xl + 98, lo=0.76, hi=1.05, light=-0.25 if side == 0 else -0.1))
        (kx, ky), = place([(252, 372)])
        highlight(cv, lm, kx - 4, ky, 20, 26, op=0.16)
        cv.paint(cv.mask().curve([(kx - 18, ky + 26), (kx, ky + 34), (kx + 18, ky + 26)], 2.5), BLACK,
                 op=0.12, mode="atop")
        shadow_on(cv, lm, kx + (14 if side == 0 else -14), 470, 10, 60, op=0.10)
        # foot: front view, toes turned slightly out, big toe on the inner side
        (ax, _), = place([(251, 636)])
        sgn = 1 if side == 0 else -1  # +1: inner side is +x
        foot = [(ax - 17, 618), (ax + 17, 618), (ax + 26, 664), (ax + 40, 712), (ax + 42, 738), (ax + 28, 754),
                (ax - 30, 754), (ax - 42, 740), (ax - 40, 712), (ax - 26, 664)]
        if sgn < 0:
            foot = flip_x(foot, ax)
        foot = rotate(foot, -6 * sgn, (ax, 630))
        fm = cv.mask().smooth(foot)
        cv.paint(fm, t.skin, cylx(ax - 42, ax + 42, lo=0.8, hi=1.05), lin(0, 630, 0, 754, 1.0, 0.9))
        for bx in (ax - 15, ax + 15):  # ankle bones
            highlight(cv, fm, bx, 636, 6, 8, op=0.15)
        toes = [(-33, 6.5), (-20, 7.5), (-6, 8.5), (9, 9.0), (27, 11.5)]  # little toe ... big toe
        for tx, r in toes:
            (px, py), = rotate([(ax + tx * sgn, 746 - (2 if abs(tx) < 25 else 0))], -6 * sgn, (ax, 630))
            cv.paint(cv.mask().ellipse(px, py, r, r * 0.9), scale_c(t.skin, 1.02),
                     lin(0, py - r, 0, py + r, 1.06, 0.86))
            cv.paint(cv.mask().ellipse(px, py + r * 0.2, r * 0.55, r * 0.4), (236, 200, 190), op=0.5)
        cv.paint(cv.mask().curve(rotate([(ax - 20, 696), (ax, 704), (ax + 18, 696)], -6 * sgn, (ax, 630)), 2),
                 BLACK, op=0.10)
    if t.hem == "shorts":  # denim
        sh = cv.mask().rpoly([(186, -10), (414, -10), (420, 152), (306, 160), (300, 136), (294, 160), (180, 152)],
                             6)
        cv.paint(sh, t.hem_color, wave(45, 3.2, 0.06), cylx(180, 420, lo=0.8, hi=1.05), lin(0, 0, 0, 150, 1.0, 0.9))
        cv.paint(cv.mask().rect(180, 134, 420, 160), WHITE, op=0.18, mode="atop")
        cv.paint(cv.mask().dashes([(188, 128), (412, 128)], 1.6, 5, 3, smooth=False), (214, 150, 70), mode="atop")
    else:  # skirt hem
        sk = cv.mask().rpoly([(150, -20), (450, -20), (470, 176), (300, 192), (130, 176)], [0, 0, 16, 40, 16])
        cv.paint(sk, t.hem_color, cylx(130, 470, lo=0.8, hi=1.05), lin(0, 0, 0, 190, 1.0, 0.88))
        for x in (230, 300, 370):
            shadow_on(cv, sk, x, 120, 8, 80, op=0.15)
    return cv.rgb_image()
