"""Per-account limits: submit rate and concurrency per model, and the account-wide 20 task
fetches/s, plus the task ids this process created.

One ``AccountState`` per (base URL, key, shared store) holds a submit window and a running-task
counter per model, one fetch window, the ids of tasks already created here and the creates still
awaiting theirs (so that reconciling a lost create never adopts a task that another thread or
client of this process owns, or may be about to own). Reservation is non-blocking
(``reserve`` returns how long to wait), so the sync client sleeps with ``time.sleep`` and the
async one with ``asyncio.sleep`` on the same state, whatever event loop it runs in.

By default the windows and counters live in this process. Given ``SharedLimits`` (the core
layer's ``AccountLimits`` keeps them in the ledger's database), every process and machine that
uses the same store shares them: the limits are the account's, not the process's.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import hashlib
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from .registry import FETCH_REQUESTS_PER_SECOND, Limits

#: Tasks per model kept queued at the service beyond its concurrency: the service starts a
#: queued task the moment a running one ends, so no slot idles while the client notices the
#: end and sends the next create. The service still runs at most ``concurrency`` at once.
SUBMIT_AHEAD = 1


@dataclass(frozen=True)
class Booking:
    """A booked moment: wait ``delay`` seconds, send, then hand it back to ``answered``.
    ``token`` is the window's own record of it."""

    delay: float
    token: Any


