"""Turns a running task's request into real media, per model family, via ``media``.

Output geometry follows the documented rules: background generation keeps the base image's
size; image-to-video and keyframe models follow the first frame (``first_frame_size``); text-
and reference-to-video use the ``size`` parameter; Wan video length is the requested duration
at ``spec.video.fps`` with sound when the model (or its ``audio`` parameter) says so. Models
whose length follows an input (digital humans, video-to-video) do as their ``FollowSpec``
says. Every media input is fetched and checked, used or not, because the service rejects a
bad input whichever field it sits in.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

from PIL import Image

from wan_dagster.dashscope.registry import (POSTER_SIZES, Family, FollowSpec, MediaField,
                                            ModelSpec, Output, first_frame_size, tier_of_size)
from wan_dagster.dashscope.mediainfo import AudioInfo, VideoInfo

from . import media
from .inputs import Fetcher, Requester, TaskFailure
from .results import Facts

#: Reference-to-video bills at most this many input-video seconds, shared evenly by all
#: references (images too), each video cut at its share (seed 000 L7244-7290).
REFERENCE_INPUT_QUOTA_S = 5.0


@dataclass(frozen=True)
class Rendered:
    """Files to publish (name, bytes), the facts usage is built from, and a template id for
    AnimateAnyone's template task."""

    files: tuple[tuple[str, bytes], ...]
    facts: Facts
    template_id: str | None = None
    actual_prompt: str | None = None


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
    return Rendered(files, Facts(image_count=len(files)), actual_prompt=_actual_prompt(req))


def _actual_prompt(req: _Request) -> str | None:
    """The rewritten prompt a model reports when ``prompt_extend`` is on: the emulator's
    rewrite appends a fixed description to the caller's prompt."""
    if not (req.spec.actual_prompt and req.prompt and req.param("prompt_extend")):
        return None
    return f"{req.prompt} Rich detail, soft natural light, a steady and clear composition."


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
    """Image edit and the other image-to-image families: the first input(s), regraded, at the
    ``size`` asked for or the size the edit function makes."""
    field = req.spec.media[0].name
    sources = req.fetched[field] if isinstance(req.fetched[field], list) else [req.fetched[field]]
    size = _size(req.param("size")) if req.param("size") else _edited_size(req, sources[-1].size)
    return _render_images(req, lambda seed: media.image_edit(sources, prompt=req.prompt,
                                                             size=size, seed=seed))


def _edited_size(req: _Request, size: tuple[int, int]) -> tuple[int, int]:
    """``expand`` grows each axis by the mean of its two side scales (all 1.5 gives 1.5 times
    the size, seed 000 L993); ``super_resolution`` multiplies by ``upscale_factor`` (L1032)."""
    width, height = size
    function = req.input.get("function")
    if function == "expand":
        scale = {side: float(req.param(f"{side}_scale") or 1.0)
                 for side in ("top", "bottom", "left", "right")}
        return (round(width * (scale["left"] + scale["right"]) / 2),
                round(height * (scale["top"] + scale["bottom"]) / 2))
    if function == "super_resolution":
        factor = int(req.param("upscale_factor"))
        return width * factor, height * factor
    return size


def _segmentation(req: _Request) -> Rendered:
    """A pixel mask of the people and a visualisation of it (seed 000 L2721-2723)."""
    mask, overlay = media.segmentation(req.image("image_url"), seed=req.seed)
    return Rendered((("mask.png", mask), ("visualization.png", overlay)), Facts(image_count=2))


def _text_to_image(req: _Request) -> Rendered:
    prompt = req.prompt or str(req.input.get("title", ""))
    orientation = req.param("wh_ratios")
    size = POSTER_SIZES[orientation] if orientation else _size(req.param("size") or "1024*1024")
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
        width, height = first_frame_size(tier, *first.size)
    duration = int(req.param("duration"))
    given_audio = "audio_url" in req.fetched
    audio = (video.audio == "always" or (video.audio == "optional" and bool(req.param("audio")))
             or (video.audio_url_wins and given_audio))
    data = media.video(first=first, last=last, width=width, height=height, duration_s=duration,
                       fps=video.fps, audio=audio, seed=req.seed, prompt=req.prompt)
    return Rendered((("video.mp4", data),), Facts(duration_s=duration, tier=tier, width=width,
                                                  height=height, audio=audio,
                                                  input_video_s=_billed_reference_seconds(req)),
                    actual_prompt=_actual_prompt(req))


