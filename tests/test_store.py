"""The media store: safe names, atomic and idempotent content-addressed writes, on local disk
and on a real S3-compatible HTTP server (moto) on loopback."""

from __future__ import annotations

import base64
import errno
import hashlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.client import BaseClient

from wan_dagster.core.store import (LocalMediaStore, MediaStore, S3MediaStore, StoredMedia,
                               media_key, safe_name)

pytest_plugins = ["s3_server"]

NASTY_SKUS = [
    "BRK/../unsafe:name", "a\nb", "  ", "", "ü/😀", "x" * 500, "x" * 499 + "y",
    "..", ".hidden", "/etc/passwd", "C:\\Windows\\sys", "ABC", "abc", "a/b", "a:b", "a b",
    "tab\there", "nul\x00byte", "CON", "-rf", "\udcff",
]
SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")  # one path component, never hidden
KEY = re.compile(r"[a-z]+/[A-Za-z0-9_][A-Za-z0-9._-]*/[0-9a-f]{16}\.[a-z0-9]+")
MiB = 1 << 20


def _file(tmp_path: Path, data: bytes, name: str = "src.bin") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


# --- safe_name ---------------------------------------------------------------------------------

def test_safe_name_is_a_single_safe_component_for_nasty_skus() -> None:
    for sku in NASTY_SKUS:
        name = safe_name(sku)
        assert SAFE_NAME.fullmatch(name), (sku, name)
        assert ".." not in name and len(name) <= 60 + 1 + 10
        assert safe_name(sku) == name  # deterministic across calls (and processes: sha256)


def test_safe_name_never_collides_even_when_slugs_or_case_match() -> None:
    names = [safe_name(sku) for sku in NASTY_SKUS]
    assert len(set(names)) == len(NASTY_SKUS)
    assert len({n.lower() for n in names}) == len(NASTY_SKUS)  # case-insensitive file systems


def test_safe_name_stays_readable() -> None:
    digest = hashlib.sha256(b"BRK/../unsafe:name").hexdigest()[:10]
    assert safe_name("BRK/../unsafe:name") == f"BRK-unsafe-name-{digest}"
    assert safe_name("SKU-00042_red.v2").startswith("SKU-00042_red.v2-")
    assert safe_name("ü/😀").startswith("u-")
    assert re.fullmatch(r"[0-9a-f]{10}", safe_name("  "))  # nothing readable: hash alone
    assert safe_name("x" * 500) == "x" * 60 + "-" + hashlib.sha256(b"x" * 500).hexdigest()[:10]


# --- local store -------------------------------------------------------------------------------

def test_local_put_is_content_addressed(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path / "media")
    data = b"\x89PNG fake bytes"
    stored = store.put_file("background", "SKU-1", _file(tmp_path, data), ext="png",
                            content_type="image/png")

    digest = hashlib.sha256(data).hexdigest()
    assert stored == StoredMedia(
        uri=(store.root / stored.key).as_uri(),
        key=f"background/{safe_name('SKU-1')}/{digest[:16]}.png",
        size=len(data), sha256=digest, content_type="image/png")
    assert stored.key == media_key("background", "SKU-1", digest, "png")
    assert stored.uri.startswith("file:///")
    assert store.exists(stored.key) and store.get_bytes(stored.key) == data
    assert store.local_path(stored.key) == store.root / stored.key
    assert store.key_of(stored.uri) == stored.key
    assert isinstance(store, MediaStore)


@pytest.mark.parametrize("uri", ["file:///etc/passwd", "s3://bucket/bg/x.png", "bg/x.png",
                                 "ROOT/../outside.png", "ROOT/.tmp-0123"])
def test_local_key_of_rejects_uris_from_elsewhere(tmp_path: Path, uri: str) -> None:
    store = LocalMediaStore(tmp_path / "media")
    with pytest.raises(ValueError):
        store.key_of(uri.replace("ROOT", store.root.as_uri()))


