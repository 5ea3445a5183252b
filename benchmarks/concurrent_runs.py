"""Benchmark (not a test): three concurrent runs over disjoint thirds of a catalog against one
run over all of it, on one emulated account with the same settings. Reports each makespan,
their ratio, the 429s the emulator answered and the peak number of tasks alive per model
(against its concurrency limit). Goal: ratio <= 1.1 with 0 throttled submits.

The scenarios run in the order one, three, three, one (each on a fresh emulator and ledger),
so that load from anything else on the machine that rises or falls steadily weighs on both
alike; the ratio is of the summed makespans.

    .venv/bin/python benchmarks/concurrent_runs.py [--skus 90] [--time-scale 0.02]
        [--ledger sqlite|postgresql://...] [--limits shared|process]

``--limits process`` runs the same with each process keeping its own limits (as before they
were shared through the ledger's database), for comparison. A Postgres ``--ledger`` is a
server URL: each scenario gets a new database on it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from account_run import run_all, stored_everything, verdict  # noqa: E402
from big_catalog import build_catalog  # noqa: E402
from wan_dagster.core.ledger import Ledger  # noqa: E402
from wan_dagster.dashscope import REGISTRY  # noqa: E402
from wan_dagster.emulator import Emulator  # noqa: E402


def scenario(name: str, sku_sets: list[list[str]], args: argparse.Namespace, catalog: Path,
             root: Path) -> dict:
    work = root / name.replace(" ", "_").replace("#", "")
    ledger_url = _fresh_ledger(args.ledger, work)
    with Emulator(time_scale=args.time_scale, seed=1) as emulator:
        started = time.monotonic()
        finished = run_all(emulator.base_url, ledger_url, catalog, work / "media",
                           args.time_scale, sku_sets, work / "logs", args.limits)
        makespan = time.monotonic() - started
        with Ledger(ledger_url) as ledger:
            judged = verdict(emulator, ledger)
            complete = stored_everything(ledger, [s for skus in sku_sets for s in skus])
    failed = sum(len(f.summary["failed"]) if f.summary else 1 for f in finished)
    print(f"{name:>12}: {len(sku_sets)} run(s), makespan {makespan:6.1f} s, "
          f"{judged.bill_lines} billed, paid twice {len(judged.paid_twice)}, "
          f"429s {judged.throttled}, failed {failed}, all stored {complete}")
    for model, peak in sorted(judged.peak.items()):
        print(f"{'':>14}peak {model}: {peak} (limit {REGISTRY.get(model).limits.concurrency})")
    if failed or judged.throttled or not complete:  # the scenario's directory goes at the end
        kept = Path(tempfile.mkdtemp(prefix="wan-bench-failed-"))
        shutil.copytree(work / "logs", kept / "logs")
        print(f"{'':>14}its runs' logs are kept in {kept / 'logs'}")
    return {"makespan": makespan, "throttled": judged.throttled}


def _fresh_ledger(spec: str, directory: Path) -> str:
    directory.mkdir(parents=True)
    if spec == "sqlite":
        return f"sqlite:///{directory / 'ledger.db'}"
    name = f"wan_bench_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(spec, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return sa.make_url(spec).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=90)
    parser.add_argument("--time-scale", type=float, default=0.02)
    parser.add_argument("--ledger", default="sqlite", help="sqlite, or a Postgres server URL")
    parser.add_argument("--limits", choices=("shared", "process"), default="shared")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wan-bench-") as tmp:
        root = Path(tmp)
        catalog, skus = build_catalog(root / "catalog", args.skus)
        print(f"{args.skus} SKUs, emulator time scale {args.time_scale}, ledger {args.ledger}, "
              f"limits {args.limits}")
        thirds = [skus[n * len(skus) // 3:(n + 1) * len(skus) // 3] for n in range(3)]
        spans = {"one run": 0.0, "three runs": 0.0}
        for n, name in enumerate(("one run", "three runs", "three runs", "one run")):
            sku_sets = [skus] if name == "one run" else thirds
            spans[name] += scenario(f"{name} #{n + 1}", sku_sets, args, catalog, root)["makespan"]
    print(f"makespan ratio (three concurrent / one, summed): "
          f"{spans['three runs'] / spans['one run']:.2f}")


if __name__ == "__main__":
    main()
