"""What a finished task says: ``usage`` in the model's own vocabulary, the result location per
``spec.result_path`` and DashScope's timestamp formats.

Only the usage keys listed in ``spec.usage_fields`` are emitted, with the types the docs give:
a parser built against the emulator must also work against the real service, so nothing is
invented (no zero placeholders) and nothing documented is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from wan_dagster.dashscope.registry import Family, ModelSpec, Output
from wan_dagster.dashscope.types import SHANGHAI


def service_time(ts: float) -> str:
    """``2025-09-25 11:07:28.590``: naive Asia/Shanghai with milliseconds."""
    return datetime.fromtimestamp(ts, SHANGHAI).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def parse_list_time(text: str) -> float:
    """``YYYYMMDDhhmmss`` in Asia/Shanghai (the list endpoint's filters) → unix seconds."""
    return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=SHANGHAI).timestamp()


@dataclass(frozen=True)
class Facts:
    """What a generation produced, from which usage is derived."""

    image_count: int = 0
    duration_s: float = 0.0
    tier: str | None = None  # "720P"
    width: int = 0
    height: int = 0
    audio: bool = False
    ratio_label: str = "standard"  # video_ratio where it is not W*H (mode, 1:1, ...)
    input_video_s: float = 0.0  # billed input-video seconds (reference-to-video)


def _video_duration(spec: ModelSpec, facts: Facts) -> int | float:
    # Integer where the length was requested (Wan models) and for emoji-v1; float where it
    # follows an input (animate, AnimateAnyone, EMO, LivePortrait, VideoRetalk).
    if spec.video is not None or spec.family is Family.EMOJI:
        return int(round(facts.duration_s))
    return round(facts.duration_s, 2)


def _duration(spec: ModelSpec, facts: Facts) -> int | float:
    # Documented as integer for image-to-video, float for t2v, r2v, s2v and style transform;
    # the billed total includes input-video seconds (seed 000 L7189-7190).
    if spec.family is Family.IMAGE_TO_VIDEO:
        return int(round(facts.duration_s))
    return float(round(round(facts.duration_s) + facts.input_video_s, 2)
                 if "input_video_duration" in spec.usage_fields else round(facts.duration_s, 2))


def _seconds(value: float) -> int | float:
    """Whole seconds as an integer (as documented), a fraction (a cut reference video) kept."""
    return int(value) if float(value).is_integer() else round(value, 2)


def _video_ratio(spec: ModelSpec, facts: Facts) -> str:
    # t2v/i2v up to wan2.5 give the output W*H; everything else a label.
    if spec.family in (Family.TEXT_TO_VIDEO, Family.IMAGE_TO_VIDEO):
        return f"{facts.width}*{facts.height}"
    return facts.ratio_label


_USAGE: dict[str, Callable[[ModelSpec, Facts], Any]] = {
    "image_count": lambda spec, f: f.image_count,
    "video_count": lambda spec, f: 1,
    "video_duration": _video_duration,
    "video_ratio": _video_ratio,
    "duration": _duration,
    "input_video_duration": lambda spec, f: _seconds(f.input_video_s),
    "output_video_duration": lambda spec, f: int(round(f.duration_s)),
    "SR": lambda spec, f: int(f.tier.rstrip("P")) if f.tier else None,
    "size": lambda spec, f: f"{f.width}*{f.height}",
    "audio": lambda spec, f: f.audio,
}


def usage_for(spec: ModelSpec, facts: Facts) -> dict[str, Any]:
    """``usage`` with exactly the keys of ``spec.usage_fields``."""
    return {key: _USAGE[key](spec, facts) for key in spec.usage_fields}


def billed_quantity(usage: dict[str, Any]) -> float:
    """Billed units as DashScope bills them: images, or ``duration`` (else ``video_duration``)
    seconds."""
    for key in ("image_count", "duration", "video_duration"):
        if key in usage:
            return usage[key]
    raise ValueError(f"usage {usage} names no billable quantity")


def result_output(spec: ModelSpec, urls: list[str], prompt: str | None, template_id: str | None,
                  actual_prompt: str | None, body: dict[str, Any],
                  started_at: float) -> dict[str, Any]:
    """The result part of a SUCCEEDED task's ``output``, placed per ``spec.result_path``;
    image results carry the request's prompt as ``orig_prompt``, and the rewritten prompt as
    ``actual_prompt`` where the model reports one (per result for images)."""
    out: dict[str, Any] = {}
    path = spec.result_path
    prompts = {"orig_prompt": prompt} if prompt else {}
    if actual_prompt:
        prompts["actual_prompt"] = actual_prompt
    if path == "results[].url":
        out["results"] = [{"url": url, **prompts} for url in urls]
        if spec.family is Family.STYLE_REPAINT:
            out.update(_style_repaint_fields(body, started_at))
    elif path == "results.video_url":
        out["results"] = {"video_url": urls[0]}
    elif path in ("output_image_url", "video_url", "output_video_url"):
        out[path] = urls[0]
    elif path == "template_id":
        out["template_id"] = template_id
    if actual_prompt and spec.output is Output.VIDEO:
        out["actual_prompt"] = actual_prompt
    return out


def _style_repaint_fields(body: dict[str, Any], started_at: float) -> dict[str, Any]:
    """The four extra fields of a style-repaint answer (seed 000 L1300-1304); ``start_time``
    has no milliseconds there."""
    return {"error_message": "Success", "start_time": service_time(started_at)[:-4],
            "style_index": body["input"]["style_index"], "error_code": 0}


def prompt_output(spec: ModelSpec, prompt: str | None) -> dict[str, Any]:
    """``orig_prompt`` of a video task, in every state: only ``video_url`` is documented as
    appearing on success alone. (Image models carry it per result instead.)"""
    return {"orig_prompt": prompt} if spec.output is Output.VIDEO and prompt else {}
