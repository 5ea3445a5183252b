"""Creates whose answer was lost while the task list was away (AMBIGUOUS) are settled by the
task sensor where the list allows, shown on the cost asset with billed tasks no SKU owns, and
settled by hand with ``python -m wan_dagster.command.resolve``; all against the emulator, with
its faults losing the answers."""

from __future__ import annotations

import asyncio
import shutil
import time
from datetime import timedelta
from pathlib import Path

import dagster as dg
import httpx
import pytest

from recipe_assets import recipe_asset
from wan_dagster.command import resolve
from wan_dagster.command.summary import render, summarise
from wan_dagster.core import unknown_creates
from wan_dagster.core.account_limits import AccountLimits
from wan_dagster.core.batch import BatchRunner, BatchSettings
from wan_dagster.core.catalog import load_catalog
from wan_dagster.core.ledger import Ledger, Status
from wan_dagster.core.plan import background_request
from wan_dagster.core.review import AMBIGUOUS, review
from wan_dagster.core.store import LocalMediaStore
from wan_dagster.core.unowned import unowned_tasks
from wan_dagster.dashscope import (AmbiguousCreateError, AsyncDashScopeClient, DashScopeClient,
                                   PollPolicy, PriceBook, RetryPolicy)
from wan_dagster.orchestration.defs import build_defs
from wan_dagster.orchestration.jobs import collect_job
from wan_dagster.orchestration.resources import (CatalogResource, DashScopeResource,
                                                 LedgerResource, MediaStoreResource)
from wan_dagster.orchestration.task_sensor import build_task_sensor

DATA = Path(__file__).resolve().parent.parent / "data"
SKUS = ("HOM-5001", "BAG-3001")
#: A client that gives up at once: one create, one listing, no retries (the list is "away").
IMPATIENT = {"retry": RetryPolicy(max_retries=0), "reconcile_attempts": 1,
             "poll": PollPolicy().scaled(0.01)}


@pytest.fixture
def env(tmp_path, emulator):
    shutil.copytree(DATA, tmp_path / "data", ignore=shutil.ignore_patterns("*.py"))
    ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    defs = build_defs(
        dashscope=DashScopeResource(base_url=emulator.base_url, poll_scale=0.01),
        catalog=CatalogResource(path=str(tmp_path / "data" / "catalog.csv")),
        ledger=LedgerResource(url=ledger_url),
        media_store=MediaStoreResource(root=str(tmp_path / "media")))
    with dg.instance_for_test() as instance, Ledger(ledger_url) as ledger:
        instance.add_dynamic_partitions("sku", list(SKUS))
        yield defs, instance, ledger


def products(defs):
    return load_catalog(defs.resources["catalog"].path).by_sku


def lose_answer(emulator, landed: bool) -> None:
    """The next create's answer is lost (a 500 after, or before, the task was made), and so is
    the task list that would have found it."""
    emulator.faults.inject("create", "5xx_after" if landed else "5xx_before")
    emulator.faults.inject("read", "5xx")


def run_batch(defs, ledger, emulator, skus) -> list:
    """The batch scheduler a run's step uses, with a client that gives up at once."""
    async def work():
        async with AsyncDashScopeClient(
                api_key="sk-test", base_url=emulator.base_url,
                shared_limits=AccountLimits.for_ledger(ledger), **IMPATIENT) as client:
            runner = BatchRunner(client, ledger,
                                 LocalMediaStore(Path(defs.resources["media_store"].root)),
                                 PriceBook.load(), BatchSettings(run_id="gone-run"))
            return await runner.run([products(defs)[s] for s in skus], ["background_image"])
    return asyncio.run(work())


def lost_by_an_older_release(defs, ledger, emulator, sku) -> int:
    """A create as a release without today's safeguard sent it: its answer lost while the list
    was away, with nothing holding back the next create of the model. Returns the attempt."""
    product = products(defs)[sku]
    request = background_request(product)
    attempt, _ = ledger.begin(asset="background_image", sku=sku,
                              input_fingerprint=product.input_fingerprints["background_image"],
                              model=request.model, request_fingerprint=request.fingerprint,
                              request_body=request.body, owner="old", lease_s=60)
    ledger.mark_sending(attempt.id, "old")
    lose_answer(emulator, landed=True)
    with DashScopeClient(api_key="sk-test", base_url=emulator.base_url, **IMPATIENT) as client:
        with pytest.raises(AmbiguousCreateError) as lost:
            client.create(request)
    ledger.mark_ambiguous(attempt.id, str(lost.value))
    ledger.release_leases("old")
    return attempt.id


