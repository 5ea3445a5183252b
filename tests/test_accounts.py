"""One owner per attempt (leases in the ledger) and the account's limits kept in the ledger's
database, on SQLite and on PostgreSQL; scratch directories owned by a lock, not a PID."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from wan_dagster.core import account_limits, batch
from wan_dagster.core.account_limits import AccountLimits
from wan_dagster.core.batch import BatchRunner, BatchSettings
from wan_dagster.core.catalog import load_catalog
from wan_dagster.core.ledger import Ledger, LedgerConflict, Status
from wan_dagster.core.plan import background_request
from wan_dagster.core.store import LocalMediaStore
from wan_dagster.dashscope import AsyncDashScopeClient, DashScopeClient, PriceBook
from wan_dagster.orchestration.resources import local_ledger_warning

from slot_waiters import start_waiters

DATA = Path(__file__).resolve().parent.parent / "data"

LEASE_S = 60.0


def _begin(ledger: Ledger, owner: str | None, sku: str = "SKU-1", lease_s: float = LEASE_S):
    return ledger.begin(asset="background_image", sku=sku, input_fingerprint="fp",
                        model="wanx-background-generation-v2", request_fingerprint="rf",
                        request_body={"input": {}}, owner=owner, lease_s=lease_s)


@pytest.fixture
def ledger(ledger_url: str):
    with Ledger(ledger_url) as led:
        yield led


def test_an_attempt_held_by_a_live_run_is_not_granted_to_another(ledger):
    attempt, fresh = _begin(ledger, "run-a")
    assert fresh and attempt.owner == "run-a"

    again, fresh = _begin(ledger, "run-b")  # run B meets run A's intent
    assert not fresh and again.id == attempt.id
    current, granted = ledger.claim(attempt.id, "run-b", LEASE_S)
    assert not granted and current.owner == "run-a"
    # B may not send for it either
    with pytest.raises(LedgerConflict, match="no longer leased to run-b"):
        ledger.mark_sending(attempt.id, "run-b")
    # A still can, and keeps it when it claims again
    assert ledger.mark_sending(attempt.id, "run-a").sent_at is not None
    assert ledger.claim(attempt.id, "run-a", LEASE_S)[1]


def test_a_lapsed_or_released_lease_can_be_taken_over(ledger):
    lapsed, _ = _begin(ledger, "run-a", sku="SKU-1", lease_s=0.0)  # its run stopped beating
    current, granted = ledger.claim(lapsed.id, "run-b", LEASE_S)
    assert granted and current.owner == "run-b"

    released, _ = _begin(ledger, "run-a", sku="SKU-2")
    assert ledger.release_leases("run-a") == 1  # run A ended: no need to wait for the lease
    assert ledger.claim(released.id, "run-b", LEASE_S)[1]


def test_renewal_keeps_only_the_owners_in_flight_leases(ledger):
    mine, _ = _begin(ledger, "run-a", sku="SKU-1", lease_s=1.0)
    done, _ = _begin(ledger, "run-a", sku="SKU-2", lease_s=1.0)
    ledger.mark_canceled(done.id)
    _begin(ledger, "run-b", sku="SKU-3")
    assert ledger.renew_leases("run-a", LEASE_S) == 1
    assert ledger.get(mine.id).lease_until > ledger.get(done.id).lease_until


def test_a_finished_attempt_is_never_granted(ledger):
    attempt, _ = _begin(ledger, "run-a")
    ledger.mark_canceled(attempt.id)
    current, granted = ledger.claim(attempt.id, "run-b", LEASE_S)
    assert not granted and current.status == Status.CANCELED


def test_unresolved_creates_are_the_ambiguous_and_those_on_the_wire(ledger):
    waiting, _ = _begin(ledger, "run-a", sku="SKU-1")  # recorded, not sent
    sending, _ = _begin(ledger, "run-a", sku="SKU-2")
    ledger.mark_sending(sending.id, "run-a")
    lost, _ = _begin(ledger, "run-a", sku="SKU-3")
    ledger.mark_sending(lost.id, "run-a")
    ledger.mark_ambiguous(lost.id, "timeout")
    assert [a.id for a in ledger.unresolved_creates("wanx-background-generation-v2")] == [
        sending.id, lost.id]
    assert waiting.sent_at is None


def test_an_older_ledger_table_gains_the_lease_columns(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # the table as the previous release created it
        conn.execute("CREATE TABLE wan_ledger_attempts (id INTEGER PRIMARY KEY, asset TEXT, "
                     "sku TEXT, input_fingerprint TEXT, attempt_no INTEGER, model TEXT, "
                     "request_fingerprint TEXT, request_body TEXT, status TEXT, task_id TEXT, "
                     "code TEXT, message TEXT, usage TEXT, cost TEXT, currency TEXT, "
                     "output_uri TEXT, output_sha256 TEXT, output_size INTEGER, run_id TEXT, "
                     "created_at DATETIME, updated_at DATETIME, submitted_at DATETIME, "
                     "finished_at DATETIME)")
        conn.execute("INSERT INTO wan_ledger_attempts VALUES (1, 'background_image', 'OLD-1', "
                     "'fp', 1, 'wanx-background-generation-v2', 'rf', '{}', 'INTENT', NULL, "
                     "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'old-run', "
                     "'2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000', NULL, NULL)")
    with Ledger(f"sqlite:///{path}") as ledger:
        attempt, _ = _begin(ledger, "run-a")
        assert attempt.owner == "run-a" and attempt.lease_until is not None
        # an intent recorded by the older release may have been sent: never sent blindly
        assert ledger.get(1).sent_at == ledger.get(1).created_at


# ---------------------------------------------------------------------------- account limits


@pytest.fixture
def holders(ledger):
    """Account-limit holders on ``ledger`` as different processes would be (their own tokens):
    ``holders(lease_s)`` makes one; all stop beating at the end."""
    made: list[AccountLimits] = []

    def make(lease_s: float = LEASE_S) -> AccountLimits:
        made.append(AccountLimits(ledger, lease_s=lease_s))
        return made[-1]

    yield make
    for holder in made:
        holder.close()


def test_concurrency_slots_are_shared_between_holders(holders):
    first, second = holders(), holders()
    a, b = first.slots("acct:m:running", 2), second.slots("acct:m:running", 2)
    assert a.try_acquire() and b.try_acquire()
    assert not a.try_acquire() and not b.try_acquire() and a.in_use == 2
    b.release()
    assert a.try_acquire() and not b.try_acquire()


def test_a_first_acquire_writes_at_once_and_only_a_waiters_retries_look_first(
        holders, monkeypatch):
    first, second = holders(), holders()
    looks: list[str] = []
    reads = AccountLimits._in_use
    monkeypatch.setattr(AccountLimits, "_in_use", lambda self, tx, scope, size:
                        looks.append(scope) or reads(self, tx, scope, size))
    assert first.slots("acct:m:running", 1).acquire(timeout=0) and looks == []
    assert not second.slots("acct:m:running", 1).acquire(timeout=0.3)  # the first holds it
    assert looks and set(looks) == {"acct:m:running"}


def test_coroutines_waiting_for_a_shared_slot_do_not_each_poll_the_database(
        holders, monkeypatch):
    """Regression: every coroutine waiting for a slot held by another process asked the
    database every ~50 ms, so 200 gathered ``run`` calls made ~4,000 writes or reads a second
    while nothing changed. Now only as many as the slots ask; the rest wait for a release."""
    other, here = holders(), holders()
    asks: list[str] = []
    take = AccountLimits.take_async
    monkeypatch.setattr(AccountLimits, "take_async", lambda self, scope, size, **kw:
                        asks.append(scope) or take(self, scope, size, **kw))
    held = other.slots("acct:m:running", 1)
    slots = here.slots("acct:m:running", 1)

    async def batch() -> tuple[int, list[int]]:
        assert held.try_acquire()  # another process holds the one slot
        waiters, got = start_waiters(slots, 200)
        await asyncio.sleep(0.3)
        asked = len(asks)
        held.release()
        await asyncio.wait_for(asyncio.gather(*waiters), 60)
        return asked, got

    asked_while_held, got = asyncio.run(batch())
    assert 1 <= asked_while_held <= 20  # one waiter polling every 25-75 ms; 200 would be ~1,200
    assert sorted(got) == list(range(200))
    deadline = time.monotonic() + 30  # on Postgres the last release is queued for the worker
    while slots.in_use and time.monotonic() < deadline:
        time.sleep(0.05)
    assert slots.in_use == 0


def test_a_dead_holders_slot_comes_back_when_its_lease_lapses(holders):
    dead = holders(lease_s=0.0)  # a holder whose lease lapses at once
    dead.close()
    assert dead.slots("acct:m:running", 1).try_acquire()
    alive = holders().slots("acct:m:running", 1)
    assert alive.try_acquire()


def test_a_rate_window_is_shared_between_holders(holders):
    first, second = holders(), holders()
    started = time.monotonic()
    delays = [store.window("acct:m:submit", 2.0).book().delay
              for store in (first, second, first, second)]
    elapsed = time.monotonic() - started
    window = first.window("acct:m:submit", 2.0).window
    assert delays[:2] == [0.0, 0.0]
    # the third and fourth are told to wait for the window, unless it already went by
    assert all(d > 0 for d in delays[2:]) or elapsed >= window


def _hold_a_slot(url: str, held: multiprocessing.synchronize.Event) -> None:
    slots = AccountLimits(Ledger(url), lease_s=LEASE_S).slots("acct:m:running", 1)
    assert slots.try_acquire()
    held.set()
    time.sleep(600)  # until killed


def test_a_slot_held_by_another_process_is_refused_until_it_dies(ledger_url):
    ctx = multiprocessing.get_context("spawn")
    held = ctx.Event()
    proc = ctx.Process(target=_hold_a_slot, args=(ledger_url, held))
    proc.start()
    try:
        assert held.wait(60)
        with Ledger(ledger_url) as ledger:
            here = AccountLimits(ledger)
            assert not here.slots("acct:m:running", 1).try_acquire()
            here.close()
    finally:
        proc.kill()
        proc.join()


# ---------------------------------------------------------------------------- scratch, warning


def test_scratch_directories_of_live_processes_survive_others_sweeping(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    # a live process in "another PID namespace": its PID means nothing here, its lock does
    holder = subprocess.Popen(
        [sys.executable, "-c", "import tempfile, sys, time; tempfile.tempdir = sys.argv[1]\n"
         "from wan_dagster.core.batch import _scratch_dir\n"
         "with _scratch_dir() as path:\n    print(path, flush=True); time.sleep(600)",
         str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        live = Path(holder.stdout.readline().strip())
        abandoned = tmp_path / f"{batch.SCRATCH_PREFIX}{os.getpid()}-old"  # our own PID
        abandoned.mkdir()
        (abandoned / batch.SCRATCH_LOCK).touch()
        (abandoned / ".part").write_bytes(b"half a download")
        with batch._scratch_dir() as mine:
            assert mine.is_dir() and live.is_dir() and not abandoned.exists()
        assert not mine.exists()
    finally:
        holder.kill()
        holder.wait()
    with batch._scratch_dir():
        assert not live.exists()  # its holder died: swept


def test_shared_instance_storage_with_a_local_sqlite_ledger_is_warned_about(
        tmp_path, postgres_url):
    storage = {"storage": {"postgres": {"postgres_url": postgres_url}}}
    with Ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as local, \
            Ledger(postgres_url) as shared, dg.instance_for_test(overrides=storage) as instance:
        warning = local_ledger_warning(instance, local)
        assert warning and "local SQLite file" in warning and "WAN_DAGSTER_LEDGER_URL" in warning
        assert local_ledger_warning(instance, shared) is None
    with dg.instance_for_test() as on_this_machine, Ledger(f"sqlite:///{tmp_path / 'l.db'}") as local:
        assert local_ledger_warning(on_this_machine, local) is None


# ---------------------------------------------------------------------------- unknown outcomes


def test_no_create_of_a_model_is_sent_while_another_has_an_unknown_outcome(emulator, tmp_path):
    """A create of SKU A's background landed but its answer was lost and its run is gone
    (AMBIGUOUS, not leased). Before SKU B's background is sent, A's create is reconciled: its
    task is found and recorded for A, so B's cannot be mistaken for it later (background tasks
    show no prompt), and every billed task has its owner."""
    products = load_catalog(DATA / "catalog.csv").by_sku
    first, second = products["BAG-3001"], products["BAG-3002"]
    request = background_request(first)
    with Ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        lost, _ = ledger.begin(asset="background_image", sku=first.sku,
                               input_fingerprint=first.input_fingerprints["background_image"],
                               model=request.model, request_fingerprint=request.fingerprint,
                               request_body=request.body, owner="gone-run", lease_s=LEASE_S)
        ledger.mark_sending(lost.id, "gone-run")
        with DashScopeClient(api_key="sk-test", base_url=emulator.base_url) as client:
            landed = client.create(request)  # billed, its answer "lost" on the way back
        ledger.mark_ambiguous(lost.id, "ReadTimeout")
        ledger.release_leases("gone-run")

        outcomes = asyncio.run(_batch(emulator, ledger, tmp_path, [second]))

        assert [(o.sku, o.ok) for o in outcomes] == [(second.sku, True)]
        found = ledger.get(lost.id)
        assert (found.status, found.task_id) == (Status.SUBMITTED, landed.task_id)
        owners = {a.task_id for a in ledger.attempts() if a.task_id}
        assert {line.task_id for line in emulator.bill.lines} <= owners


async def _batch(emulator, ledger: Ledger, tmp_path: Path, products) -> list:
    async with AsyncDashScopeClient(api_key="sk-test", base_url=emulator.base_url,
                                    shared_limits=AccountLimits.for_ledger(ledger)) as client:
        runner = BatchRunner(client, ledger, LocalMediaStore(tmp_path / "media"),
                             PriceBook.load(), BatchSettings(run_id="run-b"))
        return await runner.run(products, ["background_image"])


def test_an_answered_request_holds_its_shared_token_a_window_from_the_answer(holders):
    window = holders().window("acct:m:submit", 1.0)
    first = window.book()
    time.sleep(0.2)  # sent (and answered) late
    answered_at = time.time()
    window.answered(first)
    second = holders().window("acct:m:submit", 1.0).book()  # another process
    assert time.time() + second.delay >= answered_at + window.window - 0.01  # clock reads


def test_an_answer_within_the_slack_writes_nothing_the_booking_already_covers_it(holders):
    """The row keeps the booked moment plus a window: the answer's write is saved (as it is
    for every fast answer), so the next booking waits from the booking, not the answer."""
    window = holders().window("acct:m:submit", 1.0)
    window.answer_slack = 60.0  # any answer counts as fast
    first = window.book()
    booked_at = time.time() + first.delay
    time.sleep(0.2)
    window.answered(first)
    second = holders().window("acct:m:submit", 1.0).book()  # another process
    assert time.time() + second.delay < booked_at + window.window + 0.1


def _open_limits(url: str, start: multiprocessing.synchronize.Barrier) -> None:
    ledger = Ledger(url)
    start.wait()
    AccountLimits(ledger).close()


def test_processes_opening_a_fresh_database_at_once_all_get_the_limits_table(ledger_url):
    """On Postgres two CREATE TABLEs racing end in a duplicate-type error for the loser."""
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(4)
    procs = [ctx.Process(target=_open_limits, args=(ledger_url, start)) for _ in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [proc.exitcode for proc in procs] == [0] * 4


# ------------------------------------------- account-limit writes on the event loop (SQLite)


@pytest.fixture
def on_sqlite(tmp_path, monkeypatch):
    """A holder on a SQLite ledger, a foreign connection that can hold its write lock, and
    the writes handed to the worker thread (``worker``: the functions it was given)."""
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    store = AccountLimits(ledger)
    worker: list[str] = []
    submit = account_limits._submit
    monkeypatch.setattr(account_limits, "_submit",
                        lambda work, *args: worker.append(work.__name__) or submit(work, *args))
    foreign = sqlite3.connect(tmp_path / "ledger.db", isolation_level=None,
                              check_same_thread=False)
    yield store, foreign, worker
    foreign.close()
    store.close()
    ledger.dispose()


def test_limits_asked_on_the_event_loop_are_written_there_when_the_lock_is_free(on_sqlite):
    store, _, worker = on_sqlite
    window = store.window("acct:m:fetch", 20.0)
    slots = store.slots("acct:m:running", 1)

    async def batch() -> None:
        window.answer_slack = -1.0  # every answer is written
        window.answered(await window.book_async())
        await slots.acquire_async()
        slots.release()
        assert await store.take_async("acct:m:running", 1)

    asyncio.run(batch())
    assert worker == []
    assert store.in_use("acct:m:running", 1) == 1  # released, then taken again


def test_a_held_write_lock_sends_the_write_to_the_worker_and_the_loop_runs_on(on_sqlite):
    store, foreign, worker = on_sqlite
    store.take("acct:m:running", 2)  # the rows exist: what follows is one write
    worker.clear()

    async def batch() -> bool:
        foreign.execute("BEGIN IMMEDIATE")
        taking = asyncio.create_task(store.take_async("acct:m:running", 2, look_first=False))
        while not worker:  # the loop goes on turning while the worker waits for the lock
            await asyncio.sleep(0.01)
        assert not taking.done()
        foreign.execute("COMMIT")
        return await taking

    assert asyncio.run(batch())
    assert worker == ["_take"] and store.in_use("acct:m:running", 2) == 2


def test_a_queued_release_is_applied_before_a_later_take_on_the_loop(on_sqlite):
    store, foreign, worker = on_sqlite
    assert store.take("acct:m:running", 1)
    worker.clear()

    async def batch() -> bool:
        foreign.execute("BEGIN IMMEDIATE")
        store.give_back("acct:m:running")  # locked: queued for the worker
        foreign.execute("COMMIT")  # free again, but the worker may not have written yet
        return await store.take_async("acct:m:running", 1)

    assert asyncio.run(batch())  # the release came first, so the one slot was free
    assert worker == ["_give_back", "_take"]


class _Interrupt(BaseException):
    """What Dagster's signal handler raises in the run's main thread when a run is terminated:
    not an ``Exception``."""


def test_an_interrupt_inside_a_write_on_the_loop_does_not_break_the_writes_after_it(on_sqlite):
    """Regression: a stop signal that landed inside a statement on the loop's connection made
    SQLAlchemy close that connection, and every later write of the process failed with
    "Cannot operate on a closed database" (tracebacks after a stopped main command)."""
    store, _, worker = on_sqlite
    armed = [True]

    def interrupt(*args: object) -> None:
        if armed:
            armed.clear()
            raise _Interrupt()

    async def batch() -> bool:
        assert await store.take_async("acct:m:running", 2)  # the loop's connection is open
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", interrupt)
        try:
            with pytest.raises(_Interrupt):
                await store.take_async("acct:m:running", 2, look_first=False)
        finally:
            sa.event.remove(sa.engine.Engine, "before_cursor_execute", interrupt)
        return await store.take_async("acct:m:running", 2)  # the interrupted take was undone

    assert asyncio.run(batch())
    assert worker == [] and store.in_use("acct:m:running", 2) == 2


def _take_on_a_loop(store: AccountLimits) -> None:
    assert asyncio.run(store.take_async("acct:m:running", 3))


def test_a_forked_child_writes_on_the_loop_with_a_connection_of_its_own(on_sqlite):
    store, _, worker = on_sqlite
    _take_on_a_loop(store)  # the parent's loop connection is open
    child = multiprocessing.get_context("fork").Process(target=_take_on_a_loop, args=(store,))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    _take_on_a_loop(store)  # the parent's connection still works
    assert worker == [] and store.in_use("acct:m:running", 3) == 3
