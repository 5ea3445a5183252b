"""A run terminated from the UI (the run process gets SIGINT, which Dagster raises in the step
as DagsterExecutionInterruptedError) cancels its PENDING tasks at the service, withdraws what
it never sent, and leaves RUNNING tasks to the task sensor, which collects them. A SIGKILLed
run's running task is collected by the sensor too, once run monitoring marks the run failed."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime

import pytest

import dagster as dg

from crash_run import (KILL_POINTS, KillPoint, Workdir, prepare, run_media_job, start_run,
                       task_in, wait_for)
from wan_dagster.dashscope import DashScopeClient
from wan_dagster.core.catalog import load_catalog
from wan_dagster.orchestration.defs import build_defs
from wan_dagster.core.ledger import Ledger, Status
from wan_dagster.core.plan import background_request
from wan_dagster.orchestration.resources import (CatalogResource, DashScopeResource, LedgerResource,
                                   MediaStoreResource)

#: Enough to keep the one background slot busy (8-30 s of service time, scaled) for minutes.
BLOCKER_SLOW_FACTOR = 50_000.0


def defs_for(emulator, work: Workdir) -> dg.Definitions:
    return build_defs(
        dashscope=DashScopeResource(base_url=emulator.base_url,
                                    poll_scale=0.01),
        catalog=CatalogResource(path=str(work.catalog)),
        ledger=LedgerResource(url=work.ledger_url),
        media_store=MediaStoreResource(root=str(work.media)))


def stop_at(emulator, work: Workdir, skus: tuple[str, ...], point: KillPoint,
            sig: signal.Signals) -> list:
    """Start a run of ``skus``, wait for ``point``, send ``sig``; the ledger afterwards."""
    proc = start_run(emulator, work, skus)
    with Ledger(work.ledger_url) as ledger:
        try:
            wait_for(point, emulator, ledger, proc, work.log)
            proc.send_signal(sig)
            proc.wait(timeout=120)
        finally:
            proc.kill()
        return ledger.attempts()


def collect_by_sensor(emulator, work: Workdir, task_id: str | None) -> list[dg.RunRequest]:
    """Wait for the task (if known) to finish, tick the task sensor, run what it asks for."""
    if task_id is not None:
        with DashScopeClient("sk-test", base_url=emulator.base_url) as client:
            client.wait(task_id, timeout=60)
    defs = defs_for(emulator, work)
    with work.instance() as instance:
        with dg.build_sensor_context(
                instance=instance, definitions=defs,
                resources={k: defs.resources[k] for k in ("dashscope", "ledger")}) as context:
            requests = defs.get_sensor_def("task_sensor").evaluate_tick(context).run_requests
        for request in requests:
            result = defs.resolve_job_def("collect_job").execute_in_process(
                instance=instance, run_config=request.run_config, tags=request.tags)
            assert result.success
    return requests


def test_termination_cancels_a_pending_task(emulator, tmp_path):
    work = prepare(tmp_path, ("HOM-5001",))
    # another client's slow task holds the model's only slot: the run's task queues PENDING
    emulator.faults.update(slow_factor=BLOCKER_SLOW_FACTOR)
    emulator.faults.inject("task", "slow")
    catalog = load_catalog(work.catalog)
    with DashScopeClient("sk-other", base_url=emulator.base_url) as client:
        client.create(background_request(catalog.by_sku["BAG-3001"]))

    pending = KillPoint("pending", ("task", "slow"), task_in("PENDING"), "a queued task")
    [attempt] = stop_at(emulator, work, ("HOM-5001",), pending, signal.SIGINT)

    assert attempt.status == Status.CANCELED
    assert emulator.tasks.describe(attempt.task_id)["output"]["task_status"] == "CANCELED"
    assert emulator.counters["cancels"] == 1
    assert [line.task_id for line in emulator.bill.lines] == []  # nothing billed
    assert "1 pending task(s) canceled" in work.log.read_text()


def _running_and_queued(emulator, attempts) -> bool:
    """One task runs and another waits queued behind it at the service (submitted ahead)."""
    states = [emulator.tasks.describe(a.task_id)["output"]["task_status"]
              for a in attempts if a.status == Status.SUBMITTED]
    return sorted(states) == ["PENDING", "RUNNING"]


def test_termination_leaves_a_running_task_to_the_sensor(emulator, tmp_path):
    # one background slot: the first SKU's task runs, the second's is queued ahead at the
    # service, the third waits unsent
    skus = ("HOM-5001", "HOM-5002", "BAG-3001")
    work = prepare(tmp_path, skus)
    running = KillPoint("running", ("task", "slow"), _running_and_queued,
                        "a running task and a queued one")
    emulator.faults.update(slow_factor=100.0)
    emulator.faults.inject("task", "slow")
    attempts = stop_at(emulator, work, skus, running, signal.SIGINT)

    # the queued task is canceled at the service, the unsent create withdrawn, the running
    # task left (the service refuses to cancel it)
    assert sorted(a.status for a in attempts) == [Status.CANCELED, Status.CANCELED,
                                                  Status.SUBMITTED]
    assert emulator.counters["creates"] == 2 and emulator.counters["cancels"] == 2
    assert ("1 pending task(s) canceled at DashScope, 1 unsent submission(s) withdrawn, "
            "1 running task(s) left") in work.log.read_text()

    [left] = [a for a in attempts if a.status == Status.SUBMITTED]
    requests = collect_by_sensor(emulator, work, left.task_id)
    assert [r.run_key for r in requests] == [f"collect:{left.task_id}"]
    assert Ledger(work.ledger_url).get(left.id).status == Status.STORED
    with work.instance() as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("background_image"))
        assert event.asset_materialization.partition == left.sku
        assert event.asset_materialization.metadata["dashscope/task_id"].value == left.task_id
    assert [line.task_id for line in emulator.bill.lines] == [left.task_id]


@pytest.mark.parametrize("monitored", [True, False])
def test_a_killed_runs_running_task_is_collected_by_the_sensor(emulator, tmp_path, monitored):
    """SIGKILL leaves the run STARTED. With run monitoring the run is marked failed and the
    sensor collects at once; without it, the task looks owned until ORPHAN_AFTER."""
    work = prepare(tmp_path, ("HOM-5001",))
    running = KillPoint("running", ("task", "slow"), task_in("RUNNING"), "a running task")
    emulator.faults.update(slow_factor=100.0)
    emulator.faults.inject("task", "slow")
    [attempt] = stop_at(emulator, work, ("HOM-5001",), running, signal.SIGKILL)
    assert attempt.status == Status.SUBMITTED

    if monitored:
        report_failed(work, attempt.run_id)
    requests = collect_by_sensor(emulator, work, attempt.task_id)
    if not monitored:
        assert requests == []
        return
    assert len(requests) == 1
    assert Ledger(work.ledger_url).get(attempt.id).status == Status.STORED
    assert [line.task_id for line in emulator.bill.lines] == [attempt.task_id]


def report_failed(work: Workdir, run_id: str) -> None:
    """What Dagster's run monitoring does to a run whose process is gone."""
    with work.instance() as instance:
        instance.report_run_failed(instance.get_run_by_id(run_id))


