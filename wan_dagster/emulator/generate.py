"""Turns a running task's request into real media, per model family, via ``media``.

Output geometry follows the documented rules: background generation keeps the base image's
size; image-to-video and keyframe models keep the first frame's aspect within the tier's pixel
budget (``keep_aspect_size``); text- and reference-to-video use the ``size`` parameter; video
length is the requested duration at ``spec.video.fps`` with sound when the model (or its
``audio`` parameter) says so. Every media input is fetched and checked, used or not, because
the service rejects a bad input whichever field it sits in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Callable

from PIL import Image

from wan_dagster.dashscope.registry import (TIER_PIXELS, Family, MediaField, ModelSpec, Output,
                                            keep_aspect_size, tier_of_size)
from wan_dagster.dashscope.mediainfo import VideoInfo

from . import media
from .inputs import Fetcher, Requester
from .results import Facts

#: Length of a digital-human video whose driving audio the emulator cannot measure.
UNMEASURED_DURATION_S = 5.0
#: Tier for models that take none (animate, EMO, LivePortrait, ...): the docs say 720P.
DEFAULT_TIER = "720P"


@dataclass(frozen=True)
class Rendered:
    """Files to publish (name, bytes), the facts usage is built from, and a template id for
    AnimateAnyone's template task."""

    files: tuple[tuple[str, bytes], ...]
    facts: Facts
    template_id: str | None = None


class _Request:
    """One task's body with its fetched inputs; the argument every family renderer takes."""

    def __init__(self, spec: ModelSpec, body: dict[str, Any], seed: int,
                 fetched: dict[str, Any]):
        self.spec = spec
        self.body = body
        self.input: dict[str, Any] = body.get("input") or {}
        self.seed = seed
        self.fetched = fetched

    def param(self, name: str) -> Any:
        return param_value(self.spec, self.body, name)

    @property
    def prompt(self) -> str:
        return str(self.input.get("prompt") or self.input.get("ref_prompt") or "")

    @property
    def count(self) -> int:
        return requested_count(self.spec, self.body)

    def images(self) -> list[Image.Image]:
        """Every fetched input image, in registry field order."""
        found: list[Image.Image] = []
        for value in self.fetched.values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, Image.Image):
                    found.append(item)
        return found

    def image(self, name: str) -> Image.Image | None:
        value = self.fetched.get(name)
        return value[0] if isinstance(value, list) else value


def param_value(spec: ModelSpec, body: dict[str, Any], name: str) -> Any:
    """The value sent for a registry parameter, else its documented default (None for a
    parameter the model does not have)."""
    p = spec.param(name)
    if p is None:
        return None
    return (body.get(p.where) or {}).get(name, p.default)


def requested_count(spec: ModelSpec, body: dict[str, Any]) -> int:
    """How many images an image task makes: ``n`` (the poster's ``generate_num``), else 1."""
    return int(param_value(spec, body, "n") or param_value(spec, body, "generate_num") or 1)


def _size(text: str) -> tuple[int, int]:
    width, height = text.split("*")
    return int(width), int(height)


def _render_images(req: _Request, make: Callable[[int], bytes]) -> Rendered:
    """``n`` PNG images, each from its own seed."""
    files = tuple((f"{i}.png", make(req.seed + i)) for i in range(req.count))
    return Rendered(files, Facts(image_count=len(files)))


def _background(req: _Request) -> Rendered:
    return _render_images(req, lambda seed: media.background_generation(
        req.image("base_image_url"), prompt=req.prompt, ref=req.image("ref_image_url"), seed=seed))


def _virtual_model(req: _Request) -> Rendered:
    return _render_images(req, lambda seed: media.virtual_model(
        req.image("base_image_url"), req.image("mask_image_url"), prompt=req.prompt,
        background=req.image("background_image_url"), short_side=int(req.param("short_side_size")),
        aspect_ratio=req.param("aspect_ratio"), seed=seed))


def _shoe_model(req: _Request) -> Rendered:
    return _render_images(req, lambda seed: media.shoe_model(
        req.image("template_image_url"), req.fetched["shoe_image_url"], seed=seed))


def _out_painting(req: _Request) -> Rendered:
    sides = [req.param(f"{side}_offset") for side in ("left", "right", "top", "bottom")]
    offsets = tuple(v or 0 for v in sides) if any(v is not None for v in sides) else None
    return _render_images(req, lambda seed: media.out_painting(
        req.image("image_url"), x_scale=float(req.param("x_scale")),
        y_scale=float(req.param("y_scale")), angle=int(req.param("angle")),
        output_ratio=req.param("output_ratio"), offsets=offsets, seed=seed))


def _edit(req: _Request) -> Rendered:
    """Image edit and the other image-to-image families: the first input(s), regraded."""
    field = req.spec.media[0].name
    sources = req.fetched[field] if isinstance(req.fetched[field], list) else [req.fetched[field]]
    size = _size(req.param("size")) if req.param("size") else None
    return _render_images(req, lambda seed: media.image_edit(sources, prompt=req.prompt,
                                                             size=size, seed=seed))


def _text_to_image(req: _Request) -> Rendered:
    prompt = req.prompt or str(req.input.get("title", ""))
    size = _size(req.param("size") or "1024*1024")  # posters document no size
    return _render_images(req, lambda seed: media.text_to_image(prompt=prompt, size=size,
                                                                seed=seed))