class SlidingWindow:
    """At most ``rate`` requests in any window of one second (``1/rate`` s for rates below 1).

    This is stricter than a token bucket, whose refill lets a burst plus the refill land in one
    window: the service counts requests per window, so that would earn 429s. ``book`` books
    the earliest free moment and says how long to wait for it, so callers queue fairly without
    spinning. A request reaches the service some time after its booked moment (a busy event
    loop, a slow network), so once it is ``answered`` its moment moves to the answer: it
    certainly arrived by then, and the window counts from there. ``margin`` absorbs the rest.
    """

    def __init__(self, rate: float, margin: float = 0.05):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.count = max(1, int(rate))
        self.window = self.count / rate + margin
        self._booked: list[float] = []  # sorted moments of the requests in the last window
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Book the earliest free moment; the seconds until it."""
        return self.book().delay

    def book(self) -> Booking:
        with self._lock:
            now = time.monotonic()
            while self._booked and self._booked[0] <= now - self.window:
                self._booked.pop(0)
            at = now
            if len(self._booked) >= self.count:
                at = max(now, self._booked[-self.count] + self.window)
            bisect.insort(self._booked, at)
            return Booking(at - now, at)

    async def book_async(self) -> Booking:
        """``book`` for a coroutine: a few list operations under a lock, so on the loop."""
        return self.book()

    def answered(self, booking: Booking) -> None:
        with self._lock:
            now = time.monotonic()
            if booking.token in self._booked and now > booking.token:
                self._booked.remove(booking.token)
                bisect.insort(self._booked, now)


class SlotCounter:
    """At most ``size`` holders at once. ``try_acquire`` never blocks; sync callers wait on the
    condition; async callers wait on a future of their own loop that a release resolves (a
    thousand coroutines waiting for a model's two slots cost nothing until one is freed)."""

    def __init__(self, size: int):
        self.size = size
        self._used = 0
        self._cond = threading.Condition()
        self._waiters: deque[_Waiter] = deque()

    @property
    def in_use(self) -> int:
        return self._used

    def try_acquire(self) -> bool:
        with self._cond:
            return self._take_locked()

    def acquire(self, timeout: float | None = None) -> bool:
        with self._cond:
            if not self._cond.wait_for(lambda: self._used < self.size, timeout):
                return False
            self._used += 1
            return True

    async def acquire_async(self) -> None:
        """Take a slot from a coroutine, in turn with the other coroutines waiting (a thread
        waiting at the same moment may take it first: then this one waits again)."""
        loop = asyncio.get_running_loop()
        while True:
            with self._cond:
                if self._take_locked():
                    return
                waiter = _Waiter(loop, loop.create_future())
                self._waiters.append(waiter)
            try:
                await waiter.woken
            except BaseException:
                with self._cond:
                    if waiter in self._waiters:
                        self._waiters.remove(waiter)
                    else:  # a release chose this waiter: the slot it freed goes to the next
                        self._wake_one_locked()
                raise

    def release(self) -> None:
        with self._cond:
            if self._used <= 0:
                raise RuntimeError("release without acquire")
            self._used -= 1
            self._cond.notify()
            self._wake_one_locked()

    def _take_locked(self) -> bool:
        if self._used < self.size:
            self._used += 1
            return True
        return False

    def _wake_one_locked(self) -> None:
        while self._waiters:
            if self._waiters.popleft().wake():
                return


@dataclass(eq=False)
class _Waiter:
    """A coroutine waiting for a slot: its loop, and the future a release resolves (from
    whatever thread releases)."""

    loop: asyncio.AbstractEventLoop
    woken: asyncio.Future[None]

    def wake(self) -> bool:
        """False if its loop is gone (the caller wakes the next waiter instead)."""
        try:
            self.loop.call_soon_threadsafe(self._resolve)
        except RuntimeError:  # the loop is closed
            return False
        return True

    def _resolve(self) -> None:
        if not self.woken.done():
            self.woken.set_result(None)


class Window(Protocol):
    """A rate limit (``SlidingWindow``'s ``book`` and ``answered``)."""

    def book(self) -> Booking: ...

    async def book_async(self) -> Booking:
        """``book`` from a coroutine, never blocking its event loop."""
        ...

    def answered(self, booking: Booking) -> None: ...


class Slots(Protocol):
    """A concurrency limit with ``SlotCounter``'s interface."""

    size: int

    def try_acquire(self) -> bool: ...

    def acquire(self, timeout: float | None = None) -> bool: ...

    async def acquire_async(self) -> None: ...

    def release(self) -> None: ...


class SharedLimits(Protocol):
    """Windows and slots that several processes share. ``key`` names the store (no secret);
    ``scope`` names one limit of one account, e.g. ``<account>:submit:<model>``."""

    key: str

    def window(self, scope: str, rate: float) -> Window: ...

    def slots(self, scope: str, size: int) -> Slots: ...


@dataclass
class ModelLimiter:
    limits: Limits
    submits: Window
    #: Tasks alive at once (running, or queued at the service): concurrency + SUBMIT_AHEAD.
    running: Slots
    #: One create of the model on the wire at a time (with its reconciliation, if its answer is
    #: lost): a reconciliation then meets no task of a create still being answered.
    creates: Slots


class AccountState:
    """One DashScope account as seen from this process; ``shared`` makes its limits the
    account's across processes, ``account`` (a hash, never the key) scopes them."""

    def __init__(self, fetch_per_second: float = FETCH_REQUESTS_PER_SECOND,
                 shared: SharedLimits | None = None, account: str = ""):
        self._shared = shared
        self._account = account
        self.fetches: Window = shared.window(f"{account}:fetch", fetch_per_second) \
            if shared else SlidingWindow(fetch_per_second)
        self._models: dict[str, ModelLimiter] = {}
        self._owned: set[str] = set()
        self._creating: Counter[str] = Counter()
        self._lock = threading.Lock()

    def own(self, task_id: str) -> None:
        with self._lock:
            self._owned.add(task_id)

    def owned(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._owned)

    @contextlib.contextmanager
    def creating(self, model: str) -> Iterator[None]:
        """Count a create of ``model`` as unresolved for the block: sent (or being recovered)
        and its task id not owned yet. Reconciling another create must not adopt a task that
        may be this one's."""
        with self._lock:
            self._creating[model] += 1
        try:
            yield
        finally:
            with self._lock:
                self._creating[model] -= 1

    def unresolved_creates(self, model: str) -> int:
        with self._lock:
            return self._creating[model]

    def model(self, name: str, limits: Limits) -> ModelLimiter:
        """The limiter of ``name``; the first caller's ``limits`` win for the process lifetime."""
        with self._lock:
            limiter = self._models.get(name)
            if limiter is None:
                alive = limits.concurrency + SUBMIT_AHEAD
                if self._shared is None:
                    limiter = ModelLimiter(limits, SlidingWindow(limits.submit_per_second),
                                           SlotCounter(alive), SlotCounter(1))
                else:
                    prefix = f"{self._account}:{name}"
                    limiter = ModelLimiter(
                        limits, self._shared.window(f"{prefix}:submit", limits.submit_per_second),
                        self._shared.slots(f"{prefix}:running", alive),
                        self._shared.slots(f"{prefix}:create", 1))
                self._models[name] = limiter
            return limiter


_ACCOUNTS: dict[tuple[str, str, str | None], AccountState] = {}
_ACCOUNTS_LOCK = threading.Lock()


def account_state(base_url: str, api_key: str,
                  fetch_per_second: float = FETCH_REQUESTS_PER_SECOND,
                  shared: SharedLimits | None = None) -> AccountState:
    """The process-wide state of the account behind ``api_key`` at ``base_url`` (limits kept
    in ``shared`` when given). Keyed by a hash so the key itself is never kept anywhere."""
    account = hashlib.sha256(f"{base_url.rstrip('/')} {api_key}".encode()).hexdigest()[:24]
    key = (base_url.rstrip("/"), account, shared.key if shared else None)
    with _ACCOUNTS_LOCK:
        state = _ACCOUNTS.get(key)
        if state is None:
            state = _ACCOUNTS[key] = AccountState(fetch_per_second, shared, account)
        return state
