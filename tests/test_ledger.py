"""The task ledger on real database files: idempotent begin, guarded transitions, races between
threads and between processes, crash survival, and the queries the sensors and rollups use.

The backend-neutral tests run on a SQLite file in ``tmp_path`` and on a fresh database of the
PostgreSQL server at ``WAN_DAGSTER_TEST_POSTGRES_URL`` (``.ci/run`` starts one).
"""

from __future__ import annotations

import base64
import hashlib
import multiprocessing
import os
import pickle
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from wan_dagster.core.ledger import (BILLED_USAGE_KEYS, Attempt, AttemptNotFound, Ledger,
                                LedgerConflict, Status, attempts_table, compact_body)

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64  # large enough to spot in the file
PNG_URI = "data:image/png;base64," + base64.b64encode(PNG_BYTES).decode()


@pytest.fixture
def url(ledger_url: str) -> str:
    """A fresh, empty ledger database: a SQLite file, or a Postgres database (conftest)."""
    return ledger_url


@pytest.fixture
def ledger(url: str) -> Iterator[Ledger]:
    with Ledger(url) as led:
        yield led


def _begin(ledger: Ledger, sku: str = "SKU-1", *, fingerprint: str = "in-1",
           asset: str = "background", max_attempts: int = 3, **extra: Any) -> tuple[Attempt, bool]:
    body = {"model": "wanx-background-generation-v2",
            "input": {"base_image_url": PNG_URI, "ref_prompt": f"studio {sku}"},
            "parameters": {"n": 1}}
    return ledger.begin(asset=asset, sku=sku, input_fingerprint=fingerprint,
                        model="wanx-background-generation-v2",
                        request_fingerprint=hashlib.sha256(repr(body).encode()).hexdigest(),
                        request_body=body, max_attempts=max_attempts, **extra)


def _stored(ledger: Ledger, sku: str, task_id: str, usage: dict[str, Any] | None,
            cost: Decimal | None, **kw: Any) -> Attempt:
    attempt, _ = _begin(ledger, sku, **kw)
    ledger.mark_submitted(attempt.id, task_id)
    ledger.mark_succeeded(attempt.id, usage, cost, "CNY" if cost is not None else None)
    return ledger.mark_stored(attempt.id, f"file:///media/{sku}.png", "ab" * 32, 1234)


# --------------------------------------------------------------------------- begin


def test_begin_twice_returns_the_same_attempt(ledger: Ledger) -> None:
    first, created = _begin(ledger, run_id="run-1")
    again, created_again = _begin(ledger, run_id="run-2")
    assert created and not created_again
    assert again == first
    assert (first.status, first.attempt_no, first.run_id) == (Status.INTENT, 1, "run-1")
    assert first.created_at.tzinfo is UTC and first.created_at == first.updated_at
    assert len(ledger.attempts()) == 1


def test_begin_keys_on_asset_sku_and_input_fingerprint(ledger: Ledger) -> None:
    base, _ = _begin(ledger)
    assert _begin(ledger, "SKU-2")[1]
    assert _begin(ledger, asset="model_shot")[1]
    changed, created = _begin(ledger, fingerprint="in-2")
    assert created and changed.attempt_no == 1 and changed.id != base.id
    assert len(ledger.attempts()) == 4


def test_retryable_starts_the_next_attempt_up_to_max_attempts(ledger: Ledger) -> None:
    first, _ = _begin(ledger)
    ledger.mark_submitted(first.id, "task-1")
    ledger.mark_failed(first.id, "InternalError", "try again", retryable=True)

    second, created = _begin(ledger)
    assert created and second.attempt_no == 2 and second.status is Status.INTENT
    assert second.task_id is None and second.code is None
    ledger.mark_failed(second.id, "Throttling", "429 after retries", retryable=True)

    third, created = _begin(ledger)
    assert created and third.attempt_no == 3
    retryable = ledger.mark_failed(third.id, "InternalError", "again", retryable=True)

    last, created = _begin(ledger)  # max_attempts=3 reached: reported, not retried
    assert not created and last == retryable and last.status is Status.RETRYABLE
    more, created = _begin(ledger, max_attempts=4)
    assert created and more.attempt_no == 4
    assert [a.attempt_no for a in ledger.attempts()] == [1, 2, 3, 4]


