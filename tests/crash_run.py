"""SIGKILL crash recovery, shared by tests/test_crash_recovery.py and tests/crash_table.py.

Run as a script, it is the process that gets killed: it runs ``media_job`` over a partition
range on a persistent Dagster instance, exactly as tests/test_pipeline.py builds it.

    python tests/crash_run.py EMULATOR_BASE_URL WORKDIR FIRST_SKU LAST_SKU

``crash_and_recover`` drives one crash: arm a fault in the (in-process) emulator, start that
process, wait until it is stopped at the kill point, SIGKILL it, release the emulator's holds,
re-run the same job in the calling process over the same instance directory and ledger, and
measure what the emulator billed and what the media root holds. Not collected by pytest.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from wan_dagster.orchestration.defs import build_defs
from wan_dagster.emulator import Emulator
from wan_dagster.core.ledger import Attempt, Ledger, Status
from wan_dagster.dashscope.mediainfo import MediaError, probe_image, probe_video
from wan_dagster.orchestration.resources import (CatalogResource, DashScopeResource, LedgerResource,
                                   MediaStoreResource)

DATA = Path(__file__).resolve().parent.parent / "data"
#: A background and a video, no model shot: two generations, quick on the emulator.
SKUS: tuple[str, ...] = ("HOM-5001",)
ASSETS: tuple[str, ...] = ("background_image", "product_video")
#: How long the killable run may take to reach its kill point (a loaded 2-core machine).
REACH_TIMEOUT_S = 90.0
#: Latency multiplier of the one task slowed for the polling kill point: at the tests' time
#: scale (0.002) an image task then runs 1.6-6 s instead of 16-60 ms, so it is still running
#: when the kill lands.
POLL_SLOW_FACTOR = 100.0


@dataclass(frozen=True)
class Workdir:
    """Everything both processes share: catalog copy, ledger, media root, Dagster home."""

    root: Path

    @property
    def catalog(self) -> Path:
        return self.root / "data" / "catalog.csv"

    @property
    def ledger_url(self) -> str:
        return f"sqlite:///{self.root / 'ledger.db'}"

    @property
    def media(self) -> Path:
        return self.root / "media"

    @property
    def home(self) -> Path:
        return self.root / "dagster_home"

    @property
    def log(self) -> Path:
        return self.root / "killed_run.log"

    @property
    def scratch(self) -> Path:
        """TMPDIR of the killed run, so that what it leaves in temp directories is seen."""
        return self.root / "tmp"

    def instance(self) -> dg.DagsterInstance:
        """The persistent instance (SQLite storages under ``home``) both processes open."""
        return dg.DagsterInstance.from_config(str(self.home))


def prepare(root: Path, skus: tuple[str, ...]) -> Workdir:
    """A catalog copy, an empty ``dagster.yaml`` and the SKU partitions registered."""
    work = Workdir(root)
    shutil.copytree(DATA, work.catalog.parent, ignore=shutil.ignore_patterns("*.py"))
    work.home.mkdir(parents=True)
    work.scratch.mkdir()
    (work.home / "dagster.yaml").write_text("")
    with work.instance() as instance:
        instance.add_dynamic_partitions("sku", list(skus))
    return work


def run_media_job(base_url: str, work: Workdir, first: str,
                  last: str) -> dg.ExecuteInProcessResult:
    """``media_job`` over the partitions ``first``..``last``, as the catalog sensor asks."""
    defs = build_defs(
        dashscope=DashScopeResource(base_url=base_url, poll_scale=0.01),
        catalog=CatalogResource(path=str(work.catalog)),
        ledger=LedgerResource(url=work.ledger_url),
        media_store=MediaStoreResource(root=str(work.media)))
    with work.instance() as instance:
        return defs.get_job_def("media_job").execute_in_process(
            instance=instance, raise_on_error=False,
            tags={"dagster/asset_partition_range_start": first,
                  "dagster/asset_partition_range_end": last})


# ---------------------------------------------------------------------------- kill points


#: Whether the run is at its kill point, given the emulator and the ledger's attempts.
Reached = Callable[[Emulator, list[Attempt]], bool]


def _hold_reached(name: str) -> Reached:
    """The run's request is parked by hold ``name``."""
    return lambda emulator, attempts: name in emulator.faults.injected()


def task_in(*states: str) -> Reached:
    """A task id is stored and the service reports that task in one of ``states``."""
    def reached(emulator: Emulator, attempts: list[Attempt]) -> bool:
        for attempt in attempts:
            if attempt.status == Status.SUBMITTED:
                task = emulator.tasks.describe(attempt.task_id)
                if task is not None and task["output"]["task_status"] in states:
                    return True
        return False
    return reached


@dataclass(frozen=True)
class KillPoint:
    """Where the run is killed: the one-shot fault that stops it there, and how to see that
    it got there."""

    name: str
    fault: tuple[str, str]  # (stage, kind) for ``faults.inject``
    reached: Reached
    what: str

    def arm(self, emulator: Emulator) -> None:
        emulator.faults.update(slow_factor=POLL_SLOW_FACTOR)  # only the task/slow fault uses it
        emulator.faults.inject(*self.fault)


KILL_POINTS: tuple[KillPoint, ...] = (
    KillPoint("intent", ("create", "hold_before"), _hold_reached("create_hold_before"),
              "intent recorded, create not landed"),
    KillPoint("created", ("create", "hold_after"), _hold_reached("create_hold_after"),
              "task created, id not stored"),
    KillPoint("polling", ("task", "slow"), task_in("PENDING", "RUNNING"),
              "polling a running task"),
    KillPoint("download", ("download", "hold"), _hold_reached("download_hold"),
              "downloading the result"),
)


