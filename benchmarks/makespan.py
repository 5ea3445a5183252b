"""Makespan of a batch against its physical bound, side by side on one emulator (not a test:
it takes most of an hour at the default settings):

- ``dagster``: our batch through Dagster (``sku_list_job`` executed in process),
- ``runner``: our batch scheduler alone (``BatchRunner`` with the same client),
- ``client``: our async client alone, ``run`` + ``download`` per task, one SKU's chain per
  coroutine, all SKUs at once (the client's own limits queue them): the same creates, waits
  and downloads without the ledger, the limits shared through it, the media store or Dagster,
- ``sdk pool``: the official SDK 1.x, ``async_call`` + ``wait`` per task, one SKU's chain
  (stills, then the video from its still) per worker of a ``ThreadPoolExecutor(4)``,
- ``sdk loop``: the same chain in a plain loop (on ``--loop-skus`` SKUs only: serial, it
  takes about concurrency times the bound).

    .venv/bin/python benchmarks/makespan.py [--skus 100] [--loop-skus 20] [--time-scale 0.1]
                                            [--no-probe]

The emulator runs in a process of its own (its rendering is not counted as ours) and is
reset before each scenario. The catalog is ``tests/big_catalog.py``'s: mostly background +
video SKUs, 6 with a model shot too. Per scenario:

- **bound**: per model, the run times the emulator drew for the scenario's tasks, summed and
  divided by the model's concurrency (for a video model, plus the shortest still: no video
  can start before one); and per still model, its k shortest run times over its concurrency
  plus the shortest video, where k stills of it are videos' sources (the last of those ends
  no sooner, and its video runs after it). The largest of these: no schedule finishes sooner.
- **makespan / bound**: wall time of the whole call (the Dagster job, the runner's ``run``,
  the client's chains, the SDK loop or pool) over the bound.
- **stalls** (not with ``--no-probe``): a probe task on the batch's event loop sleeps 20 ms
  at a time and counts the wake-ups more than 100 ms late (the longest is shown). The same
  probe runs alongside in an idle process of its own (``control``): on a loaded machine the
  operating system alone makes some wake-ups late, and those are not the batch's.
- **task fetches per SKU-asset**: the emulator's count of ``GET /tasks/{id}``.
- **CPU per SKU-asset**: this process's CPU time (every thread) during the call, divided by
  the SKU-assets it made. For a probed scenario the probe's own share is shown beside it:
  the control probe's CPU per second (it runs the same probe, idle) times the makespan, per
  SKU-asset (the SDK scenarios run no probe). The probe's wake-ups are not free on a small
  virtual machine (about 0.2 ms each), so ``--no-probe`` measures the product's CPU alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import dagster as dg
import dashscope
import httpx
from dashscope.client.base_api import BaseAsyncApi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from big_catalog import build_catalog  # noqa: E402
from wan_dagster.core.batch import BatchRunner, BatchSettings  # noqa: E402
from wan_dagster.core.catalog import Product, load_catalog  # noqa: E402
from wan_dagster.core.ledger import Ledger  # noqa: E402
from wan_dagster.core.plan import output_request, planned_outputs, priced_outputs  # noqa: E402
from wan_dagster.core.recipes import DEFAULT_RECIPE  # noqa: E402

#: The default recipe's outputs: a background, a model shot (apparel, shoes), a video.
ASSETS = DEFAULT_RECIPE.names
from wan_dagster.core.store import LocalMediaStore  # noqa: E402
from wan_dagster.dashscope import (REGISTRY, AsyncDashScopeClient, DashScopeClient,  # noqa: E402
                                   PollPolicy, PriceBook, Task)
from wan_dagster.dashscope.requests import TaskRequest  # noqa: E402
from wan_dagster.orchestration.defs import build_defs  # noqa: E402
from wan_dagster.orchestration.resources import (CatalogResource, DashScopeResource,  # noqa: E402
                                                 LedgerResource, MediaStoreResource)

KEY = "sk-benchmark"
STALL_S = 0.1
PROBE_TICK_S = 0.02


# --------------------------------------------------------------------------- loop probe

@dataclass
class Stalls:
    late: list[float] = field(default_factory=list)

    def line(self) -> str:
        if not self.late:
            return "0 stalls > 100 ms"
        return f"{len(self.late)} stalls > 100 ms (longest {max(self.late) * 1000:.0f} ms)"


STALLS = Stalls()


class ProbedLoop(asyncio.SelectorEventLoop):
    """An event loop that runs a lateness probe beside whatever it is asked to run, so that
    the loop ``asyncio.run`` makes inside the Dagster step is probed too."""

    def run_until_complete(self, future: Any) -> Any:
        probe = self.create_task(_probe(STALLS))
        try:
            return super().run_until_complete(future)
        finally:
            probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                super().run_until_complete(probe)


async def _probe(stalls: Stalls) -> None:
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(PROBE_TICK_S)
        late = loop.time() - before - PROBE_TICK_S
        if late > STALL_S:
            stalls.late.append(late)


class ProbedPolicy(asyncio.DefaultEventLoopPolicy):
    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        return ProbedLoop()


# --------------------------------------------------------------------------- emulator


class EmulatorProcess:
    """``python -m wan_dagster.emulator`` on a free port, reset between scenarios."""

    def __init__(self, time_scale: float):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wan_dagster.emulator", "--port", "0", "--time-scale",
             str(time_scale), "--seed", "1", "--log-level", "WARNING"],
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.base_url = line.strip().rsplit(" ", 1)[-1]
        self.root = self.base_url.split("/api/")[0]

    def reset(self) -> None:
        httpx.post(f"{self.root}/admin/reset").raise_for_status()

    def fetches(self) -> int:
        """Task fetches (``GET /tasks/{id}``) the emulator answered since its reset."""
        return int(httpx.get(f"{self.root}/admin/counters").json()["fetches"])

    def tasks(self) -> list[dict[str, Any]]:
        with DashScopeClient(api_key=KEY, base_url=self.base_url) as client:
            return [dict(row.raw) for row in client.iter_tasks(page_size=100)]

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def bound(rows: list[dict[str, Any]], sources: Counter[str]) -> float:
    """The scenario's physical bound (see the module's doc), from the emulator's task list;
    ``sources``: per still model, how many of its stills are a video's source."""
    run_s: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        if row.get("start_time") is not None and row.get("end_time") is not None:
            run_s[row["model_name"]].append((row["end_time"] - row["start_time"]) / 1000)
    stills = [s for model, runs in run_s.items() if not REGISTRY.get(model).video for s in runs]
    videos = [s for model, runs in run_s.items() if REGISTRY.get(model).video for s in runs]
    candidates = []
    for model, runs in run_s.items():
        spec = REGISTRY.get(model)
        candidates.append(sum(runs) / spec.limits.concurrency
                          + (min(stills) if spec.video and stills else 0.0))
        if not spec.video and sources[model] and videos:
            shortest = sorted(runs)[:sources[model]]
            candidates.append(sum(shortest) / spec.limits.concurrency + min(videos))
    return max(candidates)


