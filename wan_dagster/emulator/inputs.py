"""Task inputs: fetch (http(s), data URI, ``oss://``), decode and check against the media
field's rule (image, audio or video), failing the task with the codes DashScope documents.

The rule logic itself is the client's (``validation.check_image``), applied one aspect at a
time so that each failure gets its own documented code while the message stays the client's
precise wording. Both sides therefore agree on every limit by construction.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass, replace
from typing import Any, Callable
from urllib.parse import unquote_to_bytes

import httpx
from PIL import Image

from wan_dagster.dashscope.registry import AudioRule, ImageRule, MediaField, VideoRule
from wan_dagster.dashscope.validation import check_audio, check_image, check_video
from wan_dagster.dashscope.mediainfo import (AudioInfo, MediaError, VideoInfo, probe_audio,
                                             probe_video)

from . import media
from .uploads import UploadError, Uploads

#: DashScope gives up on an input download after 60 s (scaled here, see ``Fetcher``).
DOWNLOAD_TIMEOUT_SECONDS = 60.0
#: Scaled timeouts never go below this: on a loaded machine a slow loopback answer must not
#: turn into an InvalidURL.Timeout the test did not ask for.
MIN_DOWNLOAD_TIMEOUT = 1.0


class TaskFailure(Exception):
    """Ends a task as FAILED with a documented ``code`` and a human ``message``."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Requester:
    """Which model a task is for and whether it asked for ``oss://`` resolution: decides which
    uploaded files it may read."""

    model: str
    oss_resolve: bool


def _shown(url: str) -> str:
    """A URL as quoted in messages: data URIs are cut short."""
    return url if len(url) <= 120 or not url.startswith("data:") else url[:60] + "...(data URI)"


#: Image rule aspects in the order they are reported, each with its documented code and the
#: service's own sentence (the client's message follows with field and numbers).
_ASPECTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("InvalidParameter", "", ("alpha",)),
    ("InvalidFile.Format", "Invalid file format, the request file format is not supported.",
     ("formats",)),
    ("InvalidFile.Size", "Invalid file size.", ("max_bytes",)),
    ("InvalidFile.Resolution", "Invalid image resolution.", ("min_side", "max_side")),
    ("InvalidFile.ImageSize", "The size of image is beyond limit.",
     ("max_short_side", "max_aspect")),
)


class Fetcher:
    """Resolves media references for running tasks. Thread-safe (httpx.Client is)."""

    def __init__(self, http: httpx.Client, uploads: Uploads, timeout: float):
        self._http = http
        self._uploads = uploads
        self._timeout = max(MIN_DOWNLOAD_TIMEOUT, timeout)

    def fetch(self, url: str, field: MediaField, who: Requester) -> bytes:
        """The bytes behind one reference, or TaskFailure."""
        if url.startswith("data:"):
            if not field.base64_allowed:
                raise TaskFailure("InvalidParameter", f"{field.name}: model {who.model} takes "
                                  "only http(s) or oss:// URLs here, not base64 data.")
            return _data_uri(url, field)
        if url.startswith("oss://"):
            if not who.oss_resolve:
                raise TaskFailure("InvalidParameter", f"{field.name}: {url} is an oss:// URL; send "
                                  "the header X-DashScope-OssResourceResolve: enable to use it.")
            try:
                return self._uploads.resolve(url, model=who.model)
            except UploadError as exc:
                raise TaskFailure("BadRequest.InputDownloadFailed", str(exc)) from None
        if url.startswith(("http://", "https://")):
            return self._download(url, field)
        raise TaskFailure("InvalidParameter", f"{field.name}: {_shown(url)} is not an http(s) "
                          "URL, an oss:// URL or a data URI.")

    def _download(self, url: str, field: MediaField) -> bytes:
        limit = _max_bytes(field)
        try:
            with self._http.stream("GET", url, timeout=self._timeout,
                                   follow_redirects=True) as response:
                if not response.is_success:
                    raise TaskFailure("BadRequest.InputDownloadFailed",
                                      f"Download {url} failed with HTTP {response.status_code}.")
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if limit is not None and size > limit:  # stop reading: it fails anyway
                        raise TaskFailure("InvalidFile.Size", f"Invalid file size. {field.name}: "
                                          f"larger than the {limit / 1e6:g} MB limit.")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.ConnectError:
            raise TaskFailure("InvalidURL.ConnectionRefused",
                              f"Connection to {url} refused, please provide avaiable URL") from None
        except httpx.TimeoutException:
            raise TaskFailure("InvalidURL.Timeout",
                              f"Download {url} timeout, please check network connection.") from None
        except httpx.HTTPError as exc:
            raise TaskFailure("BadRequest.InputDownloadFailed",
                              f"Download {url} failed: {type(exc).__name__}.") from None

    def image(self, url: str, field: MediaField, who: Requester) -> Image.Image:
        """Fetch, check against the field's rule and decode one image."""
        return self._checked_image(self.fetch(url, field, who), field)

    def _checked_image(self, data: bytes, field: MediaField) -> Image.Image:
        try:
            image = media.decode_image(data)
        except MediaError:
            raise TaskFailure("InvalidFile.Openerror",
                              f"Invalid file, cannot open file as image: {field.name}.") from None
        if isinstance(field.rule, ImageRule):
            _check_rule(data, field.rule, field.name)
        return image

    def video_info(self, url: str, field: MediaField, who: Requester) -> VideoInfo:
        """Fetch, probe and check one input video."""
        rule = field.rule if isinstance(field.rule, VideoRule) else None
        return self._probed_video(self.fetch(url, field, who), field.name, rule)

    def audio_info(self, url: str, field: MediaField, who: Requester) -> AudioInfo:
        """Fetch, probe and check one input audio."""
        data = self.fetch(url, field, who)
        try:
            info = probe_audio(data)
        except MediaError:
            raise TaskFailure("InvalidFile.Openerror",
                              f"Invalid file, cannot open file as audio: {field.name}.") from None
        if isinstance(field.rule, AudioRule):
            _check_av_rule(data, field.rule, field.name)
        return info

    def image_or_video(self, url: str, field: MediaField,
                       who: Requester) -> Image.Image | VideoInfo:
        """A reference that may be either (reference-to-video): judged by its content."""
        data = self.fetch(url, field, who)
        try:
            media.decode_image(data)
        except MediaError:
            return self._probed_video(data, field.name, field.video_rule)
        return self._checked_image(data, field)

    def _probed_video(self, data: bytes, name: str, rule: VideoRule | None) -> VideoInfo:
        try:
            info = probe_video(data)
        except MediaError:
            raise TaskFailure("InvalidFile.Openerror",
                              f"Invalid file, cannot open file as video: {name}.") from None
        if rule is not None:
            _check_av_rule(data, rule, name)
        return info


