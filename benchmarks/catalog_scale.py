"""Catalog work at scale: load + validate cold and warm, a one-SKU run's catalog work, the
catalog sensor's tick with nothing changed and its cursor, and its first ticks on a catalog it
has never seen (bounded, until every SKU is registered), on a generated 100k-row catalog
(not a test). The uncached path (every row's requests built, every image decoded: the work
before the validation cache) is measured in the same run on a smaller catalog (it takes
~8 ms a row) and reported per row beside the cached path's.

    .venv/bin/python benchmarks/catalog_scale.py [--rows 100000] [--images 15000] [--old-rows 2000]

The catalog is cloned from the sample catalog's valid rows: rows share image files as SKUs
share templates, over ``--images`` distinct files (each a sample image with a tag of its own
appended, so every file has its own content hash and decode verdict), every prompt unique.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing.forkserver
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wan_dagster.core.catalog import IMAGE_COLUMNS, load_catalog  # noqa: E402
from wan_dagster.core.image_verdicts import ValidationCache  # noqa: E402
from wan_dagster.core.ledger import Ledger  # noqa: E402

DATA = ROOT / "data"


def build(root: Path, rows: int, images: int) -> Path:
    """``root/catalog.csv`` with ``rows`` valid rows over about ``images`` distinct files."""
    sample = pd.read_csv(DATA / "catalog.csv", dtype=str, keep_default_na=False)
    templates = sample[~sample["sku"].str.startswith("BRK")].to_dict("records")
    cells = sum(1 for t in templates for c in IMAGE_COLUMNS if t[c])
    copies = max(1, images // cells)  # distinct copies of each template's images
    (root / "images").mkdir(parents=True, exist_ok=True)
    out = []
    for n in range(rows):
        template = templates[n % len(templates)]
        copy = (n // len(templates)) % copies
        row = dict(template, sku=f"{template['sku']}-{n:06d}", title=f"{template['title']} #{n}")
        for column in IMAGE_COLUMNS:
            if row[column]:
                source = DATA / row[column]
                target = Path("images") / f"{source.stem}-{copy:05d}{source.suffix}"
                if not (root / target).exists():
                    (root / target).write_bytes(source.read_bytes() + f"tag {copy}".encode())
                row[column] = target.as_posix()
        for column in ("background_prompt", "video_prompt", "model_prompt"):
            if row[column]:
                row[column] = f"{row[column]}, take {n}"
        out.append(row)
    path = root / "catalog.csv"
    pd.DataFrame(out, columns=list(sample.columns)).to_csv(path, index=False)
    return path


#: CPU seconds of each timed action (this process's and its row workers'), beside its wall
#: time: on a shared machine the wall time moves with the load, the CPU time much less.
CPU: list[float] = []


def workers_cpu() -> float:
    """CPU seconds of the row worker processes that ended so far, from their forkserver's
    count of its reaped children (Linux ``/proc``): they are its children, not ours."""
    pid = multiprocessing.forkserver._forkserver._forkserver_pid  # type: ignore[attr-defined]
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # cutime, cstime


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started, cpu = time.perf_counter(), time.process_time() + workers_cpu()
    result = action()
    CPU.append(time.process_time() + workers_cpu() - cpu)
    return time.perf_counter() - started, result


def report(figure: str, before: str, after: str, ratio: str = "") -> None:
    """One row of the table, printed as soon as it is measured."""
    print(f"| {figure} | {before} | {after} | {ratio} |", flush=True)


def fresh_cache(url: str) -> ValidationCache:
    """A cache that knows only what is in the database (as another process would)."""
    return ValidationCache(Ledger(url))


def sensor_tick(catalog: Path, url: str, instance: Any, cursor: str | None) -> Any:
    import dagster as dg

    from wan_dagster.orchestration.defs import build_defs
    from wan_dagster.orchestration.resources import CatalogResource

    defs = build_defs(catalog=CatalogResource(path=str(catalog), cache_url=url))
    sensor = defs.get_sensor_def("catalog_sensor")
    with dg.partition_loading_context(dynamic_partitions_store=instance), \
            dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs,
                                    resources={"catalog": defs.resources["catalog"]}) as context:
        return sensor.evaluate_tick(context)


def old_digest(current: dict[str, str], order: Sequence[str], first: str, last: str) -> str:
    """The run-key digest before this change (``order.index`` per request: quadratic)."""
    keys = order[order.index(first):order.index(last) + 1]
    return hashlib.sha256("|".join(current.get(k, "") for k in keys).encode()).hexdigest()[:16]


def first_ticks(catalog: Path, url: str, valid: int, before: str) -> None:
    """The sensor's ticks on a catalog no load has seen (an empty database: every row and
    image new), each bounded by ``ROWS_PER_TICK``, until every valid SKU is a partition."""
    import dagster as dg

    from wan_dagster.orchestration.sensors import ROWS_PER_TICK

    seconds: list[float] = []
    cursor = None
    with dg.instance_for_test() as instance:
        while len(instance.get_dynamic_partitions("sku")) < valid and len(seconds) < 1000:
            tick_s, tick = timed(lambda: sensor_tick(catalog, url, instance, cursor))
            seconds.append(tick_s)
            for request in tick.dynamic_partitions_requests:
                instance.add_dynamic_partitions(request.partitions_def_name,
                                                list(request.partition_keys))
            cursor = tick.cursor
    cpu = CPU[-len(seconds):]
    longest = max(range(len(seconds)), key=seconds.__getitem__)
    report(f"sensor's first ticks on a new catalog, {ROWS_PER_TICK:,} new rows a tick",
           f"one tick: {before} (a full cold load)",
           f"first tick {seconds[0]:.1f} s ({cpu[0]:.1f} s), longest {seconds[longest]:.1f} s "
           f"({cpu[longest]:.1f} s); {len(seconds)} ticks, {sum(seconds):.0f} s in all")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--images", type=int, default=15_000)
    parser.add_argument("--old-rows", type=int, default=2_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--first-ticks-only", action="store_true",
                        help="measure only the sensor's first ticks on a new catalog")
    args = parser.parse_args()
    import dagster as dg

    from wan_dagster.orchestration.sensors import RUN_BATCH, batches

    work = Path(tempfile.mkdtemp(prefix="catalog-scale-"))
    try:
        seconds, big = timed(lambda: build(work / "big", args.rows, args.images))
        files = len(list((work / "big" / "images").iterdir()))
        print(f"generated {args.rows} rows over {files} distinct image files in {seconds:.0f} s")
        if args.first_ticks_only:
            print("| figure | before | after | ratio |\n|---|---|---|---|")
            first_ticks(big, f"sqlite:///{work / 'new-ledger.db'}", args.rows, "a full cold load")
            return
        small = build(work / "small", args.old_rows, args.images)
        url = f"sqlite:///{work / 'ledger.db'}"
        small_url = f"sqlite:///{work / 'small-ledger.db'}"

        print(f"\n{args.rows} rows, {files} distinct images; uncached path measured on "
              f"{args.old_rows} rows of the same make; wall s (CPU s)\n", flush=True)
        print("| figure | uncached path (before) | cached path | ratio |\n|---|---|---|---|")
        old_s, _ = timed(lambda: load_catalog(small))
        old_cpu = CPU[-1]
        small_cold_s, _ = timed(lambda: load_catalog(small, cache=fresh_cache(small_url)))
        small_warm_s, _ = timed(lambda: load_catalog(small, cache=fresh_cache(small_url)))
        per_row = 1e3 / args.old_rows
        report(f"load + validate, per row, {args.old_rows} rows",
               f"{old_s * per_row:.2f} ms ({old_cpu * per_row:.2f} ms)",
               f"cold {small_cold_s * per_row:.2f} ms, warm {small_warm_s * per_row:.3f} ms "
               f"({CPU[-1] * per_row:.3f} ms)", f"{old_s / small_warm_s:.0f}x warm")
        estimate, estimate_cpu = old_s / args.old_rows * args.rows, old_cpu / args.old_rows * args.rows
        before = f"~{estimate:.0f} s (~{estimate_cpu:.0f} s), from the per-row figure"

        cache = fresh_cache(url)
        cold_s, cold = timed(lambda: load_catalog(big, cache=cache))
        assert not cold.errors, cold.errors[:3]
        report(f"load + validate cold, {args.rows} rows", before,
               f"{cold_s:.1f} s ({CPU[-1]:.1f} s); {cache.stats['decodes']} decodes, "
               f"{cache.stats['file_reads']} files hashed in the loading process (worker "
               f"processes count their own)", f"{estimate / cold_s:.1f}x")
        warm_s, warm = timed(lambda: load_catalog(big, cache=fresh_cache(url)))
        assert warm.products == cold.products
        report("load + validate, nothing changed since", before, f"{warm_s:.1f} s ({CPU[-1]:.1f} s)",
               f"{estimate / warm_s:.0f}x")
        sku = cold.products[len(cold.products) // 2].sku
        one_s, one = timed(lambda: load_catalog(big, skus=[sku], cache=fresh_cache(url)))
        assert [p.sku for p in one.products] == [sku]
        report("one-SKU run's catalog work", before, f"{one_s:.2f} s ({CPU[-1]:.2f} s)",
               f"{estimate / one_s:.0f}x")

        current = {p.sku: p.fingerprint for p in cold.products}
        order = list(current)
        ranges = batches(order, set(order), RUN_BATCH)
        old_digest_s, _ = timed(lambda: [old_digest(current, order, a, b) for a, b in ranges])
        with dg.instance_for_test() as instance:
            first = sensor_tick(big, url, instance, None)
            for request in first.dynamic_partitions_requests:
                instance.add_dynamic_partitions(request.partitions_def_name,
                                                list(request.partition_keys))
            tick_s, tick = timed(lambda: sensor_tick(big, url, instance, first.cursor))
            assert not tick.run_requests, "nothing changed: no run"
        report("sensor tick, no change", f"{before} + {old_digest_s:.1f} s digest",
               f"{tick_s:.1f} s ({CPU[-1]:.1f} s)", f"{(estimate + old_digest_s) / tick_s:.0f}x")
        report("sensor cursor", f"{len(json.dumps(current)) / 1e6:.1f} MB (JSON of every SKU)",
               f"{len(first.cursor or '')} bytes")
        first_ticks(big, f"sqlite:///{work / 'new-ledger.db'}", len(cold.products), before)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")


if __name__ == "__main__":
    main()