# ---------------------------------------------------------------------------- one crash


@dataclass(frozen=True)
class Report:
    """What one crash and its recovery did, measured from the ledger, the emulator, the
    Dagster instance and the media root."""

    point: KillPoint
    at_kill: list[Attempt]  # the ledger when the run was killed
    created_at_kill: int  # tasks the service had created by then
    recovered: bool  # the re-run succeeded
    failures: list[str]  # the re-run's step failure messages
    statuses: dict[tuple[str, str], str]  # (sku, asset) -> partition status after recovery
    attempts: list[Attempt]  # the ledger after recovery
    tasks_created: int
    billed: Counter[tuple[str, str]]  # (sku, asset) -> bill lines; ("?", task_id) if unknown
    files: dict[Path, str | None]  # every file under the media root -> why it is bad, or None
    scratch_left: list[Path]  # what the killed run left in its temp directory (relative)

    @property
    def completed(self) -> list[str]:
        """SKUs with every asset materialized."""
        skus = dict.fromkeys(sku for sku, _ in self.statuses)
        return [s for s in skus if all(v == "materialized" for (sku, _), v in
                                       self.statuses.items() if sku == s)]

    @property
    def decoded(self) -> int:
        return sum(1 for why in self.files.values() if why is None)


def crash_and_recover(emulator: Emulator, root: Path, point: KillPoint,
                      skus: tuple[str, ...] = SKUS) -> Report:
    """Kill a run of ``skus`` (a partition range) at ``point``, re-run it, measure."""
    work = prepare(root, skus)
    point.arm(emulator)
    proc = start_run(emulator, work, skus)
    with Ledger(work.ledger_url) as ledger:
        try:
            at_kill, created = wait_for(point, emulator, ledger, proc, work.log)
        finally:
            proc.kill()  # SIGKILL: nothing runs in the child after this
            proc.wait()
        emulator.faults.release()
        with _temp_dir(work.scratch):  # the re-run sees what the killed run left there
            result = run_media_job(emulator.base_url, work, skus[0], skus[-1])
        attempts = ledger.attempts()
    return Report(
        point=point, at_kill=at_kill, created_at_kill=created, recovered=result.success,
        failures=[e.event_specific_data.error.message for e in result.all_events
                  if e.event_type_value == "STEP_FAILURE"],
        statuses=_statuses(work, skus), attempts=attempts,
        tasks_created=emulator.counters["creates"], billed=_billed(emulator, attempts),
        files={path: _problem(path) for path in sorted(work.media.rglob("*"))
               if path.is_file()},
        scratch_left=sorted(p.relative_to(work.scratch) for p in work.scratch.rglob("*")))


def start_run(emulator: Emulator, work: Workdir, skus: tuple[str, ...]) -> subprocess.Popen:
    """This file as a separate process running ``media_job`` over ``skus``; its output goes to
    ``work.log`` and its temporary files under ``work.scratch``."""
    with work.log.open("wb") as log:
        return subprocess.Popen([sys.executable, __file__, emulator.base_url, str(work.root),
                                 skus[0], skus[-1]], stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "TMPDIR": str(work.scratch)})


@contextlib.contextmanager
def _temp_dir(path: Path) -> Iterator[None]:
    """Point this process's temporary files at ``path`` for a while."""
    saved, tempfile.tempdir = tempfile.tempdir, str(path)
    try:
        yield
    finally:
        tempfile.tempdir = saved


def wait_for(point: KillPoint, emulator: Emulator, ledger: Ledger, proc: subprocess.Popen,
              log: Path) -> tuple[list[Attempt], int]:
    """Poll until the run is at ``point``; the ledger's attempts and the service's task count
    as they were then."""
    deadline = time.monotonic() + REACH_TIMEOUT_S
    while True:
        attempts = ledger.attempts()
        if point.reached(emulator, attempts):
            # Counted after the point was seen: a create is counted before its answer is held,
            # so a count read first could miss the create that a hold then reports.
            return attempts, emulator.counters["creates"]
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:]
            raise AssertionError(f"the run never reached kill point {point.name} (exit code "
                                 f"{proc.returncode}); its log ends:\n{tail}")
        time.sleep(0.02)


def _statuses(work: Workdir, skus: tuple[str, ...]) -> dict[tuple[str, str], str]:
    partitions = dg.DynamicPartitionsDefinition(name="sku")
    result = {}
    with work.instance() as instance:
        for asset in ASSETS:
            found = instance.get_status_by_partition(dg.AssetKey(asset), list(skus), partitions)
            for sku in skus:
                result[(sku, asset)] = found[sku].value.lower() if sku in found else "missing"
    return result


def _billed(emulator: Emulator, attempts: list[Attempt]) -> Counter[tuple[str, str]]:
    """Bill lines per piece of work, through the ledger attempt that owns each task."""
    owner = {a.task_id: (a.sku, a.asset) for a in attempts if a.task_id}
    return Counter(owner.get(line.task_id, ("?", line.task_id)) for line in emulator.bill.lines)


def _problem(path: Path) -> str | None:
    """Why a file in the media root is not a complete, decodable result (None: it is)."""
    if path.name.startswith("."):
        return "stray temporary file"
    probe = {".png": probe_image, ".mp4": probe_video}.get(path.suffix)
    if probe is None:
        return f"unexpected file type {path.suffix!r}"
    try:
        probe(path)
    except MediaError as exc:
        return f"does not decode: {exc}"
    return None


if __name__ == "__main__":
    base_url, workdir, first_sku, last_sku = sys.argv[1:]
    outcome = run_media_job(base_url, Workdir(Path(workdir)), first_sku, last_sku)
    sys.exit(0 if outcome.success else 1)
