"""The account's limits, shared by every process and machine that uses one ledger database.

DashScope limits the *account*: submits per second and running tasks per model, 20 task
fetches per second in all. Counters kept in each process let three runs send three times the
allowed rate. So the limits live in the ledger's database, as rows of ``wan_account_slots``:

- a **concurrency limit** of N is N slot rows; a process takes a free one (no holder, or a
  holder whose lease lapsed) for as long as its task runs, renews the lease from a heartbeat
  and frees the row when the task ends. A killed process's slots come back within one lease.
- a **rate limit** of R per second is ``max(1, R)`` rows, each the time its token is next free;
  booking one moves it a window ahead, and the answer to the request moves it to a window
  after the answer (the request certainly arrived by then), unless the answer came within
  half the window's margin of the booked moment, which the booking already covers. At most
  ``count`` requests arrive in any window: the same sliding window as
  ``dashscope.limits.SlidingWindow``, across processes.

Each booking or acquisition is one short write transaction, made in one worker thread per
process (``_worker``), in the order asked: a commit may wait for another process's write lock,
and made on a batch's event loop it would stall every task. The rows say nothing that must
outlive their processes, so on SQLite they commit without a sync to disk (``durable`` False):
visible to every process at once, but not paid for with a disk flush twice per task fetch. Bookings and acquisitions wait for their answer (an
async caller waits in a thread of its own); the answers and releases are queued and not
waited for, and any later booking or acquisition of this process comes after them. SQLite's
write lock serialises the transactions of several processes on one machine; on Postgres
``FOR UPDATE SKIP LOCKED`` lets racing processes pick different rows and a guarded
``UPDATE`` settles any remaining race. Times are epoch seconds on
one clock: the database server's on Postgres (machines need not agree), this machine's on
SQLite (which serves one machine). This is the only place that stores these rows.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import random
import threading
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ..dashscope.limits import Booking
from .leases import Heartbeat, lease_seconds, new_owner
from .ledger import Ledger

__all__ = ["AccountLimits", "slots_table"]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Per process (a forked child has none of its parent's threads): makes every slot and token
#: write of the process, one after the other.
_WORKERS: dict[int, ThreadPoolExecutor] = {}
_WORKERS_LOCK = threading.Lock()

#: How often a waiter looks for a free slot (with jitter), in seconds: a slot handed over
#: between processes idles half of this on average.
SLOT_POLL_S = 0.05

_metadata = sa.MetaData()
slots_table = sa.Table(
    "wan_account_slots", _metadata,
    sa.Column("scope", sa.String(200), primary_key=True),
    sa.Column("slot_no", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("holder", sa.String(128), nullable=True),
    # Concurrency slot: the holder's lease end. Rate token: when it is next free.
    sa.Column("busy_until", sa.Double, nullable=False),
)
_s = slots_table


# The row operations, built once: building a statement costs more CPU than running it, and
# a batch makes two of them per task fetch. Parameters named ``w_*`` guard the row, ``v_*``
# are the values written.
def _p(name: str) -> sa.BindParameter[Any]:
    return sa.bindparam(name)


def _locked(query: sa.Select[Any]) -> sa.Select[Any]:
    """Skip rows another transaction is changing (Postgres); SQLite's write lock already makes
    the transaction exclusive."""
    return query.with_for_update(skip_locked=True)


_row = (_s.c.scope == _p("w_scope"), _s.c.slot_no == _p("w_slot"))
_BOOK_PICK = sa.select(_s.c.slot_no, _s.c.busy_until).where(
    _s.c.scope == _p("scope"), _s.c.slot_no < _p("count")).order_by(_s.c.busy_until).limit(1)
_BOOK_PICK_LOCKED = _locked(_BOOK_PICK)
_BOOK = _s.update().where(*_row, _s.c.busy_until == _p("w_old")).values(
    busy_until=_p("v_until"))
_ANSWERED = _s.update().where(*_row, _s.c.busy_until < _p("v_until")).values(
    busy_until=_p("v_until"))
_free = sa.or_(_s.c.holder.is_(None), _s.c.busy_until < _p("now"))
_TAKE_PICK = sa.select(_s.c.slot_no).where(
    _s.c.scope == _p("scope"), _s.c.slot_no < _p("size"), _free).limit(1)
_TAKE_PICK_LOCKED = _locked(_TAKE_PICK)
_TAKE = _s.update().where(*_row, sa.or_(_s.c.holder.is_(None), _s.c.busy_until < _p("w_now"))
                          ).values(holder=_p("v_holder"), busy_until=_p("v_until"))
_GIVE_BACK = _s.update().where(*_row, _s.c.holder == _p("w_holder")).values(
    holder=None, busy_until=0.0)
_IN_USE = sa.select(sa.func.count()).select_from(_s).where(
    _s.c.scope == _p("scope"), _s.c.slot_no < _p("size"), _s.c.holder.is_not(None),
    _s.c.busy_until >= _p("now"))


class AccountLimits:
    """``dashscope.limits.SharedLimits`` kept in the ledger's database. Use ``for_ledger``:
    one per ledger URL and process, whose heartbeat renews the slots this process holds."""

    _instances: dict[tuple[str, int], AccountLimits] = {}
    _instances_lock = threading.Lock()

    @classmethod
    def for_ledger(cls, ledger: Ledger) -> AccountLimits:
        key = (ledger.url, os.getpid())
        with cls._instances_lock:
            limits = cls._instances.get(key)
            if limits is None:
                limits = cls._instances[key] = cls(ledger)
            return limits

    def __init__(self, ledger: Ledger, lease_s: float | None = None):
        self._ledger = ledger
        self.key = "ledger:" + hashlib.sha256(ledger.url.encode()).hexdigest()[:16]
        self.holder = new_owner("slots")
        self.lease_s = lease_s if lease_s is not None else lease_seconds()
        self._postgres = ledger.dialect_name == "postgresql"
        self._ready: set[tuple[str, int]] = set()
        self._held: dict[str, list[int]] = defaultdict(list)
        self._lock = threading.Lock()
        ledger.create_tables(_metadata)
        self._heartbeat = Heartbeat(self._renew, self.lease_s / 3, "wan-slot-lease").start()

    def close(self) -> None:
        """Stop renewing: whatever this holder still holds lapses within one lease."""
        self._heartbeat.stop()

    def window(self, scope: str, rate: float) -> DatabaseWindow:
        return DatabaseWindow(self, scope, rate)

    def slots(self, scope: str, size: int) -> DatabaseSlots:
        return DatabaseSlots(self, scope, size)

    # ------------------------------------------------------------------ row operations

    def book(self, scope: str, count: int, window: float) -> Booking:
        """Book the earliest free token of a rate limit: wait ``delay`` before using it. The
        token is ``(slot_no, the booked moment on this process's monotonic clock)``."""
        asked = time.monotonic()  # before the transaction: the moment is never placed late
        booking = _wait(self._book, scope, count, window)
        return Booking(booking.delay, (booking.token, asked + booking.delay))

    async def book_async(self, scope: str, count: int, window: float) -> Booking:
        """``book`` awaited: the worker answers the event loop directly (no thread between)."""
        asked = time.monotonic()
        booking = await asyncio.wrap_future(_submit(self._book, scope, count, window))
        return Booking(booking.delay, (booking.token, asked + booking.delay))

    def answered(self, scope: str, token: tuple[int, float], window: float,
                 slack: float) -> None:
        """The request that used the token was answered: the token is free a window after the
        answer. Written only if the answer came more than ``slack`` after the booked moment:
        sooner, the request arrived within the window's margin of that moment, and the row's
        booked moment plus a window already keeps the token that long (one write per task
        fetch fewer when the service answers fast)."""
        slot_no, booked_at = token
        if time.monotonic() - booked_at > slack:
            _queue(self._answered, scope, slot_no, window)

    def take(self, scope: str, size: int, *, look_first: bool = True) -> bool:
        """Take a free concurrency slot for this process, if there is one. ``look_first``:
        a read (which takes no lock) first looks whether any slot is free at all, for a
        waiter that asks again and again; a first try goes straight to the write."""
        return _wait(self._take, scope, size, look_first)

    async def take_async(self, scope: str, size: int, *, look_first: bool = True) -> bool:
        return await asyncio.wrap_future(_submit(self._take, scope, size, look_first))

    def give_back(self, scope: str) -> None:
        with self._lock:
            if not self._held[scope]:
                raise RuntimeError(f"release of {scope} without acquire")
            slot_no = self._held[scope].pop()
        _queue(self._give_back, scope, slot_no)

    def _book(self, scope: str, count: int, window: float) -> Booking:
        self._ensure(scope, count)
        pick = _BOOK_PICK_LOCKED if self._postgres else _BOOK_PICK
        while True:
            with self._ledger.transaction(write=True, durable=False) as conn:
                now = self._now(conn)
                row = conn.execute(pick, {"scope": scope, "count": count}).first()
                if row is None:  # every row is being booked by someone else right now
                    continue
                at = max(now, row.busy_until)
                booked = conn.execute(_BOOK, {"w_scope": scope, "w_slot": row.slot_no,
                                              "w_old": row.busy_until,
                                              "v_until": at + window}).rowcount
            if booked == 1:
                return Booking(at - now, row.slot_no)

    def _answered(self, scope: str, slot_no: int, window: float) -> None:
        with self._ledger.transaction(write=True, durable=False) as conn:
            conn.execute(_ANSWERED, {"w_scope": scope, "w_slot": slot_no,
                                     "v_until": self._now(conn) + window})

    def _take(self, scope: str, size: int, look_first: bool) -> bool:
        self._ensure(scope, size)
        if look_first and self.in_use(scope, size) >= size:
            return False
        with self._ledger.transaction(write=True, durable=False) as conn:
            now = self._now(conn)
            row = conn.execute(_TAKE_PICK_LOCKED if self._postgres else _TAKE_PICK,
                               {"scope": scope, "size": size, "now": now}).first()
            if row is None:
                return False
            taken = conn.execute(_TAKE, {"w_scope": scope, "w_slot": row.slot_no, "w_now": now,
                                         "v_holder": self.holder,
                                         "v_until": now + self.lease_s}).rowcount
        if taken != 1:
            return False
        with self._lock:
            self._held[scope].append(row.slot_no)
        return True

    def _give_back(self, scope: str, slot_no: int) -> None:
        with self._ledger.transaction(write=True, durable=False) as conn:
            conn.execute(_GIVE_BACK, {"w_scope": scope, "w_slot": slot_no,
                                      "w_holder": self.holder})

    def in_use(self, scope: str, size: int) -> int:
        """Slots of ``scope`` held right now by live holders (any process)."""
        with self._ledger.transaction() as conn:
            return conn.execute(_IN_USE, {"scope": scope, "size": size,
                                          "now": self._now(conn)}).scalar_one()

    def _renew(self) -> None:
        with self._lock:
            if not any(self._held.values()):
                return
        with self._ledger.transaction(write=True, durable=False) as conn:
            conn.execute(_s.update().where(_s.c.holder == self.holder).values(
                busy_until=self._now(conn) + self.lease_s))

    def _ensure(self, scope: str, count: int) -> None:
        """Create the rows of a limit the first time it is used (racing creators are fine)."""
        if (scope, count) in self._ready:
            return
        with self._ledger.transaction(write=True, durable=False) as conn:
            have = set(conn.execute(sa.select(_s.c.slot_no).where(_s.c.scope == scope))
                       .scalars())
        missing = [n for n in range(count) if n not in have]
        for slot_no in missing:
            try:
                with self._ledger.transaction(write=True, durable=False) as conn:
                    conn.execute(_s.insert().values(scope=scope, slot_no=slot_no, holder=None,
                                                    busy_until=0.0))
            except IntegrityError:
                pass  # another process created it first
        self._ready.add((scope, count))

    def _now(self, conn: Connection) -> float:
        if self._postgres:
            return float(conn.execute(sa.select(
                sa.extract("epoch", sa.func.clock_timestamp()))).scalar_one())
        return time.time()


class DatabaseWindow:
    """At most ``rate`` bookings per second across processes (see ``SlidingWindow``)."""

    def __init__(self, store: AccountLimits, scope: str, rate: float, margin: float = 0.05):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._store = store
        self.scope = scope
        self.count = max(1, int(rate))
        self.window = self.count / rate + margin
        #: An answer this soon after the booked moment moves nothing (see ``answered``): half
        #: the margin, the other half left for what the margin absorbed before.
        self.answer_slack = margin / 2

    def book(self) -> Booking:
        return self._store.book(self.scope, self.count, self.window)

    async def book_async(self) -> Booking:
        return await self._store.book_async(self.scope, self.count, self.window)

    def answered(self, booking: Booking) -> None:
        self._store.answered(self.scope, booking.token, self.window, self.answer_slack)


class DatabaseSlots:
    """At most ``size`` holders across processes (``SlotCounter``'s interface)."""

    def __init__(self, store: AccountLimits, scope: str, size: int):
        self._store = store
        self.scope = scope
        self.size = size

    @property
    def in_use(self) -> int:
        return self._store.in_use(self.scope, self.size)

    def try_acquire(self) -> bool:
        return self._store.take(self.scope, self.size)

    def acquire(self, timeout: float | None = None) -> bool:
        """The first try writes at once (the slot is usually free: a batch's own gate already
        waited for it); the retries of a waiter look before they take the write lock."""
        deadline = None if timeout is None else time.monotonic() + timeout
        retry = False
        while not self._store.take(self.scope, self.size, look_first=retry):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(_poll())
            retry = True
        return True

    async def acquire_async(self) -> None:
        retry = False
        while not await self._store.take_async(self.scope, self.size, look_first=retry):
            await asyncio.sleep(_poll())
            retry = True

    def release(self) -> None:
        self._store.give_back(self.scope)


def _worker() -> ThreadPoolExecutor:
    with _WORKERS_LOCK:
        worker = _WORKERS.get(os.getpid())
        if worker is None:
            worker = _WORKERS[os.getpid()] = ThreadPoolExecutor(
                1, thread_name_prefix="wan-account-limits")
        return worker


def _submit(work: Callable[..., T], *args: Any) -> Future[T]:
    """``work`` for the worker, after everything queued before it; done right here once the
    interpreter is shutting down (it starts no thread then), e.g. a release on the way out."""
    try:
        return _worker().submit(work, *args)
    except RuntimeError:
        done: Future[T] = Future()
        try:
            done.set_result(work(*args))
        except Exception as exc:
            done.set_exception(exc)
        return done


def _wait(work: Callable[..., T], *args: Any) -> T:
    """``work`` done by the worker; its result."""
    return _submit(work, *args).result()


def _queue(work: Callable[..., None], *args: Any) -> None:
    """``work`` queued for the worker, not waited for (a failure is logged: the row lapses
    with its lease all the same)."""
    _submit(work, *args).add_done_callback(_log_failure)


def _log_failure(done: Future[None]) -> None:
    if (error := done.exception()) is not None:
        log.warning("account limits: a queued write failed: %r", error)


def _poll() -> float:
    """Jittered, so that waiting processes do not knock in step."""
    return SLOT_POLL_S * random.uniform(0.5, 1.5)