def test_canceled_starts_the_next_attempt(ledger: Ledger) -> None:
    first, _ = _begin(ledger)
    ledger.mark_canceled(first.id)
    second, created = _begin(ledger)
    assert created and second.attempt_no == 2


@pytest.mark.parametrize("status", [Status.SUBMITTED, Status.SUCCEEDED, Status.STORED,
                                    Status.AMBIGUOUS, Status.FAILED, Status.EXPIRED])
def test_begin_never_starts_over_an_attempt_that_may_be_billed_or_is_final(
        ledger: Ledger, status: Status) -> None:
    attempt, _ = _begin(ledger)
    moves: dict[Status, list[Callable[[], Attempt]]] = {
        Status.SUBMITTED: [lambda: ledger.mark_submitted(attempt.id, "task-1")],
        Status.SUCCEEDED: [lambda: ledger.mark_submitted(attempt.id, "task-1"),
                           lambda: ledger.mark_succeeded(attempt.id, {"image_count": 1},
                                                         Decimal("0.14"), "CNY")],
        Status.AMBIGUOUS: [lambda: ledger.mark_ambiguous(attempt.id, "read timeout")],
        Status.FAILED: [lambda: ledger.mark_failed(attempt.id, "DataInspectionFailed",
                                                   "unsafe", retryable=False)],
        Status.EXPIRED: [lambda: ledger.mark_submitted(attempt.id, "task-1"),
                         lambda: ledger.mark_expired(attempt.id)],
    }
    moves[Status.STORED] = moves[Status.SUCCEEDED] + [
        lambda: ledger.mark_stored(attempt.id, "file:///x.png", "ab" * 32, 10)]
    for move in moves[status]:
        current = move()
    again, created = _begin(ledger, max_attempts=10)
    assert not created and again == current and again.status is status
    assert len(ledger.attempts()) == 1


def test_a_lost_race_on_the_unique_key_returns_the_winner(
        ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """On Postgres two writers can both read "no attempt yet"; the unique key refuses the
    second insert. Simulate the stale read on any backend and check the loser's answer."""
    winner, _ = _begin(ledger)
    real = ledger._latest_in
    calls = []

    def stale_once(conn: Any, *key: str) -> Attempt | None:
        calls.append(key)
        return None if len(calls) == 1 else real(conn, *key)

    monkeypatch.setattr(ledger, "_latest_in", stale_once)
    loser, created = _begin(ledger)
    assert not created and loser == winner
    assert len(ledger.attempts()) == 1


# --------------------------------------------------------------------------- transitions


def test_full_lifecycle_records_each_step(ledger: Ledger) -> None:
    attempt, _ = _begin(ledger, run_id="run-1")
    submitted = ledger.mark_submitted(attempt.id, "task-1")
    assert submitted.status is Status.SUBMITTED and submitted.task_id == "task-1"
    assert submitted.submitted_at is not None and submitted.submitted_at >= attempt.created_at
    end = datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)
    succeeded = ledger.mark_succeeded(attempt.id, {"image_count": 2}, Decimal("0.28"), "CNY",
                                      finished_at=end)
    assert (succeeded.usage, succeeded.cost, succeeded.currency) == (
        {"image_count": 2}, Decimal("0.28"), "CNY")
    stored = ledger.mark_stored(attempt.id, "s3://bucket/bg/SKU-1/abc.png", "ab" * 32, 4096)
    assert stored.status is Status.STORED
    assert (stored.output_uri, stored.output_sha256, stored.output_size) == (
        "s3://bucket/bg/SKU-1/abc.png", "ab" * 32, 4096)
    assert stored.finished_at == end and stored.updated_at >= submitted.updated_at
    for stamp in (stored.created_at, stored.updated_at, stored.submitted_at, stored.finished_at):
        assert stamp is not None and stamp.utcoffset() == timedelta(0)
    assert ledger.get(attempt.id) == stored


