"""A warm catalog load (every row and image unchanged since the last load) by two versions of
the code, side by side in one run: each version's own database, one cold load each, then warm
loads alternating between the versions, each in a fresh process; median CPU seconds and their
ratio (not a test).

    .venv/bin/python benchmarks/warm_load_side_by_side.py --before 9cf0115 [--rows 10000]

``--before`` is any git revision of this repository; "after" is the working tree.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from catalog_scale import build  # noqa: E402

LOAD = """
import sys, time
from wan_dagster.core.catalog import load_catalog
from wan_dagster.core.image_verdicts import ValidationCache
from wan_dagster.core.ledger import Ledger
cache = ValidationCache(Ledger(sys.argv[2]))
started = time.process_time()
catalog = load_catalog(sys.argv[1], cache=cache)
print(time.process_time() - started, cache.stats["row_misses"], len(catalog.products))
"""


def load(code: Path, catalog: Path, url: str) -> tuple[float, int, int]:
    """CPU seconds of one load by the code under ``code``, its row misses and products."""
    out = subprocess.run([sys.executable, "-c", LOAD, str(catalog), url], cwd=tempfile.gettempdir(),
                         env={**os.environ, "PYTHONPATH": str(code)}, capture_output=True,
                         text=True, check=True).stdout.split()
    return float(out[0]), int(out[1]), int(out[2])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", required=True, help="git revision of the code before")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="warm-side-") as work:
        root = Path(work)
        before = root / "before"
        before.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.before],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
        catalog = build(root / "catalog", args.rows, args.rows * 3 // 20)
        versions = {"before": before, "after": ROOT}
        urls = {name: f"sqlite:///{root / name}.db" for name in versions}
        for name, code in versions.items():
            load(code, catalog, urls[name])  # cold: fills that version's database
        cpu: dict[str, list[float]] = {name: [] for name in versions}
        for _ in range(args.rounds):
            for name, code in versions.items():
                seconds, misses, products = load(code, catalog, urls[name])
                assert misses == 0 and products == args.rows
                cpu[name].append(seconds)
        b, a = statistics.median(cpu["before"]), statistics.median(cpu["after"])
        print(f"warm load of {args.rows} rows, median CPU of {args.rounds}: before "
              f"({args.before}) {b:.2f} s, after {a:.2f} s = {b / a:.2f}x")


if __name__ == "__main__":
    main()
