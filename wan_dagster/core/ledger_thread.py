"""The ledger's calls off the event loop.

A ledger write commits with a sync to disk (an intent must survive a power cut) and may wait
for another process's write lock: milliseconds on a quiet disk, seconds on a busy one. Made
on the batch's event loop, each would stall every task of the batch (its polls, downloads and
hand-overs). ``LedgerThread`` runs them in one worker thread of its own, in the order they
are made, so the loop only awaits them. One thread is enough: SQLite serialises writers
anyway, and the pooled connections are not tied to the thread that opened them.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable

from .ledger import Ledger


class LedgerThread:
    """``await ledger_thread.begin(...)`` runs ``ledger.begin(...)`` in the worker thread; every
    ``Ledger`` method is available so. ``close`` waits for the calls already made."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="wan-ledger")

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self.ledger, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.get_running_loop().run_in_executor(
                self._pool, functools.partial(method, *args, **kwargs))

        return call

    async def run(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(ledger, *args)`` in the worker thread: for helpers that take the ledger
        and make several calls (``unknown_creates``)."""
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, functools.partial(function, self.ledger, *args))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
