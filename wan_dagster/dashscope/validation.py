"""Checks a request against the registry before anything is paid for.

``check_request`` looks at the JSON body only (parameters, enums, ranges, lengths, required
fields); ``check_image``, ``check_audio`` and ``check_video`` look at decoded media against a
field's rule (``check_media`` picks the right one). A JSON ``null`` counts as "not sent": the
official SDK sends ``"prompt": null`` when no prompt is given, and the service accepts it. The client
raises ``ValidationError`` with every problem at once; the emulator answers 400 with the same
messages, so both sides speak the same rules.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Callable, Hashable, Iterator
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

from PIL import Image, UnidentifiedImageError

from .image_integrity import DecodeVerdict, decode_verdict
from .mediainfo import MediaError, probe_audio, probe_video
from .registry import (MAX_IMAGE_PIXELS, REGISTRY, AudioRule, ImageRule, MediaField, MediaRule,
                       ModelSpec, Param, Registry, VideoRule, count_words)


def check_request(spec: ModelSpec, body: dict[str, Any], registry: Registry = REGISTRY) -> list[str]:
    """Problems with ``body`` for ``spec``: each names the field and the rule it breaks."""
    problems: list[str] = []
    sections = {"input": body.get("input") or {}, "parameters": body.get("parameters") or {}}
    for where, section in sections.items():
        if not isinstance(section, dict):
            problems.append(f"{where}: must be an object")
            sections[where] = {}
    family_names = registry.family_params(spec.family)
    for where, section in sections.items():
        for name, value in section.items():
            if value is None:
                continue
            param, media = spec.param(name), spec.media_field(name)
            home = param.where if param and not param.parent else "input" if media else None
            if home is not None and home != where:
                problems.append(f"{where}.{name}: belongs in {home}, not {where}")
            elif home is None and name in family_names:
                problems.append(f"{where}.{name}: not supported by model {spec.name}")
    for param in spec.params:
        section = sections[param.where]
        if param.parent:
            section = section.get(param.parent) if isinstance(section.get(param.parent), dict) \
                else {}
        value = section.get(param.name)
        if value is None:
            if param.required:
                problems.append(f"{_param_path(param)}: required by model {spec.name}")
            continue
        reason = param.check(value)
        if reason:
            problems.append(f"{_param_path(param)}: {reason} (model {spec.name})")
    for media in spec.media:
        problems.extend(_check_media_value(spec, media, _media_value(sections["input"], media)))
    problems.extend(shared_word_problems(spec, sections["input"]))
    return problems


#: id(spec) -> (the spec, its free-text fields); specs are not hashable (they hold dicts).
_FREE_TEXT: dict[int, tuple[ModelSpec, tuple[Param, ...]]] = {}


def free_text_params(spec: ModelSpec) -> tuple[Param, ...]:
    """The fields of ``spec`` that hold free text (prompts, titles): strings under a length or
    word limit, with no list of choices, at the top of their section. ``check_request`` reads
    a free text's value only in that field's own ``Param.check`` and in
    ``shared_word_problems``; everything else it finds in a body is the same whatever the texts
    say (``requests`` relies on this to check many prompts of one shape at once)."""
    known = _FREE_TEXT.get(id(spec))
    if known is None or known[0] is not spec:
        known = _FREE_TEXT[id(spec)] = (spec, tuple(
            p for p in spec.params if p.type is str and p.choices is None and p.parent is None
            and (p.max_length is not None or p.max_words is not None)))
    return known[1]


def _param_path(param: Param) -> str:
    return ".".join(filter(None, (param.where, param.parent, param.name)))


def shared_word_problems(spec: ModelSpec, section: dict[str, Any]) -> list[str]:
    """The word budgets several ``input`` fields share, broken in ``section``."""
    problems = []
    for limit in spec.shared_word_limits:
        texts = [section[f] for f in limit.fields if isinstance(section.get(f), str)]
        words = sum(count_words(text) for text in texts)
        if words > limit.max_words:
            names = " + ".join(f"input.{f}" for f in limit.fields)
            problems.append(f"{names}: at most {limit.max_words} words together (a Chinese "
                            f"character counts as one), got {words} (model {spec.name})")
    return problems


def _media_value(section: dict[str, Any], media: MediaField) -> Any:
    if media.parent:
        parent = section.get(media.parent)
        return parent.get(media.name) if isinstance(parent, dict) else None
    return section.get(media.name)


def _check_media_value(spec: ModelSpec, media: MediaField, value: Any) -> list[str]:
    path = f"input.{media.parent + '.' if media.parent else ''}{media.name}"
    if value is None or value == [] or value == "":
        return [f"{path}: required by model {spec.name}"] if media.required else []
    values = value if isinstance(value, list) else [value]
    if media.is_list and not isinstance(value, list):
        return [f"{path}: must be a list of URLs"]
    if not media.is_list and isinstance(value, list):
        return [f"{path}: must be a single URL, not a list"]
    problems = []
    if media.is_list and len(values) > (media.max_items or 0):
        problems.append(f"{path}: at most {media.max_items} items for model {spec.name}, "
                        f"got {len(values)}")
    for item in values:
        if not isinstance(item, str):
            problems.append(f"{path}: must be a URL string")
        elif item.startswith("data:") and not media.base64_allowed:
            problems.append(f"{path}: model {spec.name} takes only http(s) or oss:// URLs here, "
                            f"not base64 data")
        elif not item.startswith(("http://", "https://", "oss://", "data:")):
            problems.append(f"{path}: must be an http(s) URL, an oss:// URL or a data URI")
    return problems


_T = TypeVar("_T")


class DecodeVerdicts(Protocol):
    """What is known about content between checks (e.g. kept in a database shared by every
    process: ``core.image_verdicts``): decode verdicts by the sha256 of an image's bytes, local
    files' hashes, and what checking one content under one rule found. The client keeps none."""

    def verdict(self, sha256: str, decode: Callable[[], DecodeVerdict]) -> DecodeVerdict:
        """The verdict kept for ``sha256``, else ``decode()``'s, kept (once per content even
        when threads ask at once)."""

    def file_sha256(self, path: str) -> str:
        """The sha256 of the regular local file at ``path``, read only when not known for the
        file as it is now. OSError if it cannot be read or is not a regular file (never opened
        then: a FIFO would block)."""

    def remembered(self, key: Hashable, compute: Callable[[], _T]) -> _T:
        """What ``compute()`` returned for ``key`` (a content's hash and a rule) earlier in
        this load, else its result, kept: a catalog's rows share images, and each would
        otherwise read and check the same file again."""


