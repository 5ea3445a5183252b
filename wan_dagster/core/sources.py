"""Where a catalog row may read its images from, and reading them without trusting the cell.

Catalogs come from merchants, suppliers and spreadsheets. Whatever the pipeline reads for a row
it sends to DashScope and pays for, so a cell must not reach any file or object the operator
can read: local paths (``file://`` URIs the same) must resolve, symlinks followed, inside the
catalog's folder or a root the user lists; ``s3://`` objects must be in the catalog's bucket or
a bucket and prefix the user lists. Only regular files are opened (a FIFO would block forever,
a device or ``/proc`` file never ends), and sizes are checked before anything is read.

Every refusal is a sentence naming the rule; the caller adds the row and the column. Nothing
here reads a file's content: the request builders do that, from the vetted path.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from ..dashscope.inputs import REMOTE_PREFIXES
from ..dashscope.registry import MAX_DATA_URI_BYTES

__all__ = ["MAX_IMAGE_BYTES", "MAX_REFERENCE_LENGTH", "Confinement", "ImageSources",
           "split_s3"]

#: Longest image cell taken (Linux's PATH_MAX): longer ones are refused before any system call.
MAX_REFERENCE_LENGTH = 4096
#: The largest file whose bytes fit in a data URI, the only way a local image is ever sent.
MAX_IMAGE_BYTES = MAX_DATA_URI_BYTES * 3 // 4
#: Where images from S3 are downloaded when no ``cache_dir`` is given.
DEFAULT_CACHE_DIR = Path(tempfile.gettempdir()) / "wan-dagster" / "catalog-images"

_FILE_KINDS = {stat.S_IFIFO: "a named pipe (FIFO)", stat.S_IFCHR: "a character device",
               stat.S_IFBLK: "a block device", stat.S_IFDIR: "a directory",
               stat.S_IFSOCK: "a socket"}


class _Refused(Exception):
    """An image cell a row may not use; the message is the rule it breaks."""


@dataclass(frozen=True)
class Confinement:
    """What rows may read: local files under ``local_roots`` (real paths), S3 objects under
    ``s3_prefixes`` (``bucket/prefix``, the prefix possibly empty), none over ``max_bytes``."""

    local_roots: tuple[str, ...]
    s3_prefixes: tuple[str, ...]
    max_bytes: int = MAX_IMAGE_BYTES

    @classmethod
    def for_catalog(cls, catalog: str, local_roots: Iterable[str] = (),
                    s3_prefixes: Iterable[str] = (), max_bytes: int = MAX_IMAGE_BYTES
                    ) -> Confinement:
        """The catalog's own folder (a local catalog) or bucket (an S3 one), plus what the user
        lists: local directories, and ``s3://bucket`` or ``s3://bucket/prefix``."""
        roots = [os.path.realpath(root) for root in local_roots]
        prefixes = [prefix.removeprefix("s3://") for prefix in s3_prefixes]
        if catalog.startswith("s3://"):
            prefixes.append(split_s3(catalog)[0])
        else:
            roots.append(os.path.dirname(os.path.realpath(catalog)))
        return cls(tuple(roots), tuple(prefixes), max_bytes)

    def check_local(self, path: str, shown: str, real: str | None = None) -> str:
        """The real path of ``path`` if a row may read it (``shown`` names it in messages;
        ``real``: its real path, if the caller knows it)."""
        real = real or os.path.realpath(path)
        if not any(_inside(real, root) for root in self.local_roots):
            raise _Refused(f"{shown!r} is outside the catalog's folder and the listed local "
                           f"roots ({', '.join(self.local_roots) or 'none'}); a row may read only "
                           f"files inside them")
        try:
            info = os.stat(real)
        except FileNotFoundError:
            raise _Refused(f"local file {shown!r} does not exist") from None
        except OSError as exc:
            raise _Refused(f"cannot read {shown!r} ({exc.strerror})") from None
        kind = _FILE_KINDS.get(stat.S_IFMT(info.st_mode))
        if kind is not None:
            raise _Refused(f"{shown!r} is not a regular file ({kind}); only regular files are "
                           f"read")
        self.check_size(shown, info.st_size)
        if not os.access(real, os.R_OK):
            raise _Refused(f"{shown!r} is not readable (permission denied)")
        return real

    def check_s3(self, uri: str) -> tuple[str, str]:
        """``(bucket, key)`` of ``uri`` if a row may read it."""
        try:
            bucket, key = split_s3(uri)
        except ValueError as exc:
            raise _Refused(str(exc)) from None
        if {".", ".."} & set(key.split("/")):
            raise _Refused(f"{uri!r}: an object key must not contain '.' or '..' segments")
        if not any(_under_prefix(bucket, key, allowed) for allowed in self.s3_prefixes):
            listed = ", ".join(f"s3://{p}" for p in self.s3_prefixes) or "none"
            raise _Refused(f"{uri!r} is outside the catalog's bucket and the listed S3 prefixes "
                           f"({listed}); a row may read only objects inside them")
        return bucket, key

    def check_size(self, shown: str, size: int) -> None:
        """Refuse ``size`` bytes over the cap, before anything is read."""
        if size > self.max_bytes:
            raise _Refused(f"{shown!r} is {size / 1e6:.1f} MB; an image may be at most "
                           f"{self.max_bytes / 1e6:.1f} MB")


