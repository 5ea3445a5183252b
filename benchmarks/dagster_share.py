"""Where the Dagster scenario of ``makespan.py`` spends CPU that the raw ``BatchRunner`` does
not: each piece's thread CPU (whichever thread runs it), per SKU-asset, beside the process's
total for the call, and the garbage collector's pauses during the batch.

    .venv/bin/python benchmarks/dagster_share.py [--skus 30] [--time-scale 0.1] [--no-probe]

Pieces: the writes of each kind of event (a result's materialization, a "does not apply"
mark, a progress message), the thumbnails in the materializations, the run's catalog load and
partition registration. The rest of the total is the batch itself (what ``makespan.py``'s
``runner`` scenario spends) plus Dagster's run and step machinery. Wrapping the functions
costs a few microseconds a call, nothing beside what they measure.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import dagster as dg
from dagster._core.execution.context.op_execution_context import OpExecutionContext

sys.path.insert(0, str(Path(__file__).resolve().parent))

import makespan  # noqa: E402
from big_catalog import build_catalog  # noqa: E402
from wan_dagster.core.catalog import load_catalog  # noqa: E402
from wan_dagster.orchestration import generation, jobs, progress, resources  # noqa: E402

CPU: Counter[str] = Counter()
CALLS: Counter[str] = Counter()


def account(owner: Any, name: str, label: str | Callable[..., str]) -> None:
    """Adds the thread CPU of each call of ``owner.name`` to ``label`` (or to what ``label``
    says of the call's arguments)."""
    original = getattr(owner, name)
    label_of = label if callable(label) else lambda *_args, **_kwargs: label

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            kind = label_of(*args, **kwargs)
            CPU[kind] += time.thread_time() - started
            CALLS[kind] += 1

    setattr(owner, name, timed)


def event_kind(_context: OpExecutionContext, event: Any) -> str:
    """The label of one ``log_event`` call: which kind of event it writes."""
    if isinstance(event, dg.AssetMaterialization):
        applies = event.metadata.get("applies")
        return "write: does-not-apply mark" if applies is not None and applies.value is False \
            else "write: result materialization"
    return f"write: {type(event).__name__}"


class Collections:
    """The collector's pauses while the call runs (any thread: a collection holds the GIL)."""

    def __init__(self) -> None:
        self.started: dict[int, float] = {}
        self.pauses: list[tuple[int, float]] = []
        self.on = False
        self.lock = threading.Lock()

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if not self.on:
            return
        generation_ = info["generation"]
        if phase == "start":
            self.started[generation_] = time.perf_counter()
        elif generation_ in self.started:
            with self.lock:
                self.pauses.append((generation_,
                                    time.perf_counter() - self.started.pop(generation_)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=30)
    parser.add_argument("--time-scale", type=float, default=0.1)
    parser.add_argument("--no-probe", action="store_true",
                        help="no loop probe (as makespan.py): its CPU is not in the total")
    args = parser.parse_args()
    account(generation, "_thumbnail", "thumbnails")
    account(progress.ProgressLines, "flush", "write: progress message")
    account(resources.CatalogResource, "load", "run's catalog load")
    account(jobs, "register_skus", "partition registration")
    account(OpExecutionContext, "log_event", event_kind)
    collections = Collections()
    gc.callbacks.append(collections)
    if not args.no_probe:
        asyncio.set_event_loop_policy(makespan.ProbedPolicy())
    emulator = makespan.EmulatorProcess(args.time_scale)
    try:
        with tempfile.TemporaryDirectory(prefix="wan-dagster-share-") as tmp:
            root = Path(tmp)
            catalog, skus = build_catalog(root / "catalog", args.skus)
            by_sku = load_catalog(catalog).by_sku
            collections.on = True
            result = makespan.measure(
                "dagster", emulator,
                lambda: makespan.through_dagster(emulator, catalog, skus, root, args.time_scale),
                not args.no_probe, [by_sku[s] for s in skus])
            collections.on = False
    finally:
        emulator.close()
    made = max(1, result.made)
    print(f"CPU per SKU-asset {result.cpu_s * 1000 / made:.1f} ms in all; of it:")
    for label, seconds in sorted(CPU.items(), key=lambda item: -item[1]):
        print(f"  {label:32s} {seconds * 1000 / made:6.1f} ms  ({CALLS[label]} calls, "
              f"{seconds * 1000 / CALLS[label]:.1f} ms each)")
    by_generation: Counter[int] = Counter()
    for generation_, seconds in collections.pauses:
        by_generation[generation_] += seconds
    longest = max((s for _, s in collections.pauses), default=0.0)
    print(f"  {'garbage collection':32s} {sum(by_generation.values()) * 1000 / made:6.1f} ms  "
          f"(generations 0/1/2: {by_generation[0] * 1000:.0f}/{by_generation[1] * 1000:.0f}/"
          f"{by_generation[2] * 1000:.0f} ms, longest pause {longest * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
