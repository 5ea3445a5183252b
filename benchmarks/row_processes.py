"""The cold load of a generated catalog (every row new to the cache), its rows checked on
threads of one process against worker processes, side by side in one run: wall seconds, CPU
seconds of this process and of the workers, and the load average beside each (the machine may
be shared).

    .venv/bin/python benchmarks/row_processes.py [--rows 100000] [--images 15000]

The catalog is ``catalog_scale.build``'s. The workers' CPU: ``catalog_scale.workers_cpu``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from catalog_scale import build, workers_cpu  # noqa: E402

from wan_dagster.core.catalog import load_catalog  # noqa: E402
from wan_dagster.core.image_verdicts import ValidationCache  # noqa: E402
from wan_dagster.core.ledger import Ledger  # noqa: E402
from wan_dagster.core.row_checks import ROW_PROCESSES  # noqa: E402


def cold_load(catalog: Path, url: str, processes: int) -> tuple[float, float, float, int]:
    """Wall s, this process's CPU s, the workers' CPU s and the products of one cold load."""
    cache = ValidationCache(Ledger(url))
    wall, cpu, workers = time.perf_counter(), time.process_time(), workers_cpu()
    loaded = load_catalog(catalog, cache=cache, processes=processes)
    return (time.perf_counter() - wall, time.process_time() - cpu, workers_cpu() - workers,
            len(loaded.products))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--images", type=int, default=15_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="row-processes-"))
    try:
        catalog = build(work / "catalog", args.rows, args.images)
        print(f"cold load of {args.rows} rows, {args.images} images; wall s, CPU s "
              f"(this process + workers), load average\n")
        print("| checked on | wall | CPU | load average |\n|---|---|---|---|")
        walls = []
        for label, processes in (("threads, 1 process", 1),
                                 (f"{ROW_PROCESSES} worker processes", ROW_PROCESSES)):
            load = os.getloadavg()[0]
            url = f"sqlite:///{work}/ledger-{processes}.db"
            wall, cpu, workers, products = cold_load(catalog, url, processes)
            assert products == args.rows, products
            walls.append(wall)
            print(f"| {label} | {wall:.1f} s | {cpu + workers:.1f} s ({cpu:.1f} + {workers:.1f}) "
                  f"| {load:.1f} -> {os.getloadavg()[0]:.1f} |", flush=True)
        print(f"\nwall ratio, threads / processes: {walls[0] / walls[1]:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
