"""One small class per output kind: which models it takes, what it starts from, and how a
product and its resolved inputs become one builder ``Call``.

Inputs are named by role (``image``, ``first``/``last``...). A role's media is a local path or
URL (a catalog image column), bytes or a path (a generated still), or None while the still does
not exist yet (fingerprints then use the still's own fingerprint).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from ...dashscope.errors import ValidationError
from ...dashscope.registry import REGISTRY, Family, ModelSpec
from ...dashscope.requests import (TaskRequest, background_generation, image_edit,
                                   image_to_video, keyframe_to_video, out_painting, shoe_model,
                                   text_to_video, virtual_model)
from ..product import Product
from .calls import Call, Media, Size, image_size
from .model import RecipeOutput
from .templates import Template
from .video import (VideoDefaults, audio_param, cheap_tier_options, family_spec,
                    first_frame_settings)

Inputs = Mapping[str, Media | None]


class OutputKind:
    """What every kind declares; ``call`` builds the request's data."""

    name: ClassVar[str]
    families: ClassVar[tuple[Family, ...]]
    default_model: ClassVar[str | None]
    #: Input roles; the first is what a plain ``source:`` names.
    roles: ClassVar[tuple[str, ...]] = ("image",)
    #: Body field -> the role whose media it carries, to report a refusal against its column.
    field_roles: ClassVar[Mapping[str, str]] = {"input.image_url": "image"}
    #: Where the prompt goes in the body (None: the kind takes no prompt).
    prompt_field: ClassVar[str | None] = None
    default_prompt: ClassVar[str | None] = None
    default_source: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    #: Recipe params the kind reads itself instead of passing to the builder.
    own_params: ClassVar[frozenset[str]] = frozenset()
    #: Body field -> the catalog column that fills it directly (not through a template).
    row_columns: ClassVar[Mapping[str, str]] = {}

    def model(self, output: RecipeOutput) -> str:
        model = output.model or self.default_model
        assert model is not None  # validation requires a model where the kind has no default
        return model

    def required_roles(self, spec: ModelSpec) -> tuple[str, ...]:
        return self.roles[:1]

    def call(self, output: RecipeOutput, product: Product, inputs: Inputs,
             defaults: VideoDefaults) -> Call:
        raise NotImplementedError

    def size(self, output: RecipeOutput, sizes: Mapping[str, Size | None]) -> Size | None:
        """The size of the output's still from its inputs' sizes (None: not known before it is
        generated, or a video)."""
        return None

    def prompt(self, output: RecipeOutput, product: Product) -> str | None:
        text = output.prompt if output.prompt is not None else self.default_prompt
        return Template(text).render(product) if text is not None else None

    def passed_params(self, output: RecipeOutput) -> dict[str, Any]:
        return {k: v for k, v in output.params.items() if k not in self.own_params}


class Background(OutputKind):
    """The product's cut-out on a generated background: text, reference image or edge
    guidance, v2/v3, ``n`` variants in one task. Keeps the cut-out's size."""

    name = "background"
    families = (Family.BACKGROUND,)
    default_model = "wanx-background-generation-v2"
    roles = ("base_image", "ref_image")
    field_roles = {"input.base_image_url": "base_image", "input.ref_image_url": "ref_image"}
    prompt_field = "input.ref_prompt"
    default_prompt = "{background_prompt}"
    default_source = {"base_image": ("cutout_image",)}

    def call(self, output, product, inputs, defaults):
        media = {"base_image": inputs.get("base_image")}
        if "ref_image" in inputs:
            media["ref_image"] = inputs["ref_image"]
        return Call(background_generation, media,
                    {"ref_prompt": self.prompt(output, product), **self.passed_params(output),
                     "n": output.variants, "model": self.model(output)})

    def size(self, output, sizes):
        return sizes.get("base_image")