def _wan_video(req: _Request) -> Rendered:
    """Wan t2v, i2v, kf2v and r2v: geometry, length and sound from the model's VideoSpec."""
    video = req.spec.video
    assert video is not None
    images = req.images()
    first = images[0] if images else None
    last = req.image("last_frame_url")
    if video.tier_param == "size":
        size = req.param("size")
        width, height = _size(size)
        tier = tier_of_size(size)
    else:
        tier = req.param("resolution")
        width, height = keep_aspect_size(tier, *first.size)
    duration = int(req.param("duration"))
    audio = video.audio == "always" or (video.audio == "optional" and bool(req.param("audio")))
    data = media.video(first=first, last=last, width=width, height=height, duration_s=duration,
                       fps=video.fps, audio=audio, seed=req.seed, prompt=req.prompt)
    return Rendered((("video.mp4", data),), Facts(duration_s=duration, tier=tier, width=width,
                                                  height=height, audio=audio))


def _other_video(req: _Request) -> Rendered:
    """Digital-human and video-to-video models: length follows the driving video (or, for
    audio, UNMEASURED_DURATION_S); size follows the driving video or the portrait."""
    driving = next((v for v in req.fetched.values() if isinstance(v, VideoInfo)), None)
    min_len = req.param("min_len")
    tier = req.param("resolution") or (f"{min_len}P" if min_len else DEFAULT_TIER)
    images = req.images()
    first = images[0] if images else None
    if driving is not None:
        width, height = driving.width // 2 * 2, driving.height // 2 * 2
        duration = driving.duration_s
    else:
        budget_tier = tier if tier in TIER_PIXELS else DEFAULT_TIER
        width, height = keep_aspect_size(budget_tier, *(first.size if first else (16, 9)))
        duration = UNMEASURED_DURATION_S
    audio = any(f.kind == "audio" and f.name in req.fetched for f in req.spec.media) or bool(
        driving and driving.has_audio)
    data = media.video(first=first, last=None, width=width, height=height, duration_s=duration,
                       fps=int(req.param("video_fps") or 30), audio=audio, seed=req.seed,
                       prompt=req.prompt)
    return Rendered((("video.mp4", data),), Facts(duration_s=duration, tier=tier, width=width,
                                                  height=height, audio=audio,
                                                  ratio_label=_ratio_label(req)))


def _ratio_label(req: _Request) -> str:
    """``usage.video_ratio`` where it is a label: animate gives the mode, EMO the frame shape."""
    if req.spec.family is Family.ANIMATE:
        return "pro" if req.param("mode") == "wan-pro" else "standard"
    if req.spec.family is Family.EMO:
        x1, y1, x2, y2 = req.param("ext_bbox")
        return "1:1" if abs((x2 - x1) - (y2 - y1)) <= 0.05 * max(x2 - x1, y2 - y1) else "3:4"
    return "standard"


def _template(req: _Request) -> Rendered:
    """AnimateAnyone's template task: no media, a template id and the input video's length."""
    driving = next(v for v in req.fetched.values() if isinstance(v, VideoInfo))
    template_id = f"AACT.{uuid.uuid4().hex[:8]}.{uuid.uuid4().hex[:12]}"
    return Rendered((), Facts(duration_s=driving.duration_s), template_id=template_id)


_IMAGE_RENDERERS: dict[Family, Callable[[_Request], Rendered]] = {
    Family.BACKGROUND: _background,
    Family.VIRTUAL_MODEL: _virtual_model,
    Family.SHOE_MODEL: _shoe_model,
    Family.OUT_PAINTING: _out_painting,
    Family.IMAGE_EDIT: _edit,
    Family.STYLE_REPAINT: _edit,
    Family.SEGMENTATION: _edit,
    Family.ERASE: _edit,
    Family.X_PAINTING: _edit,
    Family.TEXT_TO_IMAGE: _text_to_image,
    Family.POSTER: _text_to_image,
}


def _renderer(spec: ModelSpec) -> Callable[[_Request], Rendered]:
    if spec.output is Output.TEMPLATE:
        return _template
    if spec.output is Output.VIDEO:
        return _wan_video if spec.video is not None else _other_video
    return _IMAGE_RENDERERS[spec.family]


def _field_value(section: dict[str, Any], field: MediaField) -> Any:
    parent = section.get(field.parent) if field.parent else section
    return parent.get(field.name) if isinstance(parent, dict) else None


def _fetch_inputs(fetcher: Fetcher, spec: ModelSpec, body: dict[str, Any],
                 who: Requester) -> dict[str, Any]:
    """Every media input sent, fetched and checked: images decoded, videos probed, audio read.
    List fields give lists. Raises TaskFailure."""
    section = body.get("input") or {}
    fetched: dict[str, Any] = {}
    for field in spec.media:
        value = _field_value(section, field)
        if value in (None, "", []):
            continue
        load = {"image": fetcher.image, "video": fetcher.video_info,
                "audio": fetcher.fetch}[field.kind]
        items = [load(url, field, who) for url in (value if isinstance(value, list) else [value])]
        fetched[field.name] = items if field.is_list else items[0]
    return fetched


def render(fetcher: Fetcher, spec: ModelSpec, body: dict[str, Any], who: Requester,
           seed: int) -> Rendered:
    """Fetch the inputs and make the outputs of one task. Raises TaskFailure."""
    fetched = _fetch_inputs(fetcher, spec, body, who)
    return _renderer(spec)(_Request(spec, body, seed, fetched))