def test_local_reput_is_a_no_op_and_new_content_gets_a_new_key(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path / "media")
    src = _file(tmp_path, b"v1")
    first = store.put_file("video", "SKU-1", src, ext="mp4", content_type="video/mp4")
    before = os.stat(store.local_path(first.key))

    again = store.put_file("video", "SKU-1", src, ext="mp4", content_type="video/mp4")
    after = os.stat(store.local_path(first.key))
    assert again == first
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)

    second = store.put_file("video", "SKU-1", _file(tmp_path, b"v2"), ext="mp4",
                            content_type="video/mp4")
    assert second.key != first.key
    assert [p.name for p in _files_under(tmp_path / "media")] == sorted(
        [Path(first.key).name, Path(second.key).name])  # no temp files left either


def _temp_sizes(root: Path) -> list[int]:
    return [p.stat().st_size for p in root.rglob(".tmp-*")]


def _break_source_reads(monkeypatch: pytest.MonkeyPatch, src: Path, budget: int,
                        root: Path) -> list[int]:
    """Make reads of ``src`` fail with EIO once ``budget`` bytes were read in total; returns
    the temp file sizes seen under ``root`` at that moment."""
    real_open, left, seen = Path.open, [budget], []

    class Breaking:
        def __init__(self, f) -> None:
            self._f = f

        def __enter__(self) -> Breaking:
            return self

        def __exit__(self, *exc: object) -> None:
            self._f.close()

        def read(self, n: int = -1) -> bytes:
            if left[0] <= 0:
                seen.extend(_temp_sizes(root))
                raise OSError(errno.EIO, "simulated crash mid-read")
            data = self._f.read(n)
            left[0] -= len(data)
            return data

    monkeypatch.setattr(Path, "open", lambda self, *a, **kw: (
        Breaking(real_open(self, *a, **kw)) if self == src else real_open(self, *a, **kw)))
    return seen


def test_local_source_failing_mid_copy_leaves_no_object_and_no_temp_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "media"
    store = LocalMediaStore(root)
    data = os.urandom(3 * MiB)
    src = _file(tmp_path, data)
    # The store reads src twice (hash, then copy): this budget breaks the copy 1 MiB in.
    seen = _break_source_reads(monkeypatch, src, len(data) + MiB, root)

    with pytest.raises(OSError, match="simulated"):
        store.put_file("video", "SKU-1", src, ext="mp4", content_type="video/mp4")

    assert seen == [MiB]  # the crash hit a partial temp file ...
    assert _files_under(root) == []  # ... which is gone, and nothing was published
    monkeypatch.undo()
    assert store.get_bytes(store.put_file("video", "SKU-1", src, ext="mp4",
                                          content_type="video/mp4").key) == data


def test_local_failed_fsync_leaves_no_object_and_no_temp_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "simulated disk failure")

    store = LocalMediaStore(tmp_path / "media")
    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="simulated"):
        store.put_file("video", "SKU-1", _file(tmp_path, b"x" * MiB), ext="mp4",
                       content_type="video/mp4")
    assert _files_under(tmp_path / "media") == []


# Hangs in fsync, i.e. after writing every byte to the temp file but before the rename.
_WRITER_KILLED_BEFORE_RENAME = """
import os, sys, time
from pathlib import Path
from wan_dagster.core.store import LocalMediaStore
os.fsync = lambda fd: time.sleep(600)
LocalMediaStore(Path(sys.argv[1])).put_file("video", "SKU-1", Path(sys.argv[2]), ext="mp4",
                                            content_type="video/mp4")
"""


