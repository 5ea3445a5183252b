"""Media inputs: turn what a caller has (a URL, a local file, bytes, a PIL image) into the string
DashScope takes, checked against the field's registry rule before anything is sent.

Remote URLs are passed through untouched and never fetched here (no network). Local content is
checked with ``check_image`` and sent as a ``data:`` URI whose MIME type comes from the decoded
format, so the bytes we fingerprint are exactly the bytes we send.

Within ``validation_only()`` (the catalog checking every row's requests) the same checks run,
but local content stands in the body as the data URI's prefix alone: encoding megabytes of
base64 that are never sent, then serialising them to measure the body, was most of a row's
check. ``PreparedMedia.omitted`` keeps the length left out, so the body-size rule still sees
the request as it would be sent.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import os
import re
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image, UnidentifiedImageError

from .errors import ValidationError
from .registry import MAX_DATA_URI_BYTES, MediaField
from .validation import DecodeVerdicts, check_media, inspect_image, known_content

ImageInput = str | os.PathLike[str] | bytes | Image.Image

REMOTE_PREFIXES = ("http://", "https://", "oss://")

#: Data-URI MIME type per Pillow format name. The docs list the first four; AVIF and TIFF are
#: accepted by the shoe and x-painting rules, so they get their standard types too.
MIME_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "BMP": "image/bmp", "WEBP": "image/webp",
              "AVIF": "image/avif", "TIFF": "image/tiff"}

#: Modes Pillow's PNG writer takes as they are; anything else is converted (see ``_png_bytes``).
_PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"})

_DATA_URI = re.compile(r"data:(?P<mime>[^;,]*)(?P<params>(?:;[^;,]*)*?);base64,(?P<data>.*)",
                       re.DOTALL)

Source = Literal["url", "oss", "data-uri", "file", "bytes", "pil"]


@dataclass(frozen=True)
class PreparedMedia:
    """One media value ready for the request body, with what the ledger needs to fingerprint it.

    ``size_bytes`` and ``sha256`` describe the decoded bytes we send; they are None for remote
    URLs, whose content we never read.
    """

    field: str  # where it goes, e.g. ``input.img_url`` or ``input.images[1]``
    value: str  # the URL or data URI as sent (data URIs can be megabytes: see __repr__)
    source: Source
    size_bytes: int | None = None
    sha256: str | None = None
    path: str | None = None  # the local file it came from, if any
    #: Characters of the data URI left out of ``value`` (built under ``validation_only``).
    omitted: int = 0

    def __repr__(self) -> str:
        shown = self.value if len(self.value) <= 80 else self.value[:60] + "..."
        return (f"PreparedMedia(field={self.field!r}, source={self.source!r}, value={shown!r}, "
                f"size_bytes={self.size_bytes}, sha256={self.sha256!r}, path={self.path!r}"
                f"{f', omitted={self.omitted}' if self.omitted else ''})")

    @property
    def is_oss(self) -> bool:
        """True for ``oss://`` values, which need the OSS-resolve header on the create."""
        return self.value.startswith("oss://")


_VALIDATION_ONLY: ContextVar[bool] = ContextVar("wan_validation_only", default=False)


@contextlib.contextmanager
def validation_only() -> Iterator[None]:
    """Within the block, requests are built to be checked, never sent: local media are checked
    exactly as always but stand in the body as their data URI's prefix (see the module doc)."""
    token = _VALIDATION_ONLY.set(True)
    try:
        yield
    finally:
        _VALIDATION_ONLY.reset(token)


def checking_store() -> DecodeVerdicts | None:
    """The store installed by ``decode_verdicts`` when requests are built to be checked only
    (``validation_only``): what was learnt about content earlier in the load may stand in for
    reading it again. None otherwise: a request to be sent reads what it sends."""
    return known_content() if _VALIDATION_ONLY.get() else None


