"""The task sensor against the emulator: tasks no live run collects are polled, collected by a
collect run keyed by task id (never twice), failed ones recorded with their code, expired ones
reported and regenerated only on request; a round too long for one tick resumes from its cursor,
nearest to expiry first."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

import dagster as dg

from wan_dagster.dashscope import DashScopeClient, PollPolicy
from wan_dagster.orchestration.defs import build_defs
from wan_dagster.orchestration.jobs import collect_job
from wan_dagster.core.ledger import Ledger, Status
from wan_dagster.core.plan import background_request
from wan_dagster.core.catalog import load_catalog
from wan_dagster.orchestration.resources import (CatalogResource, DashScopeResource, LedgerResource,
                                   MediaStoreResource)
from wan_dagster.orchestration.task_sensor import build_task_sensor

DATA = Path(__file__).resolve().parent.parent / "data"
SKU = "HOM-5001"  # a background and a video, no model shot


@pytest.fixture
def env(tmp_path, emulator):
    shutil.copytree(DATA, tmp_path / "data", ignore=shutil.ignore_patterns("*.py"))
    ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    defs = build_defs(
        dashscope=DashScopeResource(base_url=emulator.base_url,
                                    poll_scale=0.01),
        catalog=CatalogResource(path=str(tmp_path / "data" / "catalog.csv")),
        ledger=LedgerResource(url=ledger_url),
        media_store=MediaStoreResource(root=str(tmp_path / "media")))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("sku", [SKU])
        yield defs, instance, Ledger(ledger_url)


def tick(defs, instance, cursor=None, sensor=None):
    sensor = sensor or defs.get_sensor_def("task_sensor")
    resources = {k: defs.resources[k] for k in ("dashscope", "ledger")}
    with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs,
                                 resources=resources) as context:
        return sensor.evaluate_tick(context)


def launch(defs, instance, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    """What the daemon does with a collect run request."""
    return defs.resolve_job_def("collect_job").execute_in_process(
        instance=instance, run_config=request.run_config, tags=request.tags,
        raise_on_error=False)


def background_run(defs, instance, **config) -> dg.ExecuteInProcessResult:
    """The SKU's background through the SKU-list job, with extra GenerationConfig."""
    return defs.resolve_job_def("sku_list_job").execute_in_process(
        instance=instance, raise_on_error=False, run_config={"ops": {"generate_for_skus": {
            "config": {"skus": [SKU], "assets": ["background_image"], **config}}}})


def leave_behind(defs, instance) -> dg.ExecuteInProcessResult:
    """A run that stops waiting at once: its task is left SUBMITTED for the sensor."""
    return background_run(defs, instance, wait_timeout_s=0.0)


def ended_on_the_service(emulator, attempt) -> None:
    """Wait until the left task has ended, so that a clock advance expires it: advanced while
    it still renders (a loaded machine), it would end after the jump, fresh, and be collected."""
    with DashScopeClient(api_key="x", base_url=emulator.base_url,
                         poll=PollPolicy().scaled(0.01)) as client:
        assert client.wait(attempt.task_id, model=attempt.model, timeout=120).succeeded


def bill(emulator) -> list[dict]:
    return httpx.get(f"{emulator.admin_url}/bill").json()["lines"]


def test_a_left_task_is_collected_once_with_its_cost(env, emulator):
    defs, instance, ledger = env
    left = leave_behind(defs, instance)
    assert not left.success
    [attempt] = ledger.attempts()
    assert attempt.status == Status.SUBMITTED and attempt.task_id

    first, second = tick(defs, instance), tick(defs, instance)
    assert [r.run_key for r in first.run_requests] == [f"collect:{attempt.task_id}"]
    # until it is collected every tick asks again under the same key: the daemon launches once
    assert [r.run_key for r in second.run_requests] == [f"collect:{attempt.task_id}"]

    result = launch(defs, instance, first.run_requests[0])
    assert result.success
    stored = ledger.get(attempt.id)
    assert stored.status == Status.STORED and stored.cost is not None
    event = instance.get_latest_materialization_event(dg.AssetKey("background_image"))
    metadata = event.asset_materialization.metadata
    assert event.asset_materialization.partition == SKU
    assert metadata["dashscope/task_id"].value == attempt.task_id
    assert metadata["dashscope/cost_cny"].value == float(stored.cost)
    root = Path(defs.resources["media_store"].root)
    assert (root / metadata["media/uri"].value).exists()  # relative to the store

    assert not tick(defs, instance).run_requests  # nothing in flight any more
    again = launch(defs, instance, first.run_requests[0])  # a duplicate launch does nothing
    assert again.success
    assert emulator.counters["creates"] == 1 and emulator.counters["downloads"] == 1
    assert [line["task_id"] for line in bill(emulator)] == [attempt.task_id]


def test_a_failed_task_is_recorded_with_its_code_without_a_run(env, emulator):
    defs, instance, ledger = env
    emulator.faults.inject("task", "data_inspection")
    leave_behind(defs, instance)
    result = tick(defs, instance)
    assert not result.run_requests
    [attempt] = ledger.attempts()
    assert attempt.status == Status.FAILED and attempt.code == "DataInspectionFailed"
    assert bill(emulator) == []


