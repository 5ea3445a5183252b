"""Result and upload files, kept on disk rather than in memory: a rehearsal of thousands of
SKUs produces gigabytes of video."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath


class BlobStore:
    """Files under one directory, addressed by slash-separated keys."""

    def __init__(self, root: str | os.PathLike[str] | None = None):
        self._owned = root is None
        if root is None:
            root = tempfile.mkdtemp(prefix="dashscope-emulator-")
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        parts = PurePosixPath(key).parts
        if not parts or any(part in ("", ".", "..") or part.startswith("/") for part in parts):
            raise ValueError(f"bad blob key {key!r}")
        return self.root.joinpath(*parts)

    def put(self, key: str, data: bytes) -> None:
        """Write atomically: a reader sees the whole file or none of it."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except (OSError, ValueError):
            return None

    def delete(self, key: str) -> None:
        """Remove a file, or a whole directory of them; missing keys are fine."""
        path = self._path(key)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    def close(self) -> None:
        """Remove the directory if this store created it."""
        if self._owned:
            shutil.rmtree(self.root, ignore_errors=True)
