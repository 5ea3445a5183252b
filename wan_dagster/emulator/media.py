"""Media synthesis for the local DashScope emulator.

The emulator must hand back *real* files that visibly derive from the request's inputs, so
that downstream decoding, asset checks and human review exercise the same code paths as
with the real service. Everything is deterministic for a given seed (randomness comes only
from a hash of the request) and vectorised (PIL/numpy, no per-pixel Python) to stay fast.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps, UnidentifiedImageError

from wan_dagster.dashscope.mediainfo import MediaError

from . import feet, motion, scenes
from .yuv import crop_yuv420, even, smoothstep, yuv420_planes

Size = tuple[int, int]
Colour = np.ndarray  # float array of shape (3,), 0..255

_SYNTH_MAX_SIDE = 96  # backgrounds are painted this small, then upscaled: smooth and cheap
_SHADOW_OPACITY = 0.45
_KEN_BURNS_ZOOM = 1.12
_AUDIO_RATE = 48_000
_AUDIO_CHUNK = 1024  # the AAC frame size


# --- decoding / encoding ------------------------------------------------------------------


def decode_image(data: bytes) -> Image.Image:
    """Decode request bytes into RGB or RGBA, upright, so every synthesiser sees one shape."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            img = ImageOps.exif_transpose(opened)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise MediaError(f"cannot decode image ({len(data)} bytes): {exc}") from exc
    has_alpha = "A" in img.getbands() or "transparency" in img.info
    return img.convert("RGBA" if has_alpha else "RGB")


def _png(img: Image.Image) -> bytes:
    """Low compression: the emulator favours latency over file size."""
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


# --- deterministic randomness and colour ----------------------------------------------------


def _rng(*parts: object) -> np.random.Generator:
    """Seeded from the request, so the same request always yields the same media."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def _palette(rng: np.random.Generator, n: int) -> np.ndarray:
    """n soft, studio-like colours (moderate saturation, bright) as an (n, 3) float array."""
    hsv = np.stack(
        [rng.integers(0, 256, n), rng.integers(50, 150, n), rng.integers(140, 245, n)], axis=-1
    ).astype(np.uint8)
    rgb = Image.fromarray(hsv[None], "HSV").convert("RGB")
    return np.asarray(rgb, dtype=np.float32)[0]


def _mean_colour(img: Image.Image) -> Colour:
    """Average colour; Pillow resizes RGBA premultiplied, so transparent pixels do not count."""
    return np.asarray(img.resize((1, 1), Image.Resampling.BOX).convert("RGB"), dtype=np.float32)[0, 0]


def _restyle(img: Image.Image, rng: np.random.Generator, strength: float) -> Image.Image:
    """Seeded colour-matrix grade: the look changes, the content stays recognisable."""
    mix = rng.dirichlet(np.ones(3), size=3)  # rows sum to 1: roughly brightness preserving
    gains = 1.0 + strength * rng.uniform(-0.3, 0.3, 3)
    matrix = ((1.0 - strength) * np.eye(3) + strength * mix) * gains[:, None]
    offsets = strength * rng.uniform(-30.0, 30.0, 3)
    return img.convert("RGB").convert("RGB", tuple(np.column_stack([matrix, offsets]).ravel().tolist()))


# --- geometry -------------------------------------------------------------------------------


def _parse_ratio(ratio: str) -> float:
    """"16:9" -> 1.777…; rejects junk early instead of producing a degenerate canvas."""
    try:
        w, h = (float(part) for part in ratio.split(":"))
    except ValueError as exc:
        raise ValueError(f"aspect ratio must look like '4:3', got {ratio!r}") from exc
    if w <= 0 or h <= 0:
        raise ValueError(f"aspect ratio must be positive, got {ratio!r}")
    return w / h


def _size_for_short_side(short_side: int, ratio: float) -> Size:
    if ratio >= 1:
        return round(short_side * ratio), short_side
    return short_side, round(short_side / ratio)


def _cover_fit(img: Image.Image, size: Size) -> Image.Image:
    """Scale and centre-crop to fill `size` exactly, like CSS object-fit: cover."""
    if img.size == size:
        return img
    return ImageOps.fit(img, size, Image.Resampling.LANCZOS)


def _alpha(img: Image.Image) -> Image.Image:
    """Alpha channel, or fully opaque when the image has none."""
    return img.getchannel("A") if img.mode == "RGBA" else Image.new("L", img.size, 255)


def _cutout(img: Image.Image) -> Image.Image:
    """RGBA product cutout; product shots on white get their near-white backdrop keyed out."""
    if img.mode == "RGBA":
        return img
    darkest = np.asarray(img.convert("RGB"), dtype=np.int16).min(axis=-1)
    alpha = np.clip((250 - darkest) * 16, 0, 255).astype(np.uint8)
    rgba = img.convert("RGBA")
    rgba.putalpha(Image.fromarray(alpha, "L"))
    return rgba


# --- painting -------------------------------------------------------------------------------


def _synth_background(size: Size, rng: np.random.Generator) -> Image.Image:
    """Vertical gradient plus soft blobs, painted tiny and upscaled (smooth, studio-like)."""
    scale = _SYNTH_MAX_SIDE / max(size)
    w, h = max(8, round(size[0] * scale)), max(8, round(size[1] * scale))
    colours = _palette(rng, 5)
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    canvas = np.broadcast_to(colours[0] * (1 - t) + colours[1] * t, (h, w, 3)).copy()
    for colour in colours[2:]:
        blob = _soft_ellipse((w, h), rng.uniform(0, 1, 2), rng.uniform(0.15, 0.45, 2))
        weight = 0.6 * blob[..., None]
        canvas = canvas * (1 - weight) + colour * weight
    small = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8), "RGB")
    return small.resize(size, Image.Resampling.BICUBIC)


def _soft_ellipse(size: Size, centre: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Blurred ellipse mask in 0..1; centre and radii are fractions of the canvas."""
    w, h = size
    cx, cy, rx, ry = centre[0] * w, centre[1] * h, radii[0] * w, radii[1] * h
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=255)
    blurred = mask.filter(ImageFilter.GaussianBlur(max(1.0, 0.15 * min(w, h))))
    return np.asarray(blurred, dtype=np.float32) / 255.0