#: The store ``check_image`` consults, set by ``decode_verdicts``; None decodes every time.
_VERDICTS: ContextVar[DecodeVerdicts | None] = ContextVar("wan_decode_verdicts", default=None)


@contextlib.contextmanager
def decode_verdicts(store: DecodeVerdicts | None) -> Iterator[None]:
    """Within the block (this thread or task, and contexts copied from it), ``check_image``
    decodes each content once per ``store``, and ``known_content`` returns it: every request
    builder validates through it, so this is the one seam where the catalog's cache plugs in."""
    token = _VERDICTS.set(store)
    try:
        yield
    finally:
        _VERDICTS.reset(token)


def known_content() -> DecodeVerdicts | None:
    """The store installed by ``decode_verdicts`` around this call, if any."""
    return _VERDICTS.get()


def check_image(data: bytes, rule: ImageRule, field: str) -> list[str]:
    """Problems with image ``data`` under ``rule``; ``field`` names it in each message.

    Format, mode, sides and bytes are read from the header; an image declaring more pixels than
    any model accepts is refused there, so a tiny file cannot decode into gigabytes. Only then
    is the pixel data read (``image_integrity``: once per content under ``decode_verdicts``)."""
    return inspect_image(data, rule, field)[1]


def inspect_image(data: bytes, rule: ImageRule, field: str, sha256: str | None = None
                  ) -> tuple[str | None, list[str]]:
    """``check_image``'s problems, with the format Pillow read (None when it read none), from
    one header read: a builder needs both. ``sha256``: the caller's hash of ``data``, if it
    has one (the decode verdict is kept by it)."""
    fmt: str | None = None
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, (width, height), mode = img.format, img.size, img.mode
            shown = fmt or "?"
            problems = _header_problems(data, shown, width, height, rule, field)
            if width * height > MAX_IMAGE_PIXELS:
                return fmt, problems
            has_alpha = mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info)
            verdict = _decode_verdict(img, data, has_alpha, sha256)
    except UnidentifiedImageError:
        return None, [f"{field}: not a readable image ({_unidentified(data)})"]
    except (OSError, Image.DecompressionBombError) as exc:
        return fmt, [f"{field}: not a readable image ({exc})"]
    if verdict.error is not None:
        return fmt, [f"{field}: not a readable image ({verdict.error})"]
    transparent = verdict.transparent
    if rule.alpha == "required" and not transparent:
        problems.append(f"{field}: must be an RGBA image with a transparent background "
                        f"(got {shown} mode {mode}"
                        f"{' with no transparent pixel' if has_alpha else ''})")
    if rule.alpha == "forbidden" and has_alpha:
        problems.append(f"{field}: must not have an alpha channel (got {shown} mode {mode}); "
                        f"flatten it to RGB first")
    return fmt, problems


