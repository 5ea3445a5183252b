"""What validating a catalog learned, kept in the ledger's database so that no process or run
learns it twice: each local file's content hash (by its stat), each image content's decode
verdict, and each row's verdict (its problems, or its fingerprints).

A 100k-row catalog names tens of thousands of image files, most of them unchanged since the
last load; decoding them is most of what validating costs. Here:

- ``file_sha256``: the sha256 of a file, reread only when its (size, mtime_ns, inode) changed;
- ``verdict``: ``dashscope.validation.DecodeVerdicts``, the decode verdict per content
  (installed with ``dashscope.validation.decode_verdicts``), under ``DECODE_VERSION``;
- ``remembered``: what checking one content under one rule found, in memory for the load;
- ``rows``/``put_row``: a row's outcome by a key of everything it depends on (the catalog
  computes it, with ``RULES_VERSION`` in it).

Reads happen once per load (``refresh``, ``rows``); writes are buffered and written in one
transaction per ``flush``. Every entry is content-addressed or keyed by the file's identity, so
racing writers agree: the first one wins, the others' inserts are ignored.

Keys change with every release (``RULES_VERSION``), recipe and catalog edit, and files leave
catalogs: a row verdict and a file hash carry a UTC day no later than the last one a load used
them on (rewritten once a week while in use, in the load's own ``flush``: see ``pruning``),
and the first flush of a day in a database deletes those not used for ``keep_days``
(``pruning.KEEP_DAYS``) and the decode verdicts of another ``DECODE_VERSION``. A load then
checks again what was deleted. No Dagster imports.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import PIL
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..dashscope.image_integrity import DecodeVerdict
from .ledger import Ledger
from .per_database import KEYS_PER_QUERY, PerDatabase, insert_into
from .pruning import (KEEP_DAYS, add_day_column, create_pruned_table, day_to_store,
                      last_day_due, prune_before, prune_due, utc_day)

__all__ = ["DECODE_VERSION", "RULES_VERSION", "ValidationCache"]

_PACKAGE = Path(__file__).resolve().parent.parent


def _sources_version(*modules: str, extra: str = "") -> str:
    """A hash of the code that decides a verdict: any edit to it (a rule, a registry fact, a
    builder) makes every cached verdict of that kind stale, without anyone bumping a number."""
    digest = hashlib.sha256(extra.encode())
    for module in modules:
        digest.update((_PACKAGE / module).read_bytes())
    return digest.hexdigest()[:16]


#: Decoding depends on the decoder, on how it is read (``image_integrity``) and on how
#: ``check_image`` reads its result.
DECODE_VERSION = _sources_version("dashscope/image_integrity.py", "dashscope/validation.py",
                                  extra=f"Pillow {PIL.__version__}")
#: A row's verdict depends on the catalog's rules, the plan, the builders and the registry.
RULES_VERSION = _sources_version(
    "core/catalog.py", "core/plan.py", "core/product.py", "core/sources.py",
    "dashscope/registry.py", "dashscope/requests.py", "dashscope/inputs.py",
    "dashscope/validation.py", extra=DECODE_VERSION)

_metadata = sa.MetaData()
file_hashes_table = sa.Table(
    "wan_file_hashes", _metadata,
    # sha256 of the path: a path may be longer than a Postgres index entry may be
    sa.Column("path_key", sa.String(64), primary_key=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mtime_ns", sa.BigInteger, nullable=False),
    sa.Column("inode", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("used", sa.Integer, nullable=False, index=True),  # ``pruning.day_to_store``
)
image_verdicts_table = sa.Table(
    "wan_image_verdicts", _metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("version", sa.String(16), primary_key=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("transparent", sa.Boolean, nullable=False),
)
row_verdicts_table = sa.Table(
    "wan_row_verdicts", _metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("verdict", sa.Text, nullable=False),
    sa.Column("used", sa.Integer, nullable=False, index=True),  # ``pruning.day_to_store``
)

_Stat = tuple[int, int, int]  # size, mtime_ns, inode
_File = tuple[_Stat, str, int]  # stat, sha256, stored day
_T = TypeVar("_T")


class ValidationCache(PerDatabase):
    """The validation cache in one ledger database (``for_url``: one per URL and process).
    Thread-safe: the catalog's row workers share it. ``keep_days``: how long an entry no load
    uses is kept; ``today``: the day it is now (``pruning.utc_day``)."""

    def __init__(self, ledger: Ledger, *, keep_days: int = KEEP_DAYS,
                 today: Callable[[], int] = utc_day):
        super().__init__(ledger)
        self._keep_days = keep_days
        self._today = today
        ledger.create_tables(_metadata, then=lambda conn: _add_later_columns(conn, today()))
        self._lock = threading.Lock()
        self._day = today()  # the day of the last ``refresh``
        self._last_due = last_day_due(self._day)  # stored days up to this one are rewritten
        self._pruned_on: int | None = None  # the day this process found pruning done
        self._files: dict[str, _File] = {}
        self._decoded: dict[str, DecodeVerdict] = {}
        self._decoding: dict[str, threading.Lock] = {}  # content being decoded -> its lock
        self._new_files: dict[str, tuple[_Stat, str]] = {}
        self._new_decoded: dict[str, DecodeVerdict] = {}
        self._new_rows: dict[str, str] = {}
        # the files and rows used whose stored day is due to be rewritten (at the next ``flush``)
        self._used_files: set[str] = set()
        self._used_rows: set[str] = set()
        self._remembered: dict[Hashable, Any] = {}
        self._this_load: dict[str, str] = {}  # path -> sha256, files looked at since refresh
        #: What was found where: ``decodes`` counts decode verdicts reached (cache misses), ``file_reads``
        #: files hashed, ``row_hits``/``row_misses`` rows answered or not by the cache.
        self.stats: Counter[str] = Counter()

    def __repr__(self) -> str:
        return f"ValidationCache({self._ledger!r})"

    # ------------------------------------------------------------------ loading and saving

    def refresh(self) -> None:
        """Read the file hashes and decode verdicts other processes stored (once per load)."""
        day = self._today()
        with self._ledger.transaction() as conn:
            files = {r.path: ((r.size, r.mtime_ns, r.inode), r.sha256, r.used)
                     for r in conn.execute(sa.select(file_hashes_table))}
            decoded = {r.sha256: DecodeVerdict(r.error, bool(r.transparent))
                       for r in conn.execute(sa.select(image_verdicts_table).where(
                           image_verdicts_table.c.version == DECODE_VERSION))}
        with self._lock:
            self._files.update(files)
            self._decoded.update(decoded)
            self._this_load = {}
            self._remembered = {}
            self._day, self._last_due = day, last_day_due(day)

    def flush(self) -> None:
        """Store what was learnt since the last flush, and the day of the entries used whose
        stored day was due, in one transaction; the day's first flush in the database also
        prunes (see the module's docstring)."""
        with self._lock:
            files, self._new_files = self._new_files, {}
            decoded, self._new_decoded = self._new_decoded, {}
            rows, self._new_rows = self._new_rows, {}
            used_files, self._used_files = self._used_files, set()
            used_rows, self._used_rows = self._used_rows, set()
        if not (files or decoded or rows or used_files or used_rows):
            return
        today = self._today()
        with self._ledger.transaction(write=True) as conn:
            _upsert(conn, file_hashes_table, [
                {"path_key": _path_key(path), "path": path, "size": st[0], "mtime_ns": st[1],
                 "inode": st[2], "sha256": sha, "used": day_to_store(_path_key(path), today)}
                for path, (st, sha) in files.items()], replace=True)
            _upsert(conn, image_verdicts_table, [
                {"sha256": sha, "version": DECODE_VERSION, "error": v.error,
                 "transparent": v.transparent} for sha, v in decoded.items()])
            _upsert(conn, row_verdicts_table, [
                {"key": key, "verdict": verdict, "used": day_to_store(key, today)}
                for key, verdict in rows.items()])
            _mark_used(conn, file_hashes_table, map(_path_key, used_files), today)
            _mark_used(conn, row_verdicts_table, used_rows, today)
            if self._pruned_on != today:
                self._prune(conn, today)
        self._pruned_on = today

    def _prune(self, conn: Connection, today: int) -> None:
        """Delete what no load used for ``keep_days`` and the decode verdicts of another
        ``DECODE_VERSION``, unless a process did today."""
        if not prune_due(conn, "validation cache", today):
            return
        cutoff = prune_before(today, self._keep_days)
        conn.execute(file_hashes_table.delete().where(file_hashes_table.c.used < cutoff))
        conn.execute(row_verdicts_table.delete().where(row_verdicts_table.c.used < cutoff))
        conn.execute(image_verdicts_table.delete().where(
            image_verdicts_table.c.version != DECODE_VERSION))
        with self._lock:  # else this process would count on them and never store them again
            self._files = {path: known for path, known in self._files.items()
                           if known[2] >= cutoff}

    # ------------------------------------------------------------------ file content hashes

    def file_sha256(self, path: str) -> str:
        """The sha256 of the regular file at ``path`` (a real path), read only when its size,
        mtime or inode differ from the last time it was hashed. Within one load (until the
        next ``refresh``) a file is looked at once: every row naming it sees the same content,
        and the row workers make no system call for it again (each one would wait for the GIL
        behind the others). OSError if it cannot be read or is not a regular file."""
        known_now = self._this_load.get(path)
        if known_now is not None:
            return known_now
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{path!r} is not a regular file")
        identity = (info.st_size, info.st_mtime_ns, info.st_ino)
        with self._lock:
            known = self._files.get(path)
        if known is not None and known[0] == identity:
            if known[2] <= self._last_due:  # its day is stored again at the next flush
                with self._lock:
                    self._files[path] = (identity, known[1], self._day)
                    self._used_files.add(path)
            self._this_load[path] = known[1]
            return known[1]
        digest = _hash_file(path)
        with self._lock:
            self.stats["file_reads"] += 1
            self._files[path] = (identity, digest, self._day)
            self._new_files[path] = (identity, digest)
            self._this_load[path] = digest
        return digest

    # ------------------------------------------------------------------ decode verdicts

    def verdict(self, sha256: str, decode: Callable[[], DecodeVerdict]) -> DecodeVerdict:
        """The stored verdict, else ``decode()``'s; threads asking for the same content at
        once wait for one decode (rows share images)."""
        with self._lock:
            known = self._decoded.get(sha256)
            if known is not None:
                return known
            decoding = self._decoding.setdefault(sha256, threading.Lock())
        with decoding:
            with self._lock:
                known = self._decoded.get(sha256)
            if known is None:
                known = decode()
                with self._lock:
                    self.stats["decodes"] += 1
                    self._decoded[sha256] = self._new_decoded[sha256] = known
                    self._decoding.pop(sha256, None)
        return known

    def remembered(self, key: Hashable, compute: Callable[[], _T]) -> _T:
        """``compute()``'s result for ``key``, computed once per load (until the next
        ``refresh``; two threads racing both compute it: ``key`` names content and a rule, so
        they agree). Kept in memory only: once the decode verdict is stored it is as cheap to
        recompute as to read, and a load whose rows are known asks for none."""
        try:
            return self._remembered[key]  # type: ignore[no-any-return]
        except KeyError:
            value = self._remembered[key] = compute()
            return value

    # ------------------------------------------------------------------ row verdicts

    def rows(self, keys: Iterable[str]) -> dict[str, tuple[list[tuple[str, str]], dict[str, str]]]:
        """The stored verdicts of those ``keys`` that have one: key -> ``(problems,
        fingerprints)``. Those whose stored day is due are stored again at the next flush."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, tuple[list[tuple[str, str]], dict[str, str]]] = {}
        to_refresh: list[str] = []
        due = last_day_due(self._today())
        t = row_verdicts_table
        with self._ledger.transaction() as conn:
            for start in range(0, len(wanted), KEYS_PER_QUERY):
                chunk = wanted[start:start + KEYS_PER_QUERY]
                stored = conn.execute(sa.select(t.c.key, t.c.verdict, t.c.used)
                                      .where(t.c.key.in_(chunk))).all()
                found.update((key, _parse_verdict(verdict)) for key, verdict, _ in stored)
                to_refresh += [key for key, _, used in stored if used <= due]
        if to_refresh:
            with self._lock:
                self._used_rows.update(to_refresh)
        self.stats["row_hits"] += len(found)
        self.stats["row_misses"] += len(wanted) - len(found)
        return found

    def put_row(self, key: str, problems: list[tuple[str, str]], prints: Mapping[str, str]
                ) -> None:
        with self._lock:
            self._new_rows[key] = _verdict_text(problems, prints)


def _add_later_columns(conn: Connection, today: int) -> None:
    """Bring tables created by an older release up to date: their entries count as used
    ``today``."""
    for table in (file_hashes_table, row_verdicts_table):
        add_day_column(conn, table, "used", today)
    create_pruned_table(conn)


def _mark_used(conn: Connection, table: sa.Table, keys: Iterable[str], today: int) -> None:
    """Set the day of ``table``'s entries of these primary ``keys`` to ``today``; in key order,
    so that two loads marking the same entries lock them in the same order (Postgres)."""
    (key,) = table.primary_key.columns
    wanted = sorted(keys)
    for start in range(0, len(wanted), KEYS_PER_QUERY):
        conn.execute(table.update().where(key.in_(wanted[start:start + KEYS_PER_QUERY]))
                     .values(used=today))


def _verdict_text(problems: list[tuple[str, str]], prints: Mapping[str, str]) -> str:
    """A row's verdict as stored: for most rows (no problem) ``asset=fingerprint`` lines, which
    read back several times faster than JSON; else JSON, a list: it starts with "[", which the
    line form never does."""
    if not problems and all("=" not in name and "\n" not in name + value and name[:1] != "["
                            for name, value in prints.items()):
        return "\n".join(f"{name}={value}" for name, value in sorted(prints.items()))
    return json.dumps([problems, prints], sort_keys=True, ensure_ascii=False)


def _parse_verdict(text: str) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """``(problems, fingerprints)`` from ``_verdict_text``'s form."""
    if text.startswith("["):
        problems, prints = json.loads(text)
        return [tuple(problem) for problem in problems], prints
    return [], dict(line.split("=", 1) for line in text.split("\n")) if text else {}


def _path_key(path: str) -> str:
    return hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()


def _hash_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _upsert(conn: Connection, table: sa.Table, rows: list[dict[str, Any]],
            replace: bool = False) -> None:
    """Insert ``rows``; on a key already there, keep it (content-addressed: the same value) or,
    with ``replace``, overwrite it (a file hashed again after it changed)."""
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    statement = insert_into(conn, table)
    if replace:
        statement = statement.on_conflict_do_update(
            index_elements=keys, set_={c.name: statement.excluded[c.name]
                                       for c in table.columns if c.name not in keys})
    else:
        statement = statement.on_conflict_do_nothing(index_elements=keys)
    conn.execute(statement, rows)