def _billed_reference_seconds(req: _Request) -> float:
    """Input-video seconds a reference-to-video task bills: each reference video cut at an
    even share of REFERENCE_INPUT_QUOTA_S (the seed truncates the share to 1/100 s: 1.65)."""
    references = req.fetched.get("reference_urls") or []
    if not references:
        return 0.0
    share = int(REFERENCE_INPUT_QUOTA_S * 100 / len(references)) / 100
    return sum(min(v.duration_s, share) for v in references if isinstance(v, VideoInfo))


def _followed_video(req: _Request) -> Rendered:
    """Digital-human and video-to-video models: length, size and frame rate as the model's
    FollowSpec says, from the driving video, the audio, the portrait or the template."""
    follow = req.spec.follow
    assert follow is not None
    driving = next((v for v in req.fetched.values() if isinstance(v, VideoInfo)), None)
    sound = next((v for v in req.fetched.values() if isinstance(v, AudioInfo)), None)
    images = req.images()
    first = images[0] if images else None
    template = _parse_template(req.input["template_id"]) if follow.length == "template" else None
    duration = _followed_length(req, follow, driving, sound, template)
    width, height = _followed_size(req, follow, driving, first, template)
    tier = _followed_tier(req, follow)
    fps = follow.frame_rate(req.param(follow.fps_param) if follow.fps_param else None)
    audio = sound is not None or bool(driving and driving.has_audio)
    data = media.video(first=first, last=None, width=width, height=height, duration_s=duration,
                       fps=fps, audio=audio, seed=req.seed, prompt=req.prompt)
    return Rendered((("video.mp4", data),), Facts(duration_s=duration, tier=tier, width=width,
                                                  height=height, audio=audio,
                                                  ratio_label=_ratio_label(req)))


def _followed_length(req: _Request, follow: FollowSpec, driving: VideoInfo | None,
                     sound: AudioInfo | None, template: Template | None) -> float:
    if follow.length == "video":
        assert driving is not None
        return driving.duration_s
    if follow.length == "audio":
        assert sound is not None
        return sound.duration_s
    if follow.length == "shorter":
        assert driving is not None and sound is not None
        return sound.duration_s if req.param("video_extension") else min(driving.duration_s,
                                                                          sound.duration_s)
    if follow.length == "template":
        assert template is not None
        return template.seconds
    assert follow.fixed_seconds is not None
    return follow.fixed_seconds


def _followed_size(req: _Request, follow: FollowSpec, driving: VideoInfo | None,
                   first: Image.Image | None,
                   template: Template | None) -> tuple[int, int]:
    if follow.geometry == "ratio":
        sizes = dict(follow.ratio_sizes)
        if template is not None and not req.param("use_ref_img_bg"):
            return first_frame_size(follow.tier, template.width, template.height)
        label = req.param("video_ratio") or _ratio_label(req)
        return sizes.get(label, next(iter(sizes.values())))
    source = (driving.width, driving.height) if driving else first.size if first else (16, 9)
    if follow.geometry == "input":
        return source[0] // 2 * 2, source[1] // 2 * 2
    if follow.geometry == "short_side":
        short = int(req.param(follow.short_side_param))
        scale = short / min(source)
        return round(source[0] * scale / 2) * 2, round(source[1] * scale / 2) * 2
    return first_frame_size(_followed_tier(req, follow), *source)


def _followed_tier(req: _Request, follow: FollowSpec) -> str:
    """The resolution tier (``usage.SR``): a parameter's, the short side's, else the model's."""
    if follow.tier_param:
        return str(req.param(follow.tier_param))
    if follow.short_side_param:
        return f"{req.param(follow.short_side_param)}P"
    return follow.tier


