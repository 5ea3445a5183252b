"""Searching everything a run leaves behind for a secret, including where a byte search cannot
see it: Dagster stores job snapshots and events zlib-compressed in its SQLite databases, and a
long value spans SQLite overflow pages, so the raw file never holds it in one piece.

Shared by the key-secrecy and fault-suite tests. Also: capturing every log record and every
byte written to file descriptors 1 and 2 while a run executes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sqlite3
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

#: Where a zlib (deflate with the usual windows) or gzip stream may start.
_STREAM_START = re.compile(rb"\x78[\x01\x5e\x9c\xda]|\x1f\x8b\x08")
_SQLITE = b"SQLite format 3\0"
#: Enough for any snapshot; bounds the work a hostile file could cause.
_MAX_INFLATED = 256 * 1024 * 1024


def needles(secret: str, width: int = 8) -> tuple[bytes, ...]:
    """The secret and every ``width`` consecutive characters of it: what a masked, truncated or
    partly echoed key would still show."""
    parts = {secret[i:i + width] for i in range(len(secret) - width + 1)}
    return tuple(part.encode() for part in [secret, *sorted(parts)])


def layers(data: bytes, depth: int = 2) -> Iterator[bytes]:
    """``data``, then every zlib or gzip stream in it decompressed (recursively to ``depth``)."""
    yield data
    if depth == 0:
        return
    for match in _STREAM_START.finditer(data):
        inflated = _inflate(data[match.start():])
        if inflated:
            yield from layers(inflated, depth - 1)


def _inflate(data: bytes) -> bytes | None:
    """The zlib or gzip stream at the start of ``data`` decompressed (trailing bytes ignored),
    or None."""
    try:
        return zlib.decompressobj(wbits=32 + zlib.MAX_WBITS).decompress(data, _MAX_INFLATED) \
            or None
    except zlib.error:
        return None


def sqlite_cells(path: Path) -> Iterator[bytes]:
    """Every text and blob value of every table of a SQLite file (its WAL merged), whole."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        tables = [row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, str):
                        yield value.encode()
                    elif isinstance(value, bytes):
                        yield value


def file_layers(path: Path) -> Iterator[bytes]:
    """What a reader of ``path`` could recover: its bytes, its SQLite cells, and every
    compressed stream in either, decompressed."""
    data = path.read_bytes()
    yield from layers(data)
    if data.startswith(_SQLITE):
        for cell in sqlite_cells(path):
            yield from layers(cell)


@dataclass(frozen=True)
class Scan:
    files: list[Path]  # every file searched
    hits: dict[Path, list[bytes]]  # file → the needles found in it
    inflated: int  # decompressed streams and SQLite cells searched (> 0: the scan went deep)


def scan(roots: Iterable[Path], found: tuple[bytes, ...]) -> Scan:
    """Search every file under ``roots`` for the ``found`` needles, in every layer."""
    files = sorted(p for root in roots for p in Path(root).rglob("*") if p.is_file())
    hits: dict[Path, list[bytes]] = {}
    inflated = 0
    for path in files:
        seen: set[bytes] = set()
        for number, layer in enumerate(file_layers(path)):
            inflated += number > 0
            seen |= {needle for needle in found if needle in layer}
        if seen:
            hits[path] = sorted(seen)
    return Scan(files, hits, inflated)


class Records(logging.Handler):
    """What caplog at DEBUG would hold: every record, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []
        self.names: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.names.add(record.name)


@contextlib.contextmanager
def captured(sink: Path) -> Iterator[Records]:
    """capfd and caplog for a module-scoped fixture, which cannot use those: file descriptors
    1 and 2 (and sys.stdout/stderr) into ``sink``, and every log record at DEBUG."""
    records = Records()
    root = logging.getLogger()
    level = root.level
    root.addHandler(records)
    root.setLevel(logging.DEBUG)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(sink, "wb") as out:
            os.dup2(out.fileno(), 1)
            os.dup2(out.fileno(), 2)
            with open(1, "w", closefd=False, buffering=1) as text, \
                    contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
                yield records
    finally:
        for fd, dup in zip((1, 2), saved):
            os.dup2(dup, fd)
            os.close(dup)
        root.removeHandler(records)
        root.setLevel(level)