def video_sources(products: list[Product]) -> Counter[str]:
    """Per still model, how many of its stills are the source of a video."""
    found: Counter[str] = Counter()
    for product in products:
        models = {name: model for name, (model, _) in priced_outputs(product).items()}
        for planned in planned_outputs(product).values():
            if REGISTRY.get(models[planned.name]).video:
                found.update(models[ref] for ref in planned.sources.values() if ref in models)
    return found


# --------------------------------------------------------------------------- scenarios


@dataclass
class Result:
    name: str
    makespan: float
    bound: float
    cpu_s: float
    made: int
    stalls: str = "-"
    fetches: int = 0

    def line(self) -> str:
        return (f"{self.name:9s} makespan {self.makespan:7.1f} s, bound {self.bound:7.1f} s, "
                f"makespan/bound {self.makespan / self.bound:5.3f}, {self.made} SKU-assets, "
                f"CPU {self.cpu_s * 1000 / max(1, self.made):5.1f} ms per SKU-asset, "
                f"{self.fetches / max(1, self.made):.2f} task fetches per SKU-asset, "
                f"{self.stalls}")


def measure(name: str, emulator: EmulatorProcess, work: Callable[[], int], probed: bool,
            products: list[Product]) -> Result:
    emulator.reset()
    STALLS.late.clear()
    control = subprocess.Popen([sys.executable, __file__, "--control-probe"],
                               stdout=subprocess.PIPE, text=True) if probed else None
    MILESTONES.clear()
    cpu, started, called = time.process_time(), time.monotonic(), time.time()
    made = work()
    makespan, cpu_s = time.monotonic() - started, time.process_time() - cpu
    fetches = emulator.fetches()
    rows = emulator.tasks()
    stalls = "-"
    if control is not None:
        control.terminate()
        counted, probe_cpu_per_s = control.communicate()[0].strip().rsplit("|", 1)
        probe_ms = float(probe_cpu_per_s) * makespan * 1000 / max(1, made)
        stalls = (f"{STALLS.line()}; control {counted}; the probe's CPU ~{probe_ms:.1f} ms per "
                  "SKU-asset of it")
    result = Result(name, makespan, bound(rows, video_sources(products)), cpu_s, made, stalls,
                    fetches)
    print(result.line(), flush=True)
    print(f"{'':9s} {timeline(called, called + makespan, rows)}", flush=True)
    return result