@pytest.mark.parametrize("name, settled", [("intent", Status.CANCELED),
                                           ("created", Status.STORED)])
def test_a_killed_runs_unconfirmed_create_is_reconciled_by_the_sensor(
        emulator, tmp_path, name, settled):
    """Killed with its create unanswered: the sensor's recover run looks the task up in the
    service's task list, collects it if it was created, and withdraws the attempt if not."""
    work = prepare(tmp_path, ("HOM-5001",))
    point = next(p for p in KILL_POINTS if p.name == name)
    point.arm(emulator)
    [attempt] = stop_at(emulator, work, ("HOM-5001",), point, signal.SIGKILL)
    # not released: the emulator drops a held request once its client is gone (a release
    # racing that would let a dead client's create land late, and be adopted instead)
    deadline = time.monotonic() + 10
    while emulator.faults.holding() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert emulator.faults.holding() == 0
    assert attempt.status == Status.INTENT and attempt.task_id is None
    report_failed(work, attempt.run_id)
    # the sensor leaves an attempt alone while its (killed) holder's lease lasts
    with Ledger(work.ledger_url) as ledger:
        while ledger.get(attempt.id).lease_until > datetime.now(UTC):
            assert time.monotonic() < deadline + 60, "the killed run's lease never lapsed"
            time.sleep(0.1)

    requests = collect_by_sensor(emulator, work, None)
    assert [r.run_key for r in requests] == [f"recover:{attempt.id}"]
    after = Ledger(work.ledger_url).get(attempt.id)
    assert after.status == settled
    assert [line.task_id for line in emulator.bill.lines] == \
        ([after.task_id] if settled == Status.STORED else [])

    # the SKU's next run finishes it, paying for each generation once
    assert run_media_job(emulator.base_url, work, "HOM-5001", "HOM-5001").success
    assert emulator.counters["creates"] == len(emulator.bill.lines) == 2
