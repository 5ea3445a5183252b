"""The whole sample catalog through Dagster against the emulator: sensor → batched runs →
per-SKU materializations and failures; costs equal to the emulator's bill; a re-run pays nothing."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import httpx
import pandas as pd
import pytest

import dagster as dg
from dagster._core.storage.event_log.base import AssetRecordsFilter

from wan_dagster.dashscope import REGISTRY, PriceBook, Usage
from wan_dagster.orchestration.defs import build_defs
from wan_dagster.core.ledger import Ledger, Status
from wan_dagster.orchestration.resources import (CatalogResource, DashScopeResource, LedgerResource,
                                   MediaStoreResource)

pytest_plugins = ["s3_server"]

DATA = Path(__file__).resolve().parent.parent / "data"
BROKEN = {"BRK-MISSING", "BRK-JPEG", "BRK-RES", "BRK/../unsafe:name"}


@pytest.fixture
def catalog_copy(tmp_path) -> Path:
    shutil.copytree(DATA, tmp_path / "data", ignore=shutil.ignore_patterns("*.py"))
    return tmp_path / "data" / "catalog.csv"


@pytest.fixture
def setup(tmp_path, emulator, catalog_copy):
    defs = build_defs(
        dashscope=DashScopeResource(base_url=emulator.base_url,
                                    poll_scale=0.01),
        catalog=CatalogResource(path=str(catalog_copy)),
        ledger=LedgerResource(url=f"sqlite:///{tmp_path / 'ledger.db'}"),
        media_store=MediaStoreResource(root=str(tmp_path / "media")),
    )
    with dg.instance_for_test() as instance:
        yield defs, instance


def tick(defs, instance, cursor=None):
    sensor = defs.get_sensor_def("catalog_sensor")
    # The daemon evaluates ticks with the instance as partition store; so does this harness.
    with dg.partition_loading_context(dynamic_partitions_store=instance), \
            dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs,
                                    resources={"catalog": defs.resources["catalog"]}) as context:
        return sensor.evaluate_tick(context)


def run_requests(defs, instance, tick_result):
    """What the daemon does with a sensor tick: add partitions, launch each run."""
    for request in tick_result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    job = defs.get_job_def("media_job")
    results = []
    for request in tick_result.run_requests:
        results.append(job.execute_in_process(
            instance=instance, partition_key=request.partition_key, tags=request.tags,
            raise_on_error=False))
    return results


def statuses(instance, asset: str, keys: list[str]) -> dict[str, str]:
    found = instance.get_status_by_partition(dg.AssetKey(asset), keys,
                                             dg.DynamicPartitionsDefinition(name="sku"))
    return {k: found[k].value.lower() if k in found else "missing" for k in keys}


def bill(emulator) -> list[dict]:
    return httpx.get(f"{emulator.admin_url}/bill").json()["lines"]


def test_sample_catalog_end_to_end(setup, emulator, tmp_path):
    defs, instance = setup
    first = tick(defs, instance)
    skus = [k for r in first.dynamic_partitions_requests for k in r.partition_keys]
    assert not set(skus) & BROKEN and len(skus) == 29  # invalid rows never become partitions
    results = run_requests(defs, instance, first)
    assert len(results) == 1 and results[0].success  # 29 contiguous new SKUs: one batched run

    for asset in ("background_image", "model_shot", "product_video"):
        assert set(statuses(instance, asset, skus).values()) == {"materialized"}, asset
    shots = {s for s in skus if s.startswith(("APP", "SHO"))}
    applies = {s: instance.fetch_materializations(
        AssetRecordsFilter(dg.AssetKey("model_shot"), asset_partitions=[s]), limit=1)
        .records[0].asset_materialization.metadata["applies"].value for s in skus}
    assert {s for s, yes in applies.items() if yes} == shots  # the others: "does not apply"

    checks = defs.get_job_def("media_check_job").execute_in_process(instance=instance)
    evaluations = [e.event_specific_data for e in checks.all_events
                   if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert len(evaluations) == 3 and all(e.passed for e in evaluations)
    assert sum(e.metadata["checked"].value for e in evaluations) == 29 + len(shots) + 29

    listed = dg.materialize([defs.get_assets_def("product_catalog")], instance=instance,
                            resources={"catalog": defs.resources["catalog"]})
    rows = listed.asset_materializations_for_node("product_catalog")[0] \
        .metadata["invalid_rows"].value.records
    assert {r.data["sku"] for r in rows} == BROKEN
    assert {"cutout_image", "video_resolution", "sku"} <= {r.data["column"] for r in rows}

    # costs: exactly the emulator's bill, task by task and in total
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    stored = ledger.attempts(status=Status.STORED)
    lines = {line["task_id"]: line for line in bill(emulator)}
    assert {a.task_id for a in stored} == set(lines)
    prices = PriceBook.load()
    total = Decimal(0)
    for attempt in stored:
        line = lines[attempt.task_id]
        usage = Usage.parse(line["usage"])
        assert attempt.usage == line["usage"]  # billed quantities exactly as the service sent
        expected = prices.cost(REGISTRY.get(line["model"]), usage, attempt.request_body)
        if expected is None:  # a model without a published CNY price: unknown, not guessed
            assert attempt.cost is None and line["model"] == "wanx2.1-i2v-turbo"
            continue
        assert attempt.cost == expected.amount, attempt.task_id
        total += expected.amount
    rollup = dg.materialize([defs.get_assets_def("generation_costs")], instance=instance,
                            resources={k: defs.resources[k] for k in ("ledger", "dashscope")})
    frame: pd.DataFrame = rollup.output_for_node("generation_costs")
    assert Decimal(str(round(frame["cost_cny"].sum(), 6))) == total
    assert frame.loc[frame["model"] == "wanx2.1-i2v-turbo", "cost_cny"].isna().all()
    assert total > 0
    costs = rollup.asset_materializations_for_node("generation_costs")[0].metadata
    assert costs["unowned_billed_tasks"].value == 0 and costs["ambiguous_creates"].value == 0

    # every materialization carries its own task, usage and cost (which of them is the latest
    # depends on timing: a model without a published price has none, so look at them all)
    records = instance.fetch_materializations(dg.AssetKey("product_video"), limit=100).records
    assert records
    for record in records:
        metadata = record.asset_materialization.metadata
        priced = metadata["dashscope/model"].value != "wanx2.1-i2v-turbo"
        for key in ("dashscope/task_id", "dashscope/usage", "media/sha256", "media/codec",
                    "media/duration_s") + (("dashscope/cost_cny",) if priced else ()):
            assert key in metadata, key

    # a re-run of the finished batch creates no new task and bills nothing more
    creates = emulator.counters["creates"]
    again = defs.get_job_def("media_job").execute_in_process(
        instance=instance, tags=results[0].dagster_run.tags, raise_on_error=False)
    assert emulator.counters["creates"] == creates
    assert len(bill(emulator)) == len(lines)
    assert again.success


def test_sensor_unchanged_catalog_triggers_nothing_and_a_change_exactly_that_sku(
        setup, catalog_copy):
    defs, instance = setup
    first = tick(defs, instance)
    for request in first.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    second = tick(defs, instance, cursor=first.cursor)
    assert not second.run_requests and second.skip_message

    frame = pd.read_csv(catalog_copy, dtype=str, keep_default_na=False)
    frame.loc[frame["sku"] == "HOM-5002", "background_prompt"] = "a new scene"
    frame.to_csv(catalog_copy, index=False)
    third = tick(defs, instance, cursor=first.cursor)
    assert [r.partition_key for r in third.run_requests] == ["HOM-5002"]
    assert not third.dynamic_partitions_requests


def test_dry_run_prices_without_submitting(setup, emulator):
    defs, instance = setup
    first = tick(defs, instance)
    for request in first.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    result = defs.get_job_def("media_job").execute_in_process(
        instance=instance, partition_key="APP-1001",
        run_config={"ops": {"generate_media": {"config": {"dry_run": True}}}})
    assert result.success
    assert emulator.counters["creates"] == 0


def test_budget_stops_new_submissions(setup, emulator, tmp_path):
    defs, instance = setup
    first = tick(defs, instance)
    for request in first.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    few = {"dagster/asset_partition_range_start": "BAG-3001",
           "dagster/asset_partition_range_end": "HOM-5004"}  # 11 SKUs without model shots
    result = defs.get_job_def("media_job").execute_in_process(
        instance=instance, tags=few, raise_on_error=False,
        run_config={"ops": {"generate_media": {"config": {"budget_cny": 0.5}}}})
    assert not result.success
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    spent = sum(a.cost or 0 for a in ledger.attempts(status=Status.STORED))
    assert 0 < spent <= Decimal("0.5")
    assert emulator.counters["creates"] < 11 * 2
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "budget of 0.5 CNY reached" in failure.event_specific_data.error.message


def test_sku_list_job_registers_and_generates_just_those_skus(setup, emulator):
    defs, instance = setup
    result = defs.get_job_def("sku_list_job").execute_in_process(
        instance=instance, run_config={"ops": {"generate_for_skus": {"config": {
            "skus": ["HOM-5001", "ELE-6001"], "assets": ["background_image", "product_video"]}}}})
    assert result.success
    assert set(instance.get_dynamic_partitions("sku")) == {"HOM-5001", "ELE-6001"}
    assert statuses(instance, "product_video", ["HOM-5001", "ELE-6001"]) == {
        "HOM-5001": "materialized", "ELE-6001": "materialized"}
    assert emulator.counters["creates"] == 4
    # regression: new attempts used to search the task list (3 listings, 2 s) before every
    # create, for a crash that could not have happened; only resumed intents need it
    assert emulator.counters["lists"] == 0


def test_catalog_and_media_on_s3(emulator, s3_client, s3_bucket, s3_endpoint_url, tmp_path):
    """The catalog read from s3:// (images next to it) and the media written to S3, both
    through dagster-aws's S3Resource against a real S3-compatible server on loopback."""
    from dagster_aws.s3 import S3Resource

    for path in [DATA / "catalog.csv", *(DATA / "images").glob("HOM-5002*")]:
        s3_client.upload_file(str(path), s3_bucket, f"shop/{path.relative_to(DATA)}")
    frame = pd.read_csv(DATA / "catalog.csv", dtype=str, keep_default_na=False)
    body = frame[frame["sku"] == "HOM-5002"].to_csv(index=False).encode()
    s3_client.put_object(Bucket=s3_bucket, Key="shop/catalog.csv", Body=body)
    s3 = S3Resource(endpoint_url=s3_endpoint_url, aws_access_key_id="test",
                    aws_secret_access_key="test", region_name="us-east-1")
    defs = build_defs(
        dashscope=DashScopeResource(base_url=emulator.base_url,
                                    poll_scale=0.01),
        catalog=CatalogResource(path=f"s3://{s3_bucket}/shop/catalog.csv", s3=s3),
        ledger=LedgerResource(url=f"sqlite:///{tmp_path / 'ledger.db'}"),
        media_store=MediaStoreResource(kind="s3", bucket=s3_bucket, prefix="media", s3=s3))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("sku", ["HOM-5002"])
        result = defs.get_job_def("media_job").execute_in_process(
            instance=instance, partition_key="HOM-5002")
        assert result.success
        keys = [o["Key"] for o in s3_client.list_objects_v2(
            Bucket=s3_bucket, Prefix="media/")["Contents"]]
        assert {k.split("/")[1] for k in keys} == {"background_image", "product_video"}
        event = instance.get_latest_materialization_event(dg.AssetKey("product_video"))
        assert event.asset_materialization.metadata["media/uri"].value.startswith(
            f"s3://{s3_bucket}/media/product_video/")


