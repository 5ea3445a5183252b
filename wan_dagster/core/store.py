"""Content-addressed media store for generated images and videos, on local disk or S3.

Every object lives at ``{asset}/{safe_name(sku)}/{sha256[:16]}.{ext}``: the key is derived from
the bytes, so a re-run that produces the same media is a no-op, and an object under its final
key is always complete (writes are atomic). No Dagster imports: resources wrap these classes.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import unicodedata
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from botocore.client import BaseClient
from botocore.exceptions import ClientError

#: Read and write in 1 MiB chunks so a long video never sits in memory whole.
_CHUNK = 1 << 20
_SLUG_MAX = 60
_SKU_HASH_HEX = 10
_CONTENT_HASH_HEX = 16

# Runs of characters outside the portable file-name set, or of two or more dots, become one "-".
_UNSAFE_RUN = re.compile(r"(?:[^A-Za-z0-9._-]|\.{2,})+")
# A key component never starts with "." (so "..", "." and our temp files are unreachable).
_COMPONENT = r"[A-Za-z0-9_-][A-Za-z0-9._-]*"
_KEY = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_EXT = re.compile(r"[A-Za-z0-9]{1,16}")
_TEMP_PREFIX = ".tmp-"
_S3_MISSING = {"404", "NoSuchKey", "NotFound"}


def safe_name(sku: str) -> str:
    """A readable, file-name-safe key part for any SKU, unique per SKU.

    The slug keeps the SKU recognisable (ASCII-folded, unsafe runs -> "-", at most 60 chars,
    no leading/trailing "." or "-"); the suffix, 10 hex of sha256 over the exact SKU, keeps two
    SKUs apart even when their slugs match (case, punctuation, truncation). Two names can only
    coincide if both the slugs and 40 hash bits do.
    """
    digest = hashlib.sha256(sku.encode("utf-8", "surrogatepass")).hexdigest()[:_SKU_HASH_HEX]
    slug = _slug(sku)
    return f"{slug}-{digest}" if slug else digest


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _UNSAFE_RUN.sub("-", ascii_text).strip(".-")
    return slug[:_SLUG_MAX].rstrip(".-")


@dataclass(frozen=True)
class StoredMedia:
    """Where a stored object is and what it holds."""

    uri: str  # file:///abs/path or s3://bucket/key
    key: str  # relative to the store's root or prefix
    size: int
    sha256: str
    content_type: str


@runtime_checkable
class MediaStore(Protocol):
    """What assets need from a media store, whatever the backend.

    Keys are relative ("/"-separated, no "." or ".." parts); a missing key raises
    ``FileNotFoundError`` on every backend.
    """

    def put_file(self, asset: str, sku: str, src: Path, *, ext: str,
                 content_type: str) -> StoredMedia: ...

    def put_named(self, key: str, data: bytes, *, content_type: str) -> StoredMedia:
        """Write ``data`` under a chosen key (hand-off copies, the gallery), replacing it."""
        ...

    def get_bytes(self, key: str) -> bytes: ...

    def download_to(self, key: str, dest: Path) -> None: ...

    def exists(self, key: str) -> bool: ...

    def uri(self, key: str) -> str: ...

    def key_of(self, uri: str) -> str:
        """Inverse of ``uri``, for URIs kept elsewhere (the ledger); ValueError if foreign."""
        ...

    def local_path(self, key: str) -> Path | None: ...


def media_key(asset: str, sku: str, sha256: str, ext: str) -> str:
    """The content-addressed key of bytes with hex digest ``sha256``."""
    return f"{_sku_dir(asset, sku)}/{sha256[:_CONTENT_HASH_HEX]}.{_check_ext(ext)}"


def _sku_dir(asset: str, sku: str) -> str:
    """``{asset}/{safe_name(sku)}``; ``asset`` is validated as it is used verbatim."""
    if not _KEY.fullmatch(asset):
        raise ValueError(f"asset must be '/'-joined parts of [A-Za-z0-9._-] not starting "
                         f"with '.', got {asset!r}")
    return f"{asset}/{safe_name(sku)}"


def _check_ext(ext: str) -> str:
    if not _EXT.fullmatch(ext):
        raise ValueError(f"ext must be 1-16 letters or digits without a dot, got {ext!r}")
    return ext


def _check_key(key: str) -> str:
    """Reject keys that could leave the store's root (absolute, "..", hidden temp files)."""
    if not _KEY.fullmatch(key):
        raise ValueError(f"invalid media key {key!r}")
    return key


def _read_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            yield chunk


def _file_sha256(path: Path) -> tuple[str, int]:
    """Hex sha256 and size of a file, streamed."""
    h, size = hashlib.sha256(), 0
    for chunk in _read_chunks(path):
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size


def _write_temp(directory: Path, chunks: Iterable[bytes]) -> tuple[Path, str, int]:
    """Write chunks to a fresh hidden temp file in ``directory``, fsynced; return it with the
    bytes' sha256 and size. On any error the temp file is removed.

    The temp file sits in the destination directory so the final ``os.replace`` is a same-
    file-system rename, hence atomic. It is opened with mode 0o666 (minus umask) rather than
    mkstemp's 0o600 so the published file has ordinary permissions.
    """
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f"{_TEMP_PREFIX}{secrets.token_hex(8)}"
    h, size = hashlib.sha256(), 0
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
                h.update(chunk)
                size += len(chunk)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, h.hexdigest(), size