def prepare_media(value: object, media: MediaField, *, model: str,
                  path: str | None = None) -> PreparedMedia:
    """Prepare one item for ``media`` of ``model``; raise ValidationError listing every problem.

    ``path`` names the item in messages (defaults to the field's body path; list builders pass
    ``input.images[1]``).
    """
    path = path or media_path(media)
    if isinstance(value, str) and value.startswith(REMOTE_PREFIXES):
        return _remote(value, path, model)
    if not isinstance(value, (str, os.PathLike, bytes, Image.Image)):
        raise ValidationError(model, [f"{path}: must be a URL, a local file path, bytes or a PIL "
                                      f"image, got {type(value).__name__}"])
    is_data_uri = isinstance(value, str) and value.startswith("data:")
    local = Path(value) if isinstance(value, (str, os.PathLike)) and not is_data_uri else None
    store = checking_store()
    digest = _known_sha256(store, local)
    if local is not None and digest is None and not local.is_file():
        state = "is not a regular file" if local.exists() else "does not exist"
        raise ValidationError(model, [f"{path}: local file {str(local)!r} {state}"])
    if not media.base64_allowed:  # it has to be uploaded: say first what is wrong with it
        raise ValidationError(model, [*_local_problems(value, local, media, path),
                                      _upload_first(path, model, media, local)])
    if store is not None and (digest is not None or isinstance(value, bytes)):
        return _checked_once(value, local, digest, media, path, model, store)
    source: Source
    if isinstance(value, str) and is_data_uri:
        data, source = _decode_data_uri(value, path, model), "data-uri"
    elif local is not None:
        data, source = _read_local(local, path, model), "file"
    elif isinstance(value, bytes):
        data, source = value, "bytes"
    else:
        data, source = _png_bytes(value), "pil"
    return _embed(data, source, media, path, model, local)


def media_path(media: MediaField) -> str:
    """The body path of a media field, as ``check_request`` names it."""
    return f"input.{media.parent + '.' if media.parent else ''}{media.name}"


def _remote(url: str, path: str, model: str) -> PreparedMedia:
    """A URL is sent as given; only its spelling is checked (DashScope refuses non-ASCII URLs)."""
    if not url.isascii():
        raise ValidationError(model, [f"{path}: the URL contains non-ASCII characters; "
                                      f"percent-encode them first"])
    return PreparedMedia(path, url, "oss" if url.startswith("oss://") else "url")


def _decode_data_uri(uri: str, path: str, model: str) -> bytes:
    """The bytes of a base64 data URI; it is re-emitted from them, so its MIME type always
    matches the content."""
    match = _DATA_URI.fullmatch(uri)
    if match is None:
        raise ValidationError(model, [f"{path}: a data URI must be data:<mime>;base64,<data>"])
    try:
        return base64.b64decode(match["data"], validate=True)
    except binascii.Error as exc:
        raise ValidationError(model, [f"{path}: the data URI is not valid base64 ({exc})"]) from None


def _read_local(file: Path, path: str, model: str) -> bytes:
    """A local file's bytes. Files too big to embed are refused from their size alone."""
    size = file.stat().st_size
    if _data_uri_length("", size) > MAX_DATA_URI_BYTES:
        raise ValidationError(model, [_too_large(path, size)])
    return file.read_bytes()


def _png_bytes(image: Image.Image) -> bytes:
    """Lossless PNG of ``image``, keeping its alpha; modes PNG cannot hold become RGB(A)."""
    if image.mode not in _PNG_MODES:
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _embed(data: bytes, source: Source, media: MediaField, path: str, model: str,
           local: Path | None) -> PreparedMedia:
    """Check decoded bytes against the field's rule and wrap them as a data URI."""
    digest = hashlib.sha256(data).hexdigest()
    mime, problems = _checked(data, digest, media, path)
    return _prepared(mime, problems, data, digest, source, path, model, local)


def _known_sha256(store: DecodeVerdicts | None, local: Path | None) -> str | None:
    """The hash of a regular local file from ``store``, if there is one (None: the file is
    not regular, cannot be read, or there is no store): it stands for the stat that proves the
    file regular, so a catalog row makes no system call for a file looked at before."""
    if store is None or local is None:
        return None
    try:
        return store.file_sha256(str(local))
    except OSError:
        return None  # the checks without a store say what is wrong with it


