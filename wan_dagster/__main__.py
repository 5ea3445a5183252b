"""``python -m wan_dagster``: the whole sample catalog end to end on the embedded emulator.

Registers the SKUs through the catalog sensor, runs the batched media job for every run it
asks for, rolls up costs, decodes the stored media, and prints a summary. Nothing is billed:
the emulator stands in for DashScope. Results stay in ``--out`` and in DAGSTER_HOME, so
``DAGSTER_HOME=.dagster_home dagster dev`` shows the same assets, partitions and metadata.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    os.environ.setdefault("DAGSTER_HOME", str(REPO / ".dagster_home"))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)

    import dagster as dg

    from .emulator import Emulator
    from .orchestration.resources import CatalogResource, DashScopeResource, LedgerResource, MediaStoreResource

    started = time.monotonic()
    with Emulator(time_scale=args.time_scale) as emulator, dg.DagsterInstance.get() as instance:
        print(f"Embedded DashScope emulator at {emulator.base_url} (time scale "
              f"{args.time_scale:g}); nothing is billed. DAGSTER_HOME={os.environ['DAGSTER_HOME']}")
        from .orchestration.defs import build_defs

        defs = build_defs(
            dashscope=DashScopeResource(api_key="emulator", base_url=emulator.base_url,
                                        poll_scale=args.time_scale),
            catalog=CatalogResource(path=str(args.catalog)),
            ledger=LedgerResource(url=args.ledger or ""),
            media_store=MediaStoreResource(root=str(Path(args.out).resolve() / "media")),
        )
        run_config = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
        if args.budget is not None or args.dry_run:
            run_config["ops"] = {"generate_media": {"config": {
                "dry_run": args.dry_run, **({"budget_cny": args.budget} if args.budget else {})}}}
        _materialize_catalog(defs, instance, run_config)
        tick = _tick(defs, instance)
        for request in tick.dynamic_partitions_requests:
            instance.add_dynamic_partitions(request.partitions_def_name,
                                            list(request.partition_keys))
        print(f"Registered {sum(len(r.partition_keys) for r in tick.dynamic_partitions_requests)} "
              f"SKU partitions; {len(tick.run_requests)} batched run(s) requested")
        job = defs.get_job_def("media_job")
        for request in tick.run_requests:
            job.execute_in_process(instance=instance, partition_key=request.partition_key,
                                   tags=request.tags, run_config=run_config, raise_on_error=False)
        if args.dry_run:
            return 0
        costs = dg.materialize([defs.get_assets_def("generation_costs")], instance=instance,
                               resources={"ledger": defs.resources["ledger"]})
        checks = defs.get_job_def("media_check_job").execute_in_process(
            instance=instance, run_config=run_config, raise_on_error=False)
        _summary(defs, costs.output_for_node("generation_costs"), checks,
                 time.monotonic() - started, Path(args.out))
    return 0


def _materialize_catalog(defs, instance, run_config) -> None:
    import dagster as dg

    dg.materialize([defs.get_assets_def("product_catalog")], instance=instance,
                   resources={"catalog": defs.resources["catalog"]},
                   run_config={"loggers": run_config["loggers"]})


def _tick(defs, instance):
    """One catalog-sensor tick, evaluated as the daemon would."""
    import dagster as dg

    sensor = defs.get_sensor_def("catalog_sensor")
    with dg.partition_loading_context(dynamic_partitions_store=instance), \
            dg.build_sensor_context(instance=instance, definitions=defs,
                                    resources={"catalog": defs.resources["catalog"]}) as context:
        return sensor.evaluate_tick(context)


def _summary(defs, costs, checks, seconds: float, out: Path) -> None:
    from .core.ledger import Status

    catalog = defs.resources["catalog"].load()
    ledger = defs.resources["ledger"].ledger
    done, failed = [], []
    for product in catalog.products:
        attempts = {asset: ledger.latest(asset, product.sku, fp)
                    for asset, fp in product.input_fingerprints.items()}
        problems = [f"{asset}: {a.message or a.status if a else 'not attempted'}"
                    for asset, a in attempts.items() if a is None or a.status != Status.STORED]
        (failed if problems else done).append((product.sku, "; ".join(problems)))
    for sku, errors in catalog.invalid_skus.items():
        failed.append((sku, "; ".join(e.rule for e in errors)))
    print("\n==== Summary ====")
    print(f"SKUs done: {len(done)} of {len(catalog.skus) + len([k for k in catalog.invalid_skus if k not in catalog.skus])} "
          f"({seconds:.0f} s wall time)")
    print(f"SKUs failed: {len(failed)}")
    for sku, why in failed:
        print(f"  {sku}: {why}")
    print("Cost by model (CNY, from the usage the service returned):")
    by_model = costs.groupby("model").agg(cost=("cost_cny", "sum"), n=("generations", "sum"),
                                          unpriced=("unpriced", "sum"))
    for model, row in by_model.iterrows():
        note = f"  ({int(row.unpriced)} with no published CNY price)" if row.unpriced else ""
        print(f"  {model:32s} {row.cost:8.2f}  {int(row.n):3d} generation(s){note}")
    print(f"  {'total':32s} {by_model['cost'].sum():8.2f}")
    evaluations = [e.event_specific_data for e in checks.all_events
                   if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    print("Media checks: " + ", ".join(
        f"{e.asset_key.to_user_string()} {'passed' if e.passed else 'FAILED'} "
        f"({e.metadata['checked'].value} decoded)" for e in evaluations))
    print(f"Outputs: {(out / 'media').resolve()}")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m wan_dagster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalog", type=Path, default=REPO / "data" / "catalog.csv",
                        help="CSV or Parquet catalog (default: the sample)")
    parser.add_argument("--out", default="out", help="output directory (default: out/)")
    parser.add_argument("--ledger", help="SQLAlchemy URL of the ledger (default: SQLite under "
                                         "DAGSTER_HOME)")
    parser.add_argument("--time-scale", type=float, default=0.02,
                        help="emulator latency multiplier (default 0.02: a 3-minute video "
                             "takes ~4 s)")
    parser.add_argument("--budget", type=float, help="stop new submissions at this many CNY")
    parser.add_argument("--dry-run", action="store_true",
                        help="price the batch from the catalog, submit nothing")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
