"""Leases: how a live process proves, in the shared database, that it still holds something.

An attempt (in the ledger) or an account slot (in ``account_limits``) is held by an *owner*
token until its lease lapses. The holder renews every lease it holds from a heartbeat thread,
so a process that is killed, frozen or cut off loses them within one lease, and anyone may
then take over. A thread (not an asyncio task) beats even while the event loop is busy.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable

log = logging.getLogger(__name__)

#: Environment variable that sets the lease length in seconds (every process of a deployment
#: should use the same value: a takeover waits this long after its holder died).
LEASE_ENV = "WAN_DAGSTER_LEASE_SECONDS"
DEFAULT_LEASE_S = 30.0


def lease_seconds() -> float:
    """The lease length: ``$WAN_DAGSTER_LEASE_SECONDS`` or 30 s."""
    value = os.environ.get(LEASE_ENV)
    if not value:
        return DEFAULT_LEASE_S
    seconds = float(value)
    if seconds <= 0:
        raise ValueError(f"{LEASE_ENV} must be a positive number of seconds, not {value!r}")
    return seconds


def new_owner(kind: str) -> str:
    """A token naming one holder: readable (host, pid) for people, unique (random) for us."""
    return f"{kind}:{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class Heartbeat:
    """Calls ``beat`` every ``interval`` seconds on a daemon thread until ``stop``. A failing
    beat is logged and retried at the next interval (the database may be briefly away)."""

    def __init__(self, beat: Callable[[], object], interval: float, name: str):
        self._beat = beat
        self._interval = max(interval, 0.05)  # a zero-length lease must not spin
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                self._beat()
            except Exception:  # noqa: BLE001 - the next beat retries; the lease is long
                log.warning("lease heartbeat failed; retrying", exc_info=True)