class ImageSources:
    """Turns an image cell into what the request builders take: a URL as given, or the real
    path of a vetted local file (S3 objects are downloaded into the cache first, once per
    load). Thread-safe enough for the row workers: a race only downloads an object twice."""

    def __init__(self, catalog: str, confinement: Confinement, s3_client: Any,
                 cache_dir: Path = DEFAULT_CACHE_DIR):
        self._base = posixpath.dirname(catalog) if catalog.startswith("s3://") \
            else os.path.dirname(os.path.abspath(catalog))
        self._confinement = confinement
        self._s3 = s3_client
        self._cache_dir = cache_dir
        self._downloaded: dict[str, tuple[str, str | None]] = {}
        #: Cell -> its answer: rows sharing an image (templates) resolve it once per load.
        self._resolved: dict[str, tuple[str | None, str | None]] = {}
        #: Folder -> its real path: images share folders, each resolved once per load.
        self._real_folders: dict[str, str] = {}

    def resolve(self, value: str) -> tuple[str | None, str | None]:
        """``(resolved value, None)`` when the row may use it, else ``(None, problem)``: a
        refused cell is never handed on, since building its requests would read it."""
        answer = self._resolved.get(value)
        if answer is None:
            try:
                answer = self._resolve(value), None
            except _Refused as refused:
                answer = None, str(refused)
            self._resolved[value] = answer
        return answer

    def _resolve(self, value: str) -> str:
        if len(value) > MAX_REFERENCE_LENGTH:
            raise _Refused(f"{len(value)} characters is too long for a path or URL (at most "
                           f"{MAX_REFERENCE_LENGTH})")
        if hidden := sorted({f"U+{ord(c):04X}" for c in value if not c.isprintable()}):
            raise _Refused(f"a path or URL must not contain control or invisible characters "
                           f"(found {', '.join(hidden)})")
        if value.startswith(REMOTE_PREFIXES):
            return value  # checked before the SKU's first create (core.remote)
        if value.startswith("s3://"):
            return self._download(value)
        if value.startswith("file:"):
            return self._local(_file_path(value))
        if self._base.startswith("s3://") and not os.path.isabs(value):
            return self._download(_join_s3(self._base, value))
        return self._local(value)

    def _local(self, value: str) -> str:
        shown = os.path.abspath(os.path.join(self._base, value))
        return self._confinement.check_local(shown, shown, self._realpath(shown))

    def _realpath(self, path: str) -> str:
        """``os.path.realpath`` of an absolute, normalised path, its folder's part resolved once
        per load: one ``lstat`` per file rather than one per component."""
        folder, name = os.path.split(path)
        real_folder = self._real_folders.get(folder)
        if real_folder is None:
            real_folder = self._real_folders[folder] = os.path.realpath(folder)
        candidate = os.path.join(real_folder, name)
        return os.path.realpath(candidate) if os.path.islink(candidate) else candidate

    def _download(self, uri: str) -> str:
        if uri not in self._downloaded:
            try:
                self._downloaded[uri] = self._fetch(uri), None
            except _Refused as refused:
                self._downloaded[uri] = uri, str(refused)
        path, problem = self._downloaded[uri]
        if problem:
            raise _Refused(problem)
        return path

    def _fetch(self, uri: str) -> str:
        """Download atomically (a half-written file is never seen), under a name unique to the
        object's URI, after its size is known to be within the cap."""
        bucket, key = self._confinement.check_s3(uri)
        if self._s3 is None:
            raise _Refused(f"cannot read {uri}: loading images from S3 needs an s3_client")
        self._cache_dir.mkdir(parents=True, exist_ok=True)
        target = self._cache_dir / (hashlib.sha256(uri.encode()).hexdigest()[:16] + "-"
                                    + posixpath.basename(key))
        handle, partial = tempfile.mkstemp(dir=self._cache_dir, prefix=".partial-")
        os.close(handle)
        try:
            head = self._s3.head_object(Bucket=bucket, Key=key)
            self._confinement.check_size(uri, int(head.get("ContentLength", 0)))
            self._s3.download_file(bucket, key, partial)
            os.replace(partial, target)
        except (ClientError, BotoCoreError) as exc:  # no credentials, no endpoint, no object
            raise _Refused(f"cannot download {uri} ({exc})") from None
        finally:
            Path(partial).unlink(missing_ok=True)
        return str(target)


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` → ``(bucket, key)``; ValueError when either is missing."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise ValueError(f"{uri!r} is not an s3://bucket/key URI")
    return bucket, key


def _join_s3(directory: str, relative: str) -> str:
    """``s3://bucket/dir`` + ``images/a.png`` → ``s3://bucket/dir/images/a.png`` (normalised)."""
    bucket, _, prefix = directory.removeprefix("s3://").partition("/")
    return f"s3://{bucket}/{posixpath.normpath(posixpath.join(prefix, relative))}"


def _file_path(uri: str) -> str:
    """The local path of a ``file:`` URI (only this host's: ``file:///p`` or
    ``file://localhost/p``)."""
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
        raise _Refused(f"{uri!r}: a file: URI must be file:///absolute/path on this machine")
    path = unquote(parts.path)
    if not path.isprintable():
        raise _Refused(f"{uri!r}: the path must not encode control characters")
    return path


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _under_prefix(bucket: str, key: str, allowed: str) -> bool:
    """Whether ``bucket/key`` is under ``allowed`` (``bucket`` or ``bucket/prefix``)."""
    allowed_bucket, _, prefix = allowed.partition("/")
    return bucket == allowed_bucket and key.startswith(prefix)