#: Dagster's own milestones of the last ``dagster`` scenario (event log timestamps, Unix s).
MILESTONES: dict[str, float] = {}


def timeline(called: float, returned: float, rows: list[dict[str, Any]]) -> str:
    """Where the wall time went: start-up (the call to the first create the service saw,
    split at Dagster's instance, run and step starts), steady state (first create to the end of the
    last task the service ran) and tail (that end to the call's return, split at Dagster's
    last materialization and step end)."""
    first = min(row["gmt_create"] for row in rows) / 1000
    last = max(row.get("end_time", 0) for row in rows) / 1000
    marks = [("call", called), *sorted(MILESTONES.items(), key=lambda m: m[1]),
             ("first create", first), ("last task end", last), ("return", returned)]
    marks.sort(key=lambda m: m[1])
    steps = ", ".join(f"{a} -> {b} {tb - ta:.2f} s" for (a, ta), (b, tb) in zip(marks, marks[1:]))
    return (f"start-up {first - called:.2f} s, steady {last - first:.1f} s, tail "
            f"{returned - last:.2f} s ({steps})")


def dagster_milestones(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    """The run's start, step start, last materialization and step end, from its event log
    (only those records: reading every event back would add to the scenario's figures)."""
    names = {dg.DagsterEventType.RUN_START: "run start",
             dg.DagsterEventType.STEP_START: "step start",
             dg.DagsterEventType.STEP_SUCCESS: "step end",
             dg.DagsterEventType.STEP_FAILURE: "step end"}
    found = {names[r.event_log_entry.dagster_event.event_type]: r.timestamp
             for r in instance.get_records_for_run(run_id, of_type=set(names)).records}
    last = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION,
                                        limit=1, ascending=False).records
    return found | ({"last materialization": last[0].timestamp} if last else {})


def through_dagster(emulator: EmulatorProcess, catalog: Path, skus: list[str], work: Path,
                    scale: float) -> int:
    defs = build_defs(
        dashscope=DashScopeResource(base_url=emulator.base_url, poll_scale=scale),
        catalog=CatalogResource(path=str(catalog)),
        ledger=LedgerResource(url=f"sqlite:///{work / 'dagster-ledger.db'}"),
        media_store=MediaStoreResource(root=str(work / "dagster-media")))
    with dg.instance_for_test() as instance:
        MILESTONES["instance made"] = time.time()  # a fresh one: its databases created
        result = defs.resolve_job_def("sku_list_job").execute_in_process(
            instance=instance, raise_on_error=False, run_config={
                "ops": {"generate_for_skus": {"config": {"skus": skus, "assets": list(ASSETS)}}},
                "loggers": {"console": {"config": {"log_level": "WARNING"}}}})
        assert result.success, result
        MILESTONES.update(dagster_milestones(instance, result.run_id))
        # materialized with a result (not the "does not apply" marks), from the run's events
        # in memory: reading them back from storage would add to the scenario's figures
        return sum(1 for m in result.asset_materializations_for_node("generate_for_skus")
                   if m.metadata["applies"].value is True)


def through_runner(emulator: EmulatorProcess, products: list[Product], work: Path,
                   scale: float) -> int:
    ledger = Ledger(f"sqlite:///{work / 'runner-ledger.db'}")
    resource = DashScopeResource(base_url=emulator.base_url, poll_scale=scale)

    async def batch() -> int:
        async with resource.get_async_client(ledger) as client:
            runner = BatchRunner(client, ledger, LocalMediaStore(work / "runner-media"),
                                 PriceBook.load(), BatchSettings(run_id="benchmark"))
            outcomes = await runner.run(products, ASSETS)
        return sum(o.ok for o in outcomes)

    return asyncio.run(batch())


def through_client(emulator: EmulatorProcess, products: list[Product], work: Path,
                   scale: float) -> int:
    async def chain(client: AsyncDashScopeClient, product: Product) -> int:
        paths: dict[str, Path] = {}
        for name, planned in planned_outputs(product).items():  # in dependency order
            request = output_request(product, planned, paths)
            task = await client.run(request)
            dest = _result_path(work, "client", product, name, request)
            await client.download(task.result_urls[0], dest)
            paths[name] = dest
        return len(paths)

    async def batch() -> int:
        async with AsyncDashScopeClient(api_key=KEY, base_url=emulator.base_url,
                                        poll=PollPolicy().scaled(scale)) as client:
            return sum(await asyncio.gather(*(chain(client, p) for p in products)))

    return asyncio.run(batch())