@pytest.mark.parametrize("setup, move", [
    (["submit", "succeed", "store"], lambda led, i: led.mark_submitted(i, "task-late")),
    (["submit", "succeed", "store"], lambda led, i: led.mark_failed(i, "X", "late", True)),
    (["submit", "succeed", "store"], lambda led, i: led.mark_canceled(i)),
    (["submit", "succeed", "store"], lambda led, i: led.mark_expired(i)),
    (["submit", "succeed"], lambda led, i: led.mark_failed(i, "X", "paid already", False)),
    (["submit", "succeed"], lambda led, i: led.mark_submitted(i, "task-1")),
    (["submit"], lambda led, i: led.mark_ambiguous(i, "late timeout")),
    (["submit"], lambda led, i: led.mark_stored(i, "file:///x", "ab" * 32, 1)),
    ([], lambda led, i: led.mark_succeeded(i, None, None, None)),
    ([], lambda led, i: led.mark_expired(i)),
    (["ambiguous"], lambda led, i: led.mark_canceled(i)),
    (["fail"], lambda led, i: led.mark_submitted(i, "task-1")),
])
def test_guarded_transitions_refuse_stale_moves(ledger: Ledger, setup: list[str],
                                                move: Any) -> None:
    attempt, _ = _begin(ledger)
    steps = {"submit": lambda: ledger.mark_submitted(attempt.id, "task-1"),
             "succeed": lambda: ledger.mark_succeeded(attempt.id, {"image_count": 1},
                                                      Decimal("0.14"), "CNY"),
             "store": lambda: ledger.mark_stored(attempt.id, "file:///a.png", "cd" * 32, 9),
             "ambiguous": lambda: ledger.mark_ambiguous(attempt.id, "timeout"),
             "fail": lambda: ledger.mark_failed(attempt.id, "InvalidParameter", "bad", False)}
    before = attempt
    for step in setup:
        before = steps[step]()
    with pytest.raises(LedgerConflict) as caught:
        move(ledger, attempt.id)
    assert caught.value.current == before and caught.value.attempt_id == attempt.id
    assert ledger.get(attempt.id) == before  # untouched


def test_only_one_of_two_racing_writers_wins(ledger: Ledger) -> None:
    attempt, _ = _begin(ledger)
    ledger.mark_submitted(attempt.id, "task-1")
    ledger.mark_succeeded(attempt.id, {"image_count": 1}, Decimal("0.14"), "CNY")
    ledger.mark_stored(attempt.id, "file:///a.png", "ab" * 32, 10)
    with pytest.raises(LedgerConflict) as caught:  # a second collector, e.g. the sensor's run
        ledger.mark_stored(attempt.id, "file:///b.png", "cd" * 32, 11)
    assert caught.value.current is not None
    assert caught.value.current.output_uri == "file:///a.png"
    assert caught.value.expected == {Status.SUCCEEDED}


def test_ambiguous_is_reconciled_to_a_found_task_or_to_retryable(ledger: Ledger) -> None:
    found, _ = _begin(ledger, "SKU-found")
    ledger.mark_ambiguous(found.id, "connection reset on create")
    again = ledger.mark_ambiguous(found.id, "ReadTimeout on create")  # a retry was lost too
    assert again.status is Status.AMBIGUOUS and again.message == "ReadTimeout on create"
    resolved = ledger.mark_submitted(found.id, "task-found")
    assert resolved.status is Status.SUBMITTED and resolved.task_id == "task-found"
    assert resolved.message == "ReadTimeout on create"  # kept as history

    lost, _ = _begin(ledger, "SKU-lost")
    ledger.mark_ambiguous(lost.id, "connection reset")
    gone = ledger.mark_failed(lost.id, "NoTaskFound", "no task in the window", retryable=True)
    assert gone.status is Status.RETRYABLE
    assert _begin(ledger, "SKU-lost")[0].attempt_no == 2


