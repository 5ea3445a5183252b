"""Typed request builders: one per model family, plus ``generic`` for every other registry model.

Every builder checks the whole request against the registry before anything is sent (so
nothing is paid for a request the service would refuse) and raises ONE ``ValidationError``
listing every problem, each naming the body field and the rule it breaks.

Options default to None, meaning "not sent: the service's documented default applies". The one
exception is ``n`` on image models: it is always sent, as 1 unless asked, because some models
default to more images than one expects to pay for (wan2.5-i2i-preview and the text-to-image
models default to 4).

The body is emitted strictly: only fields that were set, never a None value.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import Any, Literal

from PIL import Image

from .errors import ValidationError
from .inputs import (REMOTE_PREFIXES, ImageInput, PreparedMedia, checking_store, media_path,
                     prepare_media)
from .registry import (MAX_BODY_BYTES, REGISTRY, Family, MediaField, ModelSpec, Output,
                       UnknownModelError)
from .validation import DecodeVerdicts, check_request, free_text_params, shared_word_problems

__all__ = [
    "TaskRequest", "background_generation", "generic", "image_edit", "image_to_video",
    "keyframe_to_video", "out_painting", "reference_to_video", "shoe_model", "text_to_video",
    "virtual_model",
]

#: Stands in for a media item that could not be prepared, so ``check_request`` still counts the
#: items of a list without repeating that item's own problem. Never sent: the build raises.
_UNPREPARED = "https://unprepared.invalid/"

#: A URL string (audio, video, or an image that must be uploaded) or a local path, which gets
#: the "upload it first" message.
UrlInput = str | os.PathLike[str]


@dataclass(frozen=True)
class TaskRequest:
    """A validated create request. Immutable: ``body`` hands out a fresh copy each time, so the
    fingerprint the ledger stores always matches what is sent."""

    model: str
    input: Mapping[str, Any]
    parameters: Mapping[str, Any]
    media: tuple[PreparedMedia, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "input", _freeze(self.input))
        object.__setattr__(self, "parameters", _freeze(self.parameters))
        object.__setattr__(self, "media", tuple(self.media))

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __repr__(self) -> str:  # the body may hold megabytes of base64
        media = ", ".join(f"{m.field}<{m.source}>" for m in self.media)
        return (f"TaskRequest(model={self.model!r}, fingerprint={self.fingerprint[:12]!r}, "
                f"media=[{media}])")

    @property
    def spec(self) -> ModelSpec:
        return REGISTRY.get(self.model)

    @property
    def body(self) -> dict[str, Any]:
        """The JSON-ready create body ``{"model", "input", "parameters"}`` (a fresh copy)."""
        return {"model": self.model, "input": _thaw(self.input),
                "parameters": _thaw(self.parameters)}

    @cached_property
    def canonical_json(self) -> bytes:
        """The body as canonical JSON (sorted keys, no spaces, UTF-8): what ``fingerprint`` hashes."""
        return _canonical_json(self.body)

    @cached_property
    def fingerprint(self) -> str:
        """sha256 of the canonical body: the ledger's idempotency key. Embedded media are part
        of the body, so the exact bytes sent are covered; a remote URL is covered as a string."""
        return hashlib.sha256(self.canonical_json).hexdigest()

    @property
    def needs_oss_resolve(self) -> bool:
        """True when some value is an ``oss://`` URL: the create must then send the
        ``X-DashScope-OssResourceResolve: enable`` header."""
        return any(s.startswith("oss://") for s in _strings(self.input))

    @property
    def prompt(self) -> str | None:
        """``input.prompt``, which the service echoes as ``orig_prompt``: reconciliation matches
        a lost create to its task by it."""
        prompt = self.input.get("prompt")
        return prompt if isinstance(prompt, str) else None


# --------------------------------------------------------------------------- image builders


def background_generation(
    base_image: ImageInput, *, ref_prompt: str | None = None, ref_image: ImageInput | None = None,
    foreground_edges: Sequence[ImageInput] = (), background_edges: Sequence[ImageInput] = (),
    foreground_edge_prompts: Sequence[str] = (), background_edge_prompts: Sequence[str] = (),
    model_version: Literal["v2", "v3"] | None = None, n: int = 1, noise_level: int | None = None,
    ref_prompt_weight: float | None = None, model: str = "wanx-background-generation-v2",
) -> TaskRequest:
    """A new background behind an RGBA product cut-out (the output has the cut-out's size).

    Guidance is text (``ref_prompt``), an image (``ref_image``), edge elements, or any mix; at
    least one is required. Edge prompts are optional, but when given there must be exactly one
    per edge image (``""`` is a valid placeholder).
    """
    edge_prompts = {"foreground_edge_prompt": _listed(foreground_edge_prompts),
                    "background_edge_prompt": _listed(background_edge_prompts)}
    return _build(model,
                  {"ref_prompt": ref_prompt, "reference_edge": edge_prompts},
                  {"model_version": model_version, "n": n, "noise_level": noise_level,
                   "ref_prompt_weight": ref_prompt_weight},
                  {"base_image_url": base_image, "ref_image_url": ref_image,
                   "foreground_edge": _listed(foreground_edges),
                   "background_edge": _listed(background_edges)})


def virtual_model(
    base_image: ImageInput, mask_image: ImageInput, prompt: str, *, face_prompt: str | None = None,
    background_image: ImageInput | None = None, short_side_size: int | str | None = None,
    aspect_ratio: str | None = None, real_person: bool | None = None,
    predefined_face_id: str | None = None, n: int = 1, model: str = "virtualmodel-v2",
) -> TaskRequest:
    """A generated model and scene around the kept (masked) product, V2 (``virtualmodel-v2``:
    background image, aspect ratio, mannequins) or V1 (``wanx-virtualmodel``: predefined faces).

    ``short_side_size`` is sent as a string, as the docs show it (``"1024"``).
    """
    return _build(model,
                  {"prompt": prompt, "face_prompt": face_prompt},
                  {"short_side_size": None if short_side_size is None else str(short_side_size),
                   "aspect_ratio": aspect_ratio, "realPerson": real_person,
                   "predefined_face_id": predefined_face_id, "n": n},
                  {"base_image_url": base_image, "mask_image_url": mask_image,
                   "background_image_url": background_image})


def shoe_model(template_image: ImageInput, shoe_images: ImageInput | Sequence[ImageInput], *,
               n: int = 1, model: str = "shoemodel-v1") -> TaskRequest:
    """Shoes tried on a model template image; ``shoe_images`` are 1-2 views of the shoe."""
    return _build(model, {}, {"n": n},
                  {"template_image_url": template_image, "shoe_image_url": _listed(shoe_images)})


def out_painting(
    image: ImageInput, *, x_scale: float | None = None, y_scale: float | None = None,
    angle: int | None = None, output_ratio: str | None = None, left_offset: int | None = None,
    right_offset: int | None = None, top_offset: int | None = None,
    bottom_offset: int | None = None,
) -> TaskRequest:
    """Extend an image by ratio, scale, per-side pixels, or rotate-then-extend."""
    return _build("image-out-painting", {},
                  {"x_scale": x_scale, "y_scale": y_scale, "angle": angle,
                   "output_ratio": output_ratio, "left_offset": left_offset,
                   "right_offset": right_offset, "top_offset": top_offset,
                   "bottom_offset": bottom_offset},
                  {"image_url": image})


def image_edit(
    model: str, prompt: str, *, images: ImageInput | Sequence[ImageInput] | None = None,
    base_image: ImageInput | None = None, mask_image: ImageInput | None = None,
    function: str | None = None, strength: float | None = None, n: int = 1,
    size: str | None = None, negative_prompt: str | None = None, seed: int | None = None,
    watermark: bool | None = None, **extra_parameters: Any,
) -> TaskRequest:
    """General image edit: ``wan2.5-i2i-preview`` takes 1-3 ``images``; ``wanx2.1-imageedit``
    takes ``function`` with ``base_image`` (and ``mask_image`` for masked edits).

    ``extra_parameters`` go under ``parameters`` (``upscale_factor``, ``top_scale``,
    ``is_sketch``, ``prompt_extend``...) and must be documented for the model.
    """
    return _build(model,
                  {"prompt": prompt, "function": function, "negative_prompt": negative_prompt},
                  {"strength": strength, "n": n, "size": size, "seed": seed,
                   "watermark": watermark, **extra_parameters},
                  {"images": _listed(images), "base_image_url": base_image,
                   "mask_image_url": mask_image})


# --------------------------------------------------------------------------- video builders


def image_to_video(
    image: ImageInput, *, model: str, prompt: str | None = None,
    negative_prompt: str | None = None, resolution: str | None = None, duration: int | None = None,
    audio: bool | None = None, audio_url: UrlInput | None = None,
    shot_type: Literal["single", "multi"] | None = None, prompt_extend: bool | None = None,
    template: str | None = None, seed: int | None = None, watermark: bool | None = None,
) -> TaskRequest:
    """First-frame video on any wan2.6/2.5/2.2/2.1 i2v model.

    ``shot_type="multi"`` only works with prompt rewriting, so it is refused together with
    ``prompt_extend=False``. ``audio=False`` makes the video silent whatever ``audio_url`` says,
    so the two together are refused. With a ``template`` the service ignores ``prompt``; both
    may be given (a catalog may carry a prompt for every row) and are sent as given.
    """
    return _build(model,
                  {"prompt": prompt, "negative_prompt": negative_prompt, "template": template},
                  {"resolution": resolution, "duration": duration, "audio": audio,
                   "shot_type": shot_type, "prompt_extend": prompt_extend, "seed": seed,
                   "watermark": watermark},
                  {"img_url": image, "audio_url": audio_url})


def keyframe_to_video(
    first_frame: ImageInput, last_frame: ImageInput | None = None, *, model: str,
    prompt: str | None = None, negative_prompt: str | None = None, resolution: str | None = None,
    duration: int | None = None, template: str | None = None, prompt_extend: bool | None = None,
    seed: int | None = None, watermark: bool | None = None,
) -> TaskRequest:
    """Video from a first and (optionally) a last frame. With a ``template`` (wanx2.1-kf2v-plus)
    only the first frame is needed and ``prompt`` is ignored by the service."""
    return _build(model,
                  {"prompt": prompt, "negative_prompt": negative_prompt, "template": template},
                  {"resolution": resolution, "duration": duration,
                   "prompt_extend": prompt_extend, "seed": seed, "watermark": watermark},
                  {"first_frame_url": first_frame, "last_frame_url": last_frame})


def text_to_video(
    prompt: str, *, model: str, negative_prompt: str | None = None, size: str | None = None,
    duration: int | None = None, audio_url: UrlInput | None = None,
    shot_type: Literal["single", "multi"] | None = None, prompt_extend: bool | None = None,
    seed: int | None = None, watermark: bool | None = None,
) -> TaskRequest:
    """Video from text; ``size`` is a ``W*H`` string of the model's tiers (e.g. ``1280*720``).
    ``shot_type="multi"`` with ``prompt_extend=False`` is refused (it would have no effect)."""
    return _build(model,
                  {"prompt": prompt, "negative_prompt": negative_prompt},
                  {"size": size, "duration": duration, "shot_type": shot_type,
                   "prompt_extend": prompt_extend, "seed": seed, "watermark": watermark},
                  {"audio_url": audio_url})


def reference_to_video(
    prompt: str, references: UrlInput | Sequence[UrlInput], *, model: str,
    negative_prompt: str | None = None, size: str | None = None, duration: int | None = None,
    audio: bool | None = None, shot_type: Literal["single", "multi"] | None = None,
    seed: int | None = None, watermark: bool | None = None,
) -> TaskRequest:
    """Video of the characters in ``references`` (URLs of up to 5 images/videos, named
    character1, character2... in the prompt). They are URL-only: upload local files first."""
    return _build(model,
                  {"prompt": prompt, "negative_prompt": negative_prompt},
                  {"size": size, "duration": duration, "audio": audio, "shot_type": shot_type,
                   "seed": seed, "watermark": watermark},
                  {"reference_urls": _listed(references)})


# --------------------------------------------------------------------------- any model


def generic(model: str, input: Mapping[str, Any], parameters: Mapping[str, Any] | None = None,
            **media: Any) -> TaskRequest:
    """Any registry model, with the body's own field names.

    Media may sit in ``input`` (nested as on the wire, e.g. under ``reference_edge``) or be
    given as keywords named after the media field (``image_url=...``), which are placed where
    the model expects them. Either way local files, bytes and PIL images are converted (or
    refused for URL-only fields) exactly as in the typed builders. Fields the registry does not
    document for the model's family are refused: add them to the registry to send them.
    """
    return _build(model, input, parameters or {}, media)


# --------------------------------------------------------------------------- the shared build


def _build(model: str, input: Mapping[str, Any], parameters: Mapping[str, Any],
           media: Mapping[str, Any]) -> TaskRequest:
    """Place and prepare media, assemble the body, run every check, raise once or return."""
    try:
        spec = REGISTRY.get(model)
    except UnknownModelError as exc:
        raise ValidationError(model, [str(exc)]) from None
    body_input, body_params = _compact(input), _compact(parameters)
    if spec.output is Output.IMAGE and spec.param("n") is not None:
        body_params.setdefault("n", 1)
    store = checking_store()
    if store is not None:
        shaped = _by_shape(store, model, spec, body_input, body_params, media)
        if shaped is not None:
            return shaped
    return _checked(model, spec, body_input, body_params, media)


def _checked(model: str, spec: ModelSpec, body_input: dict[str, Any],
             body_params: dict[str, Any], media: Mapping[str, Any]) -> TaskRequest:
    """The request, after every check of its body (``body_input`` gets the media placed and
    prepared), or ValidationError with every problem."""
    problems = _place_media(spec, body_input, media)
    prepared, media_problems = _prepare_media(spec, body_input)
    body = {"model": model, "input": body_input, "parameters": body_params}
    problems += media_problems
    problems += check_request(spec, body)
    problems += [problem for rule in _RULES for problem in rule(spec, body)]
    problems += _body_size(spec, body, sum(item.omitted for item in prepared))
    if problems:
        raise ValidationError(model, problems)
    return TaskRequest(model, body_input, body_params, tuple(prepared))


def _place_media(spec: ModelSpec, input: dict[str, Any], media: Mapping[str, Any]) -> list[str]:
    """Put media given by field name where the model expects it (under its parent, if any)."""
    problems = []
    for name, value in media.items():
        if value is None:
            continue
        field = spec.media_field(name)
        section = input.setdefault(field.parent, {}) if field and field.parent else input
        if name in section:
            path = media_path(field) if field else f"input.{name}"
            problems.append(f"{path}: given twice (in input and as a keyword)")
        section[name] = list(value) if isinstance(value, tuple) else value
    return problems


def _prepare_media(spec: ModelSpec, input: dict[str, Any]) -> tuple[list[PreparedMedia], list[str]]:
    """Replace every media value of ``input`` with its URL or data URI, in place."""
    prepared: list[PreparedMedia] = []
    problems: list[str] = []

    def prepare(value: object, field: MediaField, path: str) -> str:
        try:
            item = prepare_media(value, field, model=spec.name, path=path)
        except ValidationError as exc:
            problems.extend(exc.problems)
            return _UNPREPARED
        prepared.append(item)
        return item.value

    for field in spec.media:
        section = input.get(field.parent) if field.parent else input
        if not isinstance(section, dict) or field.name not in section:
            continue
        value, path = section[field.name], media_path(field)
        section[field.name] = ([prepare(v, field, f"{path}[{i}]") for i, v in enumerate(value)]
                               if isinstance(value, list) else prepare(value, field, path))
    return prepared, problems


# --------------------------------------------------------------------------- request shapes
# A catalog checks hundreds of thousands of requests that differ only in their free texts
# (prompts, titles): same model, options and media (rows share images, and a generated still
# is checked by a blank stand-in). Under ``validation_only`` a request with every free text
# replaced by a stand-in (its shape) is built and checked once per load; each request of a
# shape that passed runs only what reads its texts: each text field's own rule, the shared word
# budgets, the cross-field rules that read a text and the body size. A request that fails any
# of them, or whose shape failed, is checked whole, so every message is the one the full check
# gives.

#: What stands in for each free text in a shape: one character, one word, truthy, so it passes
#: every text rule.
_STAND_IN_TEXT = "x"
_STAND_IN_BYTES = len(json.dumps(_STAND_IN_TEXT))
#: A media value a shape's key cannot name (a PIL image, a file that cannot be read).
_UNNAMED = object()


@dataclass(frozen=True)
class _Shape:
    """A shape's body as checked (with the stand-in texts), media placed and prepared, and
    its size as sent without the stand-in texts."""

    input: dict[str, Any]
    parameters: dict[str, Any]
    media: tuple[PreparedMedia, ...]
    size: int


def _by_shape(store: DecodeVerdicts, model: str, spec: ModelSpec, body_input: dict[str, Any],
              body_params: dict[str, Any], media: Mapping[str, Any]) -> TaskRequest | None:
    """The request, when its shape passed every check and its own texts pass theirs; None
    when that is not known (it is then checked whole)."""
    sections = {"input": body_input, "parameters": body_params}
    texts = [(param, value) for param in free_text_params(spec)
             if type(value := sections[param.where].get(param.name)) is str]
    stand_in = dict(sections)
    for where in {param.where for param, _ in texts}:
        names = {param.name for param, _ in texts if param.where == where}
        stand_in[where] = {name: _STAND_IN_TEXT if name in names else value
                           for name, value in sections[where].items()}
    named = _named(store, media)
    if named is _UNNAMED or any(_given_in(body_input, field) for field in spec.media) \
            or not (_plain(stand_in["input"]) and _plain(stand_in["parameters"])):
        return None  # media in ``input`` would be named by their paths alone
    key = ("request shape", model, repr(stand_in["input"]), repr(stand_in["parameters"]), named)
    shape = store.remembered(key, lambda: _checked_shape(model, spec, stand_in, media,
                                                         len(texts)))
    if shape is None or any(param.check(value) for param, value in texts):
        return None
    own = {"input": dict(shape.input), "parameters": dict(shape.parameters)}
    for param, value in texts:
        own[param.where][param.name] = value
    body = {"model": model, **own}
    if shared_word_problems(spec, own["input"]) or any(rule(spec, body) for rule in _TEXT_RULES):
        return None
    # a string's JSON is the same wherever it stands in the body
    size = shape.size + sum(len(json.dumps(value, ensure_ascii=False).encode())
                            for _, value in texts)
    if size > MAX_BODY_BYTES:
        return None
    return TaskRequest(model, own["input"], own["parameters"], shape.media)


def _checked_shape(model: str, spec: ModelSpec, stand_in: Mapping[str, dict[str, Any]],
                   media: Mapping[str, Any], texts: int) -> _Shape | None:
    """The shape, checked whole; None if it has any problem. Its free texts are the stand-in,
    which passes their rules: what ``check_request`` finds holds for every body of the shape
    (``free_text_params``); what reads the texts elsewhere runs again for each body."""
    # fresh copies: placing the media fills them
    body_input, body_params = _compact(stand_in["input"]), _compact(stand_in["parameters"])
    try:
        request = _checked(model, spec, body_input, body_params, media)
    except ValidationError:
        return None
    body = {"model": model, "input": body_input, "parameters": body_params}
    size = len(_canonical_json(body)) + sum(item.omitted for item in request.media)
    return _Shape(body_input, body_params, request.media, size - texts * _STAND_IN_BYTES)


def _named(store: DecodeVerdicts, value: Any) -> Any:
    """What media values are, for a shape's key: a local file its path and content hash (one
    per path in a load), bytes and URLs themselves; ``_UNNAMED`` for anything else."""
    kind = type(value)
    if value is None or kind is bytes:
        return value
    if kind is str:
        if value.startswith((*REMOTE_PREFIXES, "data:")):
            return value
        try:
            return value, store.file_sha256(value)
        except OSError:
            return _UNNAMED
    if kind in (list, tuple, dict):
        items = value.items() if kind is dict else enumerate(value)
        named = tuple((at, _named(store, item)) for at, item in items)
        return _UNNAMED if any(item is _UNNAMED for _, item in named) else (kind, named)
    return _UNNAMED


def _given_in(input: dict[str, Any], field: MediaField) -> bool:
    section = input.get(field.parent) if field.parent else input
    return isinstance(section, dict) and field.name in section


def _plain(value: Any) -> bool:
    """Whether ``value`` holds only JSON's values all through (dicts with string keys, lists,
    strings, numbers, booleans, None), so that its ``repr`` tells it from any other body."""
    kind = type(value)
    if kind is dict:
        return all(type(k) is str and (type(v) in _SCALARS or _plain(v))
                   for k, v in value.items())
    if kind is list:
        return all(type(v) in _SCALARS or _plain(v) for v in value)
    return kind in _SCALARS


# --------------------------------------------------------------------------- cross-field rules
# Rules check_request cannot express because they involve two fields or a whole section.

Body = dict[str, Any]


def _undocumented_fields(spec: ModelSpec, body: Body) -> list[str]:
    """Fields no model of the family documents: most likely typos. (A sibling model's field is
    already reported by check_request as not supported by this model.)"""
    family = REGISTRY.family_params(spec.family)
    problems = []
    for where in ("input", "parameters"):
        known = {p.name for p in spec.params if p.where == where}
        if where == "input":
            known |= {m.parent or m.name for m in spec.media}
        problems += [f"{where}.{name}: not a documented field of model {spec.name} "
                     f"(documented: {', '.join(sorted(known)) or 'none'})"
                     for name in body[where] if name not in known and name not in family]
    return problems


def _multi_shot_needs_prompt_extend(spec: ModelSpec, body: Body) -> list[str]:
    params = body["parameters"]
    if params.get("shot_type") == "multi" and params.get("prompt_extend") is False:
        return [f"parameters.shot_type: 'multi' takes effect only with prompt_extend true; drop "
                f"prompt_extend=False or use shot_type 'single' (model {spec.name})"]
    return []


def _silent_audio_url(spec: ModelSpec, body: Body) -> list[str]:
    """On wan2.6 ``audio=false`` silences a given ``audio_url``; on wan2.5 the URL wins."""
    if spec.video is not None and spec.video.audio_url_wins:
        return []
    if body["parameters"].get("audio") is False and "audio_url" in body["input"]:
        return [f"input.audio_url: ignored because parameters.audio is false (the video would be "
                f"silent); drop one of them (model {spec.name})"]
    return []


def _masked_edit_needs_mask(spec: ModelSpec, body: Body) -> list[str]:
    inp = body["input"]
    if inp.get("function") == "description_edit_with_mask" and "mask_image_url" not in inp:
        return [f"input.mask_image_url: required by function description_edit_with_mask "
                f"(model {spec.name})"]
    return []


def _background_guidance(spec: ModelSpec, body: Body) -> list[str]:
    if spec.family is not Family.BACKGROUND:
        return []
    inp = body["input"]
    edges = inp.get("reference_edge")
    edges = edges if isinstance(edges, dict) else {}
    problems = []
    if not (inp.get("ref_prompt") or inp.get("ref_image_url") or edges.get("foreground_edge")
            or edges.get("background_edge")):
        problems.append(f"input: background generation needs guidance: set ref_prompt, "
                        f"ref_image_url or reference_edge foreground/background edges "
                        f"(model {spec.name})")
    for side in ("foreground", "background"):
        images, prompts = edges.get(f"{side}_edge") or [], edges.get(f"{side}_edge_prompt")
        if prompts is not None and len(prompts) != len(images):
            problems.append(f"input.reference_edge.{side}_edge_prompt: {len(prompts)} prompts for "
                            f"{len(images)} {side}_edge images; give exactly one per image "
                            f"(\"\" is allowed) (model {spec.name})")
    return problems


def _body_size(spec: ModelSpec, body: Body, omitted: int) -> list[str]:
    """The body as sent may be at most MAX_BODY_BYTES; ``omitted``: the characters of data
    URIs a validation-only build left out (base64 is ASCII: one byte each, never escaped)."""
    # repr: unprepared values are reported already
    size = len(_canonical_json(body, default=repr)) + omitted
    if size > MAX_BODY_BYTES:
        return [f"body: {size / 2**20:.1f} MiB; DashScope refuses a create body over "
                f"{MAX_BODY_BYTES // 2**20} MiB: upload large images with "
                f"client.upload_file({spec.name!r}, path) and pass the oss:// URLs"]
    return []


_RULES: tuple[Callable[[ModelSpec, Body], list[str]], ...] = (
    _undocumented_fields, _multi_shot_needs_prompt_extend, _silent_audio_url,
    _masked_edit_needs_mask, _background_guidance,
)
#: The rules above that read a free text (``free_text_params``; here whether ``ref_prompt`` is
#: empty): a request checked by its shape runs these again on its own body. The others read
#: only what its shape fixes (field names, media, options with choices, booleans).
_TEXT_RULES: tuple[Callable[[ModelSpec, Body], list[str]], ...] = (_background_guidance,)


# --------------------------------------------------------------------------- helpers


def _listed(items: Any) -> list[Any] | None:
    """A list for a list-valued field: one item is wrapped, an empty sequence means "not set"."""
    if items is None:
        return None
    if isinstance(items, (str, bytes, os.PathLike, Image.Image)):
        return [items]
    return list(items) or None


#: Body values that are neither objects nor lists (a request checks hundreds of them per row).
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _compact(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """A fresh dict without None values (nested objects too, dropped when left empty), tuples as
    lists: the body carries only fields that were set."""
    out = {}
    for key, value in mapping.items():
        if type(value) in _SCALARS:  # most values: no abstract-class check
            pass
        elif isinstance(value, Mapping):
            value = _compact(value) or None
        elif isinstance(value, tuple):
            value = list(value)
        if value is not None:
            out[key] = value
    return out


def _canonical_json(body: Mapping[str, Any], default: Callable[[Any], Any] | None = None) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=default).encode("utf-8")


def _freeze(value: Any) -> Any:
    if type(value) in _SCALARS:
        return value
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def _strings(value: Any) -> Iterator[str]:
    """Every string inside a frozen body section."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, tuple):
        for item in value:
            yield from _strings(item)