def _publish(tmp: Path, final: Path) -> None:
    """Rename ``tmp`` over ``final`` (atomic: readers see the old state or the whole file) and
    fsync the directory so the rename survives a power loss. Should a concurrent writer have
    published first, its bytes are the same (same key), so replacing them changes nothing."""
    os.replace(tmp, final)
    dir_fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class LocalMediaStore:
    """Media under a directory; readers see either no file or the complete file."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def put_file(self, asset: str, sku: str, src: Path, *, ext: str,
                 content_type: str) -> StoredMedia:
        """Hash ``src`` (streamed); if that key is already stored, write nothing. Otherwise copy
        it in, hashing again while copying, so the key names exactly the bytes published even
        if ``src`` changed in between."""
        src = Path(src)
        digest, size = _file_sha256(src)
        key = media_key(asset, sku, digest, ext)
        if not self._path(key).is_file():
            tmp, digest, size = _write_temp(self._path(key).parent, _read_chunks(src))
            key = media_key(asset, sku, digest, ext)
            _publish(tmp, self._path(key))
        return StoredMedia(self.uri(key), key, size, digest, content_type)

    def put_named(self, key: str, data: bytes, *, content_type: str) -> StoredMedia:
        tmp, digest, size = _write_temp(self._path(key).parent, [data])
        _publish(tmp, self._path(key))
        return StoredMedia(self.uri(key), key, size, digest, content_type)

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def download_to(self, key: str, dest: Path) -> None:
        """Copy atomically, so ``dest`` is never a partial file either."""
        dest = Path(dest)
        tmp, _, _ = _write_temp(dest.parent, _read_chunks(self._path(key)))
        os.replace(tmp, dest)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()

    def key_of(self, uri: str) -> str:
        parsed = urllib.parse.urlparse(uri)
        path = Path(urllib.parse.unquote(parsed.path))
        if parsed.scheme != "file" or not path.is_relative_to(self.root):
            raise ValueError(f"{uri!r} is not a file under {self.root}")
        return _check_key(path.relative_to(self.root).as_posix())

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)


class S3MediaStore:
    """Media in an S3 bucket (or any S3-compatible server) under an optional prefix.

    ``client`` is a boto3 S3 client, e.g. ``dagster_aws.s3.S3Resource(...).get_client()``.
    """

    def __init__(self, client: BaseClient, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def put_file(self, asset: str, sku: str, src: Path, *, ext: str,
                 content_type: str) -> StoredMedia:
        """Hash ``src`` (streamed), then upload it in one PUT unless the key already exists.

        A single PutObject is atomic in S3: the object appears complete or not at all. The
        sha256 goes along as ``ChecksumSHA256``, so S3 rejects the upload if the file changed
        after hashing, and the key can never name other bytes.
        """
        src = Path(src)
        digest, size = _file_sha256(src)
        key = media_key(asset, sku, digest, ext)
        if not self.exists(key):
            with src.open("rb") as body:
                self.client.put_object(
                    Bucket=self.bucket, Key=self._object_key(key), Body=body,
                    ContentType=content_type,
                    ChecksumSHA256=base64.b64encode(bytes.fromhex(digest)).decode("ascii"))
        return StoredMedia(self.uri(key), key, size, digest, content_type)

    def put_named(self, key: str, data: bytes, *, content_type: str) -> StoredMedia:
        self.client.put_object(Bucket=self.bucket, Key=self._object_key(key), Body=data,
                               ContentType=content_type)
        return StoredMedia(self.uri(key), key, len(data), hashlib.sha256(data).hexdigest(),
                           content_type)

    def get_bytes(self, key: str) -> bytes:
        return self._get(key)["Body"].read()

    def download_to(self, key: str, dest: Path) -> None:
        """One GET streamed into a temp file next to ``dest``, then renamed over it."""
        dest = Path(dest)
        body = self._get(key)["Body"]
        try:
            tmp, _, _ = _write_temp(dest.parent, body.iter_chunks(_CHUNK))
        finally:
            body.close()
        os.replace(tmp, dest)

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._object_key(key))
        except ClientError as err:
            if _is_missing(err):
                return False
            raise
        return True

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._object_key(key)}"

    def key_of(self, uri: str) -> str:
        base = f"s3://{self.bucket}/{self.prefix}/" if self.prefix else f"s3://{self.bucket}/"
        if not uri.startswith(base):
            raise ValueError(f"{uri!r} is not under {base}")
        return _check_key(uri[len(base):])

    def local_path(self, key: str) -> Path | None:
        return None

    def _object_key(self, key: str) -> str:
        _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _get(self, key: str) -> dict:
        """GetObject, with a missing key reported as ``FileNotFoundError`` like on disk."""
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._object_key(key))
        except ClientError as err:
            if _is_missing(err):
                raise FileNotFoundError(f"no object {self.uri(key)}") from err
            raise


def _is_missing(err: ClientError) -> bool:
    return err.response.get("Error", {}).get("Code") in _S3_MISSING


def portable_uri(stored: StoredMedia) -> str:
    """Where a stored object is, valid on every machine: ``s3://…`` on S3, else the key
    relative to the store's root (an absolute path names one server's disk)."""
    return stored.uri if stored.uri.startswith("s3://") else stored.key