def _wait_for_temp_of_size(root: Path, size: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 15
    while _temp_sizes(root) != [size]:
        assert proc.poll() is None and time.monotonic() < deadline, "writer never got there"
        time.sleep(0.01)


def test_local_writer_killed_before_rename_never_publishes(tmp_path: Path) -> None:
    """SIGKILL with every byte in the temp file: the final name never exists, the leftover temp
    file is hidden and no key can address it, and a later put publishes normally."""
    root = tmp_path / "media"
    data = os.urandom(2 * MiB)
    src = _file(tmp_path, data)
    proc = subprocess.Popen([sys.executable, "-c", _WRITER_KILLED_BEFORE_RENAME, str(root),
                             str(src)])
    try:
        _wait_for_temp_of_size(root, len(data), proc)
    finally:
        proc.kill()
        proc.wait(timeout=10)

    store = LocalMediaStore(root)
    key = media_key("video", "SKU-1", hashlib.sha256(data).hexdigest(), "mp4")
    [temp] = _files_under(root)
    assert temp.name.startswith(".tmp-") and not store.exists(key)
    with pytest.raises(ValueError):
        store.get_bytes(str(temp.relative_to(root)))
    assert store.put_file("video", "SKU-1", src, ext="mp4", content_type="video/mp4").key == key
    assert store.get_bytes(key) == data


def test_local_nasty_skus_stay_under_root_and_apart(tmp_path: Path) -> None:
    root = tmp_path / "media"
    store = LocalMediaStore(root)
    src = _file(tmp_path, b"same bytes for every SKU")
    keys = [store.put_file("bg", sku, src, ext="png", content_type="image/png").key
            for sku in NASTY_SKUS]

    assert len(set(keys)) == len(NASTY_SKUS)
    for key in keys:
        path = store.local_path(key)
        assert path.resolve().is_relative_to(root.resolve()), key
        assert path.parent.parent == root / "bg" and KEY.fullmatch(key)
    assert len(_files_under(root)) == len(NASTY_SKUS)
    assert sorted(tmp_path.iterdir()) == sorted([root, src])  # nothing escaped the root


@pytest.mark.parametrize("key", ["../outside", "/etc/passwd", "bg/../../x", "bg//x", "",
                                 "bg/.tmp-0123", "bg\\..\\x", "bg/x\x00"])
def test_local_rejects_keys_that_could_escape(tmp_path: Path, key: str) -> None:
    store = LocalMediaStore(tmp_path / "media")
    with pytest.raises(ValueError):
        store.get_bytes(key)
    with pytest.raises(ValueError):
        store.exists(key)


@pytest.mark.parametrize("asset, ext", [("../up", "png"), ("/abs", "png"), ("bg/..", "png"),
                                        ("", "png"), ("bg", ".png"), ("bg", "png/../x"),
                                        ("bg", "")])
def test_local_rejects_bad_asset_or_ext_before_writing(
        tmp_path: Path, asset: str, ext: str) -> None:
    store = LocalMediaStore(tmp_path / "media")
    with pytest.raises(ValueError):
        store.put_file(asset, "SKU-1", _file(tmp_path, b"x"), ext=ext, content_type="image/png")
    assert _files_under(tmp_path / "media") == []


def test_local_download_and_missing_key(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path / "media")
    stored = store.put_file("bg", "SKU-1", _file(tmp_path, b"img"), ext="png",
                            content_type="image/png")
    dest = tmp_path / "out" / "copy.png"
    store.download_to(stored.key, dest)
    assert dest.read_bytes() == b"img" and list(dest.parent.iterdir()) == [dest]

    missing = media_key("bg", "SKU-1", "0" * 64, "png")
    assert not store.exists(missing)
    with pytest.raises(FileNotFoundError):
        store.get_bytes(missing)


# --- S3 store (moto server on loopback) --------------------------------------------------------

@pytest.fixture
def sent_puts(s3_client: BaseClient) -> Iterator[list[dict[str, str]]]:
    """Headers of every PutObject request the shared client sends during the test."""
    sent: list[dict[str, str]] = []

    def on_send(request, **_: object) -> None:
        sent.append({k.lower(): v.decode() if isinstance(v, bytes) else v
                     for k, v in request.headers.items()})

    s3_client.meta.events.register("before-send.s3.PutObject", on_send)
    yield sent
    s3_client.meta.events.unregister("before-send.s3.PutObject", on_send)


@pytest.mark.parametrize("prefix", ["", "/wan/run-1/"])
def test_s3_put_get_exists_uri(tmp_path: Path, s3_client: BaseClient, s3_bucket: str,
                               s3_endpoint_url: str, prefix: str) -> None:
    assert s3_endpoint_url.startswith("http://127.0.0.1:")
    store = S3MediaStore(s3_client, s3_bucket, prefix)
    data = os.urandom(2 * MiB + 3)
    stored = store.put_file("video", "SKU-1", _file(tmp_path, data), ext="mp4",
                            content_type="video/mp4")

    digest = hashlib.sha256(data).hexdigest()
    object_key = f"wan/run-1/{stored.key}" if prefix else stored.key
    assert stored == StoredMedia(f"s3://{s3_bucket}/{object_key}",
                                 media_key("video", "SKU-1", digest, "mp4"),
                                 len(data), digest, "video/mp4")
    assert store.uri(stored.key) == stored.uri and store.local_path(stored.key) is None
    assert store.key_of(stored.uri) == stored.key
    for foreign in (f"s3://other-bucket/{object_key}", f"file:///{object_key}",
                    f"s3://{s3_bucket}/../{object_key}"):
        with pytest.raises(ValueError):
            store.key_of(foreign)
    assert store.exists(stored.key) and store.get_bytes(stored.key) == data
    head = s3_client.head_object(Bucket=s3_bucket, Key=object_key)
    assert (head["ContentType"], head["ContentLength"]) == ("video/mp4", len(data))

    dest = tmp_path / "out" / "video.mp4"
    store.download_to(stored.key, dest)
    assert dest.read_bytes() == data and list(dest.parent.iterdir()) == [dest]
    assert isinstance(store, MediaStore)


def test_s3_reput_is_a_no_op_and_put_carries_the_sha256(
        tmp_path: Path, s3_client: BaseClient, s3_bucket: str,
        sent_puts: list[dict[str, str]]) -> None:
    store = S3MediaStore(s3_client, s3_bucket, "media")
    src = _file(tmp_path, b"png bytes")

    first = store.put_file("bg", "SKU-1", src, ext="png", content_type="image/png")
    again = store.put_file("bg", "SKU-1", src, ext="png", content_type="image/png")

    assert again == first and len(sent_puts) == 1  # one single PUT: atomic, and only once
    expected = base64.b64encode(hashlib.sha256(b"png bytes").digest()).decode()
    assert sent_puts[0]["x-amz-checksum-sha256"] == expected  # real S3 rejects mismatching bytes
    assert not {"x-amz-checksum-crc32", "x-amz-trailer"} & sent_puts[0].keys()  # no second checksum
    assert store.put_file("bg", "SKU-1", _file(tmp_path, b"other"), ext="png",
                          content_type="image/png").key != first.key


def test_s3_nasty_skus_get_distinct_keys_under_the_prefix(
        tmp_path: Path, s3_client: BaseClient, s3_bucket: str) -> None:
    store = S3MediaStore(s3_client, s3_bucket, "media")
    src = _file(tmp_path, b"same bytes")
    keys = {store.put_file("bg", sku, src, ext="png", content_type="image/png").key
            for sku in NASTY_SKUS}

    assert len(keys) == len(NASTY_SKUS) and all(KEY.fullmatch(k) for k in keys)
    listed = s3_client.list_objects_v2(Bucket=s3_bucket)["Contents"]
    assert {o["Key"] for o in listed} == {f"media/{k}" for k in keys}


def test_s3_missing_key(s3_client: BaseClient, s3_bucket: str, tmp_path: Path) -> None:
    store = S3MediaStore(s3_client, s3_bucket)
    missing = media_key("bg", "SKU-1", "0" * 64, "png")
    assert not store.exists(missing)
    with pytest.raises(FileNotFoundError):
        store.get_bytes(missing)
    with pytest.raises(FileNotFoundError):
        store.download_to(missing, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
    with pytest.raises(ValueError):
        store.exists("../x")