def _ratio_label(req: _Request) -> str:
    """``usage.video_ratio`` where it is a label: animate gives the mode, EMO the frame shape."""
    if req.spec.family is Family.ANIMATE:
        return "pro" if req.param("mode") == "wan-pro" else "standard"
    if req.spec.family is Family.EMO:
        x1, y1, x2, y2 = req.param("ext_bbox")
        return "1:1" if abs((x2 - x1) - (y2 - y1)) <= 0.05 * max(x2 - x1, y2 - y1) else "3:4"
    return "standard"


def _template(req: _Request) -> Rendered:
    """AnimateAnyone's template task: no media, a template id and the input video's length.
    The id carries the template's frame size and length with a check, so a later
    animate-anyone-gen2 task can follow it and refuse an id no template task made."""
    driving = next(v for v in req.fetched.values() if isinstance(v, VideoInfo))
    body = f"{uuid.uuid4().hex[:8]}.{driving.width}x{driving.height}-{round(driving.duration_s * 100)}"
    template_id = f"AACT.{body}.{_template_check(body)}"
    return Rendered((), Facts(duration_s=driving.duration_s), template_id=template_id)


_TEMPLATE_ID = re.compile(r"AACT\.(?P<body>[0-9a-f]{8}\.(?P<w>\d+)x(?P<h>\d+)-(?P<cs>\d+))"
                          r"\.(?P<check>[0-9a-f]{12})")


def _template_check(body: str) -> str:
    return hashlib.sha256(f"animate-anyone-template:{body}".encode()).hexdigest()[:12]


class Template(NamedTuple):
    """What an AnimateAnyone template id carries: the dance video's frame and length."""

    width: int
    height: int
    seconds: float


def _parse_template(template_id: str) -> Template:
    """The template behind an id this emulator made; TaskFailure otherwise (the seed's
    placeholder ``AACT.xxx.xxx-xxx.xxx`` included)."""
    match = _TEMPLATE_ID.fullmatch(template_id)
    if match is None or match["check"] != _template_check(match["body"]):
        raise TaskFailure("InvalidParameter", f"template_id {template_id!r} does not exist; use "
                          "the template_id an animate-anyone-template-gen2 task returned.")
    return Template(int(match["w"]), int(match["h"]), int(match["cs"]) / 100)


_IMAGE_RENDERERS: dict[Family, Callable[[_Request], Rendered]] = {
    Family.BACKGROUND: _background,
    Family.VIRTUAL_MODEL: _virtual_model,
    Family.SHOE_MODEL: _shoe_model,
    Family.OUT_PAINTING: _out_painting,
    Family.IMAGE_EDIT: _edit,
    Family.STYLE_REPAINT: _edit,
    Family.SEGMENTATION: _segmentation,
    Family.ERASE: _edit,
    Family.X_PAINTING: _edit,
    Family.TEXT_TO_IMAGE: _text_to_image,
    Family.POSTER: _text_to_image,
}


def _renderer(spec: ModelSpec) -> Callable[[_Request], Rendered]:
    if spec.output is Output.TEMPLATE:
        return _template
    if spec.output is Output.VIDEO:
        return _wan_video if spec.video is not None else _followed_video
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
        load = (fetcher.image_or_video if field.video_rule is not None
                else {"image": fetcher.image, "video": fetcher.video_info,
                      "audio": fetcher.audio_info}[field.kind])
        items = [load(url, field, who) for url in (value if isinstance(value, list) else [value])]
        fetched[field.name] = items if field.is_list else items[0]
    return fetched


def render(fetcher: Fetcher, spec: ModelSpec, body: dict[str, Any], who: Requester,
           seed: int) -> Rendered:
    """Fetch the inputs and make the outputs of one task. Raises TaskFailure."""
    fetched = _fetch_inputs(fetcher, spec, body, who)
    return _renderer(spec)(_Request(spec, body, seed, fetched))