class ModelShot(OutputKind):
    """The product worn or held by a model. Image editing (purchasable) by default: the
    ``image`` (e.g. the background still) edited by the prompt, a ``template`` photo of a model
    as the second image where the model takes several (wan2.5-i2i-preview). The free-trial-only
    virtual and shoe models take ``image`` + ``mask`` and ``template`` + ``image``."""

    name = "model_shot"
    families = (Family.IMAGE_EDIT, Family.VIRTUAL_MODEL, Family.SHOE_MODEL)
    default_model = "wanx2.1-imageedit"
    roles = ("image", "mask", "template")
    prompt_field = "input.prompt"
    default_prompt = ("A professional model wearing or holding the {title} in this scene, "
                      "e-commerce photo. {model_prompt?}")

    field_roles = {"input.base_image_url": "image", "input.images": "image",
                   "input.shoe_image_url": "image", "input.mask_image_url": "mask",
                   "input.template_image_url": "template"}
    row_columns = {"input.face_prompt": "face_prompt"}

    def required_roles(self, spec):
        return {Family.VIRTUAL_MODEL: ("image", "mask"),
                Family.SHOE_MODEL: ("image", "template")}.get(spec.family, ("image",))

    def call(self, output, product, inputs, defaults):
        model = self.model(output)
        spec = REGISTRY.get(model)
        params = {**self.passed_params(output), "n": output.variants, "model": model}
        if spec.family is Family.SHOE_MODEL:
            return Call(shoe_model, {"template_image": inputs.get("template"),
                                     "shoe_images": [inputs.get("image")]}, params)
        prompt = self.prompt(output, product)
        if spec.family is Family.VIRTUAL_MODEL:
            return Call(virtual_model, {"base_image": inputs.get("image"),
                                        "mask_image": inputs.get("mask")},
                        {"prompt": prompt, "face_prompt": product.face_prompt, **params})
        if spec.media_field("images") is not None:  # wan2.5-i2i: several images, fused
            images = [inputs[role] for role in ("image", "template") if role in inputs]
            return Call(image_edit, {"images": images}, {"prompt": prompt, **params})
        media = {"base_image": inputs.get("image")}
        function = "description_edit"
        if "mask" in inputs:
            media["mask_image"] = inputs["mask"]
            function = "description_edit_with_mask"
        return Call(image_edit, media, {"prompt": prompt, "function": function, **params})

    def size(self, output, sizes):
        spec = REGISTRY.get(self.model(output))
        if spec.family is Family.IMAGE_EDIT and spec.media_field("images") is None:
            return sizes.get("image")  # an edit keeps its image's size
        size = output.params.get("size") or spec.default("size")
        return _parse_size(size) if isinstance(size, str) else None


class Outpaint(OutputKind):
    """The image extended (never cropped) to a target aspect ratio ("1:1", "3:4", "9:16") or
    pixel size ("1080x1920"): the per-side offsets are computed from the image's own size,
    so the stored still has exactly that aspect (or size)."""

    name = "outpaint"
    families = (Family.OUT_PAINTING,)
    default_model = "image-out-painting"
    own_params = frozenset({"target"})

    def call(self, output, product, inputs, defaults):
        return Call(outpaint_to, {"image": inputs.get("image")},
                    {"target": str(output.params["target"]),
                     **self.passed_params(output)})

    def size(self, output, sizes):
        source = sizes.get("image")
        return None if source is None else target_canvas(source, str(output.params["target"]))


class SuperResolution(OutputKind):
    """The image upscaled (``upscale_factor`` 1-4) by image editing's super_resolution."""

    name = "super_resolution"
    families = (Family.IMAGE_EDIT,)
    default_model = "wanx2.1-imageedit"
    field_roles = {"input.base_image_url": "image"}
    prompt_field = "input.prompt"
    default_prompt = "Upscale the image, keep every detail sharp."

    def call(self, output, product, inputs, defaults):
        return Call(image_edit, {"base_image": inputs.get("image")},
                    {"prompt": self.prompt(output, product), "function": "super_resolution",
                     "upscale_factor": 2, **self.passed_params(output), "n": output.variants,
                     "model": self.model(output)})

    def size(self, output, sizes):
        source = sizes.get("image")
        factor = int(output.params.get("upscale_factor", 2))
        return None if source is None else (source[0] * factor, source[1] * factor)


class ImageToVideo(OutputKind):
    """A video from a first frame (its aspect is the frame's). Every option of the model passes
    through ``params`` (audio or audio_url, shot_type, template, negative_prompt, seed,
    watermark); the row's video_* cells, then the recipe, then the run's cheap silent defaults
    decide model, resolution, duration and audio."""

    name = "image_to_video"
    families = (Family.IMAGE_TO_VIDEO,)
    default_model = None  # the run's VideoDefaults.model
    roles = ("first_frame",)
    field_roles = {"input.img_url": "first_frame"}
    prompt_field = "input.prompt"
    default_prompt = "{video_prompt?}"
    own_params = frozenset({"resolution", "duration", "audio"})
    row_columns = {"model": "video_model", "parameters.resolution": "video_resolution",
                   "parameters.duration": "video_duration", "parameters.audio": "video_audio"}

    def model(self, output):
        return output.model or VideoDefaults.model

    def call(self, output, product, inputs, defaults):
        settings = first_frame_settings(product, defaults, output.model, output.params)
        spec = REGISTRY.get(settings["model"])
        return Call(image_to_video, {"image": inputs.get("first_frame")},
                    {"model": settings["model"], "resolution": settings["resolution"],
                     "duration": settings["duration"],
                     "audio": audio_param(product, spec, settings["audio"]),
                     "prompt": self.prompt(output, product), **self.passed_params(output)})