def test_a_task_id_belongs_to_one_attempt(ledger: Ledger) -> None:
    one, _ = _begin(ledger, "SKU-1")
    two, _ = _begin(ledger, "SKU-2")
    ledger.mark_submitted(one.id, "task-1")
    with pytest.raises(LedgerConflict):
        ledger.mark_submitted(two.id, "task-1")
    assert ledger.get(two.id) == two


def test_unknown_attempt_ids(ledger: Ledger) -> None:
    assert ledger.get(999) is None
    with pytest.raises(AttemptNotFound):
        ledger.mark_submitted(999, "task-1")
    with pytest.raises(AttemptNotFound):
        ledger.restart(999, reason="x")


def test_cost_must_be_exact(ledger: Ledger) -> None:
    attempt, _ = _begin(ledger)
    ledger.mark_submitted(attempt.id, "task-1")
    with pytest.raises(TypeError):
        ledger.mark_succeeded(attempt.id, {"image_count": 1}, 0.14, "CNY")  # type: ignore[arg-type]
    done = ledger.mark_succeeded(attempt.id, {"duration": 5}, Decimal("0.7000000001"), "CNY")
    assert done.cost == Decimal("0.7000000001") and isinstance(done.cost, Decimal)


def test_expired_after_success_keeps_its_usage_and_cost(ledger: Ledger) -> None:
    attempt, _ = _begin(ledger)
    ledger.mark_submitted(attempt.id, "task-1")
    paid = ledger.mark_succeeded(attempt.id, {"image_count": 1}, Decimal("0.14"), "CNY")
    expired = ledger.mark_expired(attempt.id)
    assert expired.status is Status.EXPIRED and expired.cost == Decimal("0.14")
    assert expired.finished_at == paid.finished_at  # the billing moment is kept


# --------------------------------------------------------------------------- restart


def test_restart_after_expired_or_failed(ledger: Ledger) -> None:
    attempt, _ = _begin(ledger, max_attempts=1)
    ledger.mark_submitted(attempt.id, "task-1")
    ledger.mark_expired(attempt.id)
    again = ledger.restart(attempt.id, run_id="run-9", reason="user asked to regenerate")
    assert (again.attempt_no, again.status, again.run_id) == (2, Status.INTENT, "run-9")
    assert again.request_fingerprint == attempt.request_fingerprint
    assert again.request_body == attempt.request_body and "regenerate" in (again.message or "")
    with pytest.raises(LedgerConflict):  # no longer the latest attempt
        ledger.restart(attempt.id, reason="twice")

    ledger.mark_failed(again.id, "DataInspectionFailed", "unsafe", retryable=False)
    third = ledger.restart(again.id, reason="prompt fixed")
    assert third.attempt_no == 3
    assert _begin(ledger) == (third, False)


@pytest.mark.parametrize("steps", [[], ["submit"], ["submit", "succeed"],
                                   ["submit", "succeed", "store"], ["ambiguous"]])
def test_restart_refuses_work_in_flight_or_done(ledger: Ledger, steps: list[str]) -> None:
    attempt, _ = _begin(ledger)
    for step in steps:
        if step == "submit":
            ledger.mark_submitted(attempt.id, "task-1")
        elif step == "succeed":
            ledger.mark_succeeded(attempt.id, {"image_count": 1}, Decimal("0.14"), "CNY")
        elif step == "store":
            ledger.mark_stored(attempt.id, "file:///a", "ab" * 32, 1)
        else:
            ledger.mark_ambiguous(attempt.id, "timeout")
    with pytest.raises(LedgerConflict):
        ledger.restart(attempt.id, reason="again")
    assert len(ledger.attempts()) == 1


# --------------------------------------------------------------------------- concurrency


def test_threads_racing_on_begin_get_one_attempt(ledger: Ledger) -> None:
    threads, keys = 8, 10
    barrier = threading.Barrier(threads)
    results: list[list[tuple[int, bool]]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []

    def work(slot: int) -> None:
        try:
            barrier.wait()
            for k in range(keys):
                attempt, created = _begin(ledger, f"SKU-{k}")
                results[slot].append((attempt.id, created))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=30)
    assert not errors
    for k in range(keys):
        answers = [r[k] for r in results]
        assert len({a for a, _ in answers}) == 1
        assert sum(created for _, created in answers) == 1
    assert len(ledger.attempts()) == keys


