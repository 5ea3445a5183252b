"""The model registry: the one place that knows each DashScope model.

Endpoint, parameters (with per-model enums and defaults), input limits, rate limits, usage
vocabulary, output geometry, region availability and how a model is sold (pay-as-you-go or
a free trial only) all live here, so that the client's validation, the emulator's behaviour,
pricing and the pipeline never disagree. Prices live in
the price book (``prices.json``) because users override them.

Facts cite the extracted references in ``shared/reference`` (which cite the seeds). Where the
docs give no number, the entry says so (``documented=False``) rather than pretending.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import Any, Iterable, Literal, Mapping

MiB = 1024 * 1024
MB = 1000 * 1000


class Region(StrEnum):
    BEIJING = "beijing"
    SINGAPORE = "singapore"
    VIRGINIA = "virginia"


BASE_URLS: dict[Region, str] = {
    Region.BEIJING: "https://dashscope.aliyuncs.com/api/v1",
    Region.SINGAPORE: "https://dashscope-intl.aliyuncs.com/api/v1",
    Region.VIRGINIA: "https://dashscope-us.aliyuncs.com/api/v1",
}

#: Account-wide limit on ``GET /tasks/{id}``, shared by every key of the account.
FETCH_REQUESTS_PER_SECOND = 20.0
#: Result URLs and task records live this long after the task ends.
RESULT_TTL_SECONDS = 24 * 3600
#: A create body over 16 MiB is refused (413 BadRequest.TooLarge); so is one base64 item over 20 MiB.
MAX_BODY_BYTES = 16 * MiB
MAX_DATA_URI_BYTES = 20 * MiB
#: No model documents an input image over 7000 px a side (PORTRAIT_RULE); one declaring more
#: pixels than that is refused from its header, before a tiny file can decode into gigabytes.
MAX_IMAGE_PIXELS = 7000 * 7000


class Family(StrEnum):
    BACKGROUND = "background-generation"
    VIRTUAL_MODEL = "virtual-model"
    SHOE_MODEL = "shoe-model"
    OUT_PAINTING = "out-painting"
    IMAGE_EDIT = "image-edit"
    STYLE_REPAINT = "style-repaint"
    TEXT_TO_IMAGE = "text-to-image"
    POSTER = "poster"
    SEGMENTATION = "segmentation"
    ERASE = "erase-completion"
    X_PAINTING = "x-painting"
    TEXT_TO_VIDEO = "text-to-video"
    IMAGE_TO_VIDEO = "image-to-video"
    KEYFRAME_TO_VIDEO = "keyframe-to-video"
    REFERENCE_TO_VIDEO = "reference-to-video"
    ANIMATE = "animate"
    SPEECH_TO_VIDEO = "speech-to-video"
    ANIMATE_ANYONE = "animate-anyone"
    EMO = "emo"
    LIVEPORTRAIT = "liveportrait"
    VIDEORETALK = "videoretalk"
    EMOJI = "emoji"
    VIDEO_STYLE = "video-style-transform"
    DETECT = "detect"


class Output(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    TEMPLATE = "template"  # animate-anyone-template-gen2 returns a template id, no media
    DETECTION = "detection"  # synchronous detect endpoints


class BillingUnit(StrEnum):
    IMAGE = "image"
    SECOND = "second"


# Where the result sits in ``output`` of a SUCCEEDED task.
ResultPath = Literal[
    "results[].url", "output_image_url", "video_url", "results.video_url", "output_video_url",
    "template_id", "none",
]


class Endpoint(StrEnum):
    BACKGROUND = "/services/aigc/background-generation/generation/"
    VIRTUAL_MODEL = "/services/aigc/virtualmodel/generation"
    OUT_PAINTING = "/services/aigc/image2image/out-painting"
    IMAGE2IMAGE = "/services/aigc/image2image/image-synthesis"
    TEXT2IMAGE = "/services/aigc/text2image/image-synthesis"
    IMAGE_GENERATION = "/services/aigc/image-generation/generation"
    VIDEO_GENERATION = "/services/aigc/video-generation/video-synthesis"
    IMAGE2VIDEO = "/services/aigc/image2video/video-synthesis"
    FACE_DETECT = "/services/aigc/image2video/face-detect"
    AA_DETECT = "/services/aigc/image2video/aa-detect"
    AA_TEMPLATE = "/services/aigc/image2video/aa-template-generation/"


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class Param:
    """One request field that is not a media input: where it goes, its type and its rule."""

    name: str
    where: Literal["input", "parameters"] = "parameters"
    type: type | tuple[type, ...] = str
    default: Any = None  # the documented service-side default (None: none documented)
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None  # characters for strings, items for lists
    max_words: int | None = None  # words (each Chinese character counts as one), see count_words
    required: bool = False
    # Some fields nest under an object, e.g. ``reference_edge.foreground_edge_prompt``.
    parent: str | None = None

    def check(self, value: Any) -> str | None:
        """Return why ``value`` breaks this field's rule, or None when it is fine."""
        expected = self.type if isinstance(self.type, tuple) else (self.type,)
        if isinstance(value, bool) and bool not in expected:
            return f"must be {_type_names(expected)}, got a boolean"
        if not isinstance(value, expected):
            if not (float in expected and isinstance(value, int) and not isinstance(value, bool)):
                return f"must be {_type_names(expected)}, got {type(value).__name__}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be a finite number, got {value!r}"
        if self.choices is not None and value not in self.choices:
            return f"must be one of {list(self.choices)}, got {value!r}"
        if self.minimum is not None and isinstance(value, (int, float)) and value < self.minimum:
            return f"must be >= {self.minimum:g}, got {value!r}"
        if self.maximum is not None and isinstance(value, (int, float)) and value > self.maximum:
            return f"must be <= {self.maximum:g}, got {value!r}"
        if self.max_length is not None and isinstance(value, (str, list)) and len(value) > self.max_length:
            unit = "characters" if isinstance(value, str) else "items"
            return f"must be at most {self.max_length} {unit}, got {len(value)}"
        if self.max_words is not None and isinstance(value, str):
            words = count_words(value)
            if words > self.max_words:
                return (f"must be at most {self.max_words} words (a Chinese character counts as "
                        f"one), got {words}")
        return None


_CJK = "\u3400-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])[\w'’-])+")


def count_words(text: str) -> int:
    """Words as the seeds count a prompt's length ("50个字/单词"): each Chinese character is one
    word, and so is each run of other letters and digits (punctuation counts for nothing)."""
    return len(_WORD.findall(text))


@dataclass(frozen=True)
class SharedWordLimit:
    """One word budget shared by several input fields, e.g. the poster's Chinese and English
    prompts "加起来最多50个字/单词" (seed 000 L2429)."""

    fields: tuple[str, ...]
    max_words: int


def _type_names(types: tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "a boolean",
             list: "a list", dict: "an object"}
    return " or ".join(names.get(t, t.__name__) for t in types)


# --------------------------------------------------------------------------- media inputs


@dataclass(frozen=True)
class ImageRule:
    """Documented limits on an input image. Sides are in pixels; sizes in bytes."""

    formats: frozenset[str] = frozenset({"JPEG", "PNG", "BMP", "WEBP"})
    min_side: int | None = None  # every side must be >= this
    max_side: int | None = None  # every side must be <= this
    max_short_side: int | None = None
    max_bytes: int | None = None
    max_aspect: float | None = None  # long side / short side
    alpha: Literal["required", "forbidden", "any"] = "any"