class KeyframeVideo(OutputKind):
    """A video from a first and a last still (kf2v), e.g. from the background to the model
    shot."""

    name = "keyframe_video"
    families = (Family.KEYFRAME_TO_VIDEO,)
    default_model = "wan2.2-kf2v-flash"
    roles = ("first", "last")
    field_roles = {"input.first_frame_url": "first", "input.last_frame_url": "last"}
    prompt_field = "input.prompt"
    default_prompt = "{video_prompt?}"

    def required_roles(self, spec):
        return ("first",) if spec.param("template") is not None else ("first", "last")

    def call(self, output, product, inputs, defaults):
        model = self.model(output)
        spec = family_spec(model, Family.KEYFRAME_TO_VIDEO, "keyframe-to-video")
        return Call(keyframe_to_video,
                    {"first_frame": inputs.get("first"), "last_frame": inputs.get("last")},
                    {"model": model, "prompt": self.prompt(output, product),
                     **self.passed_params(output),
                     **cheap_tier_options(spec, defaults, output.params)})


class TextToVideo(OutputKind):
    """A video from the prompt alone (a brand or category clip)."""

    name = "text_to_video"
    families = (Family.TEXT_TO_VIDEO,)
    default_model = "wanx2.1-t2v-turbo"
    roles = ()
    field_roles = {}
    prompt_field = "input.prompt"
    default_prompt = "{title}"

    def required_roles(self, spec):
        return ()

    def call(self, output, product, inputs, defaults):
        model = self.model(output)
        spec = family_spec(model, Family.TEXT_TO_VIDEO, "text-to-video")
        return Call(text_to_video, {},
                    {"model": model, "prompt": self.prompt(output, product),
                     **self.passed_params(output),
                     **cheap_tier_options(spec, defaults, output.params)})


KIND_CLASSES: dict[str, OutputKind] = {kind.name: kind() for kind in (
    Background, ModelShot, Outpaint, SuperResolution, ImageToVideo, KeyframeVideo, TextToVideo)}


def kind_of(output: RecipeOutput) -> OutputKind:
    return KIND_CLASSES[output.kind]


# --------------------------------------------------------------------------- out-painting

_RATIO = re.compile(r"^\s*(\d+)\s*:\s*(\d+)\s*$")
_PIXELS = re.compile(r"^\s*(\d+)\s*[x*×]\s*(\d+)\s*$")


def target_problem(target: Any) -> str | None:
    """Why ``target`` is not an aspect ratio ("9:16") or a pixel size ("1080x1920")."""
    match = _RATIO.match(str(target)) or _PIXELS.match(str(target))
    if match is None or 0 in (int(match.group(1)), int(match.group(2))):
        return f"must be an aspect ratio like '9:16' or a pixel size like '1080x1920', " \
               f"got {target!r}"
    return None


def target_canvas(size: Size, target: str) -> Size:
    """The smallest canvas holding ``size`` at the target aspect, or the target pixel size."""
    width, height = size
    if pixels := _PIXELS.match(target):
        return int(pixels.group(1)), int(pixels.group(2))
    ratio = _RATIO.match(target)
    assert ratio is not None
    rw, rh = int(ratio.group(1)), int(ratio.group(2))
    if width * rh >= height * rw:  # too wide (or exact): grow the height
        return width, max(height, math.ceil(width * rh / rw))
    return max(width, math.ceil(height * rw / rh)), height


def on_target(size: Size, target: str) -> bool:
    """Whether an image of ``size`` has the target's pixel size, or its aspect to within the
    one pixel that rounding a side costs."""
    width, height = size
    if pixels := _PIXELS.match(target):
        return (width, height) == (int(pixels.group(1)), int(pixels.group(2)))
    ratio = _RATIO.match(target)
    assert ratio is not None
    rw, rh = int(ratio.group(1)), int(ratio.group(2))
    return abs(width * rh - height * rw) <= max(rw, rh)


def outpaint_to(image: Media, *, target: str, angle: int | None = None) -> TaskRequest:
    """An out-painting request that grows ``image`` to ``target``, centred, by per-side pixel
    offsets computed from the image's own size."""
    size = image_size(image)
    if size is None:
        raise ValidationError("image-out-painting", [
            "input.image_url: out-painting to a target needs a readable local image, to "
            "compute its offsets"])
    width, height = size
    canvas = target_canvas(size, target)
    if canvas[0] < width or canvas[1] < height:
        raise ValidationError("image-out-painting", [
            f"input.image_url: {width}x{height} is larger than the target {target}; "
            "out-painting only extends"])
    left, top = (canvas[0] - width) // 2, (canvas[1] - height) // 2
    return out_painting(image, left_offset=left, right_offset=canvas[0] - width - left,
                        top_offset=top, bottom_offset=canvas[1] - height - top, angle=angle)


def _parse_size(text: str) -> Size | None:
    match = _PIXELS.match(text)
    return (int(match.group(1)), int(match.group(2))) if match else None