def sdk_chain(emulator: EmulatorProcess, product: Product, work: Path) -> int:
    """One SKU as a user of the official SDK writes it: each task created and waited for."""
    paths: dict[str, Path] = {}
    for name, planned in planned_outputs(product).items():  # in dependency order
        request = output_request(product, planned, paths)
        paths[name] = _sdk_run(emulator, request,
                               _result_path(work, "sdk", product, name, request))
    return len(paths)


def _result_path(work: Path, scenario: str, product: Product, name: str,
                 request: TaskRequest) -> Path:
    """Where a chain scenario keeps one output (a later output of the SKU may start from it)."""
    return work / f"{scenario}-{product.sku}-{name}.{'mp4' if request.spec.video else 'png'}"


def _sdk_run(emulator: EmulatorProcess, request: TaskRequest, dest: Path) -> Path:
    _, _, group, task, function = request.spec.endpoint.rstrip("/").split("/")
    while True:  # a naive user's retry of a throttled create
        created = BaseAsyncApi.async_call(
            model=request.model, input=request.body["input"], task_group=group, task=task,
            function=function, api_key=KEY, **request.body.get("parameters", {}))
        if created.status_code != 429:
            break
        time.sleep(1.0)
    assert created.status_code == 200, created
    done = BaseAsyncApi.wait(created, api_key=KEY)
    task_ = Task.from_response({"output": dict(done.output), "usage": dict(done.usage or {})},
                               request.model)
    assert task_.succeeded, done
    dest.write_bytes(httpx.get(task_.result_urls[0]).content)
    return dest


def sdk_loop(emulator: EmulatorProcess, products: list[Product], work: Path) -> int:
    return sum(sdk_chain(emulator, p, work) for p in products)


def sdk_pool(emulator: EmulatorProcess, products: list[Product], work: Path) -> int:
    with ThreadPoolExecutor(4) as pool:
        return sum(pool.map(lambda p: sdk_chain(emulator, p, work), products))


def control_probe() -> None:
    """The probe in an idle process until SIGTERM; prints what it counted and its CPU seconds
    per second, ``|``-separated. (A handler of its own: SIGINT once left this child running
    after a Dagster scenario.)"""
    stalls = Stalls()

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    cpu, started = time.process_time(), time.monotonic()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_probe(stalls))
    print(f"{stalls.line()}|{(time.process_time() - cpu) / (time.monotonic() - started):.5f}",
          flush=True)


def main() -> None:
    if sys.argv[1:] == ["--control-probe"]:
        return control_probe()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=100)
    parser.add_argument("--loop-skus", type=int, default=20)
    parser.add_argument("--time-scale", type=float, default=0.1)
    parser.add_argument("--only", nargs="*",
                        default=["dagster", "runner", "client", "sdk pool", "sdk loop"])
    parser.add_argument("--no-probe", action="store_true",
                        help="no loop probe: CPU without the probe's share, no stall counts")
    args = parser.parse_args()
    if not args.no_probe:
        asyncio.set_event_loop_policy(ProbedPolicy())
    emulator = EmulatorProcess(args.time_scale)
    dashscope.base_http_api_url = emulator.base_url
    try:
        with tempfile.TemporaryDirectory(prefix="wan-makespan-") as tmp:
            root = Path(tmp)
            catalog, skus = build_catalog(root / "catalog", args.skus)
            by_sku = load_catalog(catalog).by_sku
            products = [by_sku[s] for s in skus]
            print(f"{args.skus} SKUs ({args.loop_skus} for the SDK loop), emulator time scale "
                  f"{args.time_scale}, {os.cpu_count()} cores", flush=True)
            looped = products[:args.loop_skus]
            probe = not args.no_probe
            scenarios = {
                "dagster": (lambda: through_dagster(emulator, catalog, skus, root,
                                                    args.time_scale), probe, products),
                "runner": (lambda: through_runner(emulator, products, root, args.time_scale),
                           probe, products),
                "client": (lambda: through_client(emulator, products, root, args.time_scale),
                           probe, products),
                "sdk pool": (lambda: sdk_pool(emulator, products, root), False, products),
                "sdk loop": (lambda: sdk_loop(emulator, looped, root), False, looped),
            }
            for name in args.only:
                work, probed, batch = scenarios[name]
                measure(name, emulator, work, probed, batch)
    finally:
        emulator.close()


if __name__ == "__main__":
    main()
