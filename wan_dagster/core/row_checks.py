"""Check many catalog rows on every core.

Checking a row the cache does not know is per-row Python (building its validation-only
requests), so threads share one core under the GIL. A load with many such rows checks them in
worker processes instead; a small one keeps threads, where starting processes (each imports
the catalog's modules) would cost more than it saves.

Workers are started with "forkserver" (or "spawn" where there is none), never "fork": loads run
inside Dagster run workers and sensor daemons, which have threads. Each worker opens its own
checker once (a picklable ``opener`` builds it: its own validation cache for the same
database) and checks chunks of rows; after each chunk it flushes what it learnt, so a load cut
short keeps the finished chunks' work. Results come back in the items' order. If a worker
dies (killed, crashed in native code, or it could not start: a caller's main script that
loads a catalog without an ``if __name__ == "__main__"`` guard is run again in each worker),
the rows left are checked in this process, with a warning, rather than the load hanging or
failing. No Dagster imports.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.forkserver
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar

__all__ = ["PROCESS_MIN_ROWS", "ROW_PROCESSES", "ROW_THREADS", "Checker", "checked_in_chunks",
           "expect"]

_log = logging.getLogger(__name__)

#: Threads checking rows at once in this process (image reads and downloads release the GIL).
ROW_THREADS = min(8, os.cpu_count() or 1)
#: Worker processes of a large load: one per core, up to a bound (each holds its own caches).
ROW_PROCESSES = min(8, os.cpu_count() or 1)
#: Fewer rows to check than this stay in this process: a worker's start (seconds of imports)
#: would cost more than the second core saves.
PROCESS_MIN_ROWS = 4000

_T = TypeVar("_T")
_R = TypeVar("_R")


class Checker(Protocol[_T, _R]):
    """Checks one item at a time (from several threads at once) and stores what it learnt."""

    def check(self, item: _T) -> _R: ...

    def flush(self) -> None: ...


def checked_in_chunks(items: Sequence[_T], here: Checker[_T, _R],
                      opener: Callable[[], Checker[_T, _R]] | None, *, chunk: int,
                      processes: int | None = None) -> Iterator[list[_R]]:
    """Each chunk of (up to) ``chunk`` items' results, in order, each chunk flushed before it
    is yielded. ``processes``: None picks ``ROW_PROCESSES`` when there are at least
    ``PROCESS_MIN_ROWS`` items, else 1; 1 checks with ``here`` on threads of this process;
    more needs ``opener`` (picklable: it builds each worker's checker), else threads too."""
    processes = _processes(len(items), opener, processes)
    if opener is None or processes <= 1:
        yield from _in_threads(items, here, chunk)
    else:  # a few items are shared out too, rather than all left to one worker
        yield from _in_processes(items, here, opener, min(chunk, -(-len(items) // processes)),
                                 processes)


def expect(count: int, opener: Callable[[], Checker[Any, Any]] | None,
           processes: int | None = None) -> threading.Thread | None:
    """Say early that ``checked_in_chunks`` will get at least ``count`` items (with the same
    ``opener`` and ``processes``): if they will go to worker processes, the forkserver they
    are forked from starts now, on the thread returned (it imports the catalog's modules: a
    second or more), while the caller goes on with its own work. None: nothing to start."""
    if opener is None or _processes(count, opener, processes) <= 1 \
            or _context(opener).get_start_method() != "forkserver":
        return None
    starting = threading.Thread(target=multiprocessing.forkserver.ensure_running, daemon=True,
                                name="row-checks-forkserver")
    starting.start()
    return starting


def _processes(count: int, opener: Callable[[], Checker[Any, Any]] | None,
               processes: int | None) -> int:
    """How many worker processes check ``count`` items (1: threads of this process)."""
    if processes is None:
        processes = ROW_PROCESSES if count >= PROCESS_MIN_ROWS else 1
    return processes if opener is not None and count >= 2 else 1


def _context(opener: Callable[[], Checker[Any, Any]]) -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        # imported once in the server, so each worker forked from it starts without imports
        context.set_forkserver_preload([type(opener).__module__])
        return context
    return multiprocessing.get_context("spawn")


def _in_threads(items: Sequence[_T], checker: Checker[_T, _R], chunk: int
                ) -> Iterator[list[_R]]:
    with ThreadPoolExecutor(max_workers=ROW_THREADS) as pool:
        for start in range(0, len(items), chunk):
            results = list(pool.map(checker.check, items[start:start + chunk]))
            checker.flush()
            yield results


def _in_processes(items: Sequence[_T], here: Checker[_T, _R],
                  opener: Callable[[], Checker[_T, _R]], chunk: int, processes: int
                  ) -> Iterator[list[_R]]:
    pool = ProcessPoolExecutor(max_workers=processes, mp_context=_context(opener),
                               initializer=_open, initargs=(opener,))
    done = 0  # chunks whose results were yielded
    try:
        futures: list[Future[list[_R]]] = [pool.submit(_check_chunk, items[start:start + chunk])
                                           for start in range(0, len(items), chunk)]
        for future in futures:
            try:
                results = future.result()
            except BrokenProcessPool:
                break
            done += 1
            yield results
    finally:  # also when the caller stops early: queued chunks are not checked
        pool.shutdown(wait=True, cancel_futures=True)
    if done < len(futures):
        left = items[done * chunk:]
        _log.warning("a worker process checking rows ended abruptly (killed, crashed in native "
                     "code, or it could not start) after %d of %d chunks; the %d rows left are "
                     "checked in this process", done, len(futures), len(left))
        yield from _in_threads(left, here, chunk)


#: This worker process's checker, opened once by the pool's initializer.
_checker: Any = None


def _open(opener: Callable[[], Checker[Any, Any]]) -> None:
    global _checker
    _checker = opener()


def _check_chunk(items: Sequence[Any]) -> list[Any]:
    results = [_checker.check(item) for item in items]
    _checker.flush()
    return results
