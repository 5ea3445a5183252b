"""What a deployment configures: every op that calls DashScope is in the pool, the executor
hook, and the ledger URL taken from the environment by runs and sensors alike."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from wan_dagster.orchestration.defs import LEDGER_URL_ENV, build_defs
from wan_dagster.orchestration.generation import POOL


def test_every_op_that_calls_dashscope_is_in_the_pool():
    defs = build_defs()
    jobs = defs.resolve_all_job_defs()  # the asset job too: what the UI's Materialize runs
    calling = {node.name: node.definition.pool for job in jobs for node in job.nodes
               if "dashscope" in node.definition.required_resource_keys}
    assert set(calling) == {"generate_media", "generate_for_skus", "refresh_catalog_media",
                            "collect_task", "generation_costs"}
    assert set(calling.values()) == {POOL}


def test_build_defs_takes_an_executor():
    defs = build_defs(executor=dg.in_process_executor)
    assert defs.resolve_job_def("sku_list_job").executor_def is dg.in_process_executor


def test_runs_and_sensors_take_the_ledger_url_from_the_environment(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'shared-ledger.db'}"
    monkeypatch.setenv(LEDGER_URL_ENV, url)
    defs = build_defs()
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={dg.AssetKey("generation_costs")})
    assert job.execute_in_process().success  # the run opened the ledger named by the variable
    assert (tmp_path / "shared-ledger.db").exists()
    sensor = defs.resolve_sensor_def("task_sensor")
    with dg.instance_for_test() as instance, dg.build_sensor_context(
            instance=instance, definitions=defs, resources={
                "ledger": defs.resources["ledger"], "dashscope": defs.resources["dashscope"]}
    ) as context:
        sensor.evaluate_tick(context)  # skips (no key), after resolving the same ledger
        assert context.resources.ledger.url == url


def test_the_readme_dagster_yaml_opens_an_instance_on_postgres(tmp_path, monkeypatch,
                                                               postgres_url):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("## Running in production"):]
    config = section[section.index("```yaml") + len("```yaml"):]
    (tmp_path / "dagster.yaml").write_text(config[:config.index("```")])
    monkeypatch.setenv("DAGSTER_PG_URL", postgres_url)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_storage).__module__.startswith("dagster_postgres")
        assert instance.run_monitoring_enabled
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 4
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] == 60