def _max_bytes(field: MediaField) -> int | None:
    """The largest file ``field`` may hold (None: no limit); a reference list takes images
    and larger videos, so the larger cap applies while downloading."""
    caps = [rule.max_bytes for rule in (field.rule, field.video_rule) if rule is not None]
    if not caps or any(cap is None for cap in caps):
        return None
    return max(cap for cap in caps if cap is not None)


#: Audio and video rule aspects in the order they are reported, each with the code
#: VideoRetalk documents for it (seed 000 L11807-11827), which the emulator uses for every model.
_AV_ASPECTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("InvalidFile.Format", ("formats", "codecs")),
    ("InvalidFile.Size", ("max_bytes",)),
    ("InvalidFile.Duration", ("seconds",)),
    ("InvalidFile.Resolution", ("min_side", "max_side", "max_aspect")),
    ("InvalidFile.FPS", ("min_fps", "max_fps")),
)


def _check_av_rule(data: bytes, rule: AudioRule | VideoRule, name: str) -> None:
    """Raise TaskFailure for the first aspect of ``rule`` that ``data`` breaks."""
    check: Callable[[bytes, Any, str], list[str]]
    if isinstance(rule, AudioRule):
        check, accept_any = check_audio, AudioRule(formats=None)
    else:
        check, accept_any = check_video, VideoRule(formats=frozenset({probe_video(data).container}))
    for code, attributes in _AV_ASPECTS:
        present = [a for a in attributes if hasattr(rule, a)]
        if not present:
            continue
        problems = check(data, replace(accept_any, **{a: getattr(rule, a) for a in present}), name)
        if problems:
            raise TaskFailure(code, "; ".join(problems))


def _check_rule(data: bytes, rule: ImageRule, name: str) -> None:
    """Raise TaskFailure for the first aspect of ``rule`` that ``data`` breaks."""
    with Image.open(io.BytesIO(data)) as opened:
        accept_any = ImageRule(formats=frozenset({opened.format or "?"}))
    for code, sentence, attributes in _ASPECTS:
        aspect = replace(accept_any, **{a: getattr(rule, a) for a in attributes})
        problems = check_image(data, aspect, name)
        if problems:
            raise TaskFailure(code, " ".join(filter(None, [sentence, "; ".join(problems)])))


def _data_uri(url: str, field: MediaField) -> bytes:
    header, sep, payload = url.partition(",")
    if not sep:
        raise TaskFailure("InvalidParameter", f"{field.name}: malformed data URI.")
    try:
        if header.endswith(";base64"):
            return base64.b64decode(payload, validate=False)
        return unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        raise TaskFailure("InvalidParameter",
                          f"{field.name}: the data URI is not valid base64.") from None
