"""What a batch writes to Dagster's event log, and that none of it is lost: every SKU-asset
gets its materialization, every SKU the recipe gives no such output its "does not apply" mark,
every outcome its progress line (several lines to a log message), and a run whose events were
lost after the ledger stored the media (a crash before the event writer caught up) gets them
back from the ledger on its re-run, paying nothing again."""

from __future__ import annotations

import gc
import shutil
import threading
from pathlib import Path

import pytest

import dagster as dg

from wan_dagster.orchestration.defs import build_defs
from wan_dagster.orchestration.progress import PROGRESS_LINE, ProgressLines
from wan_dagster.orchestration.resources import (CatalogResource, DashScopeResource,
                                                 LedgerResource, MediaStoreResource)

DATA = Path(__file__).resolve().parent.parent / "data"
#: Apparel (background, model shot, video) and home goods (no model shot).
SKUS = ["APP-1001", "HOM-5001"]
MADE = {("APP-1001", "background_image"), ("APP-1001", "model_shot"),
        ("APP-1001", "product_video"), ("HOM-5001", "background_image"),
        ("HOM-5001", "product_video")}


@pytest.fixture
def defs(tmp_path, emulator) -> dg.Definitions:
    shutil.copytree(DATA, tmp_path / "data", ignore=shutil.ignore_patterns("*.py"))
    return build_defs(
        dashscope=DashScopeResource(base_url=emulator.base_url, poll_scale=0.01),
        catalog=CatalogResource(path=str(tmp_path / "data" / "catalog.csv")),
        ledger=LedgerResource(url=f"sqlite:///{tmp_path / 'ledger.db'}"),
        media_store=MediaStoreResource(root=str(tmp_path / "media")))


def run_skus(defs: dg.Definitions, instance: dg.DagsterInstance) -> str:
    result = defs.get_job_def("sku_list_job").execute_in_process(
        instance=instance, run_config={"ops": {"generate_for_skus": {"config": {"skus": SKUS}}}})
    assert result.success
    return result.run_id


def materializations(instance: dg.DagsterInstance) -> dict[tuple[str, str], dict]:
    """(SKU, asset) -> the metadata of its materializations (one each is expected)."""
    found: dict[tuple[str, str], dict] = {}
    for asset in ("background_image", "model_shot", "product_video"):
        for record in instance.fetch_materializations(dg.AssetKey(asset), limit=100).records:
            event = record.asset_materialization
            key = (event.partition, asset)
            assert key not in found, f"{key} materialized twice"
            found[key] = {k: v.value for k, v in event.metadata.items()}
    return found


def progress_messages(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    return [entry.user_message for entry in instance.all_logs(run_id)
            if entry.dagster_event is None and PROGRESS_LINE.match(entry.user_message)]


def test_every_sku_asset_is_materialized_and_its_progress_lines_are_batched(defs):
    with dg.instance_for_test() as instance:
        run_id = run_skus(defs, instance)
        found = materializations(instance)
        assert {key for key, meta in found.items() if meta["applies"]} == MADE
        assert {key for key, meta in found.items() if not meta["applies"]} == {
            ("HOM-5001", "model_shot")}
        messages = progress_messages(instance, run_id)
        lines = [line for message in messages for line in message.splitlines()]
        assert sorted(line.split("] ", 1)[1] for line in lines) == sorted(
            f"{asset} {sku}: stored" for sku, asset in MADE)
        assert [line.split("]")[0] for line in lines] == [f"[{n}/5" for n in range(1, 6)]
        assert len(messages) < len(lines)  # one storage write for several outcomes


def test_materializations_lost_in_a_crash_come_back_from_the_ledger_on_re_run(defs, emulator):
    with dg.instance_for_test() as first:
        run_skus(defs, first)
    created = emulator.counters["creates"]
    # A fresh Dagster instance beside the same ledger and media: the run's events are gone,
    # as if its process had died after storing each result and before writing its event.
    with dg.instance_for_test() as instance:
        run_skus(defs, instance)
        found = materializations(instance)
    assert {key for key, meta in found.items() if meta["applies"]} == MADE
    assert all(meta["dashscope/paid_in_this_run"] is False
               for meta in found.values() if meta["applies"])
    assert emulator.counters["creates"] == created  # nothing paid again


def test_progress_lines_wait_for_each_other_then_go_out_together():
    written: list[str] = []
    went_out = threading.Event()

    def write(message: str) -> None:
        written.append(message)
        went_out.set()

    lines = ProgressLines(write, every_s=0.05)
    lines.add("[1/3] a X: stored")
    lines.add("[2/3] b X: stored")
    assert went_out.wait(10)  # the timer writes what waited, without a flush
    lines.add("[3/3] c X: FAILED (why)")
    lines.flush()
    lines.flush()  # nothing left: no empty message
    assert written == ["[1/3] a X: stored\n[2/3] b X: stored", "[3/3] c X: FAILED (why)"]


def test_the_heap_is_left_out_of_collections_during_the_batch_only(defs):
    """Full collections over Dagster's heap held the batch's loop for up to 170 ms each."""
    frozen_during_collections: list[int] = []

    def seen(phase: str, info: dict) -> None:
        if phase == "start":
            frozen_during_collections.append(gc.get_freeze_count())

    assert gc.get_freeze_count() == 0
    gc.callbacks.append(seen)
    try:
        with dg.instance_for_test() as instance:
            run_skus(defs, instance)
    finally:
        gc.callbacks.remove(seen)
    assert max(frozen_during_collections) > 10_000  # Dagster's objects, frozen in the batch
    assert gc.get_freeze_count() == 0  # and back in the collector's care afterwards


def marks_of(instance: dg.DagsterInstance, sku: str) -> int:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(dg.AssetKey("model_shot"), asset_partitions=[sku]), limit=10).records
    assert all(r.asset_materialization.metadata["applies"].value is False for r in records)
    return len(records)


def test_a_re_run_marks_again_only_what_a_run_planned_since(defs):
    """Each "does not apply" mark is a storage write as costly as a result's."""
    with dg.instance_for_test() as instance:
        run_skus(defs, instance)
        run_skus(defs, instance)  # the same SKUs again: the partition still carries its mark
        assert marks_of(instance, "HOM-5001") == 1
        # the asset job plans model_shot for the partition: without a mark of its own, its
        # failure would paint the partition FAILED, so it marks it again
        media = defs.resolve_job_def("media_job").execute_in_process(
            instance=instance, partition_key="HOM-5001")
        assert media.success
        assert marks_of(instance, "HOM-5001") == 2
        run_skus(defs, instance)
        assert marks_of(instance, "HOM-5001") == 2
