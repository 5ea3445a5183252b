"""The paths a merchandiser clicks in the Dagster UI, through the interfaces the UI uses: asset
and check subsets of the asset job (what "Materialize" and "Execute" launch), partition status
after a failed run, the failure reason on a partition, dry runs, and re-execution of a run
started from Python through the GraphQL API against a real code server."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRunStatus
from dagster._core.storage.event_log.base import AssetRecordsFilter

from wan_dagster.core.recipes.defaults import BACKGROUND, MODEL_SHOT, VIDEO
ASSETS = (BACKGROUND, MODEL_SHOT, VIDEO)
from wan_dagster.core.ledger import Ledger, Status
from wan_dagster.orchestration.assets import MEDIA_DECODES
from wan_dagster.orchestration.defs import build_defs
from wan_dagster.orchestration.launch import execute_job_run
from wan_dagster.orchestration.resources import (CatalogResource, DashScopeResource,
                                                 LedgerResource, MediaStoreResource)
from wan_dagster.orchestration.sensors import register_skus

DATA = Path(__file__).resolve().parent.parent / "data"
APPAREL, BAG = "APP-1001", "BAG-3001"


def small_catalog(tmp_path: Path, skus: list[str]) -> Path:
    """The sample catalog cut down to ``skus`` (with its images)."""
    shutil.copytree(DATA / "images", tmp_path / "data" / "images")
    frame = pd.read_csv(DATA / "catalog.csv", dtype=str, keep_default_na=False)
    path = tmp_path / "data" / "catalog.csv"
    frame[frame["sku"].isin(skus)].to_csv(path, index=False)
    return path


def reword_background(catalog: Path, sku: str) -> None:
    """What a merchandiser does about a rejected prompt: rewrite it (a service-side rejection
    is final for the same inputs; the ledger never pays for the same rejection twice)."""
    frame = pd.read_csv(catalog, dtype=str, keep_default_na=False)
    frame.loc[frame["sku"] == sku, "background_prompt"] = "plain light grey studio backdrop"
    frame.to_csv(catalog, index=False)


def resources(tmp_path: Path, emulator, catalog: Path) -> dict:
    return dict(
        dashscope=DashScopeResource(base_url=emulator.base_url,
                                    poll_scale=0.01),
        catalog=CatalogResource(path=str(catalog)),
        ledger=LedgerResource(url=f"sqlite:///{tmp_path / 'ledger.db'}"),
        media_store=MediaStoreResource(root=str(tmp_path / "media")))


@pytest.fixture
def small(tmp_path, emulator):
    """Definitions over a catalog of one apparel SKU and one bag, both registered."""
    defs = build_defs(**resources(tmp_path, emulator, small_catalog(tmp_path, [APPAREL, BAG])))
    with dg.instance_for_test() as instance:
        register_skus(instance, [APPAREL, BAG])
        yield defs, instance


def statuses(instance, asset: str, keys: list[str]) -> dict[str, str]:
    found = instance.get_status_by_partition(dg.AssetKey(asset), keys,
                                             dg.DynamicPartitionsDefinition(name="sku"))
    return {k: found[k].value.lower() if k in found else "missing" for k in keys}


def check_evaluations(result) -> dict[str, bool]:
    return {e.event_specific_data.asset_key.to_user_string(): e.event_specific_data.passed
            for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}


def test_each_asset_and_each_check_alone_for_one_sku(small):
    """What the asset page's Materialize and the Checks tab's Execute launch: a subset of the
    asset job with one asset (its check included, as the UI does) or one check alone."""
    defs, instance = small
    job = defs.resolve_implicit_global_asset_job_def()
    for asset in ASSETS:
        key = dg.AssetKey(asset)
        subset = job.get_subset(asset_selection={key},
                                asset_check_selection={dg.AssetCheckKey(key, MEDIA_DECODES)})
        result = subset.execute_in_process(instance=instance, partition_key=APPAREL)
        assert result.success
        assert statuses(instance, asset, [APPAREL]) == {APPAREL: "materialized"}
        assert check_evaluations(result) == {asset: True}
    for asset in ASSETS:  # each check alone, for one SKU and for every SKU (no partition)
        check = dg.AssetCheckKey(dg.AssetKey(asset), MEDIA_DECODES)
        alone = job.get_subset(asset_selection=set(), asset_check_selection={check})
        for partition in (APPAREL, None):
            result = alone.execute_in_process(instance=instance, partition_key=partition)
            assert result.success and check_evaluations(result) == {asset: True}
            evaluation = next(e.event_specific_data for e in result.all_events
                              if e.event_type_value == "ASSET_CHECK_EVALUATION")
            assert evaluation.metadata["checked"].value == 1  # the apparel SKU's current file


def test_media_job_config_defaults_show_budget_and_dry_run(small):
    """The launchpad opens with the job's default config: budget and dry run are in it."""
    defs, _ = small
    config = defs.get_job_def("media_job").run_config_schema.config_type
    defaults = config.fields["ops"].config_type.fields["generate_media"].config_type \
        .fields["config"].default_value
    assert defaults["budget_cny"] == 0.0 and defaults["dry_run"] is False