def tick(defs, instance, sensor, cursor=None):
    resources = {k: defs.resources[k] for k in ("dashscope", "ledger")}
    with dg.build_sensor_context(instance=instance, definitions=defs, cursor=cursor,
                                 resources=resources) as context:
        return sensor.evaluate_tick(context)


def bill(emulator) -> list[str]:
    return [line["task_id"] for line in httpx.get(f"{emulator.admin_url}/bill").json()["lines"]]


def billed(emulator, count: int) -> list[str]:
    """The bill once ``count`` tasks have ended (a task is billed when it succeeds)."""
    deadline = time.monotonic() + 60
    while len(lines := bill(emulator)) < count:
        assert time.monotonic() < deadline, f"only {len(lines)} of {count} tasks billed"
        time.sleep(0.05)
    return lines


SETTLING = build_task_sensor(collect_job, settle_after=timedelta(0))


def test_the_one_task_a_lost_create_made_is_adopted_and_collected(env, emulator):
    defs, instance, ledger = env
    lose_answer(emulator, landed=True)
    [outcome] = run_batch(defs, ledger, emulator, [SKUS[0]])
    assert not outcome.ok and outcome.attempt.status == Status.AMBIGUOUS
    [task_id] = billed(emulator, 1)

    # while its window is open the list cannot prove anything: left alone
    assert not tick(defs, instance, defs.get_sensor_def("task_sensor")).run_requests
    assert ledger.get(outcome.attempt.id).status == Status.AMBIGUOUS

    result = tick(defs, instance, SETTLING)
    assert [r.run_key for r in result.run_requests] == [f"collect:{task_id}"]
    assert ledger.get(outcome.attempt.id).task_id == task_id
    collected = defs.resolve_job_def("collect_job").execute_in_process(
        instance=instance, run_config=result.run_requests[0].run_config)
    assert collected.success
    assert ledger.get(outcome.attempt.id).status == Status.STORED
    assert bill(emulator) == [task_id]  # paid once, and owned


def test_a_lost_create_that_never_landed_is_withdrawn_and_sent_again(env, emulator):
    defs, instance, ledger = env
    lose_answer(emulator, landed=False)
    [outcome] = run_batch(defs, ledger, emulator, [SKUS[0]])
    assert outcome.attempt.status == Status.AMBIGUOUS and bill(emulator) == []

    assert not tick(defs, instance, SETTLING).run_requests
    withdrawn = ledger.get(outcome.attempt.id)
    assert (withdrawn.status, withdrawn.code) == (Status.RETRYABLE, "NotCreated")

    [again] = run_batch(defs, ledger, emulator, [SKUS[0]])
    assert again.ok and again.attempt.attempt_no == 2
    assert bill(emulator) == [again.attempt.task_id]


def test_a_person_withdraws_a_lost_create_the_list_shows_no_task_for(env, emulator, capsys):
    defs, instance, ledger = env
    lose_answer(emulator, landed=False)
    [outcome] = run_batch(defs, ledger, emulator, [SKUS[0]])
    cli = ["--ledger", ledger.url, "--base-url", emulator.base_url]
    assert resolve.main(cli + ["withdraw", str(outcome.attempt.id)]) == 0
    assert "withdrawn" in capsys.readouterr().out
    withdrawn = ledger.get(outcome.attempt.id)
    assert (withdrawn.status, withdrawn.message) == (Status.RETRYABLE,
                                                     "withdrawn by hand: no task was created")
    assert resolve.main(cli + ["withdraw", str(outcome.attempt.id)]) == resolve.EXIT_REFUSED
    assert "not AMBIGUOUS" in capsys.readouterr().err


