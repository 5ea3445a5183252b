"""What each asset generates for a product, and what that generation depends on.

Every request is described once, as a ``_Call`` (a builder and its arguments). The same call is
built into the request that is sent, fingerprinted to decide whether it must be sent at all, and
built at catalog load to refuse a bad row before anything is paid. Model facts (tiers, durations,
audio, limits) come from the registry; this module only decides which model and settings a
product gets.

No Dagster imports: the catalog, the sensor and the assets all share this plan.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from ..dashscope.errors import ValidationError
from ..dashscope.inputs import REMOTE_PREFIXES
from ..dashscope.registry import REGISTRY, TIER_PIXELS, Family, ModelSpec
from ..dashscope.requests import (TaskRequest, background_generation, image_to_video, shoe_model,
                                 virtual_model)
from .product import Product

__all__ = [
    "APPAREL_MODEL", "BACKGROUND_MODEL", "DEFAULT_VIDEO", "SHOE_MODEL", "VideoDefaults",
    "background_request", "input_fingerprints", "model_shot_model", "model_shot_request",
    "request_problems", "video_request", "video_settings", "video_source",
]

BACKGROUND_MODEL = "wanx-background-generation-v2"
APPAREL_MODEL = "virtualmodel-v2"
SHOE_MODEL = "shoemodel-v1"

StillSource = Literal["model_shot", "background"]
#: The asset that makes each kind of still.
_STILL_ASSETS: dict[StillSource, str] = {"background": "background_image",
                                         "model_shot": "model_shot"}
#: A media argument: a local path, a URL, or bytes (a generated still).
Media = str | os.PathLike[str] | bytes


@dataclass(frozen=True)
class VideoDefaults:
    """Video settings for rows that leave them empty: cheap and silent, so a batch never
    surprises the bill (the service would default to 720P or 1080P, some models with audio at
    double price)."""

    model: str = "wan2.2-i2v-flash"
    resolution: str = "480P"
    duration: int = 5
    audio: bool = False


DEFAULT_VIDEO = VideoDefaults()


# --------------------------------------------------------------------------- calls


@dataclass(frozen=True)
class _Call:
    """One builder call held as data, so that the request sent and the fingerprint deciding
    whether to send it come from the very same arguments."""

    builder: Callable[..., TaskRequest]
    media: Mapping[str, Media | Sequence[Media] | None]
    options: Mapping[str, Any]

    def build(self) -> TaskRequest:
        return self.builder(**self.media, **self.options)

    def fingerprint(self, upstream: Mapping[str, str] | None = None) -> str:
        """sha256 over the builder, its options and the content of its media (a URL counts as
        its string). ``upstream`` stands in for media that another asset generates."""
        upstream = upstream or {}
        identity = {"builder": self.builder.__name__, "options": dict(self.options),
                    "media": {name: upstream.get(name) or _content_id(value)
                              for name, value in self.media.items()}}
        return _sha256(json.dumps(identity, sort_keys=True, ensure_ascii=False).encode())


def _content_id(value: Media | Sequence[Media] | None) -> Any:
    """What a media argument contributes to a fingerprint: its bytes' hash, never its path."""
    if value is None or (isinstance(value, str) and value.startswith(REMOTE_PREFIXES)):
        return value
    if isinstance(value, bytes):
        return f"sha256:{_sha256(value)}"
    if isinstance(value, (str, os.PathLike)):
        return f"sha256:{_file_sha256(Path(value))}"
    return [_content_id(item) for item in value]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _background_call(product: Product) -> _Call:
    return _Call(background_generation, {"base_image": product.cutout_image},
                 {"ref_prompt": product.background_prompt, "model_version": "v3", "n": 1,
                  "model": BACKGROUND_MODEL})


def _apparel_call(product: Product) -> _Call:
    return _Call(virtual_model,
                 {"base_image": product.model_image, "mask_image": product.model_mask},
                 {"prompt": product.model_prompt, "face_prompt": product.face_prompt,
                  "short_side_size": "1024", "model": APPAREL_MODEL})


def _shoe_call(product: Product) -> _Call:
    views = [product.cutout_image] if product.cutout_image else []
    return _Call(shoe_model, {"template_image": product.shoe_template, "shoe_images": views},
                 {"model": SHOE_MODEL})


def _video_call(product: Product, still: Media | None, defaults: VideoDefaults) -> _Call:
    settings = video_settings(product, defaults)
    spec = REGISTRY.get(settings["model"])
    return _Call(image_to_video, {"image": still},
                 {"model": settings["model"], "resolution": settings["resolution"],
                  "duration": settings["duration"], "audio": _audio_param(product, spec, settings),
                  "prompt": product.video_prompt})


