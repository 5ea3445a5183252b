"""Batch runs as separate processes on one account, and the emulator's verdict on them; shared
by tests/test_many_runs.py and benchmarks/concurrent_runs.py (not a test module).

Run as a script, it is one run: what a run does inside its step, the batch scheduler with a
client whose limits are shared through the ledger's database.

    python tests/account_run.py BASE_URL LEDGER_URL CATALOG MEDIA_ROOT POLL_SCALE SKU,SKU,... [LIMITS]

LIMITS is ``shared`` (the default: through the ledger's database) or ``process`` (each process
on its own, as before the limits were shared: for the benchmark's comparison).

It prints one JSON line, ``{"stored": n, "reused": n, "failed": [[sku, asset, why], ...]}``,
and exits 1 if any SKU failed.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wan_dagster.core.account_limits import AccountLimits
from wan_dagster.core.batch import BatchRunner, BatchSettings
from wan_dagster.core.recipes import DEFAULT_RECIPE
from wan_dagster.core.catalog import load_catalog
from wan_dagster.core.ledger import Ledger, Status
from wan_dagster.core.store import LocalMediaStore
from wan_dagster.dashscope import REGISTRY, AsyncDashScopeClient, PollPolicy, PriceBook
from wan_dagster.emulator import Emulator

#: How long one run may take before the caller gives up on it (a loaded 2-core machine).
RUN_TIMEOUT_S = 300.0


async def run(base_url: str, ledger_url: str, catalog: Path, media: Path, poll_scale: float,
              skus: list[str], limits: str = "shared") -> dict[str, Any]:
    ledger = Ledger(ledger_url)
    by_sku = load_catalog(catalog).by_sku
    products = [by_sku[sku] for sku in skus]
    async with AsyncDashScopeClient(api_key="sk-test", base_url=base_url,
                                    poll=PollPolicy().scaled(poll_scale),
                                    shared_limits=AccountLimits.for_ledger(ledger)
                                    if limits == "shared" else None) as client:
        runner = BatchRunner(client, ledger, LocalMediaStore(media), PriceBook.load(),
                             BatchSettings(run_id=f"process-{os.getpid()}"))
        outcomes = await runner.run(products, DEFAULT_RECIPE.names)
    return {"stored": sum(o.ok and not o.reused for o in outcomes),
            "reused": sum(o.ok and o.reused for o in outcomes),
            "failed": [[o.sku, o.asset, o.error] for o in outcomes if not o.ok]}


@dataclass(frozen=True)
class Finished:
    """One run's process: exit code, its JSON summary (None if it printed none), its log."""

    returncode: int
    summary: dict[str, Any] | None
    log: str


def run_all(base_url: str, ledger_url: str, catalog: Path, media: Path, poll_scale: float,
            sku_sets: list[list[str]], logs: Path, limits: str = "shared") -> list[Finished]:
    """Start one process per SKU set at once, wait for all of them (bounded)."""
    logs.mkdir(parents=True, exist_ok=True)
    procs = []
    for n, skus in enumerate(sku_sets):
        with (logs / f"run{n}.log").open("wb") as log:
            procs.append(subprocess.Popen(
                [sys.executable, __file__, base_url, ledger_url, str(catalog), str(media),
                 str(poll_scale), ",".join(skus), limits], stdout=log,
                stderr=subprocess.STDOUT))
    deadline = time.monotonic() + RUN_TIMEOUT_S
    finished = []
    for n, proc in enumerate(procs):
        try:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        text = (logs / f"run{n}.log").read_text(errors="replace")
        last = text.strip().splitlines()[-1:] or [""]
        summary = json.loads(last[0]) if last[0].startswith("{") else None
        finished.append(Finished(proc.returncode, summary, text[-3000:]))
    return finished


@dataclass(frozen=True)
class Verdict:
    """What the emulator (the account) saw, through its bill, counters and task list."""

    bill_lines: int
    paid_twice: list[tuple[str, str]]  # (sku, asset) billed more than once
    unowned: list[str]  # billed task ids that no ledger attempt owns
    throttled: int  # 429s answered
    peak: dict[str, int]  # model -> most tasks running at once

    def over_limit(self) -> dict[str, tuple[int, int]]:
        """Models whose peak exceeded their concurrency: model -> (peak, limit)."""
        return {model: (peak, REGISTRY.get(model).limits.concurrency)
                for model, peak in self.peak.items()
                if peak > REGISTRY.get(model).limits.concurrency}


def verdict(emulator: Emulator, ledger: Ledger) -> Verdict:
    owner = {a.task_id: (a.sku, a.asset) for a in ledger.attempts() if a.task_id}
    lines = emulator.bill.lines
    per_work = Counter(owner[line.task_id] for line in lines if line.task_id in owner)
    return Verdict(
        bill_lines=len(lines), paid_twice=sorted(w for w, n in per_work.items() if n > 1),
        unowned=[line.task_id for line in lines if line.task_id not in owner],
        throttled=emulator.counters["throttled"], peak=peak_concurrency(emulator))


def peak_concurrency(emulator: Emulator) -> dict[str, int]:
    """Per model, the most tasks running at once, from each task's start and end times (a
    task queued ahead at the service, PENDING, is not running: the limit is on running)."""
    events: dict[str, list[tuple[int, int]]] = {}
    for row in emulator.tasks.list(since=None, before=None, model=None, status=None):
        if "start_time" not in row:  # never started (canceled while queued)
            continue
        ends = row.get("end_time")
        moments = events.setdefault(row["model_name"], [])
        moments.append((row["start_time"], 1))
        moments.append((ends if ends is not None else 2**62, -1))
    peaks = {}
    for model, moments in events.items():
        alive = peak = 0
        for _, step in sorted(moments):  # an end sorts before a create at the same moment
            alive += step
            peak = max(peak, alive)
        peaks[model] = peak
    return peaks


def stored_everything(ledger: Ledger, skus: list[str]) -> bool:
    """Every attempt of ``skus`` ended STORED."""
    return all(a.status == Status.STORED for a in ledger.attempts() if a.sku in skus)


if __name__ == "__main__":
    url, ledger_url, catalog_path, media_root, scale, sku_list, *how = sys.argv[1:]
    summary = asyncio.run(run(url, ledger_url, Path(catalog_path), Path(media_root),
                              float(scale), sku_list.split(","), *how))
    print(json.dumps(summary), flush=True)
    sys.exit(1 if summary["failed"] else 0)