def _process_worker(url: str, keys: int, barrier: Any, out: Any) -> None:
    led = Ledger(url)  # every process also races to create the schema of a fresh file
    barrier.wait(timeout=30)
    answers = []
    for k in range(keys):
        attempt, created = _begin(led, f"SKU-{k}")
        answers.append((attempt.id, created))
    led.dispose()
    out.put(answers)


def test_processes_racing_on_begin_get_one_attempt(url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    processes, keys = 3, 20
    barrier, out = ctx.Barrier(processes), ctx.Queue()
    pool = [ctx.Process(target=_process_worker, args=(url, keys, barrier, out))
            for _ in range(processes)]
    for p in pool:
        p.start()
    results = [out.get(timeout=60) for _ in pool]
    for p in pool:
        p.join(timeout=30)
        assert p.exitcode == 0
    for k in range(keys):
        answers = [r[k] for r in results]
        assert len({a for a, _ in answers}) == 1
        assert sum(created for _, created in answers) == 1
    with Ledger(url) as led:
        rows = led.attempts()
    assert len(rows) == keys and {a.attempt_no for a in rows} == {1}


def _crashing_worker(url: str) -> None:
    led = Ledger(url)
    attempt, _ = _begin(led, "SKU-crash")
    led.mark_submitted(attempt.id, "task-crash")
    os._exit(1)  # no dispose, no checkpoint: as if the machine's run was killed


def test_a_reopened_ledger_sees_what_a_crashed_process_wrote(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger(url) as led:
        stored = _stored(led, "SKU-done", "task-done", {"image_count": 1}, Decimal("0.14"))
    proc = multiprocessing.get_context("spawn").Process(target=_crashing_worker, args=(url,))
    proc.start()
    proc.join(timeout=30)
    assert proc.exitcode == 1

    reopened = Ledger(url)
    try:
        assert reopened.get(stored.id) == stored
        crashed = reopened.latest("background", "SKU-crash", "in-1")
        assert crashed is not None and crashed.status is Status.SUBMITTED
        assert crashed.task_id == "task-crash"
        # the re-run resumes the recorded task instead of paying again
        assert _begin(reopened, "SKU-crash") == (crashed, False)
        assert [a.id for a in reopened.in_flight()] == [crashed.id]
    finally:
        reopened.dispose()


# --------------------------------------------------------------------------- request bodies


def test_data_uris_are_never_stored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger(url) as led:
        attempt, _ = led.begin(
            asset="model_shot", sku="SKU-1", input_fingerprint="in-1", model="virtualmodel-v2",
            request_fingerprint="f" * 64, request_body={
                "model": "virtualmodel-v2",
                "input": {"base_image_url": PNG_URI, "prompt": "a model on a beach",
                          "refs": [PNG_URI, "https://example.com/a.png"]},
                "parameters": {"n": 1}})
        digest = hashlib.sha256(PNG_BYTES).hexdigest()
        compact = f"data:image/png;sha256={digest}"
        assert attempt.request_body == {
            "model": "virtualmodel-v2",
            "input": {"base_image_url": compact, "prompt": "a model on a beach",
                      "refs": [compact, "https://example.com/a.png"]},
            "parameters": {"n": 1}}
        assert attempt.request_fingerprint == "f" * 64
    payload = base64.b64encode(PNG_BYTES)[:200]
    for path in tmp_path.iterdir():  # the database file, its WAL and shared memory
        assert payload not in path.read_bytes()


def test_compact_body_handles_every_data_uri_form() -> None:
    assert compact_body({"a": "data:text/plain,hello%20world", "b": ("x", 1, None)}) == {
        "a": f"data:text/plain;sha256={hashlib.sha256(b'hello world').hexdigest()}",
        "b": ["x", 1, None]}
    odd = compact_body("data:garbage")
    assert odd.startswith("data:;sha256=") and len(odd) == len("data:;sha256=") + 64
    assert compact_body("DATA:image/jpeg;base64,aGk=") == (
        f"data:image/jpeg;sha256={hashlib.sha256(b'hi').hexdigest()}")
    assert compact_body({"url": "https://x/y.png"}) == {"url": "https://x/y.png"}


# --------------------------------------------------------------------------- queries


def test_in_flight_lists_unfinished_work_oldest_submission_first(ledger: Ledger) -> None:
    t0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
    late, _ = _begin(ledger, "SKU-late")
    early, _ = _begin(ledger, "SKU-early")
    ledger.mark_submitted(late.id, "task-late", submitted_at=t0 + timedelta(minutes=5))
    ledger.mark_submitted(early.id, "task-early", submitted_at=t0)
    done = _stored(ledger, "SKU-done", "task-done", {"image_count": 1}, Decimal("0.14"))
    paid, _ = _begin(ledger, "SKU-paid")
    ledger.mark_submitted(paid.id, "task-paid", submitted_at=t0 + timedelta(minutes=1))
    ledger.mark_succeeded(paid.id, {"image_count": 1}, Decimal("0.14"), "CNY")
    failed, _ = _begin(ledger, "SKU-failed")
    ledger.mark_failed(failed.id, "InvalidParameter", "bad size", retryable=False)
    lost, _ = _begin(ledger, "SKU-lost")
    ledger.mark_ambiguous(lost.id, "timeout")
    fresh, _ = _begin(ledger, "SKU-fresh")

    listed = ledger.in_flight()
    assert [a.id for a in listed] == [early.id, paid.id, late.id, lost.id, fresh.id]
    assert done.id not in {a.id for a in listed}
    assert [a.id for a in ledger.in_flight(limit=2)] == [early.id, paid.id]
    # older_than: only rows untouched since then (a live run may be writing the others)
    quiet_until = ledger.get(lost.id).updated_at  # type: ignore[union-attr]
    assert [a.id for a in ledger.in_flight(older_than=quiet_until)] == [early.id, paid.id,
                                                                          late.id]
    assert ledger.in_flight(older_than=t0) == []


def test_known_task_ids(ledger: Ledger) -> None:
    assert ledger.known_task_ids() == set()
    a, _ = _begin(ledger, "SKU-1")
    ledger.mark_submitted(a.id, "task-image")
    video, _ = ledger.begin(asset="video", sku="SKU-1", input_fingerprint="in-1",
                            model="wan2.6-i2v", request_fingerprint="v" * 64,
                            request_body={"model": "wan2.6-i2v"})
    ledger.mark_submitted(video.id, "task-video")
    ledger.mark_expired(video.id)
    _begin(ledger, "SKU-2")  # no task yet
    assert ledger.known_task_ids() == {"task-image", "task-video"}
    assert ledger.known_task_ids("wan2.6-i2v") == {"task-video"}
    assert ledger.known_task_ids("wan2.2-i2v-plus") == set()


def test_known_task_ids_since_a_moment_are_those_recorded_from_then_on(ledger: Ledger) -> None:
    """Reconciling a lost create reads only the task ids recorded since its listing window
    opened (a task created in the window was recorded after it was created)."""
    now = datetime.now(UTC)
    old, _ = _begin(ledger, "SKU-1")
    ledger.mark_submitted(old.id, "task-old", submitted_at=now - timedelta(hours=2))
    new, _ = _begin(ledger, "SKU-2")
    ledger.mark_submitted(new.id, "task-new", submitted_at=now)
    model = "wanx-background-generation-v2"
    assert ledger.known_task_ids(model) == {"task-old", "task-new"}
    assert ledger.known_task_ids(model, since=now - timedelta(minutes=1)) == {"task-new"}


def test_an_older_ledger_gets_the_indexes_added_later(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    Ledger(url).dispose()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_wan_ledger_model_submitted")
    Ledger(url).dispose()
    with engine.connect() as conn:
        names = {i["name"] for i in sa.inspect(conn).get_indexes(attempts_table.name)}
    engine.dispose()
    assert "ix_wan_ledger_model_submitted" in names


def test_attempts_and_latest_queries(ledger: Ledger) -> None:
    a1, _ = _begin(ledger, "SKU-1")
    ledger.mark_failed(a1.id, "InternalError", "x", retryable=True)
    a2, _ = _begin(ledger, "SKU-1")
    b, _ = _begin(ledger, "SKU-2", asset="video")
    assert ledger.attempts(sku="SKU-1") == [ledger.get(a1.id), a2]
    assert ledger.attempts(asset="video") == [b]
    assert ledger.attempts(status=Status.RETRYABLE) == [ledger.get(a1.id)]
    assert ledger.attempts(status=[Status.INTENT, "RETRYABLE"], asset="background") == [
        ledger.get(a1.id), a2]
    assert ledger.latest("background", "SKU-1", "in-1") == a2
    assert ledger.latest("background", "SKU-1", "in-other") is None
    assert ledger.latest_for_sku("background", "SKU-1") == a2
    assert ledger.latest_for_sku("background", "SKU-none") is None


def test_latest_for_sku_follows_the_newest_input(ledger: Ledger) -> None:
    old = None
    for _ in range(3):  # the old input reached attempt 3 ...
        old, _ = _begin(ledger, fingerprint="in-old", max_attempts=5)
        ledger.mark_failed(old.id, "InternalError", "x", retryable=True)
    assert old is not None and old.attempt_no == 3
    new, _ = _begin(ledger, fingerprint="in-new")  # ... then the product changed
    assert ledger.latest_for_sku("background", "SKU-1") == new
    ledger.mark_failed(new.id, "InternalError", "x", retryable=True)
    newer, _ = _begin(ledger, fingerprint="in-new")
    assert ledger.latest_for_sku("background", "SKU-1") == newer


def test_cost_rows_one_per_stored_attempt(ledger: Ledger) -> None:
    image = _stored(ledger, "SKU-1", "task-1", {"image_count": 2}, Decimal("0.28"))
    video_attempt, _ = ledger.begin(asset="video", sku="SKU-1", input_fingerprint="in-1",
                                    model="wan2.6-i2v", request_fingerprint="v" * 64,
                                    request_body={"model": "wan2.6-i2v"})
    ledger.mark_submitted(video_attempt.id, "task-v")
    end = datetime(2026, 2, 3, 23, 30, tzinfo=UTC)
    usage = {"duration": 10, "input_video_duration": 0, "output_video_duration": 10,
             "video_count": 1, "SR": 720}
    ledger.mark_succeeded(video_attempt.id, usage, Decimal("6.0"), "CNY", finished_at=end)
    ledger.mark_stored(video_attempt.id, "file:///v.mp4", "ef" * 32, 99)
    no_usage = _stored(ledger, "SKU-2", "task-2", None, None)  # usage missing: nothing invented
    expired, _ = _begin(ledger, "SKU-3")  # billed, then the result expired
    ledger.mark_submitted(expired.id, "task-3")
    ledger.mark_succeeded(expired.id, {"image_count": 1}, Decimal("0.14"), "CNY")
    ledger.mark_expired(expired.id)
    failed, _ = _begin(ledger, "SKU-4")
    ledger.mark_failed(failed.id, "InvalidParameter", "x", retryable=False)

    rows = {r["attempt_id"]: r for r in ledger.cost_rows()}
    assert set(rows) == {image.id, video_attempt.id, no_usage.id}
    video = rows[video_attempt.id]
    assert video == {
        "attempt_id": video_attempt.id, "task_id": "task-v", "asset": "video", "sku": "SKU-1",
        "model": "wan2.6-i2v", "status": "STORED", "day": date(2026, 2, 3),
        "cost": Decimal("6.0"), "currency": "CNY", "image_count": None, "duration": 10,
        "video_duration": None, "video_count": 1, "input_video_duration": 0,
        "output_video_duration": 10}
    assert rows[image.id]["image_count"] == 2 and rows[image.id]["cost"] == Decimal("0.28")
    assert rows[image.id]["day"] == image.finished_at.date()  # type: ignore[union-attr]
    assert rows[no_usage.id]["cost"] is None
    assert all(rows[no_usage.id][k] is None for k in BILLED_USAGE_KEYS)

    with_unstored = {r["attempt_id"]: r for r in ledger.cost_rows(include_unstored=True)}
    assert set(with_unstored) == set(rows) | {expired.id}
    assert with_unstored[expired.id]["status"] == "EXPIRED"


# --------------------------------------------------------------------------- storage


def test_reopened_ledger_sees_everything(url: str) -> None:
    first = Ledger(url)
    stored = _stored(first, "SKU-1", "task-1", {"image_count": 1}, Decimal("0.14"))
    pending, _ = _begin(first, "SKU-2")
    first.dispose()
    with Ledger(url) as second:
        assert second.get(stored.id) == stored
        assert second.attempts() == [stored, pending]
        assert second.known_task_ids() == {"task-1"}


def test_sqlite_uses_wal_and_a_busy_timeout(tmp_path: Path) -> None:
    with Ledger(f"sqlite:///{tmp_path / 'deep' / 'dir' / 'ledger.db'}") as led:
        with led._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert (conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 5000
    assert (tmp_path / "deep" / "dir" / "ledger.db").exists()


def test_in_memory_sqlite_is_refused() -> None:
    for url in ("sqlite://", "sqlite:///:memory:"):
        with pytest.raises(ValueError, match="shares"):
            Ledger(url)


def test_default_url_honours_dagster_home(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "dagster home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    url = Ledger.default_url()
    assert url == f"sqlite:///{home / 'wan_dagster' / 'ledger.db'}"
    assert (home / "wan_dagster").is_dir()
    with Ledger(url) as led:
        _begin(led)
    assert (home / "wan_dagster" / "ledger.db").exists()

    monkeypatch.delenv("DAGSTER_HOME")
    monkeypatch.chdir(tmp_path)
    assert Ledger.default_url() == (
        f"sqlite:///{tmp_path.resolve() / '.dagster_home' / 'wan_dagster' / 'ledger.db'}")


def test_pickled_ledger_reconnects_and_hides_passwords(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger(url) as led:
        attempt, _ = _begin(led)
        clone = pickle.loads(pickle.dumps(led))
        assert clone.get(attempt.id) == attempt
        clone.dispose()
    fake = object.__new__(Ledger)
    fake.url = "postgresql+psycopg://wan:s3cret@db/ledger"
    assert "s3cret" not in repr(fake)


def test_schema_compiles_for_postgres() -> None:
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateTable
    ddl = str(CreateTable(attempts_table).compile(
        dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]
    assert "BIGSERIAL" in ddl and "NUMERIC(28, 10)" in ddl
    assert "TIMESTAMP WITH TIME ZONE" in ddl and "UNIQUE (asset, sku, input_fingerprint, " \
        "attempt_no)" in ddl


def test_a_write_that_need_not_survive_a_power_cut_skips_only_the_disk_sync(tmp_path) -> None:
    """The account limits' rows commit without a sync (SQLite ``synchronous`` NORMAL), the
    ledger's own writes with one (FULL), on the same pooled connections; another process's
    connection sees the unsynced write at once."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger, other = Ledger(url), Ledger(url)
    table = sa.Table("limits_like", sa.MetaData(), sa.Column("n", sa.Integer))
    ledger.create_tables(table.metadata)
    for durable, synchronous in ((False, 1), (True, 2), (False, 1)):
        with ledger.transaction(write=True, durable=durable) as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == synchronous
            conn.execute(table.insert().values(n=synchronous))
    with other.transaction() as conn:
        assert sorted(conn.execute(sa.select(table.c.n)).scalars()) == [1, 1, 2]
    attempt, _ = _begin(ledger)  # and the ledger's own writes sync again
    with ledger.transaction() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    assert other.get(attempt.id) == attempt