def test_a_raised_concurrency_quota_is_used_by_the_batch(tmp_path, catalog_copy):
    """limit_overrides must reach the batch's own per-model gate, not only the client's slots
    (regression: the gate read the registry's documented concurrency, 1 for backgrounds)."""
    from wan_dagster.dashscope import DashScopeClient, Limits
    from wan_dagster.emulator import Emulator

    model = "wanx-background-generation-v2"
    raised = REGISTRY.with_limits({model: Limits(10, 3)})
    skus = ["BAG-3001", "BAG-3002", "HOM-5001", "HOM-5002", "ELE-6001", "ELE-6002"]
    with Emulator(time_scale=0.01, registry=raised, seed=1) as emulator:
        defs = build_defs(
            dashscope=DashScopeResource(base_url=emulator.base_url,
                                        poll_scale=0.05, limit_overrides={model: [10, 3]}),
            catalog=CatalogResource(path=str(catalog_copy)),
            ledger=LedgerResource(url=f"sqlite:///{tmp_path / 'ledger.db'}"),
            media_store=MediaStoreResource(root=str(tmp_path / "media")))
        with dg.instance_for_test() as instance:
            assert defs.resolve_job_def("sku_list_job").execute_in_process(
                instance=instance, run_config={"ops": {"generate_for_skus": {"config": {
                    "skus": skus, "assets": ["background_image"]}}}}).success
        ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
        with DashScopeClient("sk-test", base_url=emulator.base_url) as client:
            spans = [(t.scheduled_time, t.end_time) for t in
                     (client.fetch(a.task_id) for a in ledger.attempts(status=Status.STORED))]
    peak = max(sum(1 for start, end in spans if start <= moment < end)
               for moment, _ in spans)
    assert len(spans) == len(skus) and peak >= 2
