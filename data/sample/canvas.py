"""A tiny vector renderer: binary masks drawn supersampled, composited onto a float canvas.

Drawing at twice the output size and box-filtering down gives anti-aliased edges without
any randomness, so the same code always produces the same bytes.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from .geometry import Point, Points, ellipse_pts, round_corners, seg_quad, spline

Color = tuple[float, float, float]
# (xx, yy) design-space coordinate grids -> per-pixel factor (or colour)
Shade = Callable[[np.ndarray, np.ndarray], np.ndarray]

CUTOUT_SIZE = 640
CUTOUT_MARGIN = 0.07  # transparent margin around the product, as a fraction of the side


class Mask:
    """Coverage drawn without anti-aliasing at the supersampled resolution, in design coordinates."""

    def __init__(self, cv: Canvas) -> None:
        self.cv = cv
        self.img = Image.new("L", (cv.W, cv.H), 0)
        self.d = ImageDraw.Draw(self.img)

    def _p(self, pts: Points) -> list[Point]:
        return [self.cv.to_px(x, y) for x, y in pts]

    def _px_box(self, x0: float, y0: float, x1: float, y1: float) -> list[float]:
        a, b = self.cv.to_px(x0, y0)
        c, d = self.cv.to_px(x1, y1)
        return [a, b, c, d]

    def poly(self, pts: Points, fill: int = 255) -> Mask:
        self.d.polygon(self._p(pts), fill=fill)
        return self

    def smooth(self, pts: Points) -> Mask:
        return self.poly(spline(pts, True))

    def rpoly(self, pts: Points, r: float | Sequence[float]) -> Mask:
        return self.poly(round_corners(pts, r))

    def ellipse(self, cx: float, cy: float, rx: float, ry: float | None = None, angle: float = 0.0,
                fill: int = 255) -> Mask:
        ry = rx if ry is None else ry
        if angle:
            return self.poly(ellipse_pts(cx, cy, rx, ry, angle), fill)
        self.d.ellipse(self._px_box(cx - rx, cy - ry, cx + rx, cy + ry), fill=fill)
        return self

    def ring(self, cx: float, cy: float, rx: float, ry: float, w: float) -> Mask:
        self.d.ellipse(self._px_box(cx - rx, cy - ry, cx + rx, cy + ry), outline=255,
                       width=max(1, round(w * self.cv.k)))
        return self

    def rect(self, x0: float, y0: float, x1: float, y1: float, r: float = 0.0) -> Mask:
        box = self._px_box(x0, y0, x1, y1)
        if r > 0:
            self.d.rounded_rectangle(box, radius=r * self.cv.k, fill=255)
        else:
            self.d.rectangle(box, fill=255)
        return self

    def line(self, pts: Points, w: float, caps: bool = True) -> Mask:
        px = self._p(pts)
        wp = max(1, round(w * self.cv.k))
        self.d.line(px, fill=255, width=wp, joint="curve")
        if caps:
            r = wp / 2.0
            for x, y in (px[0], px[-1]):
                self.d.ellipse([x - r, y - r, x + r, y + r], fill=255)
        return self

    def curve(self, pts: Points, w: float) -> Mask:
        return self.line(spline(pts, False), w)

    def dashes(self, pts: Points, w: float, dash: float = 7.0, gap: float = 5.0, smooth: bool = True) -> Mask:
        """Stitching: dashes of length ``dash`` along the (smoothed) path."""
        path = spline(pts, False, 12) if smooth and len(pts) > 2 else list(pts)
        P = np.asarray(path, float)
        seg = np.hypot(*np.diff(P, axis=0).T)
        s = np.concatenate([[0], np.cumsum(seg)])
        pos = 0.0
        while pos < s[-1]:
            e = min(pos + dash, s[-1])
            a = (np.interp(pos, s, P[:, 0]), np.interp(pos, s, P[:, 1]))
            b = (np.interp(e, s, P[:, 0]), np.interp(e, s, P[:, 1]))
            self.line([a, b], w, caps=False)
            pos += dash + gap
        return self

    def seg(self, p1: Point, p2: Point, r1: float, r2: float | None = None) -> Mask:
        return self.poly(seg_quad(p1, p2, r1, r1 if r2 is None else r2))

    def capsule(self, p1: Point, p2: Point, r1: float, r2: float) -> Mask:
        """A tapered segment with round ends (limbs, earbud stems)."""
        self.seg(p1, p2, r1, r2)
        self.ellipse(p1[0], p1[1], r1)
        self.ellipse(p2[0], p2[1], r2)
        return self

    def arc(self, cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, w: float,
            caps: bool = True) -> Mask:
        return self.line(ellipse_pts(cx, cy, rx, ry, 0, 90, a0, a1), w, caps)

    def _combined(self, img: Image.Image) -> Mask:
        out = Mask(self.cv)
        out.img = img
        out.d = ImageDraw.Draw(img)
        return out

    def __and__(self, other: Mask) -> Mask:
        return self._combined(ImageChops.multiply(self.img, other.img))

    def __or__(self, other: Mask) -> Mask:
        return self._combined(ImageChops.lighter(self.img, other.img))


class Canvas:
    """Float RGBA canvas (premultiplied) in *design* coordinates.

    ``center``/``scale`` map design coordinates onto the canvas, so the same
    drawing code can be rendered in place (model shots) or zoomed (cutouts).
    """

    def __init__(self, w: int, h: int, ss: int = 2, center: Point | None = None, scale: float = 1.0) -> None:
        self.w, self.h, self.ss = w, h, ss
        self.W, self.H = w * ss, h * ss
        self.k = scale * ss
        if center is None:
            self.ox = self.oy = 0.0
        else:
            self.ox = center[0] - w / (2 * scale)
            self.oy = center[1] - h / (2 * scale)
        self.p = np.zeros((self.H, self.W, 3), np.float32)
        self.a = np.zeros((self.H, self.W), np.float32)
        self.label = np.zeros((self.H, self.W), np.float32)
        self.painted: tuple[int, int, int, int] | None = None  # pixel bbox of everything painted in "cover" mode

    def to_px(self, x: float, y: float) -> Point:
        return ((x - self.ox) * self.k, (y - self.oy) * self.k)

    def grids(self, x0: int, y0: int, x1: int, y1: int) -> tuple[np.ndarray, np.ndarray]:
        xx = ((np.arange(x0, x1, dtype=np.float32) + 0.5) / self.k + self.ox)[None, :]
        yy = ((np.arange(y0, y1, dtype=np.float32) + 0.5) / self.k + self.oy)[:, None]
        return xx, yy

    def mask(self) -> Mask:
        return Mask(self)

    def fill(self, color_fn: Shade) -> None:
        xx, yy = self.grids(0, 0, self.W, self.H)
        self.p[:] = color_fn(xx, yy)
        self.p *= np.float32(1 / 255)
        self.a[:] = 1.0
        self.painted = (0, 0, self.W, self.H)

    def paint(self, m: Mask, color: Color | Shade, *shades: Shade, op: float = 1.0, mode: str = "cover",
              label: float = 0.0, soft: Shade | None = None,
              box: tuple[float, float, float, float] | None = None) -> None:
        """Composite ``color`` through mask ``m``.

        mode "cover": normal over-compositing (adds coverage);
        mode "atop": only where something is already painted (details, highlights);
        mode "erase": cut a hole.
        shades: brightness factors; soft: an extra mask factor.
        label: garment label written for "cover" paints (model masks).
        box: optional design-space (x0, y0, x1, y1) limiting the work area (soft highlights).
        """
        bb = m.img.getbbox()
        if not bb:
            return
        x0, y0, x1, y1 = bb
        if box is not None:
            bx0, by0 = self.to_px(box[0], box[1])
            bx1, by1 = self.to_px(box[2], box[3])
            x0, y0 = max(x0, int(bx0)), max(y0, int(by0))
            x1, y1 = min(x1, int(math.ceil(bx1))), min(y1, int(math.ceil(by1)))
            if x0 >= x1 or y0 >= y1:
                return
            bb = (x0, y0, x1, y1)
        sl = (slice(y0, y1), slice(x0, x1))
        mk = np.asarray(m.img.crop(bb), np.float32) * (op / 255.0)
        xx, yy = self.grids(x0, y0, x1, y1)
        if soft is not None:
            mk = mk * np.clip(soft(xx, yy), 0, 1)
        if mode == "erase":
            keep = 1.0 - mk
            self.p[sl] *= keep[..., None]
            self.a[sl] *= keep
            self.label[sl] *= keep
            return
        if mode != "atop":
            self.painted = bb if self.painted is None else (
                min(self.painted[0], x0), min(self.painted[1], y0), max(self.painted[2], x1), max(self.painted[3], y1))
        if callable(color) or shades:
            col = color(xx, yy) if callable(color) else np.array(color, np.float32)
            col = np.broadcast_to(np.asarray(col, np.float32), (y1 - y0, x1 - x0, 3)) * np.float32(1 / 255)
            if shades:
                f = shades[0](xx, yy)
                for sh in shades[1:]:
                    f = f * sh(xx, yy)
                col = col * np.broadcast_to(f, (y1 - y0, x1 - x0))[..., None]
            np.clip(col, 0.0, 1.0, out=col)
        else:
            col = np.array(color, np.float32) * np.float32(1 / 255)
        p = self.p[sl]
        m3 = mk[..., None]
        if mode == "atop":  # p = p * (1 - mk) + col * mk * a
            d = col * self.a[sl][..., None]
            d -= p
        else:  # p = p * (1 - mk) + col * mk
            d = col - p
        d *= m3
        p += d
        if mode != "atop":
            a = self.a[sl]
            a += mk * (1 - a)
            lab = self.label[sl]
            lab *= 1 - mk
            if label:
                lab += label * mk

    # -- output ---------------------------------------------------------------
    def _reduced(self, arr: np.ndarray) -> np.ndarray:
        """Box-filter the supersampled array down to the output size."""
        s = self.ss
        out = np.zeros((self.h, self.w) + arr.shape[2:], np.float32)
        for dy in range(s):
            for dx in range(s):
                out += arr[dy::s, dx::s]
        out *= 1.0 / (s * s)
        return out

    def rgb_image(self) -> Image.Image:
        p = self._reduced(self.p)
        return Image.fromarray(np.clip(p * 255 + 0.5, 0, 255).astype(np.uint8), "RGB")

    def label_image(self) -> Image.Image:
        lab = self._reduced(self.label)
        return Image.fromarray(np.where(lab >= 0.5, 255, 0).astype(np.uint8), "L")

    def rgba_hires(self) -> Image.Image:
        """Full-resolution straight-alpha RGBA (only the painted area is converted)."""
        out = np.zeros((self.H, self.W, 4), np.uint8)
        if self.painted is not None:
            x0, y0, x1, y1 = self.painted
            sl = (slice(y0, y1), slice(x0, x1))
            a = self.a[sl]
            straight = self.p[sl] / np.maximum(a, 1e-6)[..., None]
            out[sl + (slice(0, 3),)] = np.clip(straight * 255 + 0.5, 0, 255).astype(np.uint8)
            out[sl + (3,)] = np.clip(a * 255 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(out, "RGBA")


def product_canvas() -> Canvas:
    """The 640x640 design space all product drawings use."""
    return Canvas(640, 640)


def touches_border(alpha: np.ndarray) -> bool:
    return bool(alpha[0].any() or alpha[-1].any() or alpha[:, 0].any() or alpha[:, -1].any())


def fit_cutout(cv: Canvas) -> Image.Image:
    """Crop the product, centre it on a transparent square and resize to the cutout size."""
    img = cv.rgba_hires()
    if touches_border(np.asarray(img.getchannel("A"))):
        raise RuntimeError("product touches the render canvas border; enlarge the view")
    x0, y0, x1, y1 = img.getchannel("A").getbbox()
    crop = img.crop((x0, y0, x1, y1))
    side = int(math.ceil(max(x1 - x0, y1 - y0) / (1 - 2 * CUTOUT_MARGIN)))
    sq = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    sq.paste(crop, ((side - (x1 - x0)) // 2, (side - (y1 - y0)) // 2))
    out = sq.resize((CUTOUT_SIZE, CUTOUT_SIZE), Image.BICUBIC)
    arr = np.asarray(out).copy()
    a = arr[..., 3]
    a[a >= 250] = 255
    a[a <= 4] = 0
    arr[a == 0, :3] = 0
    return Image.fromarray(arr, "RGBA")
