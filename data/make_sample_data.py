#!/usr/bin/env python3
"""(Re)create the wan-dagster sample catalog and its product images.

    python data/make_sample_data.py

Everything is drawn procedurally with Pillow + numpy (no downloads, no randomness
that is not seeded), so running the script twice produces identical files.

Outputs (all relative to this file's directory):
    images/                 product cutouts (RGBA PNG), model shots (+ masks), shoe templates
    catalog.csv             the catalog (UTF-8, header row)
    catalog.parquet         the same catalog written with pyarrow

After writing, the script reads both catalog files back, checks that they are equal
and validates every image of every valid row; it exits non-zero on any problem.
"""
from __future__ import annotations

import math
import multiprocessing as mp
import os
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, ImageChops, ImageDraw

HERE = Path(__file__).resolve().parent
IMG_DIR = HERE / "images"
CSV_PATH = HERE / "catalog.csv"
PARQUET_PATH = HERE / "catalog.parquet"

CUTOUT_SIZE = 640
PORTRAIT = (600, 800)  # model shots and shoe templates (3:4)

# ---------------------------------------------------------------------------
# Catalog schema
# ---------------------------------------------------------------------------
COLUMNS = [
    "sku", "title", "brand", "category",
    "cutout_image", "model_image", "model_mask", "shoe_template",
    "background_prompt", "model_prompt", "face_prompt", "video_prompt",
    "video_model", "video_resolution", "video_duration", "video_audio",
]
# pandas dtypes of the catalog; read the CSV with
#   pd.read_csv(path, dtype=DTYPES, keep_default_na=False, na_values=[""])
DTYPES = {c: "str" for c in COLUMNS}
DTYPES["video_duration"] = "Int64"
DTYPES["video_audio"] = "boolean"
ARROW_SCHEMA = pa.schema(
    [pa.field(c, pa.string()) for c in COLUMNS[:-2]]
    + [pa.field("video_duration", pa.int64()), pa.field("video_audio", pa.bool_())]
)
CATEGORIES = ("apparel", "shoes", "bags", "accessories", "home", "electronics")

# What each video model accepts (mirrors the brief; used to sanity-check the rows).
VIDEO_RULES = {
    "wan2.2-i2v-flash": ({"480P", "720P", "1080P"}, {5}, False),
    "wan2.2-i2v-plus": ({"480P", "1080P"}, {5}, False),
    "wanx2.1-i2v-turbo": ({"480P", "720P"}, {3, 4, 5}, False),
    "wan2.5-i2v-preview": ({"480P", "720P", "1080P"}, {5, 10}, False),
    "wan2.6-i2v-flash": ({"720P", "1080P"}, set(range(2, 16)), True),
}

# ===========================================================================
# Tiny vector renderer: supersampled float canvas with premultiplied alpha
# ===========================================================================


def hexc(s: str) -> tuple[float, float, float]:
    s = s.lstrip("#")
    return tuple(int(s[i:i + 2], 16) for i in (0, 2, 4))


def scale_c(c, k: float):
    return tuple(min(255.0, v * k) for v in c)


def spline(pts, closed=True, n=10):
    """Catmull-Rom spline through ``pts`` -> list of points (smooth outline)."""
    P = np.asarray(pts, dtype=float)
    if closed:
        E = np.vstack([P[-1], P, P[0], P[1]])
    else:
        E = np.vstack([P[0], P, P[-1]])
    t = np.linspace(0.0, 1.0, n, endpoint=False)[None, :, None]
    p0, p1, p2, p3 = (E[k:len(E) - 3 + k][:, None, :] for k in range(4))
    out = 0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                 + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3)
    out = out.reshape(-1, 2)
    if not closed:
        out = np.vstack([out, P[-1:]])
    return [(float(x), float(y)) for x, y in out]


def round_corners(pts, r, n=6):
    """Polygon with every corner replaced by a quadratic curve of size ``r``."""
    out = []
    m = len(pts)
    for i in range(m):
        v = np.asarray(pts[i], float)
        a = np.asarray(pts[i - 1], float)
        b = np.asarray(pts[(i + 1) % m], float)
        rr = r[i] if isinstance(r, (list, tuple)) else r
        da, db = a - v, b - v
        la, lb = np.hypot(*da), np.hypot(*db)
        rr = min(rr, la * 0.5, lb * 0.5)
        p0 = v + da / la * rr
        p2 = v + db / lb * rr
        for t in np.linspace(0, 1, n):
            q = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * v + t * t * p2
            out.append((float(q[0]), float(q[1])))
    return out


def mirror(pts, cx=320.0):
    """Right half outline (top -> bottom) -> full symmetric closed outline."""
    right = list(pts)
    left = [(2 * cx - x, y) for x, y in reversed(right)]
    return right + left


def ellipse_pts(cx, cy, rx, ry, angle=0.0, n=72, a0=0.0, a1=360.0):
    ca, sa = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    out = []
    for t in np.linspace(math.radians(a0), math.radians(a1), n):
        x, y = rx * math.cos(t), ry * math.sin(t)
        out.append((cx + x * ca - y * sa, cy + x * sa + y * ca))
    return out


def rot(pts, angle, c):
    ca, sa = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    return [(c[0] + (x - c[0]) * ca - (y - c[1]) * sa, c[1] + (x - c[0]) * sa + (y - c[1]) * ca)
            for x, y in pts]


def seg_quad(p1, p2, r1, r2):
    (x1, y1), (x2, y2) = p1, p2
    L = math.hypot(x2 - x1, y2 - y1) or 1.0
    nx, ny = -(y2 - y1) / L, (x2 - x1) / L
    return [(x1 + nx * r1, y1 + ny * r1), (x2 + nx * r2, y2 + ny * r2),
            (x2 - nx * r2, y2 - ny * r2), (x1 - nx * r1, y1 - ny * r1)]


def along(p1, p2, t):
    return (p1[0] + (p2[0] - p1[0]) * t, p1[1] + (p2[1] - p1[1]) * t)


class Mask:
    """An anti-aliasing-free coverage mask drawn at the supersampled resolution."""

    def __init__(self, cv: "Canvas"):
        self.cv = cv
        self.img = Image.new("L", (cv.W, cv.H), 0)
        self.d = ImageDraw.Draw(self.img)

    def _p(self, pts):
        return [self.cv.to_px(x, y) for x, y in pts]

    def poly(self, pts, fill=255):
        self.d.polygon(self._p(pts), fill=fill)
        return self

    def smooth(self, pts, fill=255, n=10):
        return self.poly(spline(pts, True, n), fill)

    def rpoly(self, pts, r, fill=255):
        return self.poly(round_corners(pts, r), fill)

    def ellipse(self, cx, cy, rx, ry=None, angle=0.0, fill=255):
        ry = rx if ry is None else ry
        if angle:
            return self.poly(ellipse_pts(cx, cy, rx, ry, angle), fill)
        x0, y0 = self.cv.to_px(cx - rx, cy - ry)
        x1, y1 = self.cv.to_px(cx + rx, cy + ry)
        self.d.ellipse([x0, y0, x1, y1], fill=fill)
        return self

    def ring(self, cx, cy, rx, ry, w, fill=255):
        x0, y0 = self.cv.to_px(cx - rx, cy - ry)
        x1, y1 = self.cv.to_px(cx + rx, cy + ry)
        self.d.ellipse([x0, y0, x1, y1], outline=fill, width=max(1, round(w * self.cv.k)))
        return self

    def rect(self, x0, y0, x1, y1, r=0.0, fill=255):
        a, b = self.cv.to_px(x0, y0)
        c, d = self.cv.to_px(x1, y1)
        if r > 0:
            self.d.rounded_rectangle([a, b, c, d], radius=r * self.cv.k, fill=fill)
        else:
            self.d.rectangle([a, b, c, d], fill=fill)
        return self

    def line(self, pts, w, fill=255, caps=True):
        px = self._p(pts)
        wp = max(1, round(w * self.cv.k))
        self.d.line(px, fill=fill, width=wp, joint="curve")
        if caps:
            r = wp / 2.0
            for x, y in (px[0], px[-1]):
                self.d.ellipse([x - r, y - r, x + r, y + r], fill=fill)
        return self

    def curve(self, pts, w, fill=255, n=10):
        return self.line(spline(pts, False, n), w, fill)

    def dashes(self, pts, w, dash=7.0, gap=5.0, fill=255, smooth=True):
        path = spline(pts, False, 12) if smooth and len(pts) > 2 else list(pts)
        P = np.asarray(path, float)
        seg = np.hypot(*np.diff(P, axis=0).T)
        s = np.concatenate([[0], np.cumsum(seg)])
        pos = 0.0
        while pos < s[-1]:
            e = min(pos + dash, s[-1])
            a = (np.interp(pos, s, P[:, 0]), np.interp(pos, s, P[:, 1]))
            b = (np.interp(e, s, P[:, 0]), np.interp(e, s, P[:, 1]))
            self.line([a, b], w, fill, caps=False)
            pos += dash + gap
        return self

    def capsule(self, p1, p2, r1, r2=None, fill=255):
        r2 = r1 if r2 is None else r2
        self.poly(seg_quad(p1, p2, r1, r2), fill)
        self.ellipse(p1[0], p1[1], r1, fill=fill)
        self.ellipse(p2[0], p2[1], r2, fill=fill)
        return self

    def seg(self, p1, p2, r1, r2=None, fill=255):
        return self.poly(seg_quad(p1, p2, r1, r1 if r2 is None else r2), fill)

    def arc(self, cx, cy, rx, ry, a0, a1, w, fill=255, caps=True):
        return self.line(ellipse_pts(cx, cy, rx, ry, 0, 90, a0, a1), w, fill, caps)

    def __and__(self, other: "Mask"):
        out = Mask(self.cv)
        out.img = ImageChops.multiply(self.img, other.img)
        out.d = ImageDraw.Draw(out.img)
        return out

    def __sub__(self, other: "Mask"):
        out = Mask(self.cv)
        out.img = ImageChops.subtract(self.img, other.img)
        out.d = ImageDraw.Draw(out.img)
        return out

    def __or__(self, other: "Mask"):
        out = Mask(self.cv)
        out.img = ImageChops.lighter(self.img, other.img)
        out.d = ImageDraw.Draw(out.img)
        return out