# --------------------------------------------------------------------------- problems → columns


@dataclass(frozen=True)
class _Columns:
    """Which catalog column feeds each body field of one request, so that a refused field is
    reported against the cell the user has to fix."""

    by_field: Mapping[str, str]
    fallback: str  # for fields no column feeds (the whole message is kept)
    #: Context put before the rule, for fields whose value is derived from the column.
    notes: Mapping[str, str] = field(default_factory=dict)

    def locate(self, problem: str) -> tuple[str, str]:
        """``(column, rule)`` for one ValidationError problem ``"<field>: <rule>"``."""
        path, _, rule = problem.partition(": ")
        path = re.sub(r"\[\d+\]$", "", path)
        if path not in self.by_field:
            return self.fallback, problem
        note = self.notes.get(path)
        return self.by_field[path], f"{note}: {rule}" if note else rule


_BACKGROUND_COLUMNS = _Columns({"input.base_image_url": "cutout_image",
                                "input.ref_prompt": "background_prompt",
                                "input": "background_prompt", "body": "cutout_image"},
                               fallback="cutout_image")


@dataclass(frozen=True)
class _ModelShot:
    call: Callable[[Product], _Call]
    columns: _Columns


#: The categories that get a model shot; the video then starts from it.
_MODEL_SHOTS: dict[str, _ModelShot] = {
    "apparel": _ModelShot(_apparel_call, _Columns(
        {"input.base_image_url": "model_image", "input.mask_image_url": "model_mask",
         "input.prompt": "model_prompt", "input.face_prompt": "face_prompt",
         "body": "model_image"}, fallback="model_image")),
    "shoes": _ModelShot(_shoe_call, _Columns(
        {"input.template_image_url": "shoe_template", "input.shoe_image_url": "cutout_image",
         "body": "shoe_template"}, fallback="shoe_template")),
}


def _video_columns(product: Product) -> _Columns:
    from_background = video_source(product) == "background"
    still = "cutout_image" if from_background else _MODEL_SHOTS[product.category].columns.fallback
    notes = {"input.img_url": "as the video's first frame (a generated background keeps the "
                              "cutout's size)"} if from_background else {}
    return _Columns({"model": "video_model", "input.prompt": "video_prompt",
                     "parameters.resolution": "video_resolution",
                     "parameters.duration": "video_duration", "parameters.audio": "video_audio",
                     "input.img_url": still, "body": still},
                    fallback="video_model", notes=notes)


# --------------------------------------------------------------------------- public plan


def background_request(product: Product) -> TaskRequest:
    """The background behind the product's cutout, guided by its background prompt."""
    return _background_call(product).build()


def model_shot_request(product: Product) -> TaskRequest | None:
    """The model shot (apparel on a virtual model, shoes on a leg template), or None for
    categories that have none."""
    shot = _MODEL_SHOTS.get(product.category)
    return shot.call(product).build() if shot else None


def model_shot_model(product: Product) -> str | None:
    """The model the product's model shot is made with (None: it has none), for pricing without
    building the request."""
    shot = _MODEL_SHOTS.get(product.category)
    return shot.call(product).options["model"] if shot else None


def video_source(product: Product) -> StillSource:
    """Which generated still the video starts from: the model shot where there is one."""
    return "model_shot" if product.category in _MODEL_SHOTS else "background"


def video_request(product: Product, still: Media, defaults: VideoDefaults = DEFAULT_VIDEO
                  ) -> TaskRequest:
    """The product video from ``still`` (the generated output of ``video_source``)."""
    return _video_call(product, still, defaults).build()


def video_settings(product: Product, defaults: VideoDefaults = DEFAULT_VIDEO) -> dict[str, Any]:
    """The model, resolution, duration and audio the video is made with, for pricing and dry runs:
    the row's values, else the defaults, else (where the model does not offer a default) the
    model's cheapest option. ``audio`` is whether the video will have sound. Raises
    ValidationError (field ``model``) for a model that is not first-frame image-to-video."""
    model = product.video_model or defaults.model
    video = _first_frame_spec(model).video
    assert video is not None  # _first_frame_spec guarantees it
    audio = (_given(product.video_audio, defaults.audio) if video.audio == "optional"
             else video.audio == "always")
    return {"model": model,
            "resolution": _given(product.video_resolution,
                                 _cheapest(defaults.resolution, video.tiers, TIER_PIXELS.get)),
            "duration": _given(product.video_duration,
                               _cheapest(defaults.duration, video.durations, int)),
            "audio": audio}