def _composite(fg: Image.Image, alpha: Image.Image, bg: Image.Image) -> Image.Image:
    """Integer alpha blend; exact where alpha is 255, so kept pixels are bit-identical."""
    a = np.asarray(alpha, dtype=np.uint16)[..., None]
    f = np.asarray(fg.convert("RGB"), dtype=np.uint16)
    b = np.asarray(bg.convert("RGB"), dtype=np.uint16)
    return Image.fromarray(((f * a + b * (255 - a) + 127) // 255).astype(np.uint8), "RGB")


def _drop_shadow(bg: Image.Image, alpha: Image.Image) -> Image.Image:
    """Darken `bg` under an offset, blurred copy of the subject's silhouette (computed at 1/4)."""
    w, h = bg.size
    small = alpha.resize((max(1, w // 4), max(1, h // 4)), Image.Resampling.BOX)
    shifted = Image.new("L", small.size, 0)
    shifted.paste(small, (round(small.width * 0.015), round(small.height * 0.03)))
    shadow = shifted.filter(ImageFilter.GaussianBlur(max(1.0, 0.02 * max(small.size))))
    shade = np.asarray(shadow.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)[..., None]
    darkened = np.asarray(bg.convert("RGB"), dtype=np.float32) * (1 - _SHADOW_OPACITY * shade / 255.0)
    return Image.fromarray(darkened.astype(np.uint8), "RGB")


# --- image tasks ----------------------------------------------------------------------------


def background_generation(base: Image.Image, *, prompt: str, ref: Image.Image | None, seed: int) -> bytes:
    """Product cutout on a scene the prompt describes, with a drop shadow; PNG, base size.

    A product that already has margins is kept in place bit-identical, as the real service
    promises; one that fills the frame is scaled down to leave margins (``scenes.framed``).
    A reference image tints the scene with its mean colour.
    """
    base = scenes.framed(base)
    alpha = _alpha(base)
    backdrop = scenes.scene(prompt, base.size, _rng("background", prompt, seed))
    if ref is not None:
        backdrop = Image.blend(backdrop, Image.new("RGB", base.size, tuple(
            _mean_colour(ref).astype(int).tolist())), 0.5)
    return _png(_composite(base, alpha, _drop_shadow(backdrop, alpha)))


def virtual_model(
    base: Image.Image,
    mask: Image.Image,
    *,
    prompt: str,
    background: Image.Image | None,
    short_side: int,
    aspect_ratio: str | None,
    seed: int,
) -> bytes:
    """Keep the masked (white) garment from `base`, re-synthesise person and scene around it."""
    ratio = _parse_ratio(aspect_ratio) if aspect_ratio else base.width / base.height
    size = _size_for_short_side(short_side, ratio)
    rng = _rng("virtual_model", prompt, seed)
    photo = _cover_fit(base, size)
    keep = _cover_fit(mask.convert("L"), size)
    if background is not None:
        scene = _restyle(_cover_fit(background.convert("RGB"), size), rng, 0.3)
    else:
        scene = scenes.scene(prompt, size, rng)
    person = _restyle(ImageOps.posterize(photo.convert("RGB"), 3), rng, 0.6)
    person_area = _alpha(photo) if photo.mode == "RGBA" else _centre_figure(size)
    return _png(_composite(photo, keep, _composite(person, person_area, scene)))


def _centre_figure(size: Size) -> Image.Image:
    """Where a model usually stands in a catalogue shot: a soft, tall central ellipse."""
    small = (max(8, size[0] // 8), max(8, size[1] // 8))
    mask = _soft_ellipse(small, np.array([0.5, 0.5]), np.array([0.3, 0.48]))
    return Image.fromarray((mask * 255).astype(np.uint8), "L").resize(size, Image.Resampling.BILINEAR)


def shoe_model(template: Image.Image, shoes: list[Image.Image], *, seed: int) -> bytes:
    """A shoe on each foot of the template (``feet.dress_feet``); where no feet can be told
    from the backdrop, the shoes stand side by side in the bottom third."""
    if not shoes:
        raise ValueError("shoe_model needs at least one shoe image")
    layer = feet.dress_feet(template, [_cutout(shoe) for shoe in shoes])
    if layer is None:
        layer = _shoes_in_a_row(template, shoes, seed)
    alpha = layer.getchannel("A")
    return _png(_composite(layer, alpha, _drop_shadow(template.convert("RGB"), alpha)))


def _shoes_in_a_row(template: Image.Image, shoes: list[Image.Image], seed: int) -> Image.Image:
    w, h = template.size
    rng = _rng("shoe_model", seed)
    slot_w = min(w * 0.32, w * 0.8 / len(shoes))
    baseline = h * rng.uniform(0.9, 0.95)
    layer = Image.new("RGBA", template.size, (0, 0, 0, 0))
    for i, shoe in enumerate(shoes):
        fitted = ImageOps.contain(_cutout(shoe), (max(1, round(slot_w)), max(1, round(h * 0.2))))
        centre_x = w / 2 + (i - (len(shoes) - 1) / 2) * slot_w * 1.05 + rng.uniform(-0.02, 0.02) * w
        layer.alpha_composite(fitted, (round(centre_x - fitted.width / 2), round(baseline - fitted.height)))
    return layer


def out_painting(
    image: Image.Image,
    *,
    x_scale: float = 1.0,
    y_scale: float = 1.0,
    angle: int = 0,
    output_ratio: str | None = None,
    offsets: tuple[int, int, int, int] | None = None,
    seed: int,
) -> bytes:
    """Rotate (counter-clockwise, expanding), then grow the canvas with a blurred mirror fill.

    One expansion mode applies, by the service's priority: output_ratio, then x/y scale,
    then pixel offsets (left, right, top, bottom). Ratio and scale keep the original centred.
    """
    rgba = image.convert("RGBA")
    if angle % 360:
        rgba = rgba.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    canvas, origin = _outpaint_canvas(rgba.size, x_scale, y_scale, output_ratio, offsets)
    extended = _extend_edges(rgba, canvas, origin, _rng("out_painting", seed))
    extended.alpha_composite(rgba, origin)
    return _png(extended.convert("RGB"))


def _outpaint_canvas(
    size: Size,
    x_scale: float,
    y_scale: float,
    output_ratio: str | None,
    offsets: tuple[int, int, int, int] | None,
) -> tuple[Size, tuple[int, int]]:
    """Canvas size and where the (rotated) original's top-left corner lands on it."""
    w, h = size
    if output_ratio:
        ratio = _parse_ratio(output_ratio)
        canvas = (round(h * ratio), h) if w / h < ratio else (w, round(w / ratio))
    elif x_scale != 1.0 or y_scale != 1.0:
        if x_scale < 1.0 or y_scale < 1.0:
            raise ValueError(f"out-painting scales must be >= 1, got {x_scale}, {y_scale}")
        canvas = (round(w * x_scale), round(h * y_scale))
    elif offsets:
        left, right, top, bottom = offsets
        if min(offsets) < 0:
            raise ValueError(f"out-painting offsets must be >= 0, got {offsets}")
        return (w + left + right, h + top + bottom), (left, top)
    else:
        canvas = size
    return canvas, ((canvas[0] - w) // 2, (canvas[1] - h) // 2)


def _extend_edges(
    rgba: Image.Image, canvas: Size, origin: tuple[int, int], rng: np.random.Generator
) -> Image.Image:
    """Fill a canvas with a continuation of the image placed at `origin`.

    Near the original the border is its mirror image (continuous edges); farther out it fades
    into a heavy normalised blur, so the mirror does not read as a duplicate of the product.
    Transparent areas (rotation corners) take the blur of their surroundings.
    """
    (w, h), (left, top) = rgba.size, origin
    pad = ((top, canvas[1] - h - top), (left, canvas[0] - w - left), (0, 0))
    mirrored = Image.fromarray(np.pad(np.asarray(rgba), pad, mode="symmetric"), "RGBA")
    fill = _normalised_blur(mirrored, _mean_colour(rgba))
    nearness = _nearness(canvas, (left, top, left + w, top + h), ramp=0.08 * max(canvas))
    keep = ImageChops.multiply(mirrored.getchannel("A"), nearness)
    extended = _composite(mirrored, keep, fill)
    softened = extended.filter(ImageFilter.GaussianBlur(max(1.0, 0.006 * max(canvas))))
    return _restyle(softened, rng, 0.1).convert("RGBA")


def _normalised_blur(rgba: Image.Image, fallback: Colour) -> Image.Image:
    """Wide blur that ignores transparent pixels (premultiplied), computed at 1/8 scale."""
    small = rgba.resize((max(1, rgba.width // 8), max(1, rgba.height // 8)), Image.Resampling.BOX)
    blurred = small.convert("RGBa").filter(ImageFilter.GaussianBlur(max(2.0, 0.1 * max(small.size))))
    base = Image.new("RGBA", small.size, (*fallback.astype(int).tolist(), 255))
    base.alpha_composite(blurred.convert("RGBA"))
    return base.convert("RGB").resize(rgba.size, Image.Resampling.BILINEAR)


def _nearness(canvas: Size, rect: tuple[int, int, int, int], ramp: float) -> Image.Image:
    """255 inside `rect`, fading linearly to 0 at `ramp` pixels outside it (computed at 1/8)."""
    step = 8
    xs = np.arange(step / 2, canvas[0], step, dtype=np.float32)  # pixel centres
    ys = np.arange(step / 2, canvas[1], step, dtype=np.float32)
    dx = np.maximum(np.maximum(rect[0] - xs, xs - rect[2]), 0)
    dy = np.maximum(np.maximum(rect[1] - ys, ys - rect[3]), 0)
    distance = np.hypot(dx[None, :], dy[:, None])
    small = Image.fromarray((255 * np.clip(1 - distance / max(ramp, 1.0), 0, 1)).astype(np.uint8), "L")
    return small.resize(canvas, Image.Resampling.BILINEAR)


def image_edit(images: list[Image.Image], *, prompt: str, size: Size | None, seed: int) -> bytes:
    """The last input image, regraded by a prompt-derived colour transform, at `size`."""
    if not images:
        raise ValueError("image_edit needs at least one image")
    source = images[-1]
    fitted = _cover_fit(source.convert("RGB"), size or source.size)
    return _png(_restyle(fitted, _rng("image_edit", prompt, seed), 0.5))


def text_to_image(*, prompt: str, size: Size, seed: int) -> bytes:
    """A prompt-coloured abstract picture; there is no input to derive from."""
    return _png(_synth_background(size, _rng("text_to_image", prompt, seed)))


# --- video ----------------------------------------------------------------------------------


def video(
    *,
    first: Image.Image | None,
    last: Image.Image | None,
    width: int,
    height: int,
    duration_s: float,
    fps: int,
    audio: bool,
    seed: int,
    prompt: str = "",
) -> bytes:
    """H.264/yuv420p MP4 of exactly round(duration_s * fps) frames at width x height.

    From `first` alone, the camera moves as the prompt's motion words say (``motion``). With
    `last` too, a Ken Burns zoom/pan over `first` cross-fades to `last` (the clip then ends on
    the whole `last` picture); without images a seeded gradient drifts across the frame.
    Optional AAC tones.
    """
    if width % 2 or height % 2 or width <= 0 or height <= 0:
        raise ValueError(f"video dimensions must be positive and even, got {width}x{height}")
    frame_count = round(duration_s * fps)
    if frame_count < 1:
        raise ValueError(f"video must have at least one frame, got {duration_s}s at {fps} fps")
    rng = _rng("video", seed)
    size = (width, height)
    if first is not None and last is None:
        frames = motion.frames(first, size, frame_count, motion.move_for(prompt))
    else:
        frames = _ken_burns_frames(first, last, size, frame_count, rng)
    tones = _soft_tones(frame_count / fps, rng) if audio else None
    return _encode_mp4(frames, size, fps, tones)


class _KenBurns:
    """Slow zoom/pan over one picture.

    The picture is converted to YUV 4:2:0 once; each frame is then an even-aligned crop
    rescaled by swscale, several times faster than resampling RGB with PIL.
    """

    def __init__(self, picture: Image.Image, size: Size, zoom: float, pan: np.ndarray) -> None:
        self.size = size
        self.zoom = zoom
        self.pan = pan
        source = _cover_fit(picture.convert("RGB"), (even(size[0] * zoom), even(size[1] * zoom)))
        self.planes = yuv420_planes(source)

    def frame(self, progress: float) -> av.VideoFrame:
        """progress 0 shows the whole picture; 1 is zoomed in by `zoom`, panned to `pan`."""
        sh, sw = self.planes[0].shape
        level = 1.0 + (self.zoom - 1.0) * progress
        bw, bh = min(sw, even(sw / level)), min(sh, even(sh / level))
        focus = 0.5 + (self.pan - 0.5) * progress
        x0, y0 = min(sw - bw, even((sw - bw) * focus[0])), min(sh - bh, even((sh - bh) * focus[1]))
        crop = av.VideoFrame.from_ndarray(crop_yuv420(self.planes, x0, y0, bw, bh), format="yuv420p")
        return crop.reformat(width=self.size[0], height=self.size[1], interpolation="BILINEAR")


def _blend(a: av.VideoFrame, b: av.VideoFrame, weight: float) -> av.VideoFrame:
    """Cross-fade two same-sized yuv420p frames (PIL's blend is a fast C loop)."""
    mixed = Image.blend(Image.fromarray(a.to_ndarray()), Image.fromarray(b.to_ndarray()), weight)
    return av.VideoFrame.from_ndarray(np.asarray(mixed), format="yuv420p")


def _ken_burns_frames(
    first: Image.Image | None, last: Image.Image | None, size: Size, count: int, rng: np.random.Generator
) -> Iterator[av.VideoFrame]:
    """Opens on the whole `first` picture; with `last`, fades over and settles on the whole `last`."""
    if first is None:
        zoom = 1.5  # text-to-video: a stronger drift across a synthesised gradient
        first = _synth_background((even(size[0] * zoom), even(size[1] * zoom)), rng)
    else:
        zoom = _KEN_BURNS_ZOOM
    opening = _KenBurns(first, size, zoom, rng.uniform(0.2, 0.8, 2))
    closing = _KenBurns(last, size, _KEN_BURNS_ZOOM, rng.uniform(0.2, 0.8, 2)) if last is not None else None
    for i in range(count):
        t = smoothstep(i / (count - 1)) if count > 1 else 0.0
        fade = smoothstep((t - 0.3) / 0.4) if closing is not None else 0.0
        if fade <= 0.0:
            yield opening.frame(t)
        elif fade >= 1.0:
            yield closing.frame(1.0 - t)
        else:
            yield _blend(opening.frame(t), closing.frame(1.0 - t), fade)


def _soft_tones(duration_s: float, rng: np.random.Generator) -> np.ndarray:
    """Quiet root + fifth chord with fades, stereo planar float32, shape (2, samples)."""
    n = round(duration_s * _AUDIO_RATE)
    t = np.arange(n, dtype=np.float32) / _AUDIO_RATE
    root = float(rng.choice([196.0, 220.0, 246.94, 261.63]))
    left = np.sin(2 * np.pi * root * t)
    right = np.sin(2 * np.pi * root * 1.5 * t)
    fade = np.clip(np.minimum(t, duration_s - t) / 0.3, 0.0, 1.0)
    envelope = 0.12 * fade * (0.8 + 0.2 * np.sin(2 * np.pi * 0.5 * t))
    return np.stack([0.7 * left + 0.3 * right, 0.3 * left + 0.7 * right]).astype(np.float32) * envelope


def _encode_mp4(frames: Iterator[av.VideoFrame], size: Size, fps: int, tones: np.ndarray | None) -> bytes:
    """libx264 ultrafast, yuv420p, +faststart (the muxer rewrites the file, so it needs a real path)."""
    with tempfile.TemporaryDirectory(prefix="wan-emulator-") as tmp:
        path = Path(tmp) / "video.mp4"
        with av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
            stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "23"})
            stream.width, stream.height = size
            stream.pix_fmt = "yuv420p"
            if tones is not None:
                _encode_audio(container, tones)
            for index, frame in enumerate(frames):
                frame.pts, frame.time_base = index, Fraction(1, fps)
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
        return path.read_bytes()


def _encode_audio(container: av.container.OutputContainer, tones: np.ndarray) -> None:
    """AAC in encoder-sized chunks; the muxer interleaves it with the video by timestamp."""
    stream = container.add_stream("aac", rate=_AUDIO_RATE, layout="stereo")
    for start in range(0, tones.shape[1], _AUDIO_CHUNK):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(tones[:, start : start + _AUDIO_CHUNK]), format="fltp", layout="stereo"
        )
        frame.sample_rate, frame.pts, frame.time_base = _AUDIO_RATE, start, Fraction(1, _AUDIO_RATE)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


# --- segmentation -----------------------------------------------------------------------------


def segmentation(image: Image.Image, *, seed: int) -> tuple[bytes, bytes]:
    """(mask, visualisation) of one standing figure: a white-on-black pixel mask and the input
    with the masked region tinted, as the instance-segmentation model returns both."""
    rgb = image.convert("RGB")
    width, height = rgb.size
    mask = Image.new("L", rgb.size, 0)
    ImageDraw.Draw(mask).ellipse((0.3 * width, 0.05 * height, 0.7 * width, 0.98 * height),
                                 fill=255)
    tint = tuple(int(c) for c in _palette(_rng("segmentation", seed), 1)[0])
    overlay = Image.composite(Image.blend(rgb, Image.new("RGB", rgb.size, tint), 0.5), rgb, mask)
    return _png(mask), _png(overlay)