def _checked_once(value: object, local: Path | None, digest: str | None, media: MediaField,
                  path: str, model: str, store: DecodeVerdicts) -> PreparedMedia:
    """``_embed`` of a local file (``digest``: its hash) or bytes under validation only: each
    content is read and checked once per rule and field in a load (a file's hash comes from
    the store, so a file hashed before is not read to find it); every other row naming it
    reuses the outcome."""
    if digest is None:
        assert isinstance(value, bytes)
        digest = hashlib.sha256(value).hexdigest()

    def check() -> tuple[str | None, list[str], int]:
        data = _read_local(local, path, model) if local is not None else value
        assert isinstance(data, bytes)
        return (*_checked(data, digest, media, path), len(data))

    mime, problems, size = store.remembered(("media", digest, media.rule, path), check)
    return _prepared(mime, problems, size, digest, "file" if local is not None else "bytes",
                     path, model, local)


def _checked(data: bytes, digest: str, media: MediaField, path: str
             ) -> tuple[str | None, list[str]]:
    """The data URI's MIME type for ``data`` (None if it has none) and every problem with it."""
    if media.rule:
        fmt, problems = inspect_image(data, media.rule, path, digest)
    else:
        fmt, problems = _format(data), []
    mime = MIME_TYPES.get(fmt or "")
    if fmt is None and not problems:
        problems.append(f"{path}: not a readable image")
    elif fmt is not None and mime is None:
        problems.append(f"{path}: format {fmt} cannot be sent as a data URI; use one of "
                        f"{sorted(MIME_TYPES)}")
    if _data_uri_length(mime or "", len(data)) > MAX_DATA_URI_BYTES:
        problems.append(_too_large(path, len(data)))
    return mime, problems


def _prepared(mime: str | None, problems: list[str], data: bytes | int, digest: str,
              source: Source, path: str, model: str, local: Path | None) -> PreparedMedia:
    """The media value, or ValidationError with ``problems``; ``data``: the bytes to embed,
    or only their length under ``validation_only``."""
    if problems:
        raise ValidationError(model, problems)
    size = data if isinstance(data, int) else len(data)
    prefix = f"data:{mime};base64,"
    if _VALIDATION_ONLY.get() or isinstance(data, int):
        uri, omitted = prefix, _data_uri_length(mime or "", size) - len(prefix)
    else:
        uri, omitted = prefix + base64.b64encode(data).decode("ascii"), 0
    return PreparedMedia(path, uri, source, size, digest, str(local) if local else None,
                         omitted)


def _format(data: bytes) -> str | None:
    """Pillow's name for the format of ``data`` (None when it is not an image)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.format
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        return None


def _data_uri_length(mime: str, size: int) -> int:
    return len(f"data:{mime};base64,") + 4 * ((size + 2) // 3)


def _too_large(path: str, size: int) -> str:
    return (f"{path}: {size / 1e6:.1f} MB is too large to send inline (a data URI may be at most "
            f"{MAX_DATA_URI_BYTES // (1024 * 1024)} MiB); upload it with "
            f"client.upload_file(model, path) and pass the oss:// URL")


def _local_problems(value: object, local: Path | None, media: MediaField, path: str) -> list[str]:
    """What the field's rule says about local content that must be uploaded before use (an
    audio too short, a video too small): known now rather than after an upload and a create."""
    if media.rule is None or not (local is not None or isinstance(value, bytes)):
        return []
    data = local.read_bytes() if local is not None else value
    assert isinstance(data, bytes)
    return check_media(data, media.rule, path)


def _upload_first(path: str, model: str, media: MediaField, local: Path | None) -> str:
    what = f"upload {str(local)!r}" if local else "save it to a file and upload it"
    return (f"{path}: model {model} takes only http(s) or oss:// URLs here; {what} first with "
            f"client.upload_file({model!r}, path, field={media.name!r}) and pass the oss:// URL "
            f"it returns")
