"""The catalog sensor: keeps the ``sku`` partitions in step with the catalog and asks for runs
for new or changed products only, so an unchanged SKU is never paid for twice."""


import hashlib
from typing import Iterable, Sequence

import dagster as dg

from .assets import sku_partitions
from ..core.catalog import Catalog
from ..core.seen_fingerprints import SeenFingerprints
from .resources import CatalogResource

PARTITION_CHUNK = 1000  # dynamic partitions are added in chunks (SQLite variable limits)
RUN_BATCH = 50  # SKUs per run for runs over contiguous new partitions
SENSOR_NAME = "catalog_sensor"
#: Rows a tick validates that no load has validated before (a new catalog's first ticks, a
#: mass edit): a few milliseconds each, so a tick stays well inside Dagster's 60 s sensor
#: timeout; the rest is validated by the next ticks, the finished part kept in the database.
ROWS_PER_TICK = 5000
#: And at most about this long on them: how long a row takes depends on its images (the first
#: rows of a new catalog decode most of them).
SECONDS_PER_TICK = 20.0


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def register_skus(instance: dg.DagsterInstance, skus: Sequence[str]) -> list[str]:
    """Add the SKUs that are not partitions yet, in chunks; returns the ones added."""
    existing = set(instance.get_dynamic_partitions(sku_partitions.name))
    new = [sku for sku in dict.fromkeys(skus) if sku not in existing]
    for chunk in _chunks(new, PARTITION_CHUNK):
        instance.add_dynamic_partitions(sku_partitions.name, list(chunk))
    return new


def fingerprints(catalog: Catalog) -> dict[str, str]:
    """Valid SKU -> what its generations depend on. Invalid rows are left out: they never
    become partitions (the catalog asset lists them); once fixed, a row appears here as new."""
    return {p.sku: p.fingerprint for p in catalog.products}


def batches(order: Sequence[str], wanted: set[str], size: int) -> list[tuple[str, str]]:
    """Contiguous (first, last) ranges of ``wanted`` keys in partition order, at most ``size``
    long: a batched run covers a range of partitions, so only neighbours can share a run."""
    ranges: list[list[str]] = []
    previous = None
    for index, key in enumerate(order):
        if key not in wanted:
            continue
        if ranges and previous == index - 1 and len(ranges[-1]) < size:
            ranges[-1].append(key)
        else:
            ranges.append([key])
        previous = index
    return [(r[0], r[-1]) for r in ranges]


def run_request(first: str, last: str, fingerprint: str) -> dg.RunRequest:
    if first == last:
        return dg.RunRequest(run_key=f"{first}@{fingerprint}", partition_key=first)
    return dg.RunRequest(run_key=f"{first}..{last}@{fingerprint}",
                         tags={"dagster/asset_partition_range_start": first,
                               "dagster/asset_partition_range_end": last})


def build_catalog_sensor(job, *, minimum_interval_seconds: int = 60,
                         default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
                         rows_per_tick: int = ROWS_PER_TICK,
                         seconds_per_tick: float = SECONDS_PER_TICK) -> dg.SensorDefinition:
    @dg.sensor(name=SENSOR_NAME, job=job, minimum_interval_seconds=minimum_interval_seconds,
               default_status=default_status,
               description="Registers new SKUs as partitions (in chunks) and requests batched "
                           "runs for new or changed products only.")
    def catalog_sensor(context: dg.SensorEvaluationContext, catalog: CatalogResource):
        cat = catalog.load(max_checks=rows_per_tick, check_seconds=seconds_per_tick)
        current = fingerprints(cat)
        wanted, cursor = SeenFingerprints.for_url(catalog.database_url).changes(
            SENSOR_NAME, context.cursor, current)
        progress = _progress(cat)
        if not wanted:
            return dg.SensorResult(skip_reason=progress or f"catalog {cat.source} unchanged "
                                                           f"({len(current)} SKUs)",
                                   cursor=cursor)
        existing = context.instance.get_dynamic_partitions(sku_partitions.name)
        known = set(existing)
        to_add = [sku for sku in current if sku not in known]
        order = [*existing, *to_add]
        position = {key: index for index, key in enumerate(order)}
        requests = [run_request(first, last, _digest(current, order[position[first]:
                                                                    position[last] + 1]))
                    for first, last in batches(order, wanted, RUN_BATCH)]
        context.log.info(f"{len(wanted)} new or changed SKU(s) in {len(requests)} run(s); "
                         f"adding {len(to_add)} partition(s)" + (f"; {progress}" if progress
                                                                 else ""))
        return dg.SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=[sku_partitions.build_add_request(list(chunk))
                                         for chunk in _chunks(to_add, PARTITION_CHUNK)],
            cursor=cursor,
        )

    return catalog_sensor


def _progress(catalog: Catalog) -> str:
    """How far a tick bounded by ``rows_per_tick`` and ``seconds_per_tick`` got, or "" when
    it checked every row."""
    if not catalog.unchecked:
        return ""
    return (f"catalog {catalog.source}: validated {catalog.row_count - catalog.unchecked:,} of "
            f"{catalog.row_count:,} rows; continuing next tick")


def _digest(current: dict[str, str], keys: Sequence[str]) -> str:
    """A run key part that changes when any fingerprint of the range's ``keys`` changes."""
    text = "|".join(current.get(k, "") for k in keys)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