def test_failed_sku_does_not_paint_others_failed_and_retry_selects_only_it(small, emulator):
    defs, instance = small
    both = {"dagster/asset_partition_range_start": APPAREL,
            "dagster/asset_partition_range_end": BAG}
    first = execute_job_run(defs, instance, "media_job", partition_key=APPAREL)
    assert first.status == DagsterRunStatus.SUCCESS
    emulator.faults.update(task_data_inspection=1.0)  # every new task now fails: the bag's
    run = execute_job_run(defs, instance, "media_job", tags=both)
    assert run.status == DagsterRunStatus.FAILURE

    keys = [APPAREL, BAG]
    assert statuses(instance, MODEL_SHOT, keys) == {APPAREL: "materialized",
                                                    BAG: "materialized"}  # "does not apply"
    for asset in (BACKGROUND, VIDEO):
        assert statuses(instance, asset, keys) == {APPAREL: "materialized", BAG: "failed"}
    not_applicable = instance.fetch_materializations(
        AssetRecordsFilter(dg.AssetKey(MODEL_SHOT), asset_partitions=[BAG]), limit=1).records[0]
    assert not_applicable.asset_materialization.metadata["applies"].value is False

    # the reason is on the failed partition: code and message, and the catalog row
    observation = instance.fetch_observations(
        AssetRecordsFilter(dg.AssetKey(BACKGROUND), asset_partitions=[BAG]), limit=1
    ).records[0].asset_observation
    assert observation.metadata["failure/code"].value == "DataInspectionFailed"
    assert observation.metadata["catalog/row"].value == 2
    assert "DataInspectionFailed" in observation.description

    # "retry failed": the failed subset is exactly the bag, and retrying it fixes it
    emulator.faults.update(task_data_inspection=0.0)
    reword_background(Path(defs.resources["catalog"].path), BAG)
    retry = execute_job_run(defs, instance, "media_job", partition_key=BAG,
                            asset_selection=[dg.AssetKey(BACKGROUND), dg.AssetKey(VIDEO)])
    assert retry.status == DagsterRunStatus.SUCCESS
    for asset in ASSETS:
        assert set(statuses(instance, asset, keys).values()) == {"materialized"}


def test_dry_run_counts_only_what_would_be_paid(small, emulator):
    defs, instance = small
    execute_job_run(defs, instance, "media_job", partition_key=APPAREL)
    creates = emulator.counters["creates"]
    config = {"ops": {"generate_media": {"config": {"dry_run": True}}}}
    run = execute_job_run(defs, instance, "media_job", run_config=config, tags={
        "dagster/asset_partition_range_start": APPAREL,
        "dagster/asset_partition_range_end": BAG})
    assert run.status == DagsterRunStatus.SUCCESS and emulator.counters["creates"] == creates
    observed = {}
    for record in instance.fetch_observations(dg.AssetKey(BACKGROUND), limit=5).records:
        table = record.asset_observation.metadata["dry_run/by_sku"].value
        observed = {r.data["sku"]: (r.data["reused"], r.data["would_pay_cny"])
                    for r in table.records}
    assert observed[APPAREL] == (True, 0.0)  # stored already: reused for free
    assert observed[BAG][0] is False and observed[BAG][1] > 0


