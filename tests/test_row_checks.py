"""Rows the cache does not know are checked in worker processes when there are many: each
worker stores what it learns in the shared database, so a second load (another process) reuses
it, and a worker that dies leaves its rows to the loading process instead of hanging it."""

from __future__ import annotations

import multiprocessing.forkserver
import os
import shutil
from pathlib import Path

import pytest

from wan_dagster.core.catalog import load_catalog
from wan_dagster.core.image_verdicts import ValidationCache
from wan_dagster.core.ledger import Ledger
from wan_dagster.core.row_checks import PROCESS_MIN_ROWS, checked_in_chunks, expect

DATA = Path(__file__).resolve().parent.parent / "data"


def sample_catalog(folder: Path) -> Path:
    """The sample catalog's rows and images, copied into ``folder``."""
    shutil.copytree(DATA, folder, dirs_exist_ok=True)
    return folder / "catalog.csv"


def test_rows_checked_in_workers_are_stored_for_the_next_load(ledger_url: str,
                                                              tmp_path: Path) -> None:
    catalog = sample_catalog(tmp_path / "data")
    in_workers = load_catalog(catalog, cache=ValidationCache(Ledger(ledger_url)), processes=2)
    checked = in_workers.row_count  # every row checked, none known before

    again = ValidationCache(Ledger(ledger_url))  # what another process would see
    reloaded = load_catalog(catalog, cache=again, processes=2)
    assert reloaded.products == in_workers.products
    assert reloaded.errors == in_workers.errors
    # the rows whose cells passed were checked in the workers, and are now all known
    assert again.stats["row_misses"] == 0
    assert 0 < again.stats["row_hits"] <= checked
    assert again.stats["decodes"] == 0 and again.stats["file_reads"] == 0


class _Checker:
    """Checks by squaring, ends its process at ``fatal``, and on ``flush`` writes the items it
    checked since as one line of ``flushed`` (with its process id)."""

    def __init__(self, fatal: int | None, flushed: Path | None):
        self.fatal, self.flushed, self.pending = fatal, flushed, []

    def check(self, item: int) -> int:
        if item == self.fatal:
            os._exit(1)  # as a worker killed by the kernel, or crashed in native code
        self.pending.append(item)
        return item * item

    def flush(self) -> None:
        if self.flushed is not None:
            with self.flushed.open("a") as out:
                out.write(f"{os.getpid()} {' '.join(map(str, self.pending))}\n")
        self.pending = []


class _Opener:
    def __init__(self, fatal: int | None = None, flushed: Path | None = None):
        self.fatal, self.flushed = fatal, flushed

    def __call__(self) -> _Checker:
        return _Checker(self.fatal, self.flushed)


def test_chunks_come_back_in_order_each_flushed_by_its_worker(tmp_path: Path) -> None:
    items = list(range(50))
    flushed = tmp_path / "flushed"
    chunks = list(checked_in_chunks(items, _Checker(None, None), _Opener(flushed=flushed),
                                    chunk=7, processes=2))
    assert [result for chunk in chunks for result in chunk] == [i * i for i in items]
    assert all(len(chunk) <= 7 for chunk in chunks)
    lines = [line.split() for line in flushed.read_text().splitlines()]
    assert str(os.getpid()) not in {pid for pid, *_ in lines}, "checked in worker processes"
    assert sorted(tuple(map(int, stored)) for _, *stored in lines) == [
        tuple(items[start:start + 7]) for start in range(0, 50, 7)]


def test_the_rows_a_dead_worker_leaves_are_checked_in_this_process(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    items = list(range(50))
    flushed = tmp_path / "flushed"
    chunks = list(checked_in_chunks(items, _Checker(None, flushed), _Opener(30, flushed),
                                    chunk=7, processes=2))
    assert [result for chunk in chunks for result in chunk] == [i * i for i in items]
    assert "ended abruptly" in caplog.text
    here = [stored for pid, *stored in map(str.split, flushed.read_text().splitlines())
            if pid == str(os.getpid())]
    assert "30" in [item for stored in here for item in stored]


def test_a_load_that_will_need_workers_starts_their_forkserver_early() -> None:
    """Said early (while the loading process still hashes images), the forkserver the workers
    are forked from starts in the background; a load that will check on threads starts none."""
    assert expect(PROCESS_MIN_ROWS - 1, _Opener()) is None
    assert expect(PROCESS_MIN_ROWS, None) is None
    assert expect(PROCESS_MIN_ROWS, _Opener(), processes=1) is None
    starting = expect(PROCESS_MIN_ROWS, _Opener())
    assert starting is not None
    starting.join()
    server = multiprocessing.forkserver._forkserver  # type: ignore[attr-defined]
    assert server._forkserver_pid is not None
    items = list(range(20))  # and workers are forked from it
    chunks = checked_in_chunks(items, _Checker(None, None), _Opener(), chunk=7, processes=2)
    assert [result for chunk in chunks for result in chunk] == [i * i for i in items]
