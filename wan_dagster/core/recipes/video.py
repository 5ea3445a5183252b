"""Video settings for rows that leave them empty: cheap and silent, so a batch never surprises
the bill (the service would default to 720P or 1080P, some models with audio at double
price)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...dashscope.errors import ValidationError
from ...dashscope.registry import REGISTRY, TIER_PIXELS, TIER_SIZES, Family, ModelSpec
from ..product import Product


@dataclass(frozen=True)
class VideoDefaults:
    """What a video gets where neither the row nor the recipe says: the run's launchpad
    choices."""

    model: str = "wan2.2-i2v-flash"
    resolution: str = "480P"
    duration: int = 5
    audio: bool = False


DEFAULT_VIDEO = VideoDefaults()


def first_frame_settings(product: Product, defaults: VideoDefaults, model: str | None,
                         params: Mapping[str, Any]) -> dict[str, Any]:
    """Model, resolution, duration and audio of a first-frame video: the row's values, else the
    recipe's (``model``, ``params``), else the run's defaults, else (where the model does not
    offer them) the model's cheapest option. ``audio`` is whether the video has sound. Raises
    ValidationError (field ``model``) for a model that is not first-frame image-to-video."""
    model = product.video_model or model or defaults.model
    video = family_spec(model, Family.IMAGE_TO_VIDEO, "first-frame image-to-video").video
    assert video is not None
    audio = (_given(product.video_audio, params.get("audio", defaults.audio))
             if video.audio == "optional" else video.audio == "always")
    return {"model": model,
            "resolution": _given(product.video_resolution, params.get("resolution") or
                                 cheapest(defaults.resolution, video.tiers, TIER_PIXELS.get)),
            "duration": _given(product.video_duration, params.get("duration") or
                               cheapest(defaults.duration, video.durations, int)),
            "audio": audio}


def audio_param(product: Product, spec: ModelSpec, audio: bool) -> bool | None:
    """``audio`` is sent only to models that take it, except a row's value that the model cannot
    honour (sound on a silent model, silence on one that always has sound): that is sent so that
    validation refuses it rather than silently ignoring the row."""
    if spec.param("audio") is not None:
        return audio
    explicit = product.video_audio
    return explicit if explicit is not None and explicit != audio else None


def cheap_tier_options(spec: ModelSpec, defaults: VideoDefaults,
                       params: Mapping[str, Any]) -> dict[str, Any]:
    """Tier (``resolution`` or ``size``) and duration for a keyframe or text-to-video output
    that leaves them out: the run's defaults where the model offers them, else its cheapest."""
    video = spec.video
    assert video is not None
    options: dict[str, Any] = {"duration": params.get("duration")
                               or cheapest(defaults.duration, video.durations, int)}
    tier = cheapest(defaults.resolution, video.tiers, TIER_PIXELS.get)
    if video.tier_param == "resolution":
        options["resolution"] = params.get("resolution") or tier
    elif video.tier_param == "size":
        options["size"] = params.get("size") or TIER_SIZES[tier][0]
    return options


def family_spec(model: str, family: Family, what: str) -> ModelSpec:
    """The registry spec of ``model`` if it is of ``family``; ValidationError otherwise."""
    spec = REGISTRY.get(model) if model in REGISTRY else None
    if spec is None or spec.family is not family or spec.video is None:
        known = sorted(s.name for s in REGISTRY if s.family is family)
        raise ValidationError(model, [f"model: {model!r} is not a {what} model; use one of "
                                      f"{known}"])
    return spec


def _given(value: Any, fallback: Any) -> Any:
    return fallback if value is None else value


def cheapest(preferred: Any, offered: Sequence[Any], cost: Callable[[Any], Any]) -> Any:
    return preferred if preferred in offered else min(offered, key=cost)