@dataclass(frozen=True)
class SecondsRange:
    """A documented duration window; the seeds write both "2～30s" and "2s＜时长＜30s"."""

    minimum: float | None = None
    maximum: float | None = None
    exclusive: bool = False

    def breaks(self, seconds: float) -> bool:
        low = self.minimum is not None and (seconds <= self.minimum if self.exclusive
                                            else seconds < self.minimum)
        high = self.maximum is not None and (seconds >= self.maximum if self.exclusive
                                             else seconds > self.maximum)
        return low or high

    def __str__(self) -> str:
        low, high = ("<", "<") if self.exclusive else ("<=", "<=")
        parts = [f"{self.minimum:g} s {low} " if self.minimum is not None else "",
                 "length", f" {high} {self.maximum:g} s" if self.maximum is not None else ""]
        return "".join(parts)


@dataclass(frozen=True)
class AudioRule:
    """Documented limits on an input audio file. ``formats`` are container names as decoded
    (``mp3``, ``wav``, ``aac``), never trusted from the file name."""

    formats: frozenset[str] | None = frozenset({"mp3", "wav"})  # None: any decodable audio
    seconds: SecondsRange = SecondsRange()
    max_bytes: int | None = None


@dataclass(frozen=True)
class VideoRule:
    """Documented limits on an input video, checked against what decoding finds."""

    formats: frozenset[str] = frozenset({"mp4", "avi", "mov"})
    seconds: SecondsRange = SecondsRange()
    max_bytes: int | None = None
    min_side: int | None = None
    max_side: int | None = None
    max_aspect: float | None = None
    min_fps: float | None = None
    max_fps: float | None = None
    codecs: frozenset[str] | None = None  # decoder names: h264, hevc


MediaRule = ImageRule | AudioRule | VideoRule


@dataclass(frozen=True)
class MediaField:
    """A request field that carries media (a URL, ``oss://`` URL or data URI)."""

    name: str
    kind: Literal["image", "audio", "video"] = "image"
    where: Literal["input"] = "input"
    rule: MediaRule | None = None
    #: A list that mixes images and videos (reference-to-video): videos are held to this rule.
    video_rule: VideoRule | None = None
    max_videos: int | None = None
    required: bool = False
    max_items: int | None = None  # set for list-valued fields
    base64_allowed: bool = True  # audio and video inputs are URL-only
    # Some list fields nest under an object, e.g. ``reference_edge.foreground_edge``.
    parent: str | None = None

    @property
    def is_list(self) -> bool:
        return self.max_items is not None


# --------------------------------------------------------------------------- video geometry

#: Poster frames by ``wh_ratios``: the orientations are documented (seed 000 L2402), the sizes
#: are not (ours: 3:4 and 4:3 at 1024 px).
POSTER_SIZES: dict[str, tuple[int, int]] = {"竖版": (768, 1024), "横版": (1024, 768)}

#: Total pixel budget of each tier; image-to-video keeps the input's aspect ratio within it.
TIER_PIXELS: dict[str, int] = {"480P": 832 * 480, "720P": 1280 * 720, "1080P": 1920 * 1080}

#: ``size`` values of text-to-video and reference-to-video, by tier.
TIER_SIZES: dict[str, tuple[str, ...]] = {
    "480P": ("832*480", "480*832", "624*624"),
    "720P": ("1280*720", "720*1280", "960*960", "1088*832", "832*1088"),
    "1080P": ("1920*1080", "1080*1920", "1440*1440", "1632*1248", "1248*1632"),
}


def tier_of_size(size: str) -> str:
    """The resolution tier of a ``W*H`` size string; ValueError if it is in no tier."""
    for tier, sizes in TIER_SIZES.items():
        if size in sizes:
            return tier
    raise ValueError(f"size {size!r} is not a documented W*H size")