def _header_problems(data: bytes, fmt: str, width: int, height: int, rule: ImageRule,
                     field: str) -> list[str]:
    """The rules an image's header alone decides."""
    problems = []
    if width * height > MAX_IMAGE_PIXELS:
        problems.append(f"{field}: {width}x{height} px is more than any model accepts "
                        f"({MAX_IMAGE_PIXELS / 1e6:g} megapixels)")
    if fmt not in rule.formats:
        problems.append(f"{field}: format {fmt} not accepted; use one of {sorted(rule.formats)}")
    short, long = sorted((width, height))
    if rule.min_side is not None and short < rule.min_side:
        problems.append(f"{field}: {width}x{height} px; each side must be >= {rule.min_side} px")
    if rule.max_side is not None and long > rule.max_side:
        problems.append(f"{field}: {width}x{height} px; each side must be <= {rule.max_side} px")
    if rule.max_short_side is not None and short > rule.max_short_side:
        problems.append(f"{field}: {width}x{height} px; the short side must be <= "
                        f"{rule.max_short_side} px")
    if rule.max_aspect is not None and long / short > rule.max_aspect:
        problems.append(f"{field}: aspect ratio {long / short:.2f}:1 exceeds {rule.max_aspect:g}:1")
    problems.extend(_size_problem(len(data), rule.max_bytes, field))
    return problems


def check_media(data: bytes, rule: MediaRule, field: str) -> list[str]:
    """Problems with media ``data`` under whichever kind of rule ``rule`` is."""
    if isinstance(rule, AudioRule):
        return check_audio(data, rule, field)
    if isinstance(rule, VideoRule):
        return check_video(data, rule, field)
    return check_image(data, rule, field)


def check_audio(data: bytes, rule: AudioRule, field: str) -> list[str]:
    """Problems with audio ``data`` under ``rule``: format and length as decoded, size."""
    try:
        info = probe_audio(data)
    except MediaError as exc:
        return [f"{field}: not readable audio ({exc})"]
    problems = []
    if rule.formats is not None and info.container not in rule.formats:
        problems.append(f"{field}: format {info.container} not accepted; use one of "
                        f"{sorted(rule.formats)}")
    if rule.seconds.breaks(info.duration_s):
        problems.append(f"{field}: {info.duration_s:.2f} s long; needs {rule.seconds}")
    problems.extend(_size_problem(len(data), rule.max_bytes, field))
    return problems


def check_video(data: bytes, rule: VideoRule, field: str) -> list[str]:
    """Problems with video ``data`` under ``rule``: format, codec, length, sides, aspect ratio
    and frame rate as decoded, and size."""
    try:
        info = probe_video(data)
    except MediaError as exc:
        return [f"{field}: not a readable video ({exc})"]
    problems = []
    if info.container not in rule.formats:
        problems.append(f"{field}: format {info.container} not accepted; use one of "
                        f"{sorted(rule.formats)}")
    if rule.codecs is not None and info.codec not in rule.codecs:
        problems.append(f"{field}: codec {info.codec} not accepted; use one of "
                        f"{sorted(rule.codecs)}")
    if rule.seconds.breaks(info.duration_s):
        problems.append(f"{field}: {info.duration_s:.2f} s long; needs {rule.seconds}")
    short, long = sorted((info.width, info.height))
    if rule.min_side is not None and short < rule.min_side:
        problems.append(f"{field}: {info.width}x{info.height} px; each side must be >= "
                        f"{rule.min_side} px")
    if rule.max_side is not None and long > rule.max_side:
        problems.append(f"{field}: {info.width}x{info.height} px; each side must be <= "
                        f"{rule.max_side} px")
    if rule.max_aspect is not None and long / short > rule.max_aspect:
        problems.append(f"{field}: aspect ratio {long / short:.2f}:1 exceeds {rule.max_aspect:g}:1")
    if rule.min_fps is not None and info.fps < rule.min_fps:
        problems.append(f"{field}: {info.fps:g} fps; needs at least {rule.min_fps:g} fps")
    if rule.max_fps is not None and info.fps > rule.max_fps:
        problems.append(f"{field}: {info.fps:g} fps; needs at most {rule.max_fps:g} fps")
    problems.extend(_size_problem(len(data), rule.max_bytes, field))
    return problems


def _size_problem(size: int, limit: int | None, field: str) -> list[str]:
    if limit is not None and size > limit:
        return [f"{field}: {size / 1e6:.1f} MB; the limit is {limit / 1e6:g} MB"]
    return []


def _unidentified(data: bytes) -> str:
    """Why Pillow recognised no image (its own message names only an in-memory buffer)."""
    return "0 bytes" if not data else "not in any image format Pillow can read"


def _decode_verdict(img: Image.Image, data: bytes, has_alpha: bool, sha256: str | None
                    ) -> DecodeVerdict:
    """The verdict on ``img`` (opened from ``data``; see ``image_integrity``), from the store
    when it has one: a truncated or corrupt file is refused here rather than accepted, paid for
    and failed by the service."""
    store = _VERDICTS.get()
    if store is None:
        return decode_verdict(img, data, has_alpha)
    return store.verdict(sha256 or hashlib.sha256(data).hexdigest(),
                         lambda: decode_verdict(img, data, has_alpha))