def test_expired_results_are_reported_and_regenerated_only_on_request(env, emulator):
    defs, instance, ledger = env
    leave_behind(defs, instance)
    ended_on_the_service(emulator, ledger.attempts()[0])
    emulator.clock.advance(25 * 3600)  # the result's 24 h pass before anyone collects it
    assert not tick(defs, instance).run_requests
    [expired] = ledger.attempts()
    assert expired.status == Status.EXPIRED

    plain = background_run(defs, instance)
    failure = next(e for e in plain.all_events if e.event_type_value == "STEP_FAILURE")
    assert "expired" in failure.event_specific_data.error.message
    assert "regenerate_expired" in failure.event_specific_data.error.message
    assert emulator.counters["creates"] == 1  # reported, not silently paid for again

    again = background_run(defs, instance, regenerate_expired=True)
    assert again.success
    assert emulator.counters["creates"] == 2
    latest = ledger.latest_for_sku("background_image", SKU)
    assert latest.status == Status.STORED and latest.attempt_no == 2
    assert "regenerate_expired" in latest.message


def test_a_long_round_resumes_from_its_cursor_nearest_to_expiry_first(env, emulator):
    """Three orphaned tasks, and a tick budget that checks only one per tick."""
    defs, instance, ledger = env
    catalog = load_catalog(defs.resources["catalog"].path)
    now = datetime.now(UTC)
    ages = {"BAG-3001": 1, "HOM-5002": 3, "ELE-6001": 2}  # hours since submission
    with DashScopeClient("sk-test", base_url=emulator.base_url) as client:
        for sku, hours in ages.items():
            request = background_request(catalog.by_sku[sku])
            attempt, _ = ledger.begin(
                asset="background_image", sku=sku, input_fingerprint="fp", model=request.model,
                request_fingerprint=request.fingerprint, request_body=request.body)
            task = client.create(request)
            ledger.mark_submitted(attempt.id, task.task_id,
                                  submitted_at=now - timedelta(hours=hours))
            client.wait(task, timeout=30)
    sensor = build_task_sensor(collect_job, tick_budget_s=0)
    order, cursor = [], None
    for _ in range(3):
        result = tick(defs, instance, cursor, sensor)
        order += [r.tags["wan/sku"] for r in result.run_requests]
        cursor = result.cursor
    assert order == ["HOM-5002", "ELE-6001", "BAG-3001"]  # oldest (nearest expiry) first
    assert [r.tags["wan/sku"] for r in tick(defs, instance, cursor, sensor).run_requests] == \
        ["HOM-5002"]  # the round done, the next one starts over


def test_tasks_of_a_live_run_are_left_to_it(env, emulator):
    defs, instance, ledger = env
    leave_behind(defs, instance)
    [attempt] = ledger.attempts()
    run = instance.get_run_by_id(attempt.run_id)
    instance.handle_run_event(run.run_id, dg.DagsterEvent(  # as if it were still running
        event_type_value="PIPELINE_START", job_name=run.job_name))
    assert instance.get_run_by_id(attempt.run_id).status == dg.DagsterRunStatus.STARTED
    waiting, _ = ledger.begin(  # an intent the live run has not sent yet (waiting for a slot)
        asset="background_image", sku="HOM-5002", input_fingerprint="fp", model=attempt.model,
        request_fingerprint="rf", request_body=attempt.request_body, run_id=attempt.run_id)
    assert not tick(defs, instance).run_requests
    deadline = time.monotonic() + 60  # the left task ends (a late sensor collects only then)
    while emulator.tasks.describe(attempt.task_id)["output"]["task_status"] != "SUCCEEDED":
        assert time.monotonic() < deadline, "the left task never ended"
        time.sleep(0.05)
    late = build_task_sensor(collect_job, orphan_after=timedelta(0))  # ...unless it is too late
    assert [r.tags["wan/attempt_id"] for r in tick(defs, instance, sensor=late).run_requests] \
        == [str(attempt.id)]  # the run may still send its intent, however long it waited
    assert ledger.get(waiting.id).status == Status.INTENT


def test_the_embedded_emulator_has_nothing_to_poll(tmp_path):
    defs = build_defs(dashscope=DashScopeResource(),
                      ledger=LedgerResource(url=f"sqlite:///{tmp_path / 'ledger.db'}"))
    with dg.instance_for_test() as instance:
        result = tick(defs, instance)
    assert not result.run_requests and "embedded emulator" in result.skip_message


def test_a_sensor_recorded_transient_failure_on_the_last_attempt_is_reported(env, emulator):
    """The sensor records InternalError as RETRYABLE whatever the attempt number; a run that
    finds it on the last allowed attempt reports it instead of beginning it over and over."""
    defs, instance, ledger = env
    product = load_catalog(defs.resources["catalog"].path).by_sku[SKU]
    request = background_request(product)
    for _ in range(3):  # BatchSettings.max_attempts
        attempt, fresh = ledger.begin(
            asset="background_image", sku=SKU,
            input_fingerprint=product.input_fingerprints["background_image"],
            model=request.model, request_fingerprint=request.fingerprint,
            request_body=request.body)
        assert fresh
        ledger.mark_failed(attempt.id, "InternalError", "boom", retryable=True)
    result = background_run(defs, instance)
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "InternalError: boom" in failure.event_specific_data.error.message
    assert emulator.counters["creates"] == 0
