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

Each booking, acquisition, answer or release is one short write transaction. Asked from an
event loop on SQLite, it runs right there, on a connection of the loop's thread that never
waits (``_LoopConnection``: no busy timeout, no sync to disk, no checkpoint): a thread hop,
its wake-up and a pool checkout cost more CPU than the write itself. When another connection
holds the write lock (another process, or this process's ledger) SQLite says so at once, and
the operation goes to the process's worker thread (``_worker``), where waiting for the lock
stalls no task; so does whatever a thread asks (it may wait), and everything on Postgres (a
network round trip on the loop would stall every task). ``_inline`` alone decides. The rows
say nothing that must outlive their processes, so on SQLite they commit without a sync to
disk (``durable`` False): visible to every process at once, but not paid for with a disk
flush twice per task fetch. Bookings and acquisitions wait for their answer; the answers and
releases are not waited for, and any later booking or acquisition of this process comes after
them: the worker writes in the order asked, and a loop writes inline only while nothing of
this process waits in the worker. SQLite's write lock serialises the transactions of several
processes on one machine; on Postgres ``FOR UPDATE SKIP LOCKED`` lets racing processes pick
different rows and a guarded ``UPDATE`` settles any remaining race. Times are epoch seconds
on one clock: the database server's on Postgres (machines need not agree), this machine's on
SQLite (which serves one machine). This is the only place that stores these rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import random
import sqlite3
import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from ..dashscope.limits import Booking, SlotCounter
from .leases import Heartbeat, lease_seconds, new_owner
from .ledger import Ledger

__all__ = ["AccountLimits", "slots_table"]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Per process (a forked child has none of its parent's threads): makes every slot and token
#: write of the process, one after the other.
_WORKERS: dict[int, _Worker] = {}
_WORKERS_LOCK = threading.Lock()

#: Opens one transaction of the row operations; ``True``: a write, which takes SQLite's write
#: lock up front. The ledger's pool (``_shared_tx``) or an event loop's ``_LoopConnection``.
_Transactions = Callable[[bool], contextlib.AbstractContextManager[Connection]]

#: The event loops' connections a forked child inherited (``_LoopConnection.abandon``).
_ABANDONED: list[_LoopConnection] = []

#: What ``_inline`` says when the worker must do it.
_NOT_INLINE = object()
_SQLITE_BUSY = 5
_OPERATIONAL = (sa.exc.OperationalError, sqlite3.OperationalError)

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
        self._sqlite = ledger.is_local_file
        self._local = threading.local()  # the event loop's connection of each thread
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
        return _dated(asked, _wait(self._book, self._shared_tx, scope, count, window))

    async def book_async(self, scope: str, count: int, window: float) -> Booking:
        """``book`` on the event loop: right there when it can be (see ``_ask``)."""
        asked = time.monotonic()
        return _dated(asked, await self._ask(self._book, scope, count, window))

    def answered(self, scope: str, token: tuple[int, float], window: float,
                 slack: float) -> None:
        """The request that used the token was answered: the token is free a window after the
        answer. Written only if the answer came more than ``slack`` after the booked moment:
        sooner, the request arrived within the window's margin of that moment, and the row's
        booked moment plus a window already keeps the token that long (one write per task
        fetch fewer when the service answers fast)."""
        slot_no, booked_at = token
        if time.monotonic() - booked_at > slack:
            self._tell(self._answered, scope, slot_no, window)

    def take(self, scope: str, size: int, *, look_first: bool = True) -> bool:
        """Take a free concurrency slot for this process, if there is one. ``look_first``:
        a read (which takes no lock) first looks whether any slot is free at all, for a
        waiter that asks again and again; a first try goes straight to the write."""
        return _wait(self._take, self._shared_tx, scope, size, look_first)

    async def take_async(self, scope: str, size: int, *, look_first: bool = True) -> bool:
        return await self._ask(self._take, scope, size, look_first)

    def give_back(self, scope: str) -> None:
        with self._lock:
            if not self._held[scope]:
                raise RuntimeError(f"release of {scope} without acquire")
            slot_no = self._held[scope].pop()
        self._tell(self._give_back, scope, slot_no)

    def in_use(self, scope: str, size: int) -> int:
        """Slots of ``scope`` held right now by live holders (any process)."""
        return self._in_use(self._shared_tx, scope, size)

    # ------------------------------------------------------------------ inline or worker

    async def _ask(self, work: Callable[..., T], *args: Any) -> T:
        """``work`` asked from the event loop, its answer awaited: done right here on the
        loop's own connection when ``_inline`` can, else by the worker (which answers the loop
        directly, no thread between)."""
        done = self._inline(work, *args)
        if done is not _NOT_INLINE:
            return cast(T, done)
        return await asyncio.wrap_future(_submit(work, self._shared_tx, *args))

    def _tell(self, work: Callable[..., None], *args: Any) -> None:
        """``work`` not waited for: right here on an event loop when ``_inline`` can (a
        failure is logged, as the worker's are), else queued for the worker."""
        try:
            if self._inline(work, *args) is not _NOT_INLINE:
                return
        except Exception as error:
            log.warning("account limits: a write failed: %r", error)
            return
        _queue(work, self._shared_tx, *args)

    def _inline(self, work: Callable[..., T], *args: Any) -> T | object:
        """The one place that decides: ``work`` done on the calling event loop's connection,
        which never waits (``_LoopConnection``), if this is a SQLite ledger, the caller is on
        an event loop, and nothing of this process waits in the worker (which keeps this
        process's writes in the order asked); ``_NOT_INLINE`` if not, or if another
        connection holds the write lock: then the worker does it, as a thread may wait."""
        if not self._sqlite or not _worker_idle():
            return _NOT_INLINE
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a thread: it may wait, the worker keeps the order
            return _NOT_INLINE
        connection = self._loop_connection()
        if connection is None:
            return _NOT_INLINE
        try:
            return work(connection.transaction, *args)
        except _OPERATIONAL as error:
            if _is_busy(error):
                return _NOT_INLINE
            raise

    def _loop_connection(self) -> _LoopConnection | None:
        """This thread's connection for its event loop (one loop runs on a thread at a time),
        opened on first use; None if it cannot be opened without waiting."""
        connection: _LoopConnection | None = getattr(self._local, "connection", None)
        if connection is not None and connection.pid != os.getpid():
            connection.abandon()  # forked: never touch the parent's connection
            connection = None
        elif connection is not None and connection.broken:
            connection = None  # its finalizer closes what is left of it
        if connection is None:
            try:
                connection = self._local.connection = _LoopConnection(self._ledger.url)
            except _OPERATIONAL as error:
                if _is_busy(error):
                    return None
                raise
        return connection

    def _shared_tx(self, write: bool = False) -> contextlib.AbstractContextManager[Connection]:
        """A transaction of the ledger's pool, for the worker and threads (they may wait)."""
        return self._ledger.transaction(write=write, durable=False)

    # ------------------------------------------------------------------ row operations

    def _book(self, tx: _Transactions, scope: str, count: int, window: float) -> Booking:
        self._ensure(tx, scope, count)
        pick = _BOOK_PICK_LOCKED if self._postgres else _BOOK_PICK
        while True:
            with tx(True) as conn:
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

    def _answered(self, tx: _Transactions, scope: str, slot_no: int, window: float) -> None:
        with tx(True) as conn:
            conn.execute(_ANSWERED, {"w_scope": scope, "w_slot": slot_no,
                                     "v_until": self._now(conn) + window})

    def _take(self, tx: _Transactions, scope: str, size: int, look_first: bool) -> bool:
        self._ensure(tx, scope, size)
        if look_first and self._in_use(tx, scope, size) >= size:
            return False
        with tx(True) as conn:
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

    def _give_back(self, tx: _Transactions, scope: str, slot_no: int) -> None:
        with tx(True) as conn:
            conn.execute(_GIVE_BACK, {"w_scope": scope, "w_slot": slot_no,
                                      "w_holder": self.holder})

    def _in_use(self, tx: _Transactions, scope: str, size: int) -> int:
        with tx(False) as conn:
            return conn.execute(_IN_USE, {"scope": scope, "size": size,
                                          "now": self._now(conn)}).scalar_one()

    def _renew(self) -> None:
        with self._lock:
            if not any(self._held.values()):
                return
        with self._ledger.transaction(write=True, durable=False) as conn:
            conn.execute(_s.update().where(_s.c.holder == self.holder).values(
                busy_until=self._now(conn) + self.lease_s))

    def _ensure(self, tx: _Transactions, scope: str, count: int) -> None:
        """Create the rows of a limit the first time it is used (racing creators are fine)."""
        if (scope, count) in self._ready:
            return
        with tx(True) as conn:
            have = set(conn.execute(sa.select(_s.c.slot_no).where(_s.c.scope == scope))
                       .scalars())
        missing = [n for n in range(count) if n not in have]
        for slot_no in missing:
            try:
                with tx(True) as conn:
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
    """At most ``size`` holders across processes (``SlotCounter``'s interface). This process's
    waiters queue in a ``SlotCounter`` of the same size first, so only those that could hold a
    slot here ask the database: a thousand gathered coroutines poll it no more than ``size``
    do, the others wait for a release without a timer."""

    def __init__(self, store: AccountLimits, scope: str, size: int):
        self._store = store
        self.scope = scope
        self.size = size
        self._here = SlotCounter(size)

    @property
    def in_use(self) -> int:
        return self._store.in_use(self.scope, self.size)

    def try_acquire(self) -> bool:
        if not self._here.try_acquire():
            return False
        if self._store.take(self.scope, self.size):
            return True
        self._here.release()
        return False

    def acquire(self, timeout: float | None = None) -> bool:
        """The first try writes at once (the slot is usually free: a batch's own gate already
        waited for it); the retries of a waiter look before they take the write lock."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._here.acquire(timeout):
            return False
        retry = False
        while not self._store.take(self.scope, self.size, look_first=retry):
            if deadline is not None and time.monotonic() >= deadline:
                self._here.release()
                return False
            time.sleep(_poll())
            retry = True
        return True

    async def acquire_async(self) -> None:
        await self._here.acquire_async()
        try:
            retry = False
            while not await self._store.take_async(self.scope, self.size, look_first=retry):
                await asyncio.sleep(_poll())
                retry = True
        except BaseException:
            self._here.release()
            raise

    def release(self) -> None:
        try:
            self._store.give_back(self.scope)
        finally:  # whatever happens to the row, this process's place is free again
            self._here.release()


class _Worker:
    """The process's thread for slot and token writes, one after the other, and how many it
    has not finished (the event loop writes inline only when none)."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="wan-account-limits")
        self._lock = threading.Lock()
        self.pending = 0

    def submit(self, work: Callable[..., T], *args: Any) -> Future[T]:
        with self._lock:
            self.pending += 1
        try:
            return self._executor.submit(self._run, work, args)
        except RuntimeError:  # shutting down
            self._finished()
            raise

    def _run(self, work: Callable[..., T], args: tuple[Any, ...]) -> T:
        try:
            return work(*args)
        finally:  # before the caller hears of it: a loop it wakes sees the worker idle
            self._finished()

    def _finished(self) -> None:
        with self._lock:
            self.pending -= 1


def _worker() -> _Worker:
    with _WORKERS_LOCK:
        worker = _WORKERS.get(os.getpid())
        if worker is None:
            worker = _WORKERS[os.getpid()] = _Worker()
        return worker


def _worker_idle() -> bool:
    """Nothing of this process is queued or running in the worker."""
    worker = _WORKERS.get(os.getpid())
    return worker is None or worker.pending == 0


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


class _LoopConnection:
    """A SQLite connection of its own for the writes asked on one thread's event loops, set
    never to wait: no busy timeout (a write lock held elsewhere fails the BEGIN at once, and
    the caller hands the write to the worker), commits without a sync to disk (``durable``
    False) and never running a checkpoint (which writes and syncs the database file; the
    ledger's own connections keep checkpointing). Kept open: no pool checkout or reset per
    transaction."""

    def __init__(self, url: str):
        engine = sa.create_engine(url, poolclass=NullPool,
                                  connect_args={"timeout": 0, "check_same_thread": False})
        event.listen(engine, "connect", _never_wait)
        self.pid = os.getpid()
        self._conn = engine.connect()
        self._dbapi = self._conn.connection.dbapi_connection
        self._close = weakref.finalize(self, self._conn.close)  # its thread or limits are gone

    @property
    def broken(self) -> bool:
        """SQLAlchemy closed it: an exception that is not an ``Exception`` raised inside a
        statement (Dagster's termination of a run, a KeyboardInterrupt) invalidates the
        connection it ran on. A pooled connection is replaced by the pool; this one by
        ``AccountLimits._loop_connection``."""
        return self._conn.invalidated

    def abandon(self) -> None:
        """Never close it, nor let the garbage collector do so: a forked child must not touch
        its parent's SQLite connection."""
        self._close.detach()
        _ABANDONED.append(self)

    @contextlib.contextmanager
    def transaction(self, write: bool = False) -> Iterator[Connection]:
        """``write`` takes the write lock up front, as the ledger's writes do. An interrupt may
        land anywhere, even just after the BEGIN: the transaction is never left open holding
        the lock (every other writer of the database would wait for it in vain)."""
        try:
            self._dbapi.execute("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
            yield self._conn
        except BaseException:
            # closed (``broken``), it was rolled back with it; a BEGIN that failed opened none
            if not self.broken and self._dbapi.in_transaction:
                self._dbapi.rollback()
            raise
        self._dbapi.commit()


def _never_wait(dbapi_connection: Any, _record: Any) -> None:
    # BEGIN is ours (see ``_LoopConnection.transaction``); the ledger already set WAL mode.
    dbapi_connection.isolation_level = None
    for pragma in ("busy_timeout = 0", "synchronous = NORMAL", "wal_autocheckpoint = 0"):
        dbapi_connection.execute(f"PRAGMA {pragma}")


def _is_busy(error: Exception) -> bool:
    """SQLite's "database is locked": another connection holds the write lock."""
    cause = getattr(error, "orig", error)  # SQLAlchemy's wrapper, or the driver's own
    return isinstance(cause, sqlite3.OperationalError) \
        and cause.sqlite_errorcode & 0xFF == _SQLITE_BUSY


def _dated(asked: float, booking: Booking) -> Booking:
    """A row's booking with its token dated on this process's monotonic clock: the moment of
    asking plus the delay (the row's own clock is the database's)."""
    return Booking(booking.delay, (booking.token, asked + booking.delay))


def _poll() -> float:
    """Jittered, so that waiting processes do not knock in step."""
    return SLOT_POLL_S * random.uniform(0.5, 1.5)