def test_two_lost_creates_are_shown_and_settled_by_hand_then_by_the_sensor(env, emulator,
                                                                           capsys):
    """Background tasks show no prompt: two lost creates of the model cannot be told apart."""
    defs, instance, ledger = env
    first, second = (lost_by_an_older_release(defs, ledger, emulator, sku) for sku in SKUS)
    billed_tasks = billed(emulator, 2)

    result = tick(defs, instance, SETTLING)  # several candidates: nobody's to guess
    assert not result.run_requests
    assert {ledger.get(a).status for a in (first, second)} == {Status.AMBIGUOUS}
    [observation] = result.asset_events
    assert observation.asset_key == dg.AssetKey("generation_costs")
    assert observation.metadata["unowned_billed_tasks"].value == 2
    assert tick(defs, instance, SETTLING, result.cursor).asset_events == []  # told once
    reviewed = {r.sku: r for r in review(load_catalog(defs.resources["catalog"].path), ledger)}
    assert [reviewed[sku].status for sku in SKUS] == [AMBIGUOUS, AMBIGUOUS]  # in the gallery
    assert "wan_dagster.command.resolve" in reviewed[SKUS[0]].problems[0]

    costs = dg.materialize([recipe_asset("generation_costs")], resources=defs.resources) \
        .asset_materializations_for_node("generation_costs")[0].metadata
    shown = costs["ambiguous_creates_table"].value.records
    assert [(r.data["attempt_id"], r.data["sku"]) for r in shown] == [(first, SKUS[0]),
                                                                       (second, SKUS[1])]
    unowned = costs["unowned_billed_tasks_table"].value.records
    assert sorted(r.data["task_id"] for r in unowned) == sorted(billed_tasks)
    assert {r.data["sku"] for r in unowned} == {"unknown"}  # no prompt shown
    assert all(r.data["cost"] > 0 for r in unowned)

    summary = render(summarise(load_catalog(defs.resources["catalog"].path), ledger, [],
                               unowned_tasks_of(defs, ledger, emulator)))
    assert "Billed tasks no SKU owns: 2" in summary and billed_tasks[0] in summary

    cli = ["--ledger", ledger.url, "--base-url", emulator.base_url]
    assert resolve.main(cli + ["list"]) == 0
    listed = capsys.readouterr().out
    assert all(task in listed for task in billed_tasks) and f"  {second}  {SKUS[1]}" in listed
    assert resolve.main(cli + ["withdraw", str(first)]) == resolve.EXIT_REFUSED  # tasks exist
    assert resolve.main(cli + ["adopt", str(first), "not-a-listed-task"]) == resolve.EXIT_REFUSED
    assert resolve.main(cli + ["adopt", str(first), billed_tasks[0]]) == 0  # the console's answer
    assert "now owns task" in capsys.readouterr().out

    result = tick(defs, instance, SETTLING, result.cursor)  # the other is the only one left
    assert ledger.get(second).task_id == billed_tasks[1]
    assert sorted(r.tags["wan/attempt_id"] for r in result.run_requests) == \
        sorted([str(first), str(second)])
    assert unowned_tasks_of(defs, ledger, emulator) == []


def unowned_tasks_of(defs, ledger, emulator):
    with DashScopeClient(api_key="sk-test", base_url=emulator.base_url) as client:
        return unowned_tasks(client, ledger, PriceBook.load())


def test_a_create_settled_meanwhile_by_another_process_keeps_its_answer(tmp_path):
    """The list was read before another process recorded the task: 'not created' must not
    withdraw an attempt that has a task now (its SKU would be sent and paid for again)."""
    with Ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        begun = [ledger.begin(asset="background_image", sku=sku, input_fingerprint="fp",
                              model="wanx-background-generation-v2", request_fingerprint="rf",
                              request_body={"input": {}})[0] for sku in ("A", "B", "C")]
        stale, unsent, lost = begun
        seen = ledger.mark_ambiguous(stale.id, "ReadTimeout")  # what this process read
        ledger.mark_ambiguous(lost.id, "ReadTimeout")
        ledger.mark_submitted(stale.id, "task-found-by-another-run")

        kept = unknown_creates.record(ledger, seen, None)
        assert (kept.status, kept.task_id) == (Status.SUBMITTED, "task-found-by-another-run")
        assert unknown_creates.record(ledger, unsent, None).status == Status.CANCELED
        withdrawn = unknown_creates.record(ledger, ledger.get(lost.id), None)
        assert (withdrawn.status, withdrawn.code) == (Status.RETRYABLE, "NotCreated")