def test_a_run_started_from_python_can_be_re_executed_from_the_ui(tmp_path, emulator,
                                                                  monkeypatch):
    """Through the GraphQL mutation the UI's "Re-execute" buttons send, against a code server
    loading a workspace like the project's (location ``wan_dagster``)."""
    from dagster_graphql.client.query import LAUNCH_PIPELINE_REEXECUTION_MUTATION
    from dagster_graphql.test.utils import (define_out_of_process_context,
                                            execute_dagster_graphql, temp_workspace_file)

    catalog = small_catalog(tmp_path, [BAG])
    monkeypatch.setenv("WAN_TEST_BASE_URL", emulator.base_url)
    monkeypatch.setenv("WAN_TEST_ROOT", str(tmp_path))
    definitions = tmp_path / "ui_definitions.py"
    definitions.write_text(textwrap.dedent("""
        import os
        from wan_dagster.orchestration.defs import build_defs
        from wan_dagster.orchestration.resources import (CatalogResource, DashScopeResource,
                                                         LedgerResource, MediaStoreResource)
        root = os.environ["WAN_TEST_ROOT"]
        defs = build_defs(
            dashscope=DashScopeResource(base_url=os.environ["WAN_TEST_BASE_URL"],
                                        poll_scale=0.01),
            catalog=CatalogResource(path=root + "/data/catalog.csv"),
            ledger=LedgerResource(url=f"sqlite:///{root}/ledger.db"),
            media_store=MediaStoreResource(root=root + "/media"))
    """))
    defs = build_defs(**resources(tmp_path, emulator, catalog))
    (tmp_path / "home").mkdir()
    immediate = {"run_coordinator": {"module": "dagster._core.run_coordinator",
                                     "class": "DefaultRunCoordinator"}}  # no daemon here
    with dg.instance_for_test(temp_dir=str(tmp_path / "home"), overrides=immediate) as instance:
        register_skus(instance, [BAG])
        emulator.faults.update(task_data_inspection=1.0)
        parent = execute_job_run(defs, instance, "media_job", partition_key=BAG)
        assert parent.status == DagsterRunStatus.FAILURE
        emulator.faults.update(task_data_inspection=0.0)
        reword_background(catalog, BAG)
        with temp_workspace_file([("wan_dagster", str(definitions), "defs")]) as workspace, \
                define_out_of_process_context(workspace, None, instance) as context:
            for strategy in ("FROM_ASSET_FAILURE", "FROM_FAILURE"):
                result = execute_dagster_graphql(
                    context, LAUNCH_PIPELINE_REEXECUTION_MUTATION,
                    {"reexecutionParams": {"parentRunId": parent.run_id,
                                           "strategy": strategy}})
                launched = result.data["launchPipelineReexecution"]
                assert launched["__typename"] == "LaunchRunSuccess", launched
                child = instance.get_run_by_id(launched["run"]["runId"])
                assert child.parent_run_id == parent.run_id
                assert child.tags["dagster/partition"] == BAG
                if strategy == "FROM_ASSET_FAILURE":
                    assert child.asset_selection == {dg.AssetKey(BACKGROUND),
                                                     dg.AssetKey(VIDEO)}
            _wait_for_runs(instance)
        for child in instance.get_runs(dg.RunsFilter(tags={"dagster/parent_run_id":
                                                           parent.run_id})):
            assert child.status == DagsterRunStatus.SUCCESS, child.run_id
        assert statuses(instance, BACKGROUND, [BAG]) == {BAG: "materialized"}
        ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
        assert len(ledger.attempts(asset=BACKGROUND, status=Status.STORED)) == 1  # paid once


def _wait_for_runs(instance) -> None:
    from dagster._core.test_utils import poll_for_finished_run

    for run in instance.get_runs():
        poll_for_finished_run(instance, run.run_id, timeout=120)


def test_default_resources_find_the_sample_catalog_and_out_dir():
    """What ``dagster dev`` in the repository uses with no configuration (regression: after the
    package was split into layers the defaults pointed inside the package)."""
    repo = Path(__file__).resolve().parent.parent
    assert Path(CatalogResource().path) == repo / "data" / "catalog.csv"
    assert CatalogResource().load().products
    assert Path(MediaStoreResource().root) == repo / "out" / "media"


def test_every_way_to_start_the_ui_names_the_code_location_runs_point_at():
    """``dagster dev`` reads pyproject's [tool.dagster] (or workspace.yaml); a run started from
    Python names its location so that the UI can re-execute it. All three must agree."""
    import tomllib

    import yaml

    from wan_dagster.orchestration.launch import LOCATION_NAME

    repo = Path(__file__).resolve().parent.parent
    tool = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["dagster"]
    workspace = yaml.safe_load((repo / "workspace.yaml").read_text())["load_from"][0]
    assert tool["code_location_name"] == workspace["python_file"]["location_name"] \
        == LOCATION_NAME
