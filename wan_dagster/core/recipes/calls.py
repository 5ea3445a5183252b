"""One builder call held as data, so that the request sent and the fingerprint deciding whether
to send it come from the very same arguments."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from ...dashscope.inputs import REMOTE_PREFIXES
from ...dashscope.requests import TaskRequest
from ...dashscope.validation import known_content

#: A media argument: a local path, a URL, or bytes (a generated still).
Media = str | os.PathLike[str] | bytes
Size = tuple[int, int]


@dataclass(frozen=True)
class Generated:
    """Stands in, in a fingerprint, for a still another output generates: its identity is that
    output's own fingerprint, so a changed source regenerates everything downstream."""

    output: str
    fingerprint: str


@dataclass(frozen=True)
class Call:
    """A builder and its arguments; ``media`` are the arguments that carry images."""

    builder: Callable[..., TaskRequest]
    media: Mapping[str, Media | Sequence[Media] | None]
    options: Mapping[str, Any]

    def build(self) -> TaskRequest:
        return self.builder(**self.media, **self.options)

    def fingerprint(self) -> str:
        """sha256 over the builder, its options and the content of its media (a URL counts as
        its string, a ``Generated`` still as its output's fingerprint)."""
        identity = {"builder": self.builder.__name__, "options": dict(self.options),
                    "media": {name: _content_id(value) for name, value in self.media.items()}}
        return _sha256(json.dumps(identity, sort_keys=True, ensure_ascii=False).encode())


def _content_id(value: Media | Generated | Sequence[Media | Generated] | None) -> Any:
    """What a media argument contributes to a fingerprint: its bytes' hash, never its path."""
    if isinstance(value, Generated):
        return f"{value.output}:{value.fingerprint}"
    if value is None or (isinstance(value, str) and value.startswith(REMOTE_PREFIXES)):
        return value
    if isinstance(value, bytes):
        return f"sha256:{_sha256(value)}"
    if isinstance(value, (str, os.PathLike)):
        return f"sha256:{_file_sha256(value)}"
    return [_content_id(item) for item in value]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: str | os.PathLike[str]) -> str:
    """The file's content hash: the store's (which knows every catalog image) when one is
    installed, else read here."""
    store = known_content()
    if store is not None:
        return store.file_sha256(os.fspath(path))
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def image_size(media: Media | None) -> Size | None:
    """The size of a local image or image bytes from its header; None for URLs, nothing, and
    unreadable files (whose problems the request that reads them reports). A local file's is
    read once per content while a store is installed (the catalog's rows share images)."""
    if media is None or (isinstance(media, str) and media.startswith(REMOTE_PREFIXES)):
        return None
    store = known_content()
    if store is None or isinstance(media, bytes):
        return _header_size(media)
    try:
        digest = store.file_sha256(os.fspath(media))
    except OSError:
        return None
    return store.remembered(("size", digest), lambda: _header_size(media))


def _header_size(media: Media) -> Size | None:
    try:
        with Image.open(io.BytesIO(media) if isinstance(media, bytes) else media) as image:
            return image.size
    except (OSError, Image.DecompressionBombError):
        return None


@functools.lru_cache(maxsize=256)
def blank_png(size: Size, alpha: bool = False) -> bytes:
    """A blank PNG of ``size``: stands in for a still not generated yet, so its consumer's
    request can be checked before anything is paid. Bilevel unless ``alpha``: the frame rules
    look only at format, size and alpha, and a large blank stays cheap. Made once per size:
    most cutouts share a few sizes, and encoding one took a third of a row's check once its
    images' decodes were cached."""
    out = io.BytesIO()
    Image.new("RGBA" if alpha else "1", size).save(out, format="PNG")
    return out.getvalue()
