"""``python -m wan_dagster`` as a user runs it: real subprocesses, judged by their exit status,
their stdout and the emulator's own bill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from big_catalog import build_catalog
from wan_dagster.__main__ import _sample_recipe
from wan_dagster.core.ledger import Ledger, Status
from wan_dagster.core.seen_fingerprints import SeenFingerprints
from wan_dagster.orchestration.defs import build_defs
from wan_dagster.orchestration.resources import CatalogResource

REPO = Path(__file__).resolve().parent.parent
TIME_SCALE = "0.002"  # the emulator fixture's
pytestmark = pytest.mark.timeout(600)


class Command:
    """The main command in a scratch folder with its own DAGSTER_HOME and ledger."""

    def __init__(self, root: Path, catalog: Path):
        self.root, self.catalog = root, catalog
        self.home = root / "home"
        self.ledger_url = f"sqlite:///{root / 'ledger.db'}"

    def argv(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "wan_dagster", "--catalog", str(self.catalog),
                "--out", str(self.root / "out"), "--ledger", self.ledger_url, *extra]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "DASHSCOPE_API_KEY"}
        return {**env, "DAGSTER_HOME": str(self.home), "PYTHONUNBUFFERED": "1"}

    def run(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*extra), env=self.env(), cwd=self.root, text=True,
                              capture_output=True, timeout=480)

    def start(self, *extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.argv(*extra), env=self.env(), cwd=self.root, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def ledger(self) -> Ledger:
        return Ledger(self.ledger_url)


def assert_clean(result: subprocess.CompletedProcess[str] | tuple[str, str]) -> None:
    """No Dagster event stream and no tracebacks where a user reads."""
    out, err = (result.stdout, result.stderr) if hasattr(result, "stdout") else result
    for text in (out, err):
        assert "Traceback" not in text
        assert "DEBUG" not in text
        assert "STEP_" not in text and "RUN_START" not in text


def test_one_row_catalog_on_the_embedded_emulator_then_a_no_op_rerun(tmp_path):
    """One new SKU is a batch of one (it crashed with DagsterUnknownPartitionError); the rerun
    pays nothing and says so; the sensor `dagster dev` would run starts from the command's
    cursor and asks for nothing."""
    catalog, [sku] = build_catalog(tmp_path, 1, model_shots=0)
    command = Command(tmp_path, catalog)

    first = command.run()
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Embedded DashScope emulator" in first.stdout
    assert f"[1/4] background_image {sku}: stored" in first.stdout  # the sample recipe:
    assert f"square_image {sku}: stored" in first.stdout  # background, two formats, and the
    assert f"vertical_image {sku}: stored" in first.stdout  # video from the vertical still
    assert f"[4/4] product_video {sku}: stored" in first.stdout
    assert "SKUs done: 1 of 1" in first.stdout and "SKUs failed: 0" in first.stdout
    spent = [line for line in first.stdout.splitlines() if line.startswith("Spent by")]
    assert spent and spent[0] != "Spent by this command: 0.00 CNY"
    assert_clean(first)

    second = command.run()
    assert second.returncode == 0, second.stdout + second.stderr
    assert "no run needed" in second.stdout
    assert "Spent by this command: 0.00 CNY" in second.stdout
    assert "SKUs done: 1 of 1" in second.stdout
    assert second.stderr == ""  # (the first run shows Dagster's one-time telemetry notice)
    assert_clean(second)

    with dg.DagsterInstance.from_config(str(command.home)) as instance:
        cursor = stored_sensor_cursor(instance)
        # the cursor is a token; what the sensor asked for is in the ledger's database
        assert len(cursor) < 100
        assert set(SeenFingerprints.for_url(command.ledger_url).pending(
            "catalog_sensor", cursor)) == {sku}
        defs = build_defs(catalog=CatalogResource(path=str(catalog),
                                                  cache_url=command.ledger_url),
                          recipe=_sample_recipe())
        with dg.build_sensor_context(instance=instance, definitions=defs, cursor=cursor,
                                     resources={"catalog": defs.resources["catalog"]}) as context:
            tick = defs.get_sensor_def("catalog_sensor").evaluate_tick(context)
        assert tick.run_requests == [] and "unchanged" in tick.skip_message
        runs = instance.get_runs(dg.RunsFilter(tags={"dagster/sensor_name": "catalog_sensor"}))
        assert len(runs) == 1  # the first command's run, shown as the sensor's


def stored_sensor_cursor(instance: dg.DagsterInstance) -> str:
    """The cursor `dagster dev` reads for catalog_sensor: the sensor of the code location that
    workspace.yaml defines, loaded in a code server as dagster dev loads it, and started as
    the UI starts it (which keeps the cursor)."""
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import WorkspaceFileTarget

    target = WorkspaceFileTarget([str(REPO / "workspace.yaml")])
    with WorkspaceProcessContext(instance, target) as workspace:
        [location] = workspace.create_request_context().code_locations
        [repository] = location.get_repositories().values()
        sensor = repository.get_sensor("catalog_sensor")
        state = instance.start_sensor(sensor)
        instance.stop_sensor(sensor.get_remote_origin_id(), sensor.selector_id, sensor)
    return state.instigator_data.cursor


def test_fifty_one_rows_against_an_external_emulator(emulator, tmp_path):
    """Two runs (50 SKUs, then a batch of one) against a separately started server through
    --base-url; every generation paid once."""
    catalog, skus = build_catalog(tmp_path, 51, model_shots=0)
    command = Command(tmp_path, catalog)
    result = command.run("--base-url", emulator.base_url, "--time-scale", TIME_SCALE)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert f"DashScope API at {emulator.base_url}" in result.stdout
    assert "Run 1/2: 50 SKU(s)" in result.stdout and f"Run 2/2: 1 SKU(s), {skus[-1]}" in result.stdout
    assert "SKUs done: 51 of 51" in result.stdout
    assert len(emulator.bill.lines) == emulator.counters["creates"] == 51 * 4
    assert_clean(result)


def test_a_failed_sku_makes_the_exit_status_non_zero_and_names_row_and_column(emulator, tmp_path):
    catalog, [sku] = build_catalog(tmp_path, 1, model_shots=0)
    frame = pd.read_csv(catalog, dtype=str, keep_default_na=False)
    frame.loc[0, "cutout_image"] = "images/missing.png"
    frame.to_csv(catalog, index=False)
    result = Command(tmp_path, catalog).run("--base-url", emulator.base_url,
                                           "--time-scale", TIME_SCALE)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"row 1 (sku '{sku}'), column cutout_image: " in result.stdout
    assert "SKUs failed: 1" in result.stdout
    assert emulator.counters["creates"] == 0
    assert_clean(result)


@pytest.mark.emulator(time_scale=0.05)
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_ends_the_whole_command(emulator, tmp_path, stop):
    """Mid-batch, the run cleans up as a terminated run does and the second run never starts:
    the bill stays at the few creates sent before the signal (it went on to 100+)."""
    catalog, skus = build_catalog(tmp_path, 51, model_shots=0)
    command = Command(tmp_path, catalog)
    proc = command.start("--base-url", emulator.base_url, "--time-scale", "0.05")
    try:
        wait_until(lambda: emulator.counters["creates"] >= 3, proc)
        proc.send_signal(stop)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 128 + stop, out + err[-3000:]
    assert f"Stopped by {stop.name}" in out
    assert "Run 2/2" not in out
    assert_clean((out, err))
    assert emulator.counters["creates"] <= 6
    attempts = command.ledger().attempts()
    assert skus[-1] not in {a.sku for a in attempts}  # the second run's SKU: never sent
    for attempt in attempts:
        if attempt.task_id:
            assert emulator.tasks.describe(attempt.task_id)["output"]["task_status"] != "PENDING"


def test_results_the_service_lost_are_paid_again_only_when_asked(emulator, tmp_path):
    """A task left running by a stopped command is gone when the command runs again (the
    service lost it): the SKU fails saying so, and --regenerate-expired pays for a new one."""
    catalog, [sku] = build_catalog(tmp_path, 1, model_shots=0)
    command = Command(tmp_path, catalog)
    emulator.faults.update(slow_factor=50_000.0)
    emulator.faults.inject("task", "slow")
    proc = command.start("--base-url", emulator.base_url, "--time-scale", TIME_SCALE)
    try:
        wait_until(lambda: emulator.counters["creates"] >= 1, proc)
        time.sleep(0.5)  # let the task start RUNNING: a running task is left, not canceled
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
    finally:
        proc.kill()
    [left] = command.ledger().attempts()
    assert left.status == Status.SUBMITTED
    emulator.tasks.clear()  # the service loses it

    lost = command.run("--base-url", emulator.base_url, "--time-scale", TIME_SCALE)
    assert lost.returncode == 1, lost.stdout + lost.stderr
    assert f"task {left.task_id} is unknown to the service" in lost.stdout
    assert "--regenerate-expired" in lost.stdout
    assert command.ledger().get(left.id).status == Status.EXPIRED

    again = command.run("--base-url", emulator.base_url, "--time-scale", TIME_SCALE,
                        "--regenerate-expired")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Retrying 1 SKU(s)" in again.stdout and "SKUs done: 1 of 1" in again.stdout
    background = [a for a in command.ledger().attempts(asset="background_image")]
    assert [a.status for a in background] == [Status.EXPIRED, Status.STORED]
    assert_clean(again)


def wait_until(condition, proc: subprocess.Popen[str], timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the command ended early ({proc.returncode}):\n{out}\n{err[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the command")
        time.sleep(0.05)