class Canvas:
    """Float RGBA canvas (premultiplied) in *design* coordinates.

    ``center``/``scale`` map design coordinates onto the canvas, so the same
    drawing code can be rendered in place (model shots) or zoomed (cutouts).
    """

    def __init__(self, w, h, bg=None, ss=2, center=None, scale=1.0):
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
        self.painted = None  # pixel bbox of everything painted in "cover" mode
        if bg is not None:
            self.fill(bg)

    def to_px(self, x, y):
        return ((x - self.ox) * self.k, (y - self.oy) * self.k)

    def grids(self, x0, y0, x1, y1):
        xx = ((np.arange(x0, x1, dtype=np.float32) + 0.5) / self.k + self.ox)[None, :]
        yy = ((np.arange(y0, y1, dtype=np.float32) + 0.5) / self.k + self.oy)[:, None]
        return xx, yy

    def mask(self) -> Mask:
        return Mask(self)

    def fill(self, color_fn):
        xx, yy = self.grids(0, 0, self.W, self.H)
        col = color_fn(xx, yy) if callable(color_fn) else np.array(color_fn, np.float32)
        self.p[:] = col
        self.p *= np.float32(1 / 255)
        self.a[:] = 1.0
        self.painted = (0, 0, self.W, self.H)

    def paint(self, m: Mask, color, *shades, op=1.0, mode="cover", label=0.0, soft=None, box=None):
        """Composite ``color`` through mask ``m``.

        mode "cover": normal over-compositing (adds coverage);
        mode "atop": only where something is already painted (details, highlights);
        mode "erase": cut a hole.
        shades: callables (xx, yy) -> brightness factors; soft: callable -> extra mask.
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
    def _reduced(self, arr):
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


def fit_cutout(cv: Canvas, size=CUTOUT_SIZE, margin=0.07) -> Image.Image:
    """Crop the product, centre it on a transparent square and resize to ``size``."""
    img = cv.rgba_hires()
    alpha = np.asarray(img.getchannel("A"))
    if alpha[0].any() or alpha[-1].any() or alpha[:, 0].any() or alpha[:, -1].any():
        raise RuntimeError("product touches the render canvas border; enlarge the view")
    x0, y0, x1, y1 = img.getchannel("A").getbbox()
    crop = img.crop((x0, y0, x1, y1))
    side = int(math.ceil(max(x1 - x0, y1 - y0) / (1 - 2 * margin)))
    sq = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    sq.paste(crop, ((side - (x1 - x0)) // 2, (side - (y1 - y0)) // 2))
    out = sq.resize((size, size), Image.BICUBIC)
    arr = np.asarray(out).copy()
    a = arr[..., 3]
    a[a >= 250] = 255
    a[a <= 4] = 0
    arr[a == 0, :3] = 0
    return Image.fromarray(arr, "RGBA")


# --- shading helpers: return callables (xx, yy) -> factor -----------------------


def ramp(x0, y0, x1, y1, stops):
    dx, dy = x1 - x0, y1 - y0
    L2 = dx * dx + dy * dy or 1.0
    ts = [s[0] for s in stops]
    ks = [s[1] for s in stops]

    def f(xx, yy):
        t = ((xx - x0) * dx + (yy - y0) * dy) / L2
        return np.interp(t, ts, ks).astype(np.float32)
    return f


def lin(x0, y0, x1, y1, k0, k1):
    return ramp(x0, y0, x1, y1, [(0, k0), (1, k1)])


def cyl(p1, p2, r, lo=0.72, hi=1.08, light=-0.35, power=2.0):
    """Cylinder shading across the axis p1->p2 (light on the left for vertical axes)."""
    (x1, y1), (x2, y2) = p1, p2
    L = math.hypot(x2 - x1, y2 - y1) or 1.0
    nx, ny = (y2 - y1) / L, -(x2 - x1) / L
    if ny > 1e-9 or (abs(ny) <= 1e-9 and nx < 0):
        nx, ny = -nx, -ny

    def f(xx, yy):
        u = ((xx - x1) * nx + (yy - y1) * ny) / r
        v = np.clip(np.abs(u - light) / (1 + abs(light)), 0, 1)
        return (hi - (hi - lo) * v ** power).astype(np.float32)
    return f


def cylx(x0, x1, **kw):
    c = (x0 + x1) / 2
    return cyl((c, 0), (c, 1), (x1 - x0) / 2, **kw)


def rad(cx, cy, r, k0, k1, power=1.5):
    def f(xx, yy):
        t = np.clip(np.hypot(xx - cx, yy - cy) / r, 0, 1)
        return (k0 + (k1 - k0) * t ** power).astype(np.float32)
    return f


def blob(cx, cy, rx, ry=None, angle=0.0):
    ry = rx if ry is None else ry
    ca, sa = math.cos(math.radians(angle)), math.sin(math.radians(angle))

    def f(xx, yy):
        dx, dy = xx - cx, yy - cy
        u = (dx * ca + dy * sa) / rx
        v = (-dx * sa + dy * ca) / ry
        return np.exp(-(u * u + v * v) * 2.0).astype(np.float32)
    return f


def wave(angle, period, amp, phase=0.0):
    ca, sa = math.cos(math.radians(angle)), math.sin(math.radians(angle))

    def f(xx, yy):
        t = (xx * ca + yy * sa) / period
        return (1.0 + amp * np.sin(2 * np.pi * (t + phase))).astype(np.float32)
    return f


WHITE = (255, 255, 255)
BLACK = (0, 0, 0)


def _blob_box(cx, cy, rx, ry):
    r = 1.6 * max(rx, ry if ry is not None else rx)
    return (cx - r, cy - r, cx + r, cy + r)


def highlight(cv, m, cx, cy, rx, ry=None, op=0.45, angle=0.0, color=WHITE):
    cv.paint(m, color, op=op, mode="atop", soft=blob(cx, cy, rx, ry, angle), box=_blob_box(cx, cy, rx, ry))


def shadow_on(cv, m, cx, cy, rx, ry=None, op=0.35, angle=0.0):
    cv.paint(m, BLACK, op=op, mode="atop", soft=blob(cx, cy, rx, ry, angle), box=_blob_box(cx, cy, rx, ry))


def floor_shadow(cv, cx, cy, rx, ry, op):
    m = cv.mask().rect(cx - 1.6 * rx, cy - 1.6 * ry, cx + 1.6 * rx, cy + 1.6 * ry)
    cv.paint(m, BLACK, op=op, soft=blob(cx, cy, rx, ry))


def product_canvas():
    return Canvas(640, 640, ss=2)


# ===========================================================================
# Shoes (side view, toe to the left, design space 640x640)
# ===========================================================================


def draw_sneaker(cv, upper, accent, sole=(246, 244, 238), lace=(250, 250, 250),
                 high=False, runner=False):
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


def draw_chelsea(cv, leather, gore=(42, 36, 32), sole=(40, 32, 28)):
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


def draw_pump(cv, color, lining=(232, 205, 180)):
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


def draw_loafer(cv, color, sole=(58, 36, 28)):
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


# ===========================================================================
# Bags and accessories (design space 640x640)
# ===========================================================================


def draw_handbag(cv, leather, metal=(212, 175, 90)):
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


def draw_backpack(cv, color, trim=(196, 150, 100)):
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


def draw_tote(cv, canvas_c=(232, 220, 196), stripe=(40, 80, 150), strap=(150, 105, 70)):
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


def draw_wallet(cv, leather):
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


def draw_sunglasses(cv, frame=(120, 70, 30), lens=(40, 50, 45), seed=7):
    rng = np.random.default_rng(seed)
    lens_l = [(108, 262), (292, 256), (290, 330), (262, 398), (150, 404), (112, 350)]
    lens_r = [(640 - x, y) for x, y in lens_l]
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


def draw_watch(cv, dial=(24, 40, 84), strap=(110, 60, 34), steel=(200, 204, 210)):
    cx, cy = 320, 320
    for y0, y1 in ((70, 230), (410, 590)):
        st = cv.mask().rpoly([(262, y0), (378, y0), (372, y1), (268, y1)], 14 if y0 < 300 else 14)
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


def draw_cap(cv, color):
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


def draw_clutch(cv, color, metal=(215, 185, 120)):
    body = cv.mask().rect(90, 220, 550, 460, r=18)
    cv.paint(body, color, lin(0, 220, 0, 460, 1.06, 0.86), cylx(90, 550, lo=0.9, hi=1.04))
    flap = cv.mask().rpoly([(90, 220), (550, 220), (320, 390)], [18, 18, 30])
    cv.paint(flap, scale_c(color, 1.04), lin(0, 220, 0, 390, 1.08, 0.9), mode="atop")
    cv.paint(cv.mask().line([(100, 226), (320, 388), (540, 226)], 3), scale_c(color, 0.7), mode="atop")
    cv.paint(cv.mask().ellipse(320, 372, 24, 16), metal, lin(0, 356, 0, 388, 1.3, 0.7))
    highlight(cv, body, 220, 250, 120, 20, op=0.25)


# ===========================================================================
# Home and electronics (design space 640x640)
# ===========================================================================


def draw_lamp(cv, base=(40, 120, 120), shade=(242, 232, 212), brass=(200, 160, 80)):
    cv.paint(cv.mask().rect(309, 320, 331, 440), brass, cylx(309, 331, lo=0.6, hi=1.2))
    b = cv.mask().smooth(mirror([(350, 425), (392, 460), (410, 520), (392, 575), (340, 588)]))
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


def draw_mug(cv, glaze=(226, 210, 184), seed=3):
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


def draw_vase(cv, top=(206, 150, 60), bottom=(30, 70, 140)):
    outline = mirror([(352, 112), (346, 136), (352, 196), (420, 280), (455, 380), (430, 490), (380, 548),
                      (350, 560)])
    v = cv.mask().smooth(outline)
    colf = lambda xx, yy: (np.array(top, np.float32) + (np.array(bottom, np.float32) - np.array(top, np.float32))
                           * np.clip((yy[..., None] - 280) / 160, 0, 1)) * np.ones_like(xx)[..., None]
    cv.paint(v, colf, cylx(180, 460, lo=0.55, hi=1.12, light=-0.35))
    for y in (250, 262):
        cv.paint(cv.mask().rect(150, y, 490, y + 4), (245, 235, 215), mode="atop", op=0.8)
    cv.paint(cv.mask().ellipse(320, 114, 32, 8), (40, 28, 20), mode="atop")
    highlight(cv, v, 258, 370, 14, 70, op=0.55, angle=10)
    highlight(cv, v, 304, 160, 5, 30, op=0.4)


def draw_plant(cv, pot=(196, 104, 64)):
    leaves = [(-22, 300, 36), (-9, 340, 40), (5, 360, 42), (18, 310, 38), (-32, 230, 32), (30, 250, 34),
              (0, 250, 30)]
    for i, (ang, hgt, w) in enumerate(leaves):
        base = (320 + ang * 1.6, 400)
        pts = [(base[0] - w / 2, base[1]), (base[0] - w * 0.62, base[1] - hgt * 0.45),
               (base[0] - w * 0.3, base[1] - hgt * 0.85), (base[0], base[1] - hgt),
               (base[0] + w * 0.3, base[1] - hgt * 0.85), (base[0] + w * 0.62, base[1] - hgt * 0.45),
               (base[0] + w / 2, base[1])]
        pts = rot(pts, ang * 0.9, base)
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


def draw_headphones(cv, body=(38, 38, 42), accent=(150, 150, 158)):
    cv.paint(cv.mask().arc(320, 330, 196, 220, 190, 350, 34), body, lin(0, 110, 0, 330, 1.3, 0.9))
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
    highlight(cv, cv.mask().arc(320, 330, 196, 220, 190, 350, 34), 260, 118, 110, 10, op=0.35)


def draw_phone(cv, frame=(60, 64, 80), wall=((40, 40, 120), (220, 90, 140))):
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


def draw_speaker(cv, color=(236, 100, 84), rubber=(40, 40, 44)):
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


def draw_camera(cv, body_c=(36, 36, 38), top_c=(200, 200, 204)):
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


def draw_candle_jar(cv, glass=(170, 90, 30), wax=(246, 238, 222)):
    cv.paint(cv.mask().rect(210, 210, 430, 520, r=20).ellipse(320, 516, 110, 18), glass,
             cylx(210, 430, lo=0.5, hi=1.15))
    cv.paint(cv.mask().ellipse(320, 230, 104, 18), wax, lin(0, 212, 0, 248, 0.8, 1.05))
    cv.paint(cv.mask().line([(320, 230), (322, 206)], 4), (40, 30, 20))
    cv.paint(cv.mask().rect(230, 320, 410, 430, r=4), (244, 238, 226), cylx(210, 430, lo=0.8, hi=1.05),
             mode="atop")
    cv.paint(cv.mask().rect(262, 360, 378, 368), (60, 50, 40), mode="atop")
    cv.paint(cv.mask().rect(282, 380, 358, 386), (120, 100, 80), mode="atop")
    highlight(cv, cv.mask().rect(210, 210, 430, 520), 244, 360, 10, 140, op=0.5)


def draw_earbuds(cv, white=(244, 244, 242)):
    case = cv.mask().rect(170, 220, 470, 470, r=110)
    cv.paint(case, white, rad(280, 300, 300, 1.05, 0.75))
    cv.paint(cv.mask().curve([(172, 300), (320, 304), (468, 300)], 2.5), (170, 170, 170), mode="atop")
    cv.paint(cv.mask().ellipse(320, 380, 5), (60, 200, 90), mode="atop")
    highlight(cv, case, 250, 260, 80, 20, op=0.6)
    bud = cv.mask().ellipse(520, 420, 42, 48).capsule((528, 450), (536, 540), 14, 12)
    cv.paint(bud, white, rad(505, 405, 90, 1.05, 0.75))
    cv.paint(cv.mask().ellipse(508, 414, 20, 24), (60, 60, 64), mode="atop")


# ===========================================================================
# People, garments, shoe templates (design space 600x800)
# ===========================================================================

# Body landmarks (left side of the image; the right side is mirrored at x=300).
SH = (236, 210)      # shoulder joint
EL = (207, 318)      # elbow
WR = (190, 420)      # wrist
HIP = (272, 440)
KNEE = (268, 585)
ANK = (262, 724)


def mx(p):
    return (600 - p[0], p[1])


def mxs(pts):
    return [(600 - x, y) for x, y in pts]


@dataclass
class Person:
    skin: tuple
    hair: tuple
    hair_style: str  # long | short | bun | bob
    lips: tuple = (196, 110, 110)
    trousers: tuple | None = (52, 56, 66)  # None: bare legs
    top: tuple | None = None               # neutral top colour if the product is a bottom
    shoes: tuple = (245, 245, 242)
    bg: tuple = ((236, 233, 228), (214, 209, 202))
    seed: int = 0


def studio_bg(cv, bg):
    top, bottom = np.array(bg[0], np.float32), np.array(bg[1], np.float32)
    floor = 660.0

    def f(xx, yy):  # separable: a vertical colour ramp times a horizontal vignette
        t = np.clip(yy / floor, 0, 1)[..., None]
        wall = top + (bottom - top) * t
        fl = bottom * (0.97 + 0.04 * np.clip((yy - floor) / 140, 0, 1))[..., None]
        w = np.clip((yy - floor + 20) / 40, 0, 1)[..., None]
        vign = (1 - 0.06 * ((xx - 300) / 300) ** 2)[..., None]
        return (wall * (1 - w) + fl * w).astype(np.float32) * vign.astype(np.float32)
    cv.fill(f)


def skin_limb(cv, p1, p2, r1, r2, skin, label=0.0):
    m = cv.mask().capsule(p1, p2, r1, r2)
    cv.paint(m, skin, cyl(p1, p2, max(r1, r2), lo=0.78, hi=1.04, light=-0.3), label=label)
    return m


def draw_torso_and_legs(cv, P: Person):
    # legs
    for side in (0, 1):
        f = (lambda p: p) if side == 0 else mx
        skin_limb(cv, f(HIP), f(KNEE), 31, 21, P.skin)
        skin_limb(cv, f(KNEE), f(ANK), 21, 12, P.skin)
        calf = (f((266, 640))[0], 640)
        cv.paint(cv.mask().ellipse(calf[0], 640, 19, 42), P.skin, cyl(f(KNEE), f(ANK), 22, lo=0.8, hi=1.04))
    pelvis = cv.mask().poly([(236, 398), (364, 398), (372, 452), (300, 480), (228, 452)])
    cv.paint(pelvis, P.skin, cylx(228, 372, lo=0.8, hi=1.03))
    torso = cv.mask().rpoly([(232, 196), (368, 196), (376, 240), (362, 340), (366, 420), (234, 420),
                             (238, 340), (224, 240)], 14)
    cv.paint(torso, P.skin, cylx(224, 376, lo=0.78, hi=1.04))
    neck = cv.mask().rect(284, 140, 316, 206, r=6)
    cv.paint(neck, P.skin, cylx(284, 316, lo=0.7, hi=1.0), lin(0, 150, 0, 200, 0.85, 1.0))
    # shoes
    for side in (0, 1):
        f = (lambda p: p) if side == 0 else mx
        pts = [(240, 722), (278, 722), (286, 748), (280, 760), (232, 760), (228, 746)]
        pts = pts if side == 0 else mxs(pts)
        cv.paint(cv.mask().rpoly(pts, 8), P.shoes, lin(0, 722, 0, 760, 1.05, 0.8))
        sx0 = 228 if side == 0 else 314
        cv.paint(cv.mask().rect(sx0 - 4, 754, sx0 + 62, 762, r=3), scale_c(P.shoes, 0.7), mode="atop")


def draw_arms(cv, P: Person):
    for side in (0, 1):
        f = (lambda p: p) if side == 0 else mx
        skin_limb(cv, f(SH), f(EL), 19, 15, P.skin)
        skin_limb(cv, f(EL), f(WR), 15, 11, P.skin)
        hx, hy = f((186, 446))
        hand = cv.mask().ellipse(hx, hy, 13, 23, angle=8 if side == 0 else -8)
        cv.paint(hand, P.skin, cylx(hx - 13, hx + 13, lo=0.8, hi=1.02), lin(0, 425, 0, 470, 1.0, 0.9))


def draw_back_hair(cv, P: Person):
    if P.hair_style == "long":
        m = cv.mask().smooth([(262, 90), (252, 150), (244, 246), (276, 256), (324, 256), (356, 246),
                              (348, 150), (338, 90)])
    elif P.hair_style == "bob":
        m = cv.mask().smooth([(262, 90), (254, 140), (256, 172), (300, 178), (344, 172), (346, 140),
                              (338, 90)])
    else:
        return
    cv.paint(m, P.hair, lin(0, 80, 0, 250, 1.0, 0.8), cylx(244, 356, lo=0.75, hi=1.05))


def draw_head(cv, P: Person):
    for x in (264, 336):
        cv.paint(cv.mask().ellipse(x, 118, 7, 12), scale_c(P.skin, 0.92))
    face = cv.mask().smooth([(300, 66), (330, 76), (337, 110), (331, 140), (314, 156), (300, 160),
                             (286, 156), (269, 140), (263, 110), (270, 76)])
    cv.paint(face, P.skin, rad(292, 108, 60, 1.05, 0.86))
    # features
    for x in (286, 314):
        cv.paint(cv.mask().ellipse(x, 116, 5.5, 3.6), (250, 250, 248))
        cv.paint(cv.mask().ellipse(x, 116, 3.2, 3.2), (48, 36, 30))
        cv.paint(cv.mask().curve([(x - 8, 107), (x, 104), (x + 8, 106)], 2.2), scale_c(P.hair, 0.9))
    cv.paint(cv.mask().curve([(301, 118), (298, 132), (303, 135)], 1.6), scale_c(P.skin, 0.75), op=0.8)
    cv.paint(cv.mask().ellipse(300, 144, 8.5, 3.4), P.lips, lin(0, 141, 0, 148, 0.9, 1.05))
    for x in (280, 320):
        cv.paint(face, (230, 120, 110), op=0.18, mode="atop", soft=blob(x, 132, 9, 6))
    # front hair
    if P.hair_style in ("long", "bob"):
        pts = [(262, 132), (258, 92), (276, 68), (300, 60), (324, 68), (342, 92), (338, 132), (332, 100),
               (312, 84), (290, 82), (272, 96)]
    else:  # short, bun
        pts = [(264, 112), (262, 86), (280, 64), (300, 58), (320, 64), (338, 86), (336, 112), (330, 92),
               (300, 80), (272, 92)]
    if P.hair_style == "bun":
        cv.paint(cv.mask().ellipse(300, 56, 20, 17), P.hair, rad(294, 50, 22, 1.1, 0.8))
    hm = cv.mask().smooth(pts)
    cv.paint(hm, P.hair, lin(0, 58, 0, 130, 1.1, 0.85))
    highlight(cv, hm, 286, 72, 18, 6, op=0.25, angle=-20)


# --- garments -------------------------------------------------------------------
# Each garment draws its "body" part (before the arms) and its "sleeves" part (after).


@dataclass
class Garment:
    kind: str
    color: tuple
    accent: tuple | None = None
    detail: tuple | None = None
    extra: dict = field(default_factory=dict)


LONG_SLEEVE = {"hoodie", "bomber", "sweater", "trench"}
TOPS = {"tee", "hoodie", "bomber", "sweater", "trench", "dress"}
BOTTOMS = {"jeans", "skirt", "trousers"}


def _sleeve_long(cv, g: Garment, side, label, ghost=False):
    f = (lambda p: p) if side == 0 else mx
    c = g.color
    wide = 1.12 if g.kind == "trench" else 1.0
    s, e = f((SH[0] + 2, SH[1] + 6 + 2 * wide)), f(EL)
    w_end = along(f(EL), f(WR), 0.92)
    m = cv.mask().capsule(s, e, 24 * wide, 21 * wide).seg(e, w_end, 21 * wide, 17 * wide)
    shoulder = [(258, 189), (226, 192), (212, 212), (214, 232), (258, 244)]
    m.rpoly(shoulder if side == 0 else mxs(shoulder), 8)
    cv.paint(m, c, cyl(s, w_end, 24 * wide, lo=0.74, hi=1.05, light=-0.2), label=label)
    # elbow crease
    cv.paint(cv.mask().curve([along(e, (e[0] + (12 if side == 0 else -12), e[1] - 6), 0),
                              (e[0] + (8 if side == 0 else -8), e[1] + 6)], 3), BLACK, op=0.12, mode="atop")
    if g.kind in ("hoodie", "bomber", "sweater"):
        cuff_a = along(f(EL), f(WR), 0.8)
        cm = cv.mask().seg(cuff_a, w_end, 17.5, 17.2)
        rib_col = g.accent or scale_c(c, 0.9)
        cv.paint(cm, rib_col, wave(0, 4, 0.12), cyl(cuff_a, w_end, 18, lo=0.75, hi=1.05), label=label)
    if g.kind == "bomber" and side == 0:
        pk = cv.mask().rpoly([(206, 250), (226, 252), (224, 278), (204, 276)], 3)
        cv.paint(pk, scale_c(c, 0.92), mode="atop")
        cv.paint(cv.mask().rect(209, 256, 221, 262), (60, 60, 60), mode="atop")
    if g.kind == "trench":
        cv.paint(cv.mask().seg(along(f(EL), f(WR), 0.7), along(f(EL), f(WR), 0.78), 19.5), scale_c(c, 0.85),
                 mode="atop")


def _sleeve_tee(cv, g: Garment, side, label):
    pts = [(256, 187), (222, 196), (194, 276), (240, 290), (256, 236)]
    pts = pts if side == 0 else mxs(pts)
    m = cv.mask().rpoly(pts, 8)
    a = (222, 210) if side == 0 else (378, 210)
    b = (217, 283) if side == 0 else (383, 283)
    cv.paint(m, g.color, cyl(a, b, 26, lo=0.78, hi=1.05, light=-0.1), label=label)
    hem = [(195, 270), (240, 284)] if side == 0 else [(405, 270), (360, 284)]
    cv.paint(cv.mask().line(hem, 3), BLACK, op=0.12, mode="atop")
    cv.paint(cv.mask().dashes([(hem[0][0] + (1 if side == 0 else -1), hem[0][1] - 7),
                               (hem[1][0], hem[1][1] - 7)], 1.4, 4, 3, smooth=False), BLACK, op=0.18,
             mode="atop")


def torso_shade(x0=222, x1=378, y0=190, y1=450):
    return (cylx(x0, x1, lo=0.8, hi=1.05, light=-0.25), lin(0, y0, 0, y1, 1.03, 0.92))


def garment_body(cv, g: Garment, label=1.0, ghost=False, length=None):
    c = g.color
    k = g.kind
    if k in ("tee", "hoodie", "bomber", "sweater"):
        hem_y = length or (452 if k in ("hoodie", "sweater") else 446)
        if ghost:  # inside back of the neckline
            cv.paint(cv.mask().ellipse(300, 196, 24, 13), scale_c(c, 0.62), label=label)
        if k == "hoodie":
            hood = cv.mask().smooth([(252, 206), (244, 132), (262, 82), (300, 66), (338, 82), (356, 132),
                                     (348, 206)])
            cv.paint(hood, c, cylx(244, 356, lo=0.72, hi=1.04), label=label)
            cv.paint(cv.mask().smooth([(266, 196), (262, 126), (278, 90), (300, 80), (322, 90), (338, 126),
                                       (334, 196)]), scale_c(c, 0.58), mode="atop")
        wide = 6 if k in ("hoodie", "sweater", "bomber") else 0
        body = cv.mask().rpoly([(228 - wide / 2, 192), (372 + wide / 2, 192), (380 + wide, 240),
                                (374 + wide, 330), (376 + wide, hem_y), (224 - wide, hem_y), (226 - wide, 330),
                                (220 - wide, 240)], 12)
        if k == "tee":
            body.ellipse(300, 190, 24, 20, fill=0)
        elif k == "hoodie":
            body.poly([(276, 190), (324, 190), (300, 222)], fill=0)
        else:
            body.ellipse(300, 190, 22, 17, fill=0)
        cv.paint(body, c, *torso_shade(y1=hem_y), label=label)
        if k == "sweater":  # rib knit + cables
            cv.paint(body, BLACK, op=0.09, mode="atop",
                     soft=lambda xx, yy: (np.sin(xx * 2 * np.pi / 7) > 0.3).astype(np.float32))
            for xc in (266, 300, 334):
                cab = cv.mask().rect(xc - 9, 214, xc + 9, hem_y - 20)
                cv.paint(cab, scale_c(c, 1.12), mode="atop",
                         soft=lambda xx, yy, xc=xc: (0.5 + 0.5 * np.sin(
                             2 * np.pi * ((yy + np.abs(xx - xc) * 1.2) / 18))) ** 2)
                cv.paint(cv.mask().rect(xc - 11, 214, xc - 9, hem_y - 20), BLACK, op=0.2, mode="atop")
                cv.paint(cv.mask().rect(xc + 9, 214, xc + 11, hem_y - 20), BLACK, op=0.2, mode="atop")
        # neckline trim
        if k == "tee":
            cv.paint(cv.mask().arc(300, 190, 24, 20, 0, 180, 5), scale_c(c, 0.88), mode="atop")
        elif k in ("sweater", "bomber"):
            rib = g.accent or scale_c(c, 0.88)
            cv.paint(cv.mask().arc(300, 190, 25, 20, 0, 180, 10, caps=False), rib, wave(0, 3.5, 0.15), label=label)
        elif k == "hoodie":
            cv.paint(cv.mask().line([(276, 192), (300, 222), (324, 192)], 7), scale_c(c, 0.85), label=label)
        # hem band
        if k in ("hoodie", "sweater", "bomber"):
            hm = cv.mask().rect(224 - wide, hem_y - 24, 376 + wide, hem_y, r=4)
            cv.paint(hm, g.accent or scale_c(c, 0.9), wave(0, 4, 0.12), *torso_shade(y1=hem_y), label=label)
        else:
            cv.paint(cv.mask().line([(226, hem_y - 8), (374, hem_y - 8)], 1.4), BLACK, op=0.15, mode="atop")
        if k == "hoodie":
            pocket = cv.mask().rpoly([(254, 340), (346, 340), (366, hem_y - 24), (234, hem_y - 24)], 8)
            cv.paint(pocket, scale_c(c, 0.96), mode="atop")
            for pts in ([(254, 340), (240, 400)], [(346, 340), (360, 400)]):
                cv.paint(cv.mask().line(pts, 3), BLACK, op=0.25, mode="atop")
            for x0, x1 in ((290, 284), (310, 316)):
                cv.paint(cv.mask().curve([(x0, 214), (x1 + (x0 - 300) * 0.2, 260), (x1, 300)], 3.2),
                         g.accent or (240, 240, 240), label=label)
                cv.paint(cv.mask().rect(x1 - 2.5, 298, x1 + 2.5, 314, r=1), (200, 200, 205), label=label)
        if k == "bomber":
            cv.paint(cv.mask().line([(300, 208), (300, hem_y - 4)], 5), (40, 40, 44), mode="atop")
            cv.paint(cv.mask().dashes([(300, 210), (300, hem_y - 6)], 7, 2, 2, smooth=False), (150, 150, 156),
                     mode="atop", op=0.7)
            cv.paint(cv.mask().rect(295, 208, 305, 230, r=2), (190, 190, 196), label=label)
            for sx in (-1, 1):
                cv.paint(cv.mask().line([(300 + sx * 46, 350), (300 + sx * 56, 396)], 5), scale_c(c, 0.6),
                         mode="atop")
        # soft folds
        for (x, y, ang) in ((258, 405, 60), (344, 405, -60), (300, 300, 0)):
            shadow_on(cv, body, x, y, 30, 6, op=0.10, angle=ang)
        highlight(cv, body, 262, 250, 30, 60, op=0.10)
    elif k == "trench":
        if ghost:
            cv.paint(cv.mask().ellipse(300, 196, 24, 13), scale_c(c, 0.6), label=label)
        body = cv.mask().rpoly([(226, 192), (374, 192), (384, 240), (378, 330), (372, 372), (404, 622),
                                (196, 622), (228, 372), (222, 330), (216, 240)], 12)
        cv.paint(body, c, *torso_shade(y1=622), label=label)
        cv.paint(cv.mask().line([(316, 226), (316, 620)], 2), scale_c(c, 0.7), mode="atop")
        for sx in (-1, 1):  # lapels + collar
            lap = [(300 + sx * 12, 188), (300 + sx * 44, 194), (300 + sx * 40, 240), (300 + sx * 56, 250),
                   (300 + sx * 6, 318)]
            cv.paint(cv.mask().poly(lap), scale_c(c, 1.05), lin(0, 190, 0, 318, 1.08, 0.92), label=label)
            cv.paint(cv.mask().line(lap[1:] , 2), scale_c(c, 0.7), mode="atop")
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
    elif k == "dress":
        if ghost:
            cv.paint(cv.mask().poly([(268, 192), (332, 192), (300, 232)]), scale_c(c, 0.6), label=label)
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
    elif k in ("jeans", "trousers"):
        hem = ANK[1] + 2
        pants = cv.mask().poly([(236, 398), (364, 398), (368, 450), (300, 482), (232, 450)])
        legs = []
        for side in (0, 1):
            pts = [(236, 398), (300, 398), (302, 478), (292, 600), (286, hem), (238, hem), (232, 600), (226, 460)]
            legs.append(cv.mask().poly(pts if side == 0 else mxs(pts)))
            pants.poly(pts if side == 0 else mxs(pts))
        hip_sh = cylx(226, 374, lo=0.82, hi=1.04, light=-0.2)
        leg_l = cylx(226, 302, lo=0.76, hi=1.05, light=-0.1)
        leg_r = cylx(298, 374, lo=0.76, hi=1.05, light=-0.1)

        def pants_shade(xx, yy):
            t = np.clip((yy - 440) / 70, 0, 1)
            per_leg = np.where(xx < 300, leg_l(xx, yy), leg_r(xx, yy))
            return (1 - t) * hip_sh(xx, yy) + t * per_leg
        tex = (wave(45, 3.2, 0.06),) if k == "jeans" else ()
        cv.paint(pants, c, pants_shade, lin(0, 398, 0, hem, 1.02, 0.9), *tex, label=label)
        for side in (0, 1):
            leg = legs[side]
            if k == "jeans":
                xc = 264 if side == 0 else 336
                highlight(cv, leg, xc, 520, 18, 70, op=0.22)
                highlight(cv, leg, xc, 660, 12, 30, op=0.15)
                for yy in (470, 482, 494):
                    cv.paint(cv.mask().line([(xc - 14, yy), (xc + 14, yy - 8 if side == 0 else yy + 8)], 2),
                             WHITE, op=0.16, mode="atop")
                seam = [(232, 430), (234, 600), (240, hem)] if side == 0 else mxs([(232, 430), (234, 600),
                                                                                   (240, hem)])
                cv.paint(cv.mask().dashes(seam, 1.6, 5, 3), g.accent or (214, 150, 70), mode="atop")
                cv.paint(cv.mask().rect(230 if side == 0 else 310, hem - 12, 290 if side == 0 else 370, hem - 2),
                         scale_c(c, 0.85), mode="atop")
            else:
                cv.paint(cv.mask().line([(264 if side == 0 else 336, 470), (262 if side == 0 else 338, hem)], 1.5),
                         BLACK, op=0.15, mode="atop")
        shadow_on(cv, pants, 300, 520, 6, 60, op=0.25)
        wb = cv.mask().rect(234, 396, 366, 414)
        cv.paint(wb, scale_c(c, 0.96), lin(0, 396, 0, 414, 1.08, 0.9), label=label)
        if k == "jeans":
            cv.paint(cv.mask().dashes([(236, 410), (364, 410)], 1.4, 4, 3, smooth=False), g.accent or (214, 150, 70),
                     mode="atop")
            for x in (248, 286, 314, 352):
                cv.paint(cv.mask().rect(x - 3, 394, x + 3, 418, r=1), scale_c(c, 0.9), label=label)
            cv.paint(cv.mask().ellipse(300, 405, 5), (190, 160, 110), rad(298, 403, 5, 1.3, 0.8), label=label)
            cv.paint(cv.mask().dashes([(306, 416), (308, 450), (300, 462)], 1.6, 4, 3), g.accent or (214, 150, 70),
                     mode="atop")
            for sx in (-1, 1):
                cv.paint(cv.mask().curve([(300 + sx * 58, 416), (300 + sx * 52, 436), (300 + sx * 30, 440)], 2),
                         BLACK, op=0.3, mode="atop")
        else:
            cv.paint(cv.mask().line([(300, 414), (300, 460)], 1.5), BLACK, op=0.25, mode="atop")
    elif k == "skirt":
        sk = cv.mask().poly([(240, 372), (360, 372), (398, 584), (300, 590), (202, 584)])

        def pleats(xx, yy):
            t = np.clip((yy - 372) / 212, 0, 1)
            xl = 240 - 38 * t
            xr = 360 + 38 * t
            u = (xx - xl) / (xr - xl)
            tri = np.abs(((u * 9) % 1.0) - 0.5) * 2
            return (0.86 + 0.2 * tri).astype(np.float32)
        cv.paint(sk, c, pleats, cylx(202, 398, lo=0.85, hi=1.05), lin(0, 372, 0, 590, 1.02, 0.9), label=label)
        highlight(cv, sk, 270, 470, 14, 90, op=0.22, angle=10)
        wb = cv.mask().rect(238, 360, 362, 380, r=3)
        cv.paint(wb, scale_c(c, 0.92), lin(0, 360, 0, 380, 1.1, 0.9), label=label)
    else:
        raise ValueError(k)


def garment_sleeves(cv, g: Garment, label=1.0, ghost=False):
    if g.kind == "tee":
        for side in (0, 1):
            _sleeve_tee(cv, g, side, label)
    elif g.kind in LONG_SLEEVE:
        for side in (0, 1):
            _sleeve_long(cv, g, side, label, ghost)
        if g.kind == "trench":  # shoulder epaulettes drawn after the sleeves
            for sx in (-1, 1):
                cv.paint(cv.mask().rpoly([(300 + sx * 40, 192), (300 + sx * 74, 196), (300 + sx * 74, 208),
                                          (300 + sx * 40, 206)], 3), scale_c(g.color, 0.95), label=label)


GARMENT_BOX = {  # design-space area to zoom into for the ghost cutouts
    "tee": (180, 170, 420, 460), "hoodie": (150, 50, 450, 470), "bomber": (150, 170, 450, 470),
    "sweater": (150, 170, 450, 470), "trench": (150, 170, 450, 640), "dress": (180, 170, 420, 630),
    "jeans": (210, 380, 390, 740), "skirt": (190, 350, 410, 600),
}


def render_ghost_cutout(g: Garment) -> Image.Image:
    x0, y0, x1, y1 = GARMENT_BOX[g.kind]
    scale = 600 / max(x1 - x0, y1 - y0)
    cv = Canvas(640, 640, ss=2, center=((x0 + x1) / 2, (y0 + y1) / 2), scale=scale)
    garment_body(cv, g, ghost=True)
    garment_sleeves(cv, g, ghost=True)
    return fit_cutout(cv)


def render_model(g: Garment, P: Person):
    cv = Canvas(*PORTRAIT, ss=2)
    studio_bg(cv, P.bg)
    floor_shadow(cv, 300, 758, 140, 18, 0.35)
    draw_back_hair(cv, P)
    draw_torso_and_legs(cv, P)
    # bottoms
    if g.kind in BOTTOMS:
        garment_body(cv, g, label=1.0)
    elif g.kind != "dress" and P.trousers is not None:
        garment_body(cv, Garment("trousers", P.trousers), label=0.0)
    # tops
    if g.kind in TOPS:
        garment_body(cv, g, label=1.0)
        draw_arms(cv, P)
        garment_sleeves(cv, g, label=1.0)
    else:
        top = Garment("tee", P.top or (246, 246, 244))
        length = 400 if g.kind == "jeans" else 368
        garment_body(cv, top, label=0.0, length=length)
        draw_arms(cv, P)
        garment_sleeves(cv, top, label=0.0)
    draw_head(cv, P)
    return cv.rgb_image(), cv.label_image()


def render_shoe_template(skin, bg, hem="shorts", hem_color=(70, 100, 150), spread=0):
    """Lower legs and bare feet, standing, front view (knees and both feet visible)."""
    cv = Canvas(*PORTRAIT, ss=2)
    studio_bg(cv, bg)
    floor_shadow(cv, 300, 752, 180, 20, 0.35)
    # left leg (viewer's left); the right one is mirrored, then both are spread apart
    outer = [(200, -10), (202, 200), (212, 330), (206, 430), (220, 540), (234, 636)]
    inner = [(268, 636), (282, 540), (296, 420), (292, 330), (298, 200), (300, -10)]
    for side in (0, 1):
        d = -(24 + spread) if side == 0 else 24 + spread  # stance: feet apart

        def place(pts, d=d, side=side):
            pts = pts if side == 0 else mxs(pts)
            return [(x + d * max(y, 0) / 640, y) for x, y in pts]
        leg = place(outer + inner)
        lm = cv.mask().poly(spline(leg, True, 8))
        xl = min(x for x, _ in leg)
        cv.paint(lm, skin, cylx(xl, xl + 98, lo=0.76, hi=1.05, light=-0.25 if side == 0 else -0.1))
        (kx, ky), = place([(252, 372)])
        highlight(cv, lm, kx - 4, ky, 20, 26, op=0.16)
        cv.paint(cv.mask().curve([(kx - 18, ky + 26), (kx, ky + 34), (kx + 18, ky + 26)], 2.5), BLACK,
                 op=0.12, mode="atop")
        shadow_on(cv, lm, kx + (14 if side == 0 else -14), 470, 10, 60, op=0.10)
        # foot: front view, toes turned slightly out, big toe on the inner side
        (ax, ay), = place([(251, 636)])
        sgn = 1 if side == 0 else -1  # +1: inner side is +x
        foot = [(ax - 17, 618), (ax + 17, 618), (ax + 26, 664), (ax + 40, 712), (ax + 42, 738), (ax + 28, 754),
                (ax - 30, 754), (ax - 42, 740), (ax - 40, 712), (ax - 26, 664)]
        if sgn < 0:
            foot = [(2 * ax - x, y) for x, y in foot]
        foot = rot(foot, -6 * sgn, (ax, 630))
        fm = cv.mask().smooth(foot)
        cv.paint(fm, skin, cylx(ax - 42, ax + 42, lo=0.8, hi=1.05), lin(0, 630, 0, 754, 1.0, 0.9))
        for bx in (ax - 15, ax + 15):  # ankle bones
            highlight(cv, fm, bx, 636, 6, 8, op=0.15)
        toes = [(-33, 6.5), (-20, 7.5), (-6, 8.5), (9, 9.0), (27, 11.5)]  # little toe ... big toe
        for tx, r in toes:
            (px, py), = rot([(ax + tx * sgn, 746 - (2 if abs(tx) < 25 else 0))], -6 * sgn, (ax, 630))
            cv.paint(cv.mask().ellipse(px, py, r, r * 0.9), scale_c(skin, 1.02),
                     lin(0, py - r, 0, py + r, 1.06, 0.86))
            cv.paint(cv.mask().ellipse(px, py + r * 0.2, r * 0.55, r * 0.4), (236, 200, 190), op=0.5)
        cv.paint(cv.mask().curve(rot([(ax - 20, 696), (ax, 704), (ax + 18, 696)], -6 * sgn, (ax, 630)), 2),
                 BLACK, op=0.10)
    if hem == "shorts":
        sh = cv.mask().rpoly([(186, -10), (414, -10), (420, 152), (306, 160), (300, 136), (294, 160), (180, 152)],
                             6)
        cv.paint(sh, hem_color, wave(45, 3.2, 0.06), cylx(180, 420, lo=0.8, hi=1.05), lin(0, 0, 0, 150, 1.0, 0.9))
        cv.paint(cv.mask().rect(180, 134, 420, 160), WHITE, op=0.18, mode="atop")
        cv.paint(cv.mask().dashes([(188, 128), (412, 128)], 1.6, 5, 3, smooth=False), (214, 150, 70), mode="atop")
    else:  # skirt hem
        sk = cv.mask().rpoly([(150, -20), (450, -20), (470, 176), (300, 192), (130, 176)], [0, 0, 16, 40, 16])
        cv.paint(sk, hem_color, cylx(130, 470, lo=0.8, hi=1.05), lin(0, 0, 0, 190, 1.0, 0.88))
        for x in (230, 300, 370):
            shadow_on(cv, sk, x, 120, 8, 80, op=0.15)
    return cv.rgb_image()


# ===========================================================================
# Catalog content
# ===========================================================================

SKIN = {"light": hexc("#F2CDB0"), "fair": hexc("#E9BC98"), "medium": hexc("#D49A72"), "tan": hexc("#B57A55"),
        "deep": hexc("#8A5A3C"), "dark": hexc("#6B4330")}
HAIR = {"black": hexc("#231C1A"), "brown": hexc("#5B3A27"), "blonde": hexc("#C89F62"), "auburn": hexc("#7E3B20"),
        "dark": hexc("#35261F")}


def P(skin, hair, style, **kw):
    return Person(SKIN[skin], HAIR[hair], style, **kw)


APPAREL = [
    dict(sku="APP-1001", title="Essential Crew-Neck Cotton T-Shirt, Coral", brand="Northbound Basics",
         garment=Garment("tee", hexc("#EE6F57")),
         person=P("light", "brown", "long", trousers=hexc("#6F8CB5"), shoes=(246, 246, 244)),
         background_prompt="sunlit minimalist bedroom with white linen and a potted olive tree",
         model_prompt="A young woman with long brown hair standing relaxed in a bright, airy loft, full body, "
                      "wearing a coral crew-neck t-shirt with light-wash jeans and white sneakers, soft daylight",
         face_prompt="friendly young woman in her twenties, natural makeup, warm smile",
         video_prompt="slow push-in toward the t-shirt, fabric moving gently in a light breeze"),
    dict(sku="APP-1002", title="Heavyweight Fleece Pullover Hoodie, Forest Green", brand="Ridgeway",
         garment=Garment("hoodie", hexc("#2F5D46"), accent=(236, 234, 226)),
         person=P("tan", "black", "short", trousers=hexc("#2B2D33"), shoes=(30, 30, 32)),
         background_prompt="foggy pine forest trail at dawn, soft diffused light",
         model_prompt="A young man with short black hair standing on an urban rooftop at golden hour, full body, "
                      "wearing a forest-green pullover hoodie with black joggers and black sneakers",
         face_prompt="",
         video_prompt="camera slowly orbits halfway around the model, steady and smooth"),
    dict(sku="APP-1003", title="Polka-Dot Sleeveless A-Line Midi Dress, Navy", brand="Maison Lune",
         garment=Garment("dress", hexc("#1F2D55"), detail=(246, 244, 236)),
         person=P("medium", "dark", "bun", trousers=None, shoes=(214, 178, 150)),
         background_prompt="Mediterranean terrace with whitewashed walls and bougainvillea",
         model_prompt="A woman with her hair in a neat bun walking along a sunny seaside promenade, full body, "
                      "wearing a navy polka-dot sleeveless midi dress and nude flats, summer afternoon light",
         face_prompt="elegant woman in her thirties, soft smile, minimal makeup",
         video_prompt="slow tracking shot following the model as the skirt sways"),
    dict(sku="APP-1004", title="Slim-Fit Stretch Jeans, Indigo Wash", brand="Blue Harbor Denim",
         garment=Garment("jeans", hexc("#2E4A7D"), accent=(214, 150, 70)),
         person=P("fair", "blonde", "long", top=(248, 248, 246), shoes=(246, 246, 244)),
         background_prompt="weathered brick wall in a city alley with warm afternoon sun",
         model_prompt="A young woman with long blonde hair leaning against a brick wall in a city street, full "
                      "body, wearing indigo slim-fit jeans, a tucked white t-shirt and white sneakers",
         face_prompt="",
         video_prompt="camera tilts slowly from the sneakers up to the waistband"),
    dict(sku="APP-1005", title="Nylon Bomber Jacket, Olive", brand="Ridgeway",
         garment=Garment("bomber", hexc("#5E6B3A"), accent=(40, 44, 40)),
         person=P("deep", "black", "short", trousers=hexc("#3B3F47"), shoes=(245, 245, 242)),
         background_prompt="concrete skate park under an overcast sky",
         model_prompt="A man with short dark hair standing in a modern city plaza, full body, wearing an olive "
                      "nylon bomber jacket zipped up, charcoal chinos and white sneakers, overcast light",
         face_prompt="confident man in his late twenties, clean-shaven, neutral expression",
         video_prompt="slow dolly-in from full body to a waist-up framing"),
    dict(sku="APP-1006", title="Cable-Knit Merino Crew Sweater, Mustard", brand="Fjord & Pine",
         garment=Garment("sweater", hexc("#D9A62E")),
         person=P("light", "auburn", "bob", trousers=hexc("#4A3B32"), shoes=(92, 60, 40)),
         background_prompt="cosy cabin interior with a wool throw and crackling fireplace",
         model_prompt="A woman with an auburn bob standing in a cosy autumn cafe, full body, wearing a mustard "
                      "cable-knit sweater with brown corduroy trousers and leather boots, warm window light",
         face_prompt="",
         video_prompt="gentle handheld sway, slight push-in on the cable knit texture"),
    dict(sku="APP-1007", title="Pleated Satin Midi Skirt, Burgundy", brand="Maison Lune",
         garment=Garment("skirt", hexc("#7A1F33")),
         person=P("dark", "black", "long", trousers=None, top=(26, 26, 28), shoes=(30, 28, 28)),
         background_prompt="art gallery with white walls and polished concrete floor",
         model_prompt="A woman with long black hair posing in a bright art gallery, full body, wearing a "
                      "burgundy pleated satin midi skirt with a fitted black top and black heels",
         face_prompt="graceful woman in her twenties, glossy lips, calm expression",
         video_prompt="slow 180-degree orbit as the pleats catch the light"),
    dict(sku="APP-1008", title="Classic Belted Trench Coat, Camel", brand="Ashford & Co.",
         garment=Garment("trench", hexc("#C49A63")),
         person=P("medium", "brown", "long", trousers=hexc("#26282E"), shoes=(36, 30, 28)),
         background_prompt="rain-washed Paris street with cafe awnings",
         model_prompt="A woman with long brown hair walking down a rainy cobblestone street, full body, wearing "
                      "a camel belted trench coat over black trousers and ankle boots, soft overcast light",
         face_prompt="",
         video_prompt="slow tracking shot beside the model, coat hem moving with each step"),
]

SHOES = [
    dict(sku="SHO-2001", title="Court Classic Leather Sneakers, White/Red", brand="Stride Lab",
         draw=lambda cv: draw_sneaker(cv, (246, 245, 240), (206, 40, 46)),
         tpl=dict(skin=SKIN["light"], bg=((232, 236, 240), (208, 214, 220)), hem="shorts"),
         background_prompt="clean white studio floor with a soft shadow and pastel backdrop",
         video_prompt="slow 360-degree turntable rotation of the sneaker"),
    dict(sku="SHO-2002", title="AeroRun Mesh Running Shoes, Cobalt Blue", brand="Stride Lab",
         draw=lambda cv: draw_sneaker(cv, (40, 86, 200), (250, 130, 40), sole=(245, 245, 245), runner=True),
         tpl=dict(skin=SKIN["tan"], bg=((238, 236, 230), (216, 212, 204)), hem="shorts",
                  hem_color=(40, 40, 46), spread=10),
         background_prompt="wet asphalt running track at sunrise with lens flare",
         video_prompt="low-angle dolly across the shoe, light sweeping over the mesh"),
    dict(sku="SHO-2003", title="Canvas High-Top Sneakers, Black", brand="Kickline",
         draw=lambda cv: draw_sneaker(cv, (34, 34, 38), (248, 248, 244), sole=(246, 244, 236), high=True),
         tpl=dict(skin=SKIN["deep"], bg=((240, 232, 226), (222, 210, 200)), hem="skirt",
                  hem_color=(180, 60, 60)),
         background_prompt="graffiti-covered urban wall with warm street light",
         video_prompt="slow push-in on the high-top silhouette"),
    dict(sku="SHO-2004", title="Suede Chelsea Boots, Chestnut", brand="Ashford & Co.",
         draw=lambda cv: draw_chelsea(cv, (140, 82, 46)),
         tpl=dict(skin=SKIN["medium"], bg=((230, 226, 220), (206, 200, 192)), hem="skirt",
                  hem_color=(60, 64, 74), spread=6),
         background_prompt="rustic oak floorboards beside a leather armchair, autumn light",
         video_prompt="slow orbit around the boot with warm rim light"),
    dict(sku="SHO-2005", title="Patent Pointed-Toe Stiletto Pumps, Scarlet", brand="Rosso Atelier",
         draw=lambda cv: draw_pump(cv, (200, 20, 36)),
         tpl=dict(skin=SKIN["fair"], bg=((242, 234, 236), (224, 212, 216)), hem="skirt",
                  hem_color=(20, 20, 24)),
         background_prompt="polished marble floor in a luxury boutique with soft spotlights",
         video_prompt="slow rotation revealing the heel profile, glossy reflections"),
    dict(sku="SHO-2006", title="Penny Loafers, Oxblood", brand="Ashford & Co.",
         draw=lambda cv: draw_loafer(cv, (106, 28, 34)),
         tpl=dict(skin=SKIN["dark"], bg=((234, 234, 230), (210, 210, 204)), hem="shorts",
                  hem_color=(190, 170, 130), spread=4),
         background_prompt="library with dark wood shelves and a Persian rug",
         video_prompt="gentle camera glide from toe to heel"),
]

GOODS = [
    dict(sku="BAG-3001", category="bags", title="Structured Top-Handle Leather Handbag, Cognac",
         brand="Atelier Noor", draw=lambda cv: draw_handbag(cv, (166, 92, 44)),
         background_prompt="marble console table in a sunlit hotel lobby",
         video_prompt="slow 180-degree orbit around the handbag"),
    dict(sku="BAG-3002", category="bags", title="Everyday Commuter Backpack, Navy", brand="Trailmark",
         draw=lambda cv: draw_backpack(cv, (34, 48, 86)),
         background_prompt="wooden bench on a train platform in early morning light",
         video_prompt="slow push-in toward the front pocket"),
    dict(sku="BAG-3003", category="bags", title="Striped Canvas Tote Bag, Natural/Blue", brand="Seaside Goods",
         draw=lambda cv: draw_tote(cv),
         background_prompt="sandy beach with dune grass and a striped towel",
         video_prompt="handles swaying gently in a sea breeze, static camera"),
    dict(sku="ACC-4001", category="accessories", title="Bifold Leather Wallet, Espresso", brand="Atelier Noor",
         draw=lambda cv: draw_wallet(cv, (74, 46, 32)),
         background_prompt="walnut desk with a fountain pen and notebook",
         video_prompt="slow top-down rotation of the open wallet"),
    dict(sku="ACC-4002", category="accessories", title="Tortoiseshell Square Sunglasses", brand="Solstice Eyewear",
         draw=lambda cv: draw_sunglasses(cv),
         background_prompt="poolside tiles with rippling water reflections",
         video_prompt="light sweeping across the lenses, slow pan right"),
    dict(sku="ACC-4003", category="accessories", title="Automatic Dress Watch, Steel/Navy", brand="Halden",
         draw=lambda cv: draw_watch(cv),
         background_prompt="dark slate surface with dramatic side lighting",
         video_prompt="macro push-in on the dial, seconds hand sweeping"),
    dict(sku="ACC-4004", category="accessories", title="Cotton Twill Baseball Cap, Sage", brand="Trailmark",
         draw=lambda cv: draw_cap(cv, (128, 150, 116)),
         background_prompt="sunny park lawn with dappled shade",
         video_prompt="slow turntable rotation of the cap"),
    dict(sku="HOM-5001", category="home", title="Ceramic Table Lamp with Linen Shade, Teal", brand="Casa Alba",
         draw=lambda cv: draw_lamp(cv),
         background_prompt="bedside table in a calm Scandinavian bedroom at dusk",
         video_prompt="lamp light warming up, slow push-in"),
    dict(sku="HOM-5002", category="home", title="Speckled Stoneware Mug, 350 ml, Sand", brand="Casa Alba",
         draw=lambda cv: draw_mug(cv),
         background_prompt="marble countertop in soft morning light with coffee beans",
         video_prompt="steam rising from the mug, slow orbit"),
    dict(sku="HOM-5003", category="home", title="Glazed Amphora Vase, Ochre/Cobalt", brand="Terra & Kiln",
         draw=lambda cv: draw_vase(cv),
         background_prompt="limewashed plaster wall with a wooden sideboard",
         video_prompt="slow vertical pan from the base to the lip of the vase"),
    dict(sku="HOM-5004", category="home", title="Snake Plant in Terracotta Pot", brand="Greenroom",
         draw=lambda cv: draw_plant(cv),
         background_prompt="bright living room corner with a rattan chair",
         video_prompt="leaves swaying slightly, camera drifts left"),
    dict(sku="ELE-6001", category="electronics", title="Wireless Noise-Cancelling Over-Ear Headphones, Matte Black",
         brand="Sonique", draw=lambda cv: draw_headphones(cv),
         background_prompt="dark studio with a neon magenta rim light",
         video_prompt="slow 360-degree rotation with a subtle light sweep"),
    dict(sku="ELE-6002", category="electronics", title="Nova X 6.4-inch Smartphone, Midnight", brand="Nova",
         draw=lambda cv: draw_phone(cv),
         background_prompt="floating above a glossy reflective surface with soft gradient backdrop",
         video_prompt="phone slowly rotates to reveal its edge, light glints on the frame"),
    dict(sku="ELE-6003", category="electronics", title="Portable Waterproof Bluetooth Speaker, Coral",
         brand="Sonique", draw=lambda cv: draw_speaker(cv),
         background_prompt="picnic blanket by a lake on a sunny afternoon",
         video_prompt="water droplets bounce off the speaker, slow push-in"),
    dict(sku="ELE-6004", category="electronics", title="Mirrorless Camera with 24mm Lens, Silver", brand="Lumio",
         draw=lambda cv: draw_camera(cv),
         background_prompt="travel flat lay on a linen tablecloth with a map and passport",
         video_prompt="slow orbit ending on the lens, reflections moving across the glass"),
]

# video settings per valid row, in catalog order: (model, resolution, duration, audio); None = empty cell
VIDEO = [
    ("wan2.2-i2v-flash", "480P", 5, None),
    ("wan2.6-i2v-flash", "720P", 5, False),
    (None, None, None, None),
    ("wanx2.1-i2v-turbo", "480P", 3, None),
    ("wan2.2-i2v-flash", "720P", 5, None),
    ("wan2.5-i2v-preview", "480P", 5, None),
    ("wan2.2-i2v-plus", "480P", 5, None),
    (None, None, None, None),
    # shoes
    ("wan2.2-i2v-flash", "480P", 5, None),
    ("wanx2.1-i2v-turbo", "720P", 4, None),
    ("wan2.6-i2v-flash", "720P", 8, True),
    (None, None, None, None),
    ("wan2.2-i2v-flash", "1080P", 5, None),
    ("wanx2.1-i2v-turbo", "480P", 5, None),
    # bags / accessories
    ("wan2.2-i2v-flash", "480P", 5, None),
    ("wan2.5-i2v-preview", "720P", 10, None),
    (None, None, None, None),
    ("wan2.6-i2v-flash", "1080P", 10, False),
    ("wan2.2-i2v-flash", "720P", 5, None),
    ("wan2.2-i2v-plus", "1080P", 5, None),
    ("wanx2.1-i2v-turbo", "480P", 5, None),
    # home / electronics
    ("wan2.2-i2v-flash", "480P", 5, None),
    (None, None, None, None),
    ("wan2.6-i2v-flash", "720P", 5, False),
    ("wan2.5-i2v-preview", "480P", 5, None),
    ("wan2.2-i2v-flash", "720P", 5, None),
    ("wanx2.1-i2v-turbo", "720P", 5, None),
    (None, None, None, None),
    ("wan2.2-i2v-plus", "480P", 5, None),
]


def save_png(img: Image.Image, path: Path):
    # zlib level 6: ~4 % larger than optimize=True but 3x faster to write
    img.save(path, format="PNG", compress_level=6)


def model_ext(i: int) -> str:
    return "png" if APPAREL[i]["sku"] == "APP-1006" else "jpg"  # one PNG model shot, the rest JPEG


def template_ext(i: int) -> str:
    return "png" if i in (2, 5) else "jpg"  # mostly JPEG, two PNG templates


def save_rgb(img: Image.Image, path: Path):
    if path.suffix == ".png":
        save_png(img, path)
    else:
        img.save(path, format="JPEG", quality=90, optimize=True)


def render_task(task) -> str:
    """Render and write the image(s) of one catalog row (runs in a worker process)."""
    group, i = task
    if group == "apparel":
        it = APPAREL[i]
        sku = it["sku"]
        save_png(render_ghost_cutout(it["garment"]), IMG_DIR / f"{sku}_cutout.png")
        model, mask = render_model(it["garment"], it["person"])
        save_rgb(model, IMG_DIR / f"{sku}_model.{model_ext(i)}")
        save_png(mask, IMG_DIR / f"{sku}_mask.png")
        return sku
    if group in ("shoes", "goods"):
        it = (SHOES if group == "shoes" else GOODS)[i]
        cv = product_canvas()
        it["draw"](cv)
        save_png(fit_cutout(cv), IMG_DIR / f"{it['sku']}_cutout.png")
        if group == "shoes":
            save_rgb(render_shoe_template(**it["tpl"]), IMG_DIR / f"{it['sku']}_shoe_template.{template_ext(i)}")
        return it["sku"]
    cv = product_canvas()
    if i == "BRK-JPEG":  # a supplier JPEG on white: no alpha channel
        draw_candle_jar(cv)
        jar = fit_cutout(cv)
        flat = Image.new("RGB", jar.size, (255, 255, 255))
        flat.paste(jar, mask=jar.getchannel("A"))
        flat.save(IMG_DIR / "BRK-JPEG_cutout.jpg", format="JPEG", quality=90, optimize=True)
    elif i == "BRK-RES":
        draw_earbuds(cv)
        save_png(fit_cutout(cv), IMG_DIR / "BRK-RES_cutout.png")
    elif i == "BRK-UNSAFE":
        draw_clutch(cv, (226, 170, 170))
        save_png(fit_cutout(cv), IMG_DIR / "BRK-unsafe-name_cutout.png")
    return i


def render_all():
    if IMG_DIR.exists():
        shutil.rmtree(IMG_DIR)
    IMG_DIR.mkdir(parents=True)
    tasks = ([("apparel", i) for i in range(len(APPAREL))] + [("shoes", i) for i in range(len(SHOES))]
             + [("goods", i) for i in range(len(GOODS))]
             + [("broken", n) for n in ("BRK-JPEG", "BRK-RES", "BRK-UNSAFE")])
    workers = min(8, os.cpu_count() or 1)
    if workers > 1 and "fork" in mp.get_all_start_methods():
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as ex:
            list(ex.map(render_task, tasks))
    else:
        for t in tasks:
            render_task(t)


def build_rows() -> pd.DataFrame:
    rows = []

    def row(**kw):
        r = {c: None for c in COLUMNS}
        r.update(kw)
        rows.append(r)

    for i, it in enumerate(APPAREL):
        sku = it["sku"]
        row(sku=sku, title=it["title"], brand=it["brand"], category="apparel",
            cutout_image=f"images/{sku}_cutout.png", model_image=f"images/{sku}_model.{model_ext(i)}",
            model_mask=f"images/{sku}_mask.png", background_prompt=it["background_prompt"],
            model_prompt=it["model_prompt"], face_prompt=it["face_prompt"] or None,
            video_prompt=it["video_prompt"])
    for i, it in enumerate(SHOES):
        sku = it["sku"]
        row(sku=sku, title=it["title"], brand=it["brand"], category="shoes",
            cutout_image=f"images/{sku}_cutout.png", shoe_template=f"images/{sku}_shoe_template.{template_ext(i)}",
            background_prompt=it["background_prompt"], video_prompt=it["video_prompt"])
    for it in GOODS:
        sku = it["sku"]
        row(sku=sku, title=it["title"], brand=it["brand"], category=it["category"],
            cutout_image=f"images/{sku}_cutout.png", background_prompt=it["background_prompt"],
            video_prompt=it["video_prompt"])

    assert len(VIDEO) == len(rows), (len(VIDEO), len(rows))
    for r, (vm, res, dur, audio) in zip(rows, VIDEO):
        r.update(video_model=vm, video_resolution=res, video_duration=dur, video_audio=audio)

    # ---- deliberately broken rows (always the last four) ---------------------------
    row(sku="BRK-MISSING", title="Braided Leather Belt, Tan", brand="Ashford & Co.", category="accessories",
        cutout_image="images/BRK-MISSING_cutout.png",  # never written: the file does not exist
        background_prompt="leather workshop bench with brass tools",
        video_prompt="slow pan along the braided strap", video_model="wan2.2-i2v-flash",
        video_resolution="480P", video_duration=5)
    row(sku="BRK-JPEG", title="Soy Wax Candle in Amber Glass Jar", brand="Casa Alba", category="home",
        cutout_image="images/BRK-JPEG_cutout.jpg",  # JPEG: no alpha channel
        background_prompt="windowsill with linen curtains and evening glow",
        video_prompt="candle flame flickers, slow push-in", video_model="wanx2.1-i2v-turbo",
        video_resolution="480P", video_duration=5)
    row(sku="BRK-RES", title="True Wireless Earbuds with Charging Case, White", brand="Sonique",
        category="electronics", cutout_image="images/BRK-RES_cutout.png",
        background_prompt="white desk with a laptop and a cup of tea",
        video_prompt="case lid glints as the camera orbits slowly",
        video_model="wan2.2-i2v-plus", video_resolution="720P", video_duration=5)  # 720P invalid for plus
    row(sku="BRK/../unsafe:name", title="Envelope Clutch, Blush", brand="Atelier Noor", category="bags",
        cutout_image="images/BRK-unsafe-name_cutout.png",
        background_prompt="velvet armchair in a dimly lit cocktail bar",
        video_prompt="slow push-in on the clasp", video_model="wan2.2-i2v-flash",
        video_resolution="720P", video_duration=5)

    df = pd.DataFrame(rows, columns=COLUMNS)
    for c, dt in DTYPES.items():
        df[c] = df[c].astype(dt)
    return df


def write(df: pd.DataFrame):
    df.to_csv(CSV_PATH, index=False, lineterminator="\n")
    table = pa.Table.from_pandas(df, schema=ARROW_SCHEMA, preserve_index=False)
    pq.write_table(table, PARQUET_PATH, compression="zstd")


def read_csv(path=CSV_PATH) -> pd.DataFrame:
    return pd.read_csv(path, dtype=DTYPES, keep_default_na=False, na_values=[""])


# ===========================================================================
# Verification
# ===========================================================================


def _check_cutout(path: Path, errs: list):
    with Image.open(path) as im:
        if im.format != "PNG" or im.mode != "RGBA":
            errs.append(f"{path.name}: cutout must be RGBA PNG, got {im.format} {im.mode}")
            return
        w, h = im.size
        if not (360 <= w <= 2000 and 360 <= h <= 2000):
            errs.append(f"{path.name}: cutout size {im.size} outside 360..2000")
        a = np.asarray(im.getchannel("A"))
    if path.stat().st_size >= 10 * 1024 * 1024:
        errs.append(f"{path.name}: cutout >= 10 MB")
    opaque, clear = (a == 255).mean(), (a == 0).mean()
    partial = 1 - opaque - clear
    corners = [a[0, 0], a[0, -1], a[-1, 0], a[-1, -1]]
    if any(corners) or a[0].any() or a[-1].any() or a[:, 0].any() or a[:, -1].any():
        errs.append(f"{path.name}: transparent border expected")
    if not (0.08 <= opaque <= 0.85) or partial > 0.05:
        errs.append(f"{path.name}: alpha looks wrong (opaque {opaque:.2f}, partial {partial:.3f})")


def _check_portrait(path: Path, errs: list, what: str, max_mb=5):
    with Image.open(path) as im:
        fmt, mode, (w, h) = im.format, im.mode, im.size
    if fmt not in ("JPEG", "PNG") or mode != "RGB":
        errs.append(f"{path.name}: {what} must be RGB JPEG/PNG, got {fmt} {mode}")
    if not (w > 256 and h > 256 and max(w, h) < 4096 and 0.5 <= w / h <= 2.0):
        errs.append(f"{path.name}: {what} size {w}x{h} violates the rules")
    if abs(w / h - 0.75) > 0.01:
        errs.append(f"{path.name}: {what} should be 3:4 portrait, got {w}x{h}")
    if path.stat().st_size > max_mb * 1024 * 1024:
        errs.append(f"{path.name}: {what} larger than {max_mb} MB")
    return (w, h)


def _sides_clear(path: Path, frac=0.06) -> bool:
    """True when the left/right margins are plain backdrop (no limb edges there)."""
    with Image.open(path) as im:
        g = np.asarray(im.convert("L"), np.float32)
    m = max(2, int(g.shape[1] * frac))
    strips = (g[:, :m], g[:, -m:])
    return all(np.abs(np.diff(s, axis=1)).max() < 8 for s in strips)


def verify() -> list[str]:
    errs: list[str] = []
    df_csv = read_csv()
    df_pq = pd.read_parquet(PARQUET_PATH)
    try:
        pd.testing.assert_frame_equal(df_csv, df_pq)
    except AssertionError as e:  # pragma: no cover - report
        errs.append(f"CSV and Parquet differ: {e}")
    if list(df_pq.columns) != COLUMNS:
        errs.append("column order differs")
    if not df_pq["sku"].is_unique:
        errs.append("duplicate skus")
    if not set(df_pq["category"]) <= set(CATEGORIES):
        errs.append("unknown category")
    broken = {"BRK-MISSING", "BRK-JPEG", "BRK-RES", "BRK/../unsafe:name"}
    if list(df_pq["sku"].iloc[-4:]) != ["BRK-MISSING", "BRK-JPEG", "BRK-RES", "BRK/../unsafe:name"]:
        errs.append("broken rows must be the last four, in order")
    for _, r in df_pq.iterrows():
        sku = r["sku"]
        is_broken = sku in broken
        cut = HERE / r["cutout_image"]
        if sku == "BRK-MISSING":
            if cut.exists():
                errs.append("BRK-MISSING cutout unexpectedly exists")
            continue
        if sku == "BRK-JPEG":
            with Image.open(cut) as im:
                if im.format != "JPEG" or "A" in im.getbands():
                    errs.append("BRK-JPEG cutout is not an alpha-less JPEG")
            continue
        _check_cutout(cut, errs)
        cat = r["category"]
        has_model = pd.notna(r["model_image"])
        if cat == "apparel":
            if not (has_model and pd.notna(r["model_mask"]) and pd.notna(r["model_prompt"])):
                errs.append(f"{sku}: apparel needs model_image/model_mask/model_prompt")
            else:
                size = _check_portrait(HERE / r["model_image"], errs, "model_image")
                mp = HERE / r["model_mask"]
                with Image.open(mp) as m:
                    if m.format != "PNG" or m.size != size:
                        errs.append(f"{sku}: mask must be PNG of the model image size")
                    arr = np.asarray(m.convert("L"))
                vals = set(np.unique(arr).tolist())
                cover = (arr == 255).mean()
                if not vals <= {0, 255} or not (0.03 <= cover <= 0.5):
                    errs.append(f"{sku}: mask values {sorted(vals)[:4]} coverage {cover:.3f}")
        elif has_model or pd.notna(r["model_mask"]):
            errs.append(f"{sku}: model_image/model_mask only for apparel")
        if cat == "shoes":
            if pd.isna(r["shoe_template"]):
                errs.append(f"{sku}: shoes need a shoe_template")
            else:
                _check_portrait(HERE / r["shoe_template"], errs, "shoe_template")
                if not _sides_clear(HERE / r["shoe_template"]):
                    errs.append(f"{sku}: legs/feet touch the left/right edge of the shoe template")
        elif pd.notna(r["shoe_template"]):
            errs.append(f"{sku}: shoe_template only for shoes")
        vm = r["video_model"]
        if pd.notna(vm) and not is_broken:
            res_ok, dur_ok, audio_ok = VIDEO_RULES[vm]
            if pd.notna(r["video_resolution"]) and r["video_resolution"] not in res_ok:
                errs.append(f"{sku}: resolution {r['video_resolution']} invalid for {vm}")
            if pd.notna(r["video_duration"]) and int(r["video_duration"]) not in dur_ok:
                errs.append(f"{sku}: duration {r['video_duration']} invalid for {vm}")
            if pd.notna(r["video_audio"]) and not audio_ok:
                errs.append(f"{sku}: audio set for {vm}")
        elif pd.isna(vm) and not (pd.isna(r["video_resolution"]) and pd.isna(r["video_duration"])):
            errs.append(f"{sku}: default model rows leave resolution/duration empty")
    return errs


def dir_size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file() and "__pycache__" not in f.parts)


def main() -> int:
    render_all()
    df = build_rows()
    write(df)
    errs = verify()
    df2 = pd.read_parquet(PARQUET_PATH)
    valid = df2[~df2["sku"].str.startswith("BRK")]
    print(f"catalog: {len(df2)} rows ({len(valid)} valid + {len(df2) - len(valid)} deliberately broken)")
    print("valid rows per category: " + ", ".join(f"{c}={int((valid['category'] == c).sum())}" for c in CATEGORIES))
    print("dtypes: " + ", ".join(f"{c}:{df2[c].dtype}" for c in df2.columns))
    n_img = len(list(IMG_DIR.iterdir()))
    print(f"images: {n_img} files; data/ total {dir_size(HERE) / 1e6:.2f} MB")
    print("csv == parquet (assert_frame_equal): " + ("FAILED" if any("differ" in e for e in errs) else "ok"))
    if errs:
        print(f"{len(errs)} problem(s):")
        for e in errs:
            print("  - " + e)
        return 1
    print("all image checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
