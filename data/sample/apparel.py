"""The three apparel images: the ghost-mannequin cutout, the model shot and its garment mask.

All three are drawn from the same garment geometry, so the cutout, the shot and the mask agree.
"""
from __future__ import annotations

from collections.abc import Callable

from PIL import Image

from .canvas import Canvas, fit_cutout
from .draw_body import draw_arms, draw_back_hair, draw_head, draw_torso_and_legs, studio
from .draw_bottoms import draw_pants, draw_skirt
from .draw_tops import draw_dress, draw_epaulettes, draw_top, draw_trench, long_sleeve, tee_sleeve
from .people import BOTTOMS, LONG_SLEEVE, TOPS, Garment, Person
from .shading import scale_c

BODY: dict[str, Callable[[Canvas, Garment, float], None]] = {
    "tee": draw_top, "hoodie": draw_top, "bomber": draw_top, "sweater": draw_top,
    "trench": draw_trench, "dress": draw_dress, "jeans": draw_pants, "trousers": draw_pants, "skirt": draw_skirt,
}
GARMENT_BOX = {  # design-space area to zoom into for the ghost cutouts
    "tee": (180, 170, 420, 460), "hoodie": (150, 50, 450, 470), "bomber": (150, 170, 450, 470),
    "sweater": (150, 170, 450, 470), "trench": (150, 170, 450, 640), "dress": (180, 170, 420, 630),
    "jeans": (210, 380, 390, 740), "skirt": (190, 350, 410, 600),
}
GARMENT_LABEL = 1.0  # the mask value of the product garment; what else the model wears gets 0


def garment_sleeves(cv: Canvas, g: Garment, label: float) -> None:
    if g.kind == "tee":
        for side in (0, 1):
            tee_sleeve(cv, g, side, label)
    elif g.kind in LONG_SLEEVE:
        for side in (0, 1):
            long_sleeve(cv, g, side, label)
        if g.kind == "trench":
            draw_epaulettes(cv, g, label)


def _inside_back(cv: Canvas, g: Garment) -> None:
    """What a ghost mannequin shows through the neck opening: the inside of the back."""
    if g.kind == "dress":
        m, k = cv.mask().poly([(268, 192), (332, 192), (300, 232)]), 0.6
    elif g.kind in TOPS:
        m, k = cv.mask().ellipse(300, 196, 24, 13), 0.6 if g.kind == "trench" else 0.62
    else:
        return
    cv.paint(m, scale_c(g.color, k), label=GARMENT_LABEL)


def ghost_cutout(g: Garment) -> Image.Image:
    x0, y0, x1, y1 = GARMENT_BOX[g.kind]
    scale = 600 / max(x1 - x0, y1 - y0)
    cv = Canvas(640, 640, center=((x0 + x1) / 2, (y0 + y1) / 2), scale=scale)
    _inside_back(cv, g)
    BODY[g.kind](cv, g, GARMENT_LABEL)
    garment_sleeves(cv, g, GARMENT_LABEL)
    return fit_cutout(cv)


def model_shot(g: Garment, person: Person) -> tuple[Image.Image, Image.Image]:
    """The person wearing ``g`` (plus neutral clothes), and the mask of where ``g`` is visible."""
    cv = studio(person.bg, 758, 140, 18)
    draw_back_hair(cv, person)
    draw_torso_and_legs(cv, person)
    if g.kind in BOTTOMS:
        BODY[g.kind](cv, g, GARMENT_LABEL)
    elif g.kind != "dress" and person.trousers is not None:
        draw_pants(cv, Garment("trousers", person.trousers), 0.0)
    if g.kind in TOPS:
        top, label = g, GARMENT_LABEL
    else:
        top, label = Garment("tee", person.top or (246, 246, 244), hem_y=400 if g.kind == "jeans" else 368), 0.0
    BODY[top.kind](cv, top, label)
    draw_arms(cv, person)
    garment_sleeves(cv, top, label)
    draw_head(cv, person)
    return cv.rgb_image(), cv.label_image()