def input_fingerprints(product: Product, defaults: VideoDefaults = DEFAULT_VIDEO
                       ) -> dict[str, str]:
    """Per asset, a sha256 of everything its generation depends on: models, parameters, prompts,
    and the content of each local input image. The video's covers its still's, so a changed
    cutout regenerates the video too, and an unchanged product is never paid for twice."""
    prints = {"background_image": _background_call(product).fingerprint()}
    shot = _MODEL_SHOTS.get(product.category)
    if shot:
        prints["model_shot"] = shot.call(product).fingerprint()
    source = _STILL_ASSETS[video_source(product)]
    still = f"{source}:{prints[source]}"
    prints["product_video"] = _video_call(product, None, defaults).fingerprint({"image": still})
    return prints


def request_problems(product: Product, defaults: VideoDefaults = DEFAULT_VIDEO
                     ) -> list[tuple[str, str]]:
    """Every reason the product's requests would be refused, as ``(column, rule)``, without
    sending anything. The requests are really built (the video from a stand-in for its still),
    so the catalog applies exactly the registry's rules."""
    checks: list[tuple[_Columns, Callable[[], _Call]]] = [
        (_BACKGROUND_COLUMNS, lambda: _background_call(product))]
    shot = _MODEL_SHOTS.get(product.category)
    if shot:
        checks.append((shot.columns, lambda: shot.call(product)))
    checks.append((_video_columns(product),
                   lambda: _video_call(product, _stand_in_still(product, defaults), defaults)))
    found: list[tuple[str, str]] = []
    for columns, make in checks:
        try:
            make().build()
        except ValidationError as exc:
            found += [columns.locate(problem) for problem in exc.problems]
        except Image.DecompressionBombError as exc:  # the client lets this one through
            found.append((columns.fallback, str(exc)))
    return list(dict.fromkeys(found))


# --------------------------------------------------------------------------- helpers


def _first_frame_spec(model: str) -> ModelSpec:
    """The registry spec of a first-frame image-to-video model; ValidationError otherwise."""
    spec = REGISTRY.get(model) if model in REGISTRY else None
    if spec is None or spec.family is not Family.IMAGE_TO_VIDEO or spec.video is None:
        known = sorted(s.name for s in REGISTRY if s.family is Family.IMAGE_TO_VIDEO)
        problem = f"model: {model!r} is not a first-frame image-to-video model; use one of {known}"
        raise ValidationError(model, [problem])
    return spec


def _given(value: Any, fallback: Any) -> Any:
    return fallback if value is None else value


def _cheapest(preferred: Any, offered: Sequence[Any], cost: Callable[[Any], Any]) -> Any:
    return preferred if preferred in offered else min(offered, key=cost)


def _audio_param(product: Product, spec: ModelSpec, settings: Mapping[str, Any]) -> bool | None:
    """``audio`` is sent only to models that take it, except a row's value that the model cannot
    honour (sound on a silent model, silence on one that always has sound): that is sent so that
    validation refuses it rather than silently ignoring the row."""
    if spec.param("audio") is not None:
        return settings["audio"]
    explicit = product.video_audio
    return explicit if explicit is not None and explicit != settings["audio"] else None


def _stand_in_still(product: Product, defaults: VideoDefaults) -> bytes:
    """A blank PNG standing in for the still the video will start from, to check the video
    request before the still exists. A generated background keeps the cutout's size, so it has
    the cutout's size (an oversized cutout is refused before its background is paid for); a
    model shot's size is known only once generated, so it gets the smallest frame the model
    takes, and the real still is checked when the video is submitted. Bilevel: the frame rules
    look only at format, size and alpha, and a large blank stays cheap."""
    size = _local_image_size(product.cutout_image) if video_source(product) == "background" \
        else None
    if size is None:
        frame = _first_frame_spec(video_settings(product, defaults)["model"]).media_field("img_url")
        side = (frame.rule.min_side if frame and frame.rule else None) or 1
        size = (side, side)
    return _blank_png(size)


@functools.lru_cache(maxsize=256)
def _blank_png(size: tuple[int, int]) -> bytes:
    """A blank bilevel PNG of ``size``, made once per size: most cutouts share a few sizes,
    and encoding one took a third of a row's check once its images' decodes were cached."""
    out = io.BytesIO()
    Image.new("1", size).save(out, format="PNG")
    return out.getvalue()


def _local_image_size(path: str | None) -> tuple[int, int] | None:
    """The size of a local image from its header; None for URLs and unreadable files (whose
    problems the request that reads them reports)."""
    if path is None or path.startswith(REMOTE_PREFIXES):
        return None
    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, Image.DecompressionBombError):
        return None