def keep_aspect_size(tier: str, width: int, height: int) -> tuple[int, int]:
    """Output size of image-to-video: the tier's pixel count at the input's aspect ratio,
    each side floored to a multiple of 16 (750x1000 at 720P gives 816x1104, as documented)."""
    scale = math.sqrt(TIER_PIXELS[tier] / (width * height))
    return max(16, int(width * scale) // 16 * 16), max(16, int(height * scale) // 16 * 16)


#: The ratios every tier lists first (16:9, 9:16, 1:1; the whole 480P table, seed 000
#: L7464-7470): an input of exactly one of them gets the tier's listed size.
_LISTED_RATIOS = ((16, 9), (9, 16), (1, 1))


def first_frame_size(tier: str, width: int, height: int) -> tuple[int, int]:
    """Output size of a video made from a frame of ``width`` x ``height`` at ``tier``.

    A 16:9, 9:16 or 1:1 input gets the tier's listed size (832x480, 480x832, 624x624 at 480P;
    1920x1080 at 1080P), which keep-aspect flooring would miss (832x464, 1920x1072). Any other
    aspect keeps the input's ratio within the tier's pixel budget (``keep_aspect_size``, which
    reproduces the page's 750x1000 -> 816x1104 example, L4678-4681)."""
    for (rw, rh), size in zip(_LISTED_RATIOS, TIER_SIZES[tier]):
        if abs(width * rh - height * rw) <= 0.01 * height * rw:
            w, h = size.split("*")
            return int(w), int(h)
    return keep_aspect_size(tier, width, height)


@dataclass(frozen=True)
class VideoSpec:
    """What a video model can produce."""

    tiers: tuple[str, ...]
    default_tier: str
    durations: tuple[int, ...]  # allowed requested durations (seconds)
    default_duration: int
    fps: int
    audio: Literal["none", "always", "optional"] = "none"
    tier_param: Literal["resolution", "size", "none"] = "resolution"
    default_size: str | None = None  # for tier_param == "size"
    #: True where ``audio_url`` overrides ``audio=false`` (wan2.5, seed 002 L493); on wan2.6
    #: ``audio=false`` wins (seed 000 L5079).
    audio_url_wins: bool = False

    @property
    def sizes(self) -> tuple[str, ...]:
        return tuple(s for tier in self.tiers for s in TIER_SIZES[tier])


@dataclass(frozen=True)
class FollowSpec:
    """What a model produces whose length follows an input rather than a ``duration``
    parameter (digital humans, video-to-video).

    ``length``: the driving video, the audio, the shorter of the two (VideoRetalk, unless
    ``video_extension``), the AnimateAnyone template, or ``fixed_seconds``. ``geometry``: the
    tier's pixel budget at the input's aspect, the input video's own size, the input's aspect
    at a short side of ``short_side_param``, or a size per ``usage.video_ratio`` label.
    Frame rate: ``fps``, else the value of ``fps_param`` (mapped through ``fps_by_value`` when
    that is given).
    """

    length: Literal["video", "audio", "shorter", "template", "fixed"]
    geometry: Literal["tier", "input", "short_side", "ratio"]
    fps: int | None = None
    fps_param: str | None = None
    fps_by_value: tuple[tuple[str, int], ...] = ()
    tier: str = "720P"
    tier_param: str | None = None
    short_side_param: str | None = None
    ratio_sizes: tuple[tuple[str, tuple[int, int]], ...] = ()
    fixed_seconds: float | None = None

    def frame_rate(self, value: Any) -> int:
        """The output fps given the value sent for ``fps_param`` (or its default)."""
        if self.fps is not None:
            return self.fps
        return dict(self.fps_by_value)[value] if self.fps_by_value else int(value)


# --------------------------------------------------------------------------- rate limits


@dataclass(frozen=True)
class Limits:
    """Per-model submit rate and concurrent running tasks (account + RAM sub-accounts)."""

    submit_per_second: float
    concurrency: int
    documented: bool = True


#: Used where the docs give no numbers: conservative so nobody gets throttled by surprise.
UNDOCUMENTED_LIMITS = Limits(submit_per_second=1.0, concurrency=1, documented=False)


# --------------------------------------------------------------------------- run times


@dataclass(frozen=True)
class RunTime:
    """How long a task runs once the service has started it, in service seconds.

    The docs give ranges only: images finish "within a few tens of seconds" (seed 000 L1988),
    videos take "usually 1-5 minutes" (seed 002 L4824), longer for longer and larger videos.
    ``run_time`` turns that into a window per request; the emulator draws its run times from
    it and the client polls by it, so both read the same fact."""

    shortest: float
    longest: float


IMAGE_RUN_TIME = RunTime(8.0, 30.0)
#: Every video's run time lies in here, whatever its length and size.
VIDEO_RUN_TIME = RunTime(60.0, 300.0)
#: A video's typical run time: a base, plus per second of video, plus per 1080P-sized frame.
_VIDEO_BASE, _VIDEO_PER_SECOND, _VIDEO_PER_FULL_HD = 60.0, 160.0 / 15, 80.0
#: How far one video's run time strays from the typical one.
_VIDEO_SPREAD = 0.1


def run_time(output: Output, duration_s: float | None = None, pixels: int | None = None
             ) -> RunTime:
    """The run-time window of a task producing ``output``; for a video, of that length and
    frame size (None: not known, the whole video window)."""
    if output is not Output.VIDEO:
        return IMAGE_RUN_TIME
    if duration_s is None or pixels is None:
        return VIDEO_RUN_TIME
    typical = (_VIDEO_BASE + _VIDEO_PER_SECOND * duration_s
               + _VIDEO_PER_FULL_HD * pixels / TIER_PIXELS["1080P"])

    def bounded(seconds: float) -> float:
        return min(max(seconds, VIDEO_RUN_TIME.shortest), VIDEO_RUN_TIME.longest)

    return RunTime(bounded(typical * (1 - _VIDEO_SPREAD)), bounded(typical * (1 + _VIDEO_SPREAD)))


# --------------------------------------------------------------------------- how a model is sold


@dataclass(frozen=True)
class Purchase:
    """How a model is sold: pay-as-you-go (``PAYG``), or a free trial only (``trial_only``).

    A trial-only model gives each account ``free_quota`` units of its billing unit; once they
    are used the model cannot be called at all and cannot be bought ("免费额度用完后不可调用且
    不支持付费", seed 000 L1996). Failed tasks use none of the quota (L573). ``replacements``
    are the purchasable models the seeds recommend instead (none where they say only "敬请关注
    后续动态", stay tuned)."""

    free_quota: int | None = None
    replacements: tuple[str, ...] = ()

    @property
    def trial_only(self) -> bool:
        return self.free_quota is not None


PAYG = Purchase()


def trial_only(free_quota: int, *replacements: str) -> Purchase:
    """A model that is free while its trial quota lasts and can never be bought."""
    return Purchase(free_quota, replacements)


#: Wan image editing, which the trial-only image-editing pages recommend instead
#: ("推荐参考图像编辑-通义千问或图像编辑-通义万相获取替代方案", seed 000 L1996, L2752; the
#: Qwen models are not in this registry).
_WAN_IMAGE_EDIT = ("wanx2.1-imageedit", "wan2.5-i2i-preview")


# --------------------------------------------------------------------------- model spec


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: Family
    endpoint: Endpoint
    output: Output
    result_path: ResultPath
    billing_unit: BillingUnit
    #: ``usage`` keys the service returns for this model generation, in its own vocabulary.
    usage_fields: tuple[str, ...]
    limits: Limits = UNDOCUMENTED_LIMITS
    params: tuple[Param, ...] = ()
    media: tuple[MediaField, ...] = ()
    video: VideoSpec | None = None
    follow: FollowSpec | None = None
    #: Whether a successful answer carries ``actual_prompt`` (the rewritten prompt) when
    #: ``prompt_extend`` is on: wan2.5 and earlier, never wan2.6 (seed 000 L5265-5268, L7716).
    actual_prompt: bool = False
    #: Whether a ``results[]`` image answer carries ``task_metrics`` (seed 000 L332, L709);
    #: the style-repaint answer has none (L1292-1313).
    task_metrics: bool = True
    #: Word budgets shared by several input fields (checked on top of each field's own rule).
    shared_word_limits: tuple[SharedWordLimit, ...] = ()
    regions: frozenset[Region] = frozenset({Region.BEIJING})
    #: Synchronous endpoints (detect) answer directly and take no ``X-DashScope-Async``.
    asynchronous: bool = True
    purchase: Purchase = PAYG
    notes: str = ""
    #: Name that other regions use for the same model (Singapore says ``wan2.1-*``).
    aliases: dict[Region, str] = field(default_factory=dict)

    def param(self, name: str) -> Param | None:
        return self._params_by_name.get(name)

    def media_field(self, name: str) -> MediaField | None:
        return self._media_by_name.get(name)

    # by name, the first of a name winning: every request check looks fields up many times
    @cached_property
    def _params_by_name(self) -> dict[str, Param]:
        return {p.name: p for p in reversed(self.params)}

    @cached_property
    def _media_by_name(self) -> dict[str, MediaField]:
        return {m.name: m for m in reversed(self.media)}

    def default(self, name: str) -> Any:
        """The documented default of a parameter (None if there is none)."""
        p = self.param(name)
        return p.default if p else None

    def run_time(self, parameters: Mapping[str, Any]) -> RunTime:
        """The run-time window of a create with these ``parameters`` (defaults filled in)."""
        video = self.video
        if video is None:
            return run_time(self.output)
        duration = float(parameters.get("duration", video.default_duration))
        tier = video.default_tier
        if video.tier_param == "resolution":
            tier = str(parameters.get("resolution", tier))
        elif video.tier_param == "size" and parameters.get("size", video.default_size):
            tier = tier_of_size(str(parameters.get("size", video.default_size)))
        return run_time(Output.VIDEO, duration, TIER_PIXELS.get(tier))


# --------------------------------------------------------------------------- shared pieces

_NO_ALPHA = ImageRule(min_side=360, max_side=2000, max_bytes=10 * MB, alpha="forbidden")
FRAME_RULE = _NO_ALPHA  # i2v first frame, kf2v frames (seed 000 L4904-4946, L5691-5822)
REFERENCE_RULE = ImageRule(min_side=240, max_side=5000, max_bytes=10 * MB, alpha="forbidden")
RGBA_CUTOUT_RULE = ImageRule(formats=frozenset({"PNG", "WEBP"}), alpha="required")
GUIDE_RULE = ImageRule(formats=frozenset({"JPEG", "PNG", "BMP", "WEBP"}))
VIRTUAL_MODEL_RULE = ImageRule(
    formats=frozenset({"JPEG", "PNG", "WEBP"}), min_side=257, max_side=4095, max_bytes=5 * MB,
    max_aspect=2.0,
)
SHOE_RULE = ImageRule(
    formats=frozenset({"JPEG", "PNG", "BMP", "WEBP", "AVIF"}), max_bytes=5 * MB, max_aspect=1.5,
)
I2I_RULE = ImageRule(min_side=384, max_side=5000, max_bytes=10 * MB, alpha="forbidden")
STYLE_REPAINT_RULE = ImageRule(min_side=256, max_side=5760, max_short_side=3240,
                               max_bytes=10 * MB, max_aspect=2.0)
SEGMENT_RULE = ImageRule(min_side=512, max_side=4096, max_bytes=10 * MB)
X_PAINT_RULE = ImageRule(formats=frozenset({"JPEG", "PNG", "BMP", "TIFF", "WEBP"}), min_side=257,
                         max_side=4095, max_bytes=10 * MB)
PORTRAIT_RULE = ImageRule(min_side=400, max_side=7000)
ANIMATE_RULE = ImageRule(min_side=200, max_side=4096, max_bytes=5 * MB, max_aspect=3.0)
FACE_RULE = ImageRule(max_side=4096, max_bytes=10 * MB, max_aspect=2.0)

#: Reference-to-video videos: MP4/MOV, 1-30 s, at most 100 MB (seed 000 L6903-6908).
REFERENCE_VIDEO_RULE = VideoRule(formats=frozenset({"mp4", "mov"}), seconds=SecondsRange(1, 30),
                                 max_bytes=100 * MB)
#: Animate move/mix driving video (seed 000 L8046-8055, L8430-8443).
ANIMATE_VIDEO_RULE = VideoRule(seconds=SecondsRange(2, 30), max_bytes=200 * MB, min_side=200,
                               max_side=2048, max_aspect=3.0)
#: AnimateAnyone dance template video (seed 000 L9729-9738).
TEMPLATE_VIDEO_RULE = VideoRule(seconds=SecondsRange(2, 60), max_bytes=200 * MB, min_side=200,
                                max_side=2048, min_fps=24, codecs=frozenset({"h264", "hevc"}))
#: VideoRetalk video and audio (seed 000 L11470-11482).
RETALK_VIDEO_RULE = VideoRule(seconds=SecondsRange(2, 120, exclusive=True), max_bytes=300 * MB,
                              min_side=640, max_side=2048, min_fps=15, max_fps=60,
                              codecs=frozenset({"h264", "hevc"}))
RETALK_AUDIO_RULE = AudioRule(formats=frozenset({"mp3", "wav", "aac"}),
                              seconds=SecondsRange(2, 120, exclusive=True), max_bytes=30 * MB)
#: Video style transform input (seed 000 L12447-12456).
STYLE_VIDEO_RULE = VideoRule(formats=frozenset({"mp4", "avi", "mkv", "mov", "flv", "ts", "mpg",
                                                "mxf"}),
                             seconds=SecondsRange(maximum=30), max_bytes=100 * MB, min_side=256,
                             max_side=4096, max_aspect=1.8)

_PROMPT_1500 = Param("prompt", "input", str, max_length=1500)
_PROMPT_800 = Param("prompt", "input", str, max_length=800)
_NEGATIVE = Param("negative_prompt", "input", str, max_length=500)
_SEED = Param("seed", "parameters", int, minimum=0, maximum=2147483647)
_WATERMARK = Param("watermark", "parameters", bool, default=False)
_PROMPT_EXTEND = Param("prompt_extend", "parameters", bool, default=True)
_SHOT_TYPE = Param("shot_type", "parameters", str, default="single", choices=("single", "multi"))
_TEMPLATE = Param("template", "input", str)
#: wan2.5/2.6 audio_url: wav or mp3, 3-30 s, at most 15 MB (seed 000 L4971-4977, L7420-7426).
_AUDIO_URL = MediaField("audio_url", kind="audio", base64_allowed=False,
                        rule=AudioRule(seconds=SecondsRange(3, 30), max_bytes=15 * MB))

_IMAGE_USAGE = ("image_count",)
_LEGACY_VIDEO_USAGE = ("video_duration", "video_ratio", "video_count")
_WAN26_T2V_USAGE = ("duration", "size", "input_video_duration", "output_video_duration",
                    "video_count", "SR")
_WAN26_I2V_USAGE = ("duration", "input_video_duration", "output_video_duration", "video_count",
                    "SR")
_ALL_REGIONS = frozenset(Region)
_BJ_SG = frozenset({Region.BEIJING, Region.SINGAPORE})

#: First-frame effect templates (seed 000 L6292-6754).
I2V_TEMPLATES_BOTH = ("squish", "rotation", "poke", "inflate", "dissolve", "carousel",
                      "singleheart", "flying", "rose", "crystalrose", "hug", "frenchkiss",
                      "coupleheart")
I2V_TEMPLATES_PLUS_ONLY = ("melt", "icecream", "dance1", "dance2", "dance3", "dance4", "dance5",
                           "mermaid", "graduation", "dragon", "money", "jellyfish", "pupil")
KF2V_TEMPLATES = ("hanfu-1", "solaron", "magazine", "mech1", "mech2")


def _video_params(video: VideoSpec, *extra: Param) -> tuple[Param, ...]:
    """Tier and duration parameters derived from a VideoSpec, so the enum lives in one place."""
    params: list[Param] = []
    if video.tier_param == "resolution":
        params.append(Param("resolution", "parameters", str, default=video.default_tier,
                            choices=video.tiers))
    elif video.tier_param == "size":
        params.append(Param("size", "parameters", str, default=video.default_size,
                            choices=video.sizes))
    params.append(Param("duration", "parameters", int, default=video.default_duration,
                        choices=video.durations))
    return tuple(params) + extra


# --------------------------------------------------------------------------- image models


def _image_models() -> list[ModelSpec]:
    n_param = Param("n", "parameters", int, default=1, minimum=1, maximum=4)
    return [
        ModelSpec(
            "wanx-background-generation-v2", Family.BACKGROUND, Endpoint.BACKGROUND, Output.IMAGE,
            "results[].url", BillingUnit.IMAGE, _IMAGE_USAGE, Limits(2, 1),
            params=(
                Param("ref_prompt", "input", str, max_words=150),
                Param("model_version", "parameters", str, default="v2", choices=("v2", "v3")),
                n_param,
                Param("noise_level", "parameters", int, default=300, minimum=0, maximum=999),
                Param("ref_prompt_weight", "parameters", float, default=0.5, minimum=0, maximum=1),
                Param("foreground_edge_prompt", "input", list, max_length=8,
                      parent="reference_edge"),
                Param("background_edge_prompt", "input", list, max_length=8,
                      parent="reference_edge"),
            ),
            media=(
                MediaField("base_image_url", rule=RGBA_CUTOUT_RULE, required=True),
                MediaField("ref_image_url", rule=GUIDE_RULE),
                MediaField("foreground_edge", rule=RGBA_CUTOUT_RULE, max_items=8,
                           parent="reference_edge"),
                MediaField("background_edge", rule=RGBA_CUTOUT_RULE, max_items=8,
                           parent="reference_edge"),
            ),
            notes="Output has the base image's size. ref_prompt: <=150 English words / ~100-120 "
                  "Chinese characters, the rest ignored by the service (seed 000 L1524); we "
                  "refuse over 150 words (a Chinese character counting as one) rather than pay "
                  "for a prompt that is silently cut.",
        ),
        ModelSpec(
            "virtualmodel-v2", Family.VIRTUAL_MODEL, Endpoint.VIRTUAL_MODEL, Output.IMAGE,
            "results[].url", BillingUnit.IMAGE, _IMAGE_USAGE, Limits(2, 1),
            params=(
                Param("prompt", "input", str, required=True, max_length=800),
                Param("face_prompt", "input", str, max_length=800),
                Param("short_side_size", "parameters", str, default="1024", choices=("1024", "2048")),
                Param("aspect_ratio", "parameters", str,
                      choices=("2:1", "16:9", "4:3", "1:1", "3:4", "9:16", "1:2")),
                Param("realPerson", "parameters", bool),
                n_param,
            ),
            media=(
                MediaField("base_image_url", rule=VIRTUAL_MODEL_RULE, required=True),
                MediaField("mask_image_url", rule=VIRTUAL_MODEL_RULE, required=True),
                MediaField("background_image_url", rule=VIRTUAL_MODEL_RULE),
            ),
            # V2's cells are merged with V1's in the quota table (seed 000 L2079-2084)
            purchase=trial_only(500, *_WAN_IMAGE_EDIT),
            notes="Prompt length is not documented; 800 is our own guard.",
        ),
        ModelSpec(
            "wanx-virtualmodel", Family.VIRTUAL_MODEL, Endpoint.VIRTUAL_MODEL, Output.IMAGE,
            "results[].url", BillingUnit.IMAGE, _IMAGE_USAGE, Limits(2, 1),
            params=(
                Param("prompt", "input", str, required=True, max_length=800),
                Param("face_prompt", "input", str, max_length=800),
                Param("short_side_size", "parameters", str, default="512", choices=("512", "1024")),
                Param("predefined_face_id", "parameters", str),
                n_param,
            ),
            media=(
                MediaField("base_image_url", rule=VIRTUAL_MODEL_RULE, required=True),
                MediaField("mask_image_url", rule=VIRTUAL_MODEL_RULE, required=True),
            ),
            purchase=trial_only(500, *_WAN_IMAGE_EDIT),  # seed 000 L1996, 500张 L2083
            notes="Real-person photos only.",
        ),
        ModelSpec(
            "shoemodel-v1", Family.SHOE_MODEL, Endpoint.VIRTUAL_MODEL, Output.IMAGE,
            "results[].url", BillingUnit.IMAGE, _IMAGE_USAGE, Limits(2, 1),
            params=(n_param,),
            media=(
                MediaField("template_image_url", rule=SHOE_RULE, required=True),
                MediaField("shoe_image_url", rule=SHOE_RULE, required=True, max_items=2),
            ),
            # seed 000 L2248, 500张 L2280; no replacement named ("敬请关注后续动态", L2282)
            purchase=trial_only(500),
            notes="Fewer than 3 shoe views.",
        ),
        ModelSpec(
            "image-out-painting", Family.OUT_PAINTING, Endpoint.OUT_PAINTING, Output.IMAGE,
            "output_image_url", BillingUnit.IMAGE, _IMAGE_USAGE, Limits(2, 5),
            params=(
                Param("angle", "parameters", int, default=0, minimum=0, maximum=359),
                Param("x_scale", "parameters", float, default=1.0, minimum=1.0, maximum=3.0),
                Param("y_scale", "parameters", float, default=1.0, minimum=1.0, maximum=3.0),
                Param("output_ratio", "parameters", str,
                      choices=("1:1", "3:4", "4:3", "9:16", "16:9")),
                Param("left_offset", "parameters", int, minimum=0),
                Param("right_offset", "parameters", int, minimum=0),
                Param("top_offset", "parameters", int, minimum=0),
                Param("bottom_offset", "parameters", int, minimum=0),
            ),
            media=(MediaField("image_url", rule=GUIDE_RULE, required=True),),
            notes="Scale range and output_ratio enum are not documented; ours are guards.",
        ),
        ModelSpec(
            "wanx2.1-imageedit", Family.IMAGE_EDIT, Endpoint.IMAGE2IMAGE, Output.IMAGE,
            "results[].url", BillingUnit.IMAGE, _IMAGE_USAGE, Limits(2, 2),
            params=(
                Param("function", "input", str, required=True, choices=(
                    "stylization_all", "stylization_local", "description_edit",
                    "description_edit_with_mask", "remove_watermark", "expand",
                    "super_resolution", "colorization", "doodle", "control_cartoon_feature")),
                Param("prompt", "input", str, required=True, max_length=800),
                Param("strength", "parameters", float, default=0.5, minimum=0, maximum=1),
                Param("top_scale", "parameters", float, minimum=1),
                Param("bottom_scale", "parameters", float, minimum=1),
                Param("left_scale", "parameters", float, minimum=1),
                Param("right_scale", "parameters", float, minimum=1),
                Param("upscale_factor", "parameters", int, default=1, minimum=1, maximum=4),
                Param("is_sketch", "parameters", bool, default=False),
                n_param,
            ),
            media=(
                MediaField("base_image_url", rule=GUIDE_RULE, required=True),
                MediaField("mask_image_url", rule=GUIDE_RULE),
            ),
        ),
        ModelSpec(
            "wan2.5-i2i-preview", Family.IMAGE_EDIT, Endpoint.IMAGE2IMAGE, Output.IMAGE,
            "results[].url", BillingUnit.IMAGE, _IMAGE_USAGE,
            params=(
                Param("prompt", "input", str, required=True, max_length=2000),
                Param("negative_prompt", "input", str, max_length=500),
                Param("size", "parameters", str, default="1280*1280"),
                Param("n", "parameters", int, default=4, minimum=1, maximum=4),
                _WATERMARK, _SEED, Param("prompt_extend", "parameters", bool),
            ),
            media=(MediaField("images", rule=I2I_RULE, required=True, max_items=3),),
            regions=_BJ_SG, actual_prompt=True,  # per result (seed 000 L326)
            notes="n defaults to 4 on the service: builders send n=1 unless asked.",
        ),
        ModelSpec(
            "wanx-style-repaint-v1", Family.STYLE_REPAINT, Endpoint.IMAGE_GENERATION, Output.IMAGE,
            "results[].url", BillingUnit.IMAGE, _IMAGE_USAGE, Limits(2, 1),
            params=(Param("style_index", "input", int, required=True, minimum=-1),),
            media=(MediaField("image_url", rule=STYLE_REPAINT_RULE, required=True),
                   MediaField("style_ref_url", rule=STYLE_REPAINT_RULE)),
            task_metrics=False,
        ),
        ModelSpec(
            "wanx-poster-generation-v1", Family.POSTER, Endpoint.TEXT2IMAGE, Output.IMAGE,
            "results[].url", BillingUnit.IMAGE, _IMAGE_USAGE, Limits(2, 1),
            params=(
                Param("title", "input", str, required=True, max_length=30),
                Param("sub_title", "input", str, max_length=30),
                Param("body_text", "input", str, max_length=50),
                Param("prompt_text_zh", "input", str),
                Param("prompt_text_en", "input", str),
                Param("wh_ratios", "input", str, choices=("竖版", "横版")),
                Param("lora_name", "input", str),
                Param("lora_weight", "input", float, minimum=0, maximum=1),
                Param("ctrl_ratio", "input", float, minimum=0, maximum=1),
                Param("ctrl_step", "input", float, minimum=0, maximum=1),
                Param("generate_mode", "input", str, default="generate"),
                Param("generate_num", "input", int, default=1, minimum=1, maximum=4),
            ),
            shared_word_limits=(SharedWordLimit(("prompt_text_zh", "prompt_text_en"), 50),),
            # seed 000 L2381 (text-to-image recommended instead), 500张 L2421
            purchase=trial_only(500, "wan2.6-t2i", "wan2.5-t2i-preview", "wan2.2-t2i-flash",
                                "wanx2.0-t2i-turbo"),
            notes="Prompts: 50 words across Chinese and English together (seed 000 L2429).",
        ),
        ModelSpec(
            "image-instance-segmentation", Family.SEGMENTATION, Endpoint.IMAGE2IMAGE, Output.IMAGE,
            "results[].url", BillingUnit.IMAGE, _IMAGE_USAGE, Limits(2, 1),
            media=(MediaField("image_url", rule=SEGMENT_RULE, required=True),),
            # seed 000 L2669, 500张 L2702; no replacement named (L2704)
            purchase=trial_only(500),
        ),
        ModelSpec(
            "image-erase-completion", Family.ERASE, Endpoint.IMAGE2IMAGE, Output.IMAGE,
            "results[].url", BillingUnit.IMAGE, _IMAGE_USAGE, Limits(2, 1),
            params=(Param("dilate_flag", "parameters", bool),
                    Param("fast_mode", "parameters", bool, default=False)),
            media=(MediaField("image_url", rule=SEGMENT_RULE, required=True),
                   MediaField("mask_url", rule=SEGMENT_RULE, required=True),
                   MediaField("foreground_url", rule=SEGMENT_RULE)),
            purchase=trial_only(500, *_WAN_IMAGE_EDIT),  # seed 000 L2752, 500张 L2791
        ),
        ModelSpec(
            "wanx-x-painting", Family.X_PAINTING, Endpoint.IMAGE2IMAGE, Output.IMAGE,
            "results[].url", BillingUnit.IMAGE, _IMAGE_USAGE, Limits(2, 1),
            params=(Param("prompt", "input", str, required=True, max_length=800),
                    Param("size", "parameters", str, default="1024*1024"),
                    Param("n", "parameters", int, default=1, minimum=1, maximum=4)),
            media=(MediaField("base_image_url", rule=X_PAINT_RULE, required=True),
                   MediaField("mask_image_url", rule=X_PAINT_RULE, required=True)),
            # seed 000 L2897 ("图像编辑-通义万相2.1" instead), 500张 L2956
            purchase=trial_only(500, "wanx2.1-imageedit"),
        ),
        *[
            ModelSpec(
                name, Family.TEXT_TO_IMAGE, Endpoint.TEXT2IMAGE, Output.IMAGE, "results[].url",
                BillingUnit.IMAGE, _IMAGE_USAGE,
                params=(Param("prompt", "input", str, required=True, max_length=800),
                        _NEGATIVE, Param("size", "parameters", str, default="1024*1024"),
                        Param("n", "parameters", int, default=4, minimum=1, maximum=4),
                        _SEED, _WATERMARK, Param("prompt_extend", "parameters", bool)),
                regions=_BJ_SG,
                notes="Only named in the seeds: endpoint from the protocol table, limits unknown.",
            )
            for name in ("wan2.6-t2i", "wan2.5-t2i-preview", "wan2.2-t2i-flash", "wanx2.0-t2i-turbo")
        ],
    ]


# --------------------------------------------------------------------------- video models


def _t2v(name: str, video: VideoSpec, prompt: Param, usage: tuple[str, ...],
         regions: frozenset[Region] = _ALL_REGIONS, **kw: Any) -> ModelSpec:
    extra: list[Param] = [replace(prompt, required=True), _NEGATIVE, _PROMPT_EXTEND,
                          _WATERMARK, _SEED]
    media: tuple[MediaField, ...] = ()
    if video.audio != "none":
        media = (_AUDIO_URL,)
    if name.startswith("wan2.6"):
        extra.append(_SHOT_TYPE)
    return ModelSpec(name, Family.TEXT_TO_VIDEO, Endpoint.VIDEO_GENERATION, Output.VIDEO,
                     "video_url", BillingUnit.SECOND, usage, params=_video_params(video, *extra),
                     media=media, video=video, regions=regions,
                     actual_prompt=not name.startswith("wan2.6"), **kw)


def _i2v(name: str, video: VideoSpec, limits: Limits, usage: tuple[str, ...],
         templates: tuple[str, ...] = (), regions: frozenset[Region] = _ALL_REGIONS,
         **kw: Any) -> ModelSpec:
    prompt = _PROMPT_1500 if video.audio != "none" else _PROMPT_800
    extra: list[Param] = [prompt, _NEGATIVE, _PROMPT_EXTEND, _WATERMARK, _SEED]
    media = [MediaField("img_url", rule=FRAME_RULE, required=True)]
    if video.audio != "none":
        media.append(_AUDIO_URL)
    if name.startswith("wan2.6"):
        extra.append(_SHOT_TYPE)
    if video.audio == "optional":
        extra.append(Param("audio", "parameters", bool, default=True))
    if templates:
        extra.append(replace(_TEMPLATE, choices=templates))
    return ModelSpec(name, Family.IMAGE_TO_VIDEO, Endpoint.VIDEO_GENERATION, Output.VIDEO,
                     "video_url", BillingUnit.SECOND, usage, limits,
                     params=_video_params(video, *extra), media=tuple(media), video=video,
                     regions=regions, actual_prompt=not name.startswith("wan2.6"), **kw)


def _kf2v(name: str, video: VideoSpec, usage: tuple[str, ...], templates: tuple[str, ...] = (),
          regions: frozenset[Region] = _BJ_SG, **kw: Any) -> ModelSpec:
    extra: list[Param] = [_PROMPT_800, _NEGATIVE, _PROMPT_EXTEND, _WATERMARK, _SEED]
    if templates:
        extra.append(replace(_TEMPLATE, choices=templates))
    return ModelSpec(name, Family.KEYFRAME_TO_VIDEO, Endpoint.IMAGE2VIDEO, Output.VIDEO,
                     "video_url", BillingUnit.SECOND, usage, Limits(2, 2),
                     params=_video_params(video, *extra),
                     media=(MediaField("first_frame_url", rule=FRAME_RULE, required=True),
                            MediaField("last_frame_url", rule=FRAME_RULE)),
                     video=video, regions=regions, actual_prompt=True, **kw)


def _r2v(name: str, video: VideoSpec) -> ModelSpec:
    extra: list[Param] = [Param("prompt", "input", str, required=True, max_length=1500),
                          _NEGATIVE, _WATERMARK, _SEED, _SHOT_TYPE]
    if video.audio == "optional":
        extra.append(Param("audio", "parameters", bool, default=True))
    return ModelSpec(name, Family.REFERENCE_TO_VIDEO, Endpoint.VIDEO_GENERATION, Output.VIDEO,
                     "video_url", BillingUnit.SECOND, _WAN26_T2V_USAGE,
                     params=_video_params(video, *extra),
                     media=(MediaField("reference_urls", kind="image", rule=REFERENCE_RULE,
                                       required=True, max_items=5, base64_allowed=False,
                                       video_rule=REFERENCE_VIDEO_RULE, max_videos=3),),
                     video=video, regions=frozenset({Region.BEIJING, Region.SINGAPORE,
                                                     Region.VIRGINIA}),
                     notes="reference_urls: 0-5 images (240-5000 px, no alpha, <=10 MB) and 0-3 "
                           "MP4/MOV videos (1-30 s, <=100 MB), at most 5 in all; input video "
                           "seconds are billed too.")


_SEC_2_15 = tuple(range(2, 16))
_SEC_2_10 = tuple(range(2, 11))


def _video_models() -> list[ModelSpec]:
    v = VideoSpec
    return [
        # text-to-video (seed 000 L7301-7943)
        _t2v("wan2.6-t2v", v(("720P", "1080P"), "1080P", _SEC_2_15, 5, 30, "always", "size",
                             "1920*1080"), _PROMPT_1500, _WAN26_T2V_USAGE),
        _t2v("wan2.6-t2v-us", v(("720P", "1080P"), "1080P", (5, 10), 5, 30, "always", "size",
                                "1920*1080"), _PROMPT_1500, _WAN26_T2V_USAGE,
             regions=frozenset({Region.VIRGINIA})),
        _t2v("wan2.5-t2v-preview", v(("480P", "720P", "1080P"), "1080P", (5, 10), 5, 30, "always",
                                     "size", "1920*1080"), _PROMPT_1500, _LEGACY_VIDEO_USAGE),
        _t2v("wan2.2-t2v-plus", v(("480P", "1080P"), "1080P", (5,), 5, 30, "none", "size",
                                  "1920*1080"), _PROMPT_800, _LEGACY_VIDEO_USAGE),
        _t2v("wanx2.1-t2v-turbo", v(("480P", "720P"), "720P", (5,), 5, 30, "none", "size",
                                    "1280*720"), _PROMPT_800, _LEGACY_VIDEO_USAGE,
             aliases={Region.SINGAPORE: "wan2.1-t2v-turbo"}),
        _t2v("wanx2.1-t2v-plus", v(("720P",), "720P", (5,), 5, 30, "none", "size", "1280*720"),
             _PROMPT_800, _LEGACY_VIDEO_USAGE, aliases={Region.SINGAPORE: "wan2.1-t2v-plus"}),
        # image-to-video, first frame (seed 000 L4805-5575; limits: dashscope-protocol.md)
        _i2v("wan2.6-i2v-flash", v(("720P", "1080P"), "1080P", _SEC_2_15, 5, 30, "optional"),
             Limits(5, 5), _WAN26_I2V_USAGE + ("audio",)),
        _i2v("wan2.6-i2v", v(("720P", "1080P"), "1080P", _SEC_2_15, 5, 30, "always"),
             Limits(5, 5), _WAN26_I2V_USAGE),
        _i2v("wan2.6-i2v-us", v(("720P", "1080P"), "1080P", (5, 10, 15), 5, 30, "always"),
             Limits(5, 5), _WAN26_I2V_USAGE, regions=frozenset({Region.VIRGINIA})),
        _i2v("wan2.5-i2v-preview", v(("480P", "720P", "1080P"), "1080P", (5, 10), 5, 30,
                                     "optional", audio_url_wins=True),
             Limits(5, 5), ("video_count", "duration", "SR"),
             notes="Usage as in seed 002's example (the SDK's zero placeholders removed). Seed "
                   "002 says 24 fps; the newer seed 000 says 30. audio=false (silent) is "
                   "documented by seed 002 L493-499 only; seed 000 lists the parameter for "
                   "wan2.6-i2v-flash alone but does not forbid it, so it is accepted."),
        _i2v("wan2.2-i2v-flash", v(("480P", "720P", "1080P"), "720P", (5,), 5, 30),
             Limits(2, 2), _LEGACY_VIDEO_USAGE,
             regions=frozenset({Region.BEIJING, Region.VIRGINIA}),
             notes="Usage tab collapsed in the seeds: the wan2.5-and-earlier t2v vocabulary."),
        _i2v("wan2.2-i2v-plus", v(("480P", "1080P"), "1080P", (5,), 5, 30), Limits(2, 2),
             _LEGACY_VIDEO_USAGE),
        _i2v("wanx2.1-i2v-plus", v(("720P",), "720P", (5,), 5, 30), Limits(2, 2),
             _LEGACY_VIDEO_USAGE, templates=I2V_TEMPLATES_BOTH + I2V_TEMPLATES_PLUS_ONLY,
             aliases={Region.SINGAPORE: "wan2.1-i2v-plus"}),
        _i2v("wanx2.1-i2v-turbo", v(("480P", "720P"), "720P", (3, 4, 5), 5, 30), Limits(2, 2),
             _LEGACY_VIDEO_USAGE, templates=I2V_TEMPLATES_BOTH,
             aliases={Region.SINGAPORE: "wan2.1-i2v-turbo"}),
        # first + last frame (seed 000 L5576-6291)
        _kf2v("wan2.2-kf2v-flash", v(("480P", "720P", "1080P"), "720P", (5,), 5, 30),
              ("video_duration", "video_count", "SR"), regions=frozenset({Region.BEIJING})),
        _kf2v("wanx2.1-kf2v-plus", v(("720P",), "720P", (5,), 5, 30),
              ("video_duration", "video_count", "video_ratio"), templates=KF2V_TEMPLATES,
              aliases={Region.SINGAPORE: "wan2.1-kf2v-plus"}),
        # reference-to-video (seed 000 L6755-7300)
        _r2v("wan2.6-r2v-flash", v(("720P", "1080P"), "1080P", _SEC_2_10, 5, 30, "optional",
                                   "size", "1920*1080")),
        _r2v("wan2.6-r2v", v(("720P", "1080P"), "1080P", _SEC_2_10, 5, 30, "always", "size",
                             "1920*1080")),
        *_digital_human_models(),
    ]


def _digital_human_models() -> list[ModelSpec]:
    """Animate, s2v, AnimateAnyone, EMO, LivePortrait, VideoRetalk, Emoji, style transform and
    the synchronous detectors: reached through the generic builder."""
    def video_in(rule: VideoRule) -> MediaField:
        return MediaField("video_url", kind="video", rule=rule, required=True,
                          base64_allowed=False)

    def audio_in(rule: AudioRule) -> MediaField:
        return MediaField("audio_url", kind="audio", rule=rule, required=True,
                          base64_allowed=False)

    detect = dict(output=Output.DETECTION, result_path="none", billing_unit=BillingUnit.IMAGE,
                  usage_fields=_IMAGE_USAGE, limits=Limits(5, 1000), asynchronous=False)
    standard = ("video_duration", "video_ratio")
    animate_params = (Param("mode", "parameters", str, required=True, choices=("wan-std", "wan-pro")),
                      Param("check_image", "parameters", bool, default=True),
                      Param("watermark", "input", bool, default=False))
    return [
        *[ModelSpec(name, Family.ANIMATE, Endpoint.IMAGE2VIDEO, Output.VIDEO, "results.video_url",
                    BillingUnit.SECOND, standard, Limits(5, 1), params=animate_params,
                    media=(MediaField("image_url", rule=ANIMATE_RULE, required=True,
                                      base64_allowed=False), video_in(ANIMATE_VIDEO_RULE)),
                    # 720P; wan-std 15 fps, wan-pro 25 fps (seed 000 L3640-3660)
                    follow=FollowSpec("video", "tier", fps_param="mode",
                                      fps_by_value=(("wan-std", 15), ("wan-pro", 25))),
                    regions=_BJ_SG, notes="Duration follows the input video (2-30 s).")
          for name in ("wan2.2-animate-move", "wan2.2-animate-mix")],
        ModelSpec("wan2.2-s2v", Family.SPEECH_TO_VIDEO, Endpoint.IMAGE2VIDEO, Output.VIDEO,
                  "results.video_url", BillingUnit.SECOND, ("duration", "video_count", "SR"),
                  Limits(5, 1),
                  params=(Param("resolution", "parameters", str, default="480P",
                                choices=("480P", "720P")),
                          Param("style", "parameters", str)),
                  media=(MediaField("image_url", rule=PORTRAIT_RULE, required=True,
                                    base64_allowed=False),
                         audio_in(AudioRule(seconds=SecondsRange(maximum=20, exclusive=True),
                                            max_bytes=15 * MB))),  # seed 000 L9128-9131
                  # 480P 16 fps, 720P 30 fps, length follows the audio (seed 000 L3605-3611)
                  follow=FollowSpec("audio", "tier", fps_param="resolution",
                                    fps_by_value=(("480P", 16), ("720P", 30)),
                                    tier_param="resolution"),
                  notes="Duration follows the audio (<20 s); 480P is 16 fps, 720P 30 fps."),
        ModelSpec("wan2.2-s2v-detect", Family.DETECT, Endpoint.FACE_DETECT,
                  media=(MediaField("image_url", rule=PORTRAIT_RULE, required=True,
                                    base64_allowed=False),), **detect),
        ModelSpec("animate-anyone-detect-gen2", Family.DETECT, Endpoint.AA_DETECT,
                  media=(MediaField("image_url", required=True, base64_allowed=False),), **detect),
        ModelSpec("animate-anyone-template-gen2", Family.ANIMATE_ANYONE, Endpoint.AA_TEMPLATE,
                  Output.TEMPLATE, "template_id", BillingUnit.SECOND, standard,
                  Limits(1, 1, documented=False),
                  media=(video_in(TEMPLATE_VIDEO_RULE),),
                  notes="Concurrency 1 documented; submit rate blank."),
        ModelSpec("animate-anyone-gen2", Family.ANIMATE_ANYONE, Endpoint.IMAGE2VIDEO, Output.VIDEO,
                  "video_url", BillingUnit.SECOND, standard, Limits(1, 1, documented=False),
                  params=(Param("template_id", "input", str, required=True),
                          Param("use_ref_img_bg", "parameters", bool, default=False),
                          Param("video_ratio", "parameters", str, default="9:16",
                                choices=("9:16", "3:4"))),
                  media=(MediaField("image_url", rule=FACE_RULE, required=True,
                                    base64_allowed=False),),
                  # 720P 15 fps (seed 000 L3745-3747); with use_ref_img_bg the frame is
                  # video_ratio, else the template video's (L10108-10118)
                  follow=FollowSpec("template", "ratio", fps=15,
                                    ratio_sizes=(("9:16", (720, 1280)), ("3:4", (720, 960)))),
                  notes="template_id must be one a template task returned; the seed's "
                        "AACT.xxx.xxx-xxx.xxx is a placeholder."),
        ModelSpec("emo-detect-v1", Family.DETECT, Endpoint.FACE_DETECT,
                  params=(Param("ratio", "parameters", str, default="1:1", choices=("1:1", "3:4")),),
                  media=(MediaField("image_url", rule=PORTRAIT_RULE, required=True,
                                    base64_allowed=False),), **detect),
        ModelSpec("emo-v1", Family.EMO, Endpoint.IMAGE2VIDEO, Output.VIDEO, "results.video_url",
                  BillingUnit.SECOND, standard, Limits(5, 1),
                  params=(Param("face_bbox", "input", list, required=True, max_length=4),
                          Param("ext_bbox", "input", list, required=True, max_length=4),
                          Param("style_level", "parameters", str, default="normal",
                                choices=("normal", "calm", "active"))),
                  media=(MediaField("image_url", rule=PORTRAIT_RULE, required=True,
                                    base64_allowed=False),
                         audio_in(AudioRule(formats=None, seconds=SecondsRange(maximum=60),
                                            max_bytes=15 * MB))),  # seed 000 L10682
                  # 512x512 (1:1) or 512x704 (3:4) at 15 fps (seed 000 L3775-3780, L10662)
                  follow=FollowSpec("audio", "ratio", fps=15,
                                    ratio_sizes=(("1:1", (512, 512)), ("3:4", (512, 704)))),
                  notes="Price tier by usage.video_ratio (1:1 or 3:4)."),
        ModelSpec("liveportrait-detect", Family.DETECT, Endpoint.FACE_DETECT,
                  media=(MediaField("image_url", rule=FACE_RULE, required=True,
                                    base64_allowed=False),), **detect),
        ModelSpec("liveportrait", Family.LIVEPORTRAIT, Endpoint.IMAGE2VIDEO, Output.VIDEO,
                  "results.video_url", BillingUnit.SECOND, standard,
                  Limits(1, 1, documented=False),
                  params=(Param("template_id", "parameters", str, default="normal",
                                choices=("normal", "calm", "active")),
                          Param("eye_move_freq", "parameters", float, default=0.5, minimum=0,
                                maximum=1),
                          Param("video_fps", "parameters", int, default=24, minimum=15, maximum=30),
                          Param("mouth_move_strength", "parameters", float, default=1.0,
                                minimum=0, maximum=1.5),
                          Param("paste_back", "parameters", bool, default=True),
                          Param("head_move_strength", "parameters", float, default=0.7,
                                minimum=0, maximum=1)),
                  media=(MediaField("image_url", rule=FACE_RULE, required=True,
                                    base64_allowed=False),
                         audio_in(AudioRule(seconds=SecondsRange(1, 180, exclusive=True),
                                            max_bytes=15 * MB))),  # seed 000 L11130-11133
                  follow=FollowSpec("audio", "tier", fps_param="video_fps"),
                  notes="Output size is not documented: the portrait's aspect at 720P."),
        ModelSpec("videoretalk", Family.VIDEORETALK, Endpoint.IMAGE2VIDEO, Output.VIDEO,
                  "video_url", BillingUnit.SECOND, standard, Limits(1, 1),
                  params=(Param("video_extension", "parameters", bool, default=False),),
                  media=(video_in(RETALK_VIDEO_RULE), audio_in(RETALK_AUDIO_RULE),
                         MediaField("ref_image_url", rule=FACE_RULE, base64_allowed=False)),
                  # the shorter of video and audio unless video_extension (seed 000 L11618-11623)
                  follow=FollowSpec("shorter", "input", fps=25),
                  notes="Output size and fps are not documented: the input video's size, "
                        "25 fps."),
        ModelSpec("emoji-detect-v1", Family.DETECT, Endpoint.FACE_DETECT,
                  params=(Param("ratio", "parameters", str, default="1:1", choices=("1:1",)),),
                  media=(MediaField("image_url", rule=PORTRAIT_RULE, required=True,
                                    base64_allowed=False),), **detect),
        ModelSpec("emoji-v1", Family.EMOJI, Endpoint.IMAGE2VIDEO, Output.VIDEO, "video_url",
                  BillingUnit.SECOND, standard,
                  params=(Param("face_bbox", "input", list, required=True, max_length=4),
                          Param("ext_bbox", "input", list, required=True, max_length=4),
                          Param("driven_id", "input", str, required=True)),
                  media=(MediaField("image_url", rule=PORTRAIT_RULE, required=True,
                                    base64_allowed=False),),
                  # 1:1 (seed 000 L12307); the size and a template's length are undocumented:
                  # EMO's 1:1 size and the seed's only example length (L12249)
                  follow=FollowSpec("fixed", "ratio", fps=15, ratio_sizes=(("1:1", (512, 512)),),
                                    fixed_seconds=2),
                  notes="Output 1:1; size and template length undocumented (512x512, 2 s)."),
        ModelSpec("video-style-transform", Family.VIDEO_STYLE, Endpoint.VIDEO_GENERATION,
                  Output.VIDEO, "output_video_url", BillingUnit.SECOND, ("duration", "SR"),
                  Limits(2, 1),
                  params=(Param("style", "parameters", int, default=0, minimum=0, maximum=7),
                          Param("video_fps", "parameters", int, default=15, minimum=15, maximum=25),
                          Param("animate_emotion", "parameters", bool, default=True),
                          Param("min_len", "parameters", int, default=720, choices=(720, 540)),
                          Param("use_SR", "parameters", bool, default=False)),
                  media=(video_in(STYLE_VIDEO_RULE),),
                  # short side min_len at the input's aspect, video_fps (seed 000 L12491-12497)
                  follow=FollowSpec("video", "short_side", fps_param="video_fps",
                                    short_side_param="min_len")),
    ]


# --------------------------------------------------------------------------- the registry


class UnknownModelError(KeyError):
    """Raised for a model name the registry does not know."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0])


class Registry:
    """Lookup of ModelSpecs by name (including regional aliases), with per-user overrides."""

    def __init__(self, specs: Iterable[ModelSpec]):
        self._specs: dict[str, ModelSpec] = {}
        #: ``family_params`` per family, worked out once: every request check asks it twice.
        self._family_params: dict[Family, frozenset[str]] = {}
        for spec in specs:
            self._add(spec)

    def _add(self, spec: ModelSpec) -> None:
        if spec.name in self._specs:
            raise ValueError(f"model {spec.name!r} registered twice")
        self._specs[spec.name] = spec
        for region, alias in spec.aliases.items():
            self._specs[alias] = replace(spec, name=alias, regions=frozenset({region}), aliases={})

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self):
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def get(self, name: str) -> ModelSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownModelError(
                f"unknown model {name!r}; known models: {', '.join(sorted(self._specs))}"
            ) from None

    def with_limits(self, overrides: dict[str, Limits]) -> Registry:
        """A copy whose rate limits are overridden per model (users with raised quotas)."""
        copy = Registry([])
        copy._specs = {name: replace(spec, limits=overrides.get(name, spec.limits))
                       for name, spec in self._specs.items()}
        return copy

    def family_params(self, family: Family) -> frozenset[str]:
        """Every field name that any model of ``family`` accepts: a field in this set but not
        in a model's own lists is one that model does not allow (``audio`` on wan2.2)."""
        known = self._family_params.get(family)
        if known is None:
            known = self._family_params[family] = frozenset(
                f.name for s in self._specs.values() if s.family == family
                for f in (*s.params, *s.media))
        return known


REGISTRY = Registry([*_image_models(), *_video_models()])
