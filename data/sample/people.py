"""Who stands in the model shots and what they wear, and the body landmarks both are drawn around.

The figure is drawn for its right side (the viewer's left) and mirrored at x = 300 for the other.
"""
from __future__ import annotations

from dataclasses import dataclass

from .canvas import Color
from .geometry import Point, Points, flip_x

CENTER_X = 300  # the figure's centre line in the 600x800 portrait design space

# landmarks of the viewer's-left side of the body
SH = (236, 210)      # shoulder joint
EL = (207, 318)      # elbow
WR = (190, 420)      # wrist
HIP = (272, 440)
KNEE = (268, 585)
ANK = (262, 724)


def side_pts(side: int, pts: Points) -> Points:
    """``pts`` as drawn (side 0, the viewer's left) or mirrored to the other side (side 1)."""
    return pts if side == 0 else flip_x(pts, CENTER_X)


def side_pt(side: int, p: Point) -> Point:
    return side_pts(side, [p])[0]


@dataclass
class Person:
    skin: Color
    hair: Color
    hair_style: str  # long | short | bun | bob
    lips: Color = (196, 110, 110)
    trousers: Color | None = (52, 56, 66)  # None: bare legs
    top: Color | None = None               # neutral top colour if the product is a bottom
    shoes: Color = (245, 245, 242)
    bg: tuple[Color, Color] = ((236, 233, 228), (214, 209, 202))


@dataclass
class Garment:
    kind: str  # tee | hoodie | bomber | sweater | trench | dress | jeans | trousers | skirt
    color: Color
    accent: Color | None = None   # ribbing, drawstrings, stitching
    detail: Color | None = None   # the dress's dots
    hem_y: float | None = None    # a shorter top, tucked under a product that is a bottom


LONG_SLEEVE = {"hoodie", "bomber", "sweater", "trench"}
TOPS = {"tee", "hoodie", "bomber", "sweater", "trench", "dress"}
BOTTOMS = {"jeans", "skirt", "trousers"}
