"""``python -m wan_dagster``: a catalog end to end, as the catalog sensor would run it.

Validates the catalog, evaluates the real ``catalog_sensor`` (its cursor is kept in the Dagster
instance where ``dagster dev`` finds it, so neither the sensor nor the next command asks again
for what was already requested), runs the batched ``media_job`` runs it asks for, checks the
stored media with real decoders and prints a summary. Results stay in ``--out`` and in
DAGSTER_HOME, so ``DAGSTER_HOME=.dagster_home dagster dev`` shows the same assets and runs.

DashScope: with neither DASHSCOPE_API_KEY nor --base-url, an embedded emulator serves the API and
nothing is billed. With DASHSCOPE_API_KEY set, the real service of --region is used (and billed);
--base-url points at any other server speaking the protocol, e.g. an external emulator
(``python -m wan_dagster.emulator --port 8089`` and ``--base-url http://127.0.0.1:8089/api/v1``).

Exit status: 0 when every SKU of the catalog is done, 1 when any failed, 2 for bad arguments (or an
--out whose media store is not the one the ledger recorded),
128 + the signal number after Ctrl-C (130) or SIGTERM (143). A signal ends the current run as a
terminated Dagster run does (its PENDING tasks canceled, unsent submissions withdrawn, running
tasks left to the task sensor) and no further run is started.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from .command.interrupts import StopSignals

REPO = Path(__file__).resolve().parent.parent
KEY_VARIABLE = "DASHSCOPE_API_KEY"
EXIT_FAILED_SKUS = 1
EXIT_BAD_INPUT = 2  # as argparse exits for bad arguments


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    _prepare_dagster_home(Path(os.environ.setdefault("DAGSTER_HOME", str(REPO / ".dagster_home"))))
    warnings.filterwarnings("ignore")  # Dagster's beta/deprecation notices are not the user's
    from .command.interrupts import Interrupted, StopSignals
    from .core.catalog import CatalogError
    from .core.store_binding import StoreMismatch

    with StopSignals() as stops:
        try:
            return _main(args, stops)
        except CatalogError as error:
            print(f"Cannot use the catalog: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except StoreMismatch as error:
            print(f"Cannot use this output directory: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except Interrupted as stop:
            print(f"\nStopped by {stop.signal.name} between runs; nothing further was started.")
            return 128 + stop.signal


def _main(args: argparse.Namespace, stops: StopSignals) -> int:
    import dagster as dg

    from .command.sensor_state import SensorCursor
    from .command.summary import render, summarise
    from .core.store_binding import bind_store
    from .orchestration.defs import build_defs
    from .orchestration.launch import execute_job_run
    from .orchestration.progress import LOGGERS, QUIET
    from .orchestration.resources import CatalogResource, LedgerResource, MediaStoreResource

    started = time.monotonic()
    with _dashscope(args) as (dashscope, where), dg.DagsterInstance.get() as instance:
        print(f"{where}\nDAGSTER_HOME={os.environ['DAGSTER_HOME']}")
        defs = build_defs(
            recipe=_sample_recipe(), dashscope=dashscope,
            catalog=CatalogResource(path=str(args.catalog), cache_url=args.ledger or ""),
            ledger=LedgerResource(url=args.ledger or ""),
            media_store=MediaStoreResource(root=str(Path(args.out).resolve() / "media")))
        defs.resources["catalog"].load()  # a file that is no table stops here, in one line
        bind_store(defs.resources["ledger"].ledger, defs.resources["media_store"].get_store())
        execute_job_run(defs, instance, "catalog_job", run_config=QUIET)
        cursor = SensorCursor(instance, REPO / "workspace.yaml")
        tick, requested = _tick(defs, instance, cursor.get())
        run_config = {**LOGGERS, "ops": {"generate_media": {"config": _generation_config(args)}}}
        requests = [(request, True) for request in tick.run_requests] + \
            [(request, False) for request in _retry_requests(defs, instance, tick, args)]
        run_ids, stopped = _run_requests(defs, instance, requests, run_config, stops,
                                         None if args.dry_run else (cursor, requested))
        if args.dry_run:
            print("Dry run: nothing was submitted (the estimate is above and in each run's log).")
            return 128 + stopped if stopped is not None else 0
        if stopped is None:
            execute_job_run(defs, instance, "review_job", run_config=QUIET)
            checks = execute_job_run(defs, instance, "media_check_job", run_config=QUIET)
        summary = summarise(defs.resources["catalog"].load(), defs.resources["ledger"].ledger,
                            run_ids, _unowned(defs))
        print(render(summary))
        if stopped is not None:
            print(f"Stopped by {stopped.name}: the interrupted run canceled its pending tasks "
                  "and withdrew unsent submissions; no further run was started.")
            return 128 + stopped
        print(_checks_line(instance, checks.run_id))
        print(f"Outputs: {(Path(args.out) / 'media').resolve()} "
              f"({time.monotonic() - started:.0f} s wall time)")
        return EXIT_FAILED_SKUS if summary.failed else 0


def _unowned(defs) -> list:
    """Billed tasks no SKU owns (``core.unowned``); none listed when the service is away."""
    from .core.unowned import unowned_tasks
    from .dashscope import DashScopeError, PriceBook

    ledger = defs.resources["ledger"].ledger
    try:
        with defs.resources["dashscope"].get_client(ledger) as client:
            return unowned_tasks(client, ledger, PriceBook.load())
    except DashScopeError as error:
        print(f"Could not list billed tasks to check that each has its SKU: {error}")
        return []


def _sample_recipe():
    """The recipe of the sample project's ``definitions.py`` (what ``dagster dev`` loads), so
    the UI can re-execute this command's runs; the package's default recipe outside a
    checkout."""
    import importlib.util

    from .core.recipes import DEFAULT_RECIPE

    path = REPO / "definitions.py"
    if not path.exists():
        return DEFAULT_RECIPE
    spec = importlib.util.spec_from_file_location("wan_dagster_sample_definitions", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.recipe


def _prepare_dagster_home(home: Path) -> None:
    """A home this command creates gets an empty dagster.yaml (SQLite storage under it, the
    default), which Dagster otherwise asks for on every start."""
    if not home.exists():
        home.mkdir(parents=True)
        (home / "dagster.yaml").write_text("# Dagster's defaults: storage under this folder.\n")


@contextlib.contextmanager
def _dashscope(args: argparse.Namespace) -> Iterator[tuple[object, str]]:
    """The DashScope resource the runs use, and a line saying where it points."""
    import dagster as dg

    from .dashscope.registry import BASE_URLS, Region
    from .emulator import Emulator
    from .orchestration.resources import DashScopeResource

    keyed = bool(os.environ.get(KEY_VARIABLE))
    if keyed or args.base_url:
        url = args.base_url or BASE_URLS[Region(args.region)]
        yield (DashScopeResource(api_key=dg.EnvVar(KEY_VARIABLE) if keyed else "",
                                 region=args.region, base_url=args.base_url,
                                 poll_scale=args.time_scale or 1.0),
               f"DashScope API at {url} (key from {KEY_VARIABLE}: "
               f"{'set' if keyed else 'not set'}); generations are billed by that service.")
        return
    scale = args.time_scale or 0.02
    with Emulator(time_scale=scale) as emulator:
        yield (DashScopeResource(base_url=emulator.base_url, poll_scale=scale),
               f"Embedded DashScope emulator at {emulator.base_url} (time scale {scale:g}); "
               f"nothing is billed. Set {KEY_VARIABLE} or --base-url to use another service.")


def _generation_config(args: argparse.Namespace) -> dict:
    config: dict = {"dry_run": args.dry_run, "regenerate_expired": args.regenerate_expired}
    if args.budget is not None:
        config["budget_cny"] = args.budget
    return config


def _tick(defs, instance, cursor: str | None):
    """One ``catalog_sensor`` tick as the daemon evaluates it (new partitions registered), and
    what it asked for: SKU -> the fingerprint requested (the cursor is a token; the state is
    in the database, see ``core.seen_fingerprints``)."""
    import dagster as dg

    from .core.seen_fingerprints import SeenFingerprints

    sensor = defs.get_sensor_def("catalog_sensor")
    with dg.build_sensor_context(instance=instance, instance_ref=instance.get_ref(),
                                 definitions=defs, cursor=cursor,
                                 resources={"catalog": defs.resources["catalog"]}) as context:
        context.log.setLevel(logging.WARNING)  # its INFO line goes to stderr; we print our own
        tick = sensor.evaluate_tick(context)
    for request in tick.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    added = sum(len(r.partition_keys) for r in tick.dynamic_partitions_requests)
    if tick.run_requests:
        print(f"Catalog sensor: {added} new SKU partition(s); {len(tick.run_requests)} batched "
              f"run(s) for new or changed SKUs")
    else:
        print(f"Catalog sensor: {tick.skip_message or 'nothing new or changed'}; no run needed")
    state = SeenFingerprints.for_url(defs.resources["catalog"].database_url)
    return tick, state.pending(sensor.name, tick.cursor) if tick.run_requests else {}


def _retry_requests(defs, instance, tick, args: argparse.Namespace) -> list:
    """Runs for SKUs the sensor did not ask for but the user did: those whose result the
    service no longer has (--regenerate-expired) or any that failed (--retry-failed)."""
    from .core.ledger import Status
    from .orchestration.sensors import RUN_BATCH, batches, run_request

    if not (args.regenerate_expired or args.retry_failed):
        return []
    order = instance.get_dynamic_partitions("sku")
    asked = {sku for request in tick.run_requests for sku in _skus_of(request, order)}
    ledger = defs.resources["ledger"].ledger
    wanted = set()
    for product in defs.resources["catalog"].load().products:
        latest = [ledger.latest(asset, product.sku, fingerprint)
                  for asset, fingerprint in product.input_fingerprints.items()]
        statuses = {a.status for a in latest if a is not None}
        if (args.regenerate_expired and Status.EXPIRED in statuses) or \
                (args.retry_failed and statuses - {Status.STORED}):
            wanted.add(product.sku)
    wanted -= asked
    if wanted:
        print(f"Retrying {len(wanted)} SKU(s) that "
              + ("expired or failed" if args.retry_failed else "the service no longer has"))
    return [run_request(first, last, "retry") for first, last in batches(order, wanted, RUN_BATCH)]


def _run_requests(defs, instance, requests: list, run_config: dict, stops, commit):
    """Execute the run requests, (request, from the sensor), in order. The sensor's are tagged
    as the daemon tags sensor runs (so the UI shows them as the sensor's) and each finished
    batch's SKUs are stored in the sensor cursor (``commit``: (cursor, requested), or None for
    a dry run). Stops after a run that a signal interrupted. Returns the run ids and the
    signal, if any."""
    from dagster._core.storage.tags import RUN_KEY_TAG, SENSOR_NAME_TAG

    from .core.seen_fingerprints import SeenFingerprints
    from .orchestration.launch import execute_job_run

    order = instance.get_dynamic_partitions("sku")
    run_ids: list[str] = []
    for number, (request, from_sensor) in enumerate(requests, 1):
        skus = _skus_of(request, order)
        print(f"Run {number}/{len(requests)}: {len(skus)} SKU(s), {skus[0]}"
              + (f" .. {skus[-1]}" if len(skus) > 1 else ""))
        sensor_tags = {SENSOR_NAME_TAG: "catalog_sensor", RUN_KEY_TAG: request.run_key}
        run = execute_job_run(defs, instance, "media_job", partition_key=request.partition_key,
                              run_config=run_config,
                              tags={**request.tags, **(sensor_tags if from_sensor else {})})
        run_ids.append(run.run_id)
        if stops.received is not None:
            return run_ids, stops.received
        if from_sensor and commit is not None:
            cursor, requested = commit
            state = SeenFingerprints.for_url(defs.resources["catalog"].database_url)
            cursor.set(state.commit("catalog_sensor", cursor.get(),
                                    {sku: requested[sku] for sku in skus}))
    return run_ids, None


def _skus_of(request, order: list[str]) -> list[str]:
    if request.partition_key is not None:
        return [request.partition_key]
    first = request.tags["dagster/asset_partition_range_start"]
    last = request.tags["dagster/asset_partition_range_end"]
    return order[order.index(first):order.index(last) + 1]


def _checks_line(instance, run_id: str) -> str:
    import dagster as dg

    evaluations = [record.event_log_entry.dagster_event.event_specific_data
                   for record in instance.get_records_for_run(
                       run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records]
    return "Media checks: " + ", ".join(
        f"{e.asset_key.to_user_string()} {'passed' if e.passed else 'FAILED'} "
        f"({e.metadata['checked'].value} decoded)" for e in evaluations)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m wan_dagster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalog", type=Path, default=REPO / "data" / "catalog.csv",
                        help="CSV or Parquet catalog (default: the sample)")
    parser.add_argument("--out", default="out", help="output directory (default: out/)")
    parser.add_argument("--ledger", help="SQLAlchemy URL of the ledger (default: SQLite under "
                                         "DAGSTER_HOME)")
    parser.add_argument("--base-url", help="DashScope-compatible API base URL, e.g. an external "
                                           "emulator's http://127.0.0.1:8089/api/v1")
    parser.add_argument("--region", default="beijing", choices=["beijing", "singapore", "virginia"],
                        help=f"DashScope region when {KEY_VARIABLE} is set and no --base-url")
    parser.add_argument("--time-scale", type=float,
                        help="latency multiplier: the embedded emulator's (default 0.02: a "
                             "3-minute video takes ~4 s); with --base-url, the polling intervals' "
                             "(give an external emulator's own time scale; default 1)")
    parser.add_argument("--budget", type=float, help="stop new submissions at this many CNY")
    parser.add_argument("--dry-run", action="store_true",
                        help="price the batch from the catalog, submit nothing")
    parser.add_argument("--regenerate-expired", action="store_true",
                        help="pay again for results the service no longer has (expired after "
                             "24 h, or lost) instead of failing those SKUs")
    parser.add_argument("--retry-failed", action="store_true",
                        help="also run the SKUs that failed before (the catalog sensor asks "
                             "only for new or changed ones)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
