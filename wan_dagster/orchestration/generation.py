"""Dagster glue around the batch scheduler: runs a batch of SKUs inside a step, turns each
outcome into its own materialization (or a failure reason), prices dry runs, and summarises."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
from collections import Counter, defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Awaitable, Callable, Iterable, Iterator, TypeVar

import dagster as dg

from ..core.batch import BatchRunner, BatchSettings, Outcome, Withdrawn
from ..core.catalog import Catalog, Product
from ..core.review import prompt_of, thumbnail_jpeg
from ..core.store import MediaStore, StoredMedia
from ..core.store_binding import StoreMismatch
from ..dashscope import REGISTRY, PriceBook, Usage
from ..dashscope.pricing import cost_text, trial_terms
from ..dashscope.registry import BillingUnit
from ..core.ledger import Ledger, Status
from ..core.plan import VideoDefaults, priced_outputs
from ..core.recipes import DEFAULT_RECIPE, Recipe
from .progress import ProgressLines
from .resources import CatalogResource, DashScopeResource, LedgerResource, MediaStoreResource


T = TypeVar("T")

#: Every op that calls DashScope runs in this Dagster pool: an optional cap on such steps at
#: once. The account's own limits are kept in the ledger's database whatever the pool allows.
POOL = "dashscope"


class GenerationConfig(dg.Config):
    """Per-run choices a merchandiser can make in the launchpad."""

    budget_cny: float = 0.0  # stop new submissions once this much is committed (0: no limit)
    dry_run: bool = False  # price the batch from the catalog, submit nothing
    video_model: str = VideoDefaults.model
    video_resolution: str = VideoDefaults.resolution
    video_duration: int = VideoDefaults.duration
    video_audio: bool = VideoDefaults.audio
    wait_timeout_s: float = 3600.0  # then the run moves on and the task sensor collects it
    regenerate_expired: bool = False  # pay again for results that expired before collection

    def video_defaults(self) -> VideoDefaults:
        return VideoDefaults(self.video_model, self.video_resolution, self.video_duration,
                             self.video_audio)


@dataclass(frozen=True)
class Resources:
    dashscope: DashScopeResource
    catalog: CatalogResource | None  # None where no catalog is read (collect runs)
    ledger: LedgerResource
    media_store: MediaStoreResource


@dataclass(frozen=True)
class SkuFailure:
    """Why one asset of one SKU failed; ``row``/``column`` where the reason is a catalog cell."""

    sku: str
    asset: str
    message: str
    code: str | None = None
    row: int | None = None
    column: str | None = None

    def metadata(self) -> dict[str, object]:
        found = {"failure/code": self.code, "failure/message": self.message,
                 "catalog/row": self.row, "catalog/column": self.column}
        return {k: v for k, v in found.items() if v is not None}


def run_generation(context: dg.OpExecutionContext, skus: Iterable[str], assets: set[str],
                   config: GenerationConfig, resources: Resources,
                   recipe: Recipe) -> list[SkuFailure]:
    """Generate ``assets`` (outputs of ``recipe``) for ``skus``: one materialization per
    successful SKU and asset, a "does not apply" one where the recipe gives the SKU no such
    output (so a failed run does not paint it FAILED), and an observation with the reason on
    each failed SKU's partition. Returns the failures; the caller fails the step with
    ``failure_of`` so the UI marks exactly those SKUs."""
    assert resources.catalog is not None
    skus = list(skus)
    catalog = resources.catalog.load(config.video_defaults(), recipe, skus=skus)
    products, failures = _products(catalog, skus, assets)
    if config.dry_run:
        _log_dry_run(context, products, assets, config.video_defaults(),
                     resources.ledger.ledger, recipe)
        return []
    # Events in one worker thread, in order: a materialization's thumbnail decodes the result
    # and each event is a write to Dagster's storage, tens of milliseconds that on the batch's
    # event loop would hold up every task (and before it, its start). All are written before
    # the step goes on. A crash loses none for good: the retry finds the ledger's STORED
    # attempts and reports (materializes) them again as reused.
    reported: list[Future[None]] = []
    reporter = ThreadPoolExecutor(1, thread_name_prefix="wan-events")
    lines = ProgressLines(context.log.info)
    prices = PriceBook.load()
    total = sum(len([a for a in assets if a in p.input_fingerprints]) for p in products)
    progress = Counter[str]()

    def mark_not_applicable() -> None:
        """Behind the first outcome (or at the end): while the first creates go out, the
        batch's loop has the process to itself."""
        if not progress["marked"]:
            progress["marked"] = 1
            marks = [_not_applicable(asset, product) for product in products
                     for asset in sorted(assets - set(product.input_fingerprints))]
            for mark in unmarked(context.instance, marks):
                context.log_event(mark)

    def report(outcome: Outcome) -> None:
        progress["done"] += 1
        verdict = "reused" if outcome.reused else "stored" if outcome.ok else "FAILED"
        lines.add(f"[{progress['done']}/{total}] {outcome.asset} {outcome.sku}: {verdict}"
                  + (f" ({outcome.error})" if outcome.error else ""))
        if outcome.ok and outcome.asset in assets:
            context.log_event(_materialization(outcome, prices, resources.media_store))
        mark_not_applicable()

    def on_outcome(outcome: Outcome) -> None:
        reported.append(reporter.submit(report, outcome))

    settings = BatchSettings(run_id=context.run.run_id,
                             budget=Decimal(str(config.budget_cny)) if config.budget_cny else None,
                             video_defaults=config.video_defaults(),
                             wait_timeout=config.wait_timeout_s,
                             regenerate_expired=config.regenerate_expired, recipe=recipe)
    runners: list[BatchRunner] = []
    try:
        with frozen_heap():
            outcomes = asyncio.run(_run(resources, prices, settings,
                                        lambda runner: runner.run(products, assets),
                                        on_outcome, runners))
    except dg.DagsterExecutionInterruptedError as interrupt:
        # Not re-raised: Dagster would honour the step's RetryPolicy and start submitting again.
        withdrawn = (runners[0].withdrawn if runners else None) or Withdrawn()
        message = (f"Run terminated: {withdrawn.canceled} pending task(s) canceled at "
                   f"DashScope, {withdrawn.unsent} unsent submission(s) withdrawn, "
                   f"{withdrawn.left_running} running task(s) left for the task sensor to collect")
        context.log.warning(message)
        raise dg.Failure(message, allow_retries=False) from interrupt
    finally:
        reported.append(reporter.submit(mark_not_applicable))
        reporter.shutdown(wait=True)
        lines.flush()
    for done in reported:
        done.result()  # a failure to report raises here, as it did on the loop
    rows = {p.sku: p.row for p in products}
    failures += [SkuFailure(o.sku, o.asset, o.error or "failed", o.code, rows.get(o.sku))
                 for o in outcomes if not o.ok and o.asset in assets]
    for failure in failures:
        context.log_event(dg.AssetObservation(asset_key=failure.asset, partition=failure.sku,
                                              description=failure.message,
                                              metadata=failure.metadata()))
    _log_summary(context, outcomes, failures)
    return failures


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Leaves the objects that exist when the batch starts (Dagster's definitions, instance and
    run, the catalog: a large heap) out of garbage collection while it runs: each full
    collection walked them all, 50-170 ms of CPU with the batch's event loop held every time.
    Afterwards they are collected as before, so garbage among them is freed late, not leaked."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def failure_of(failures: list[SkuFailure]) -> dg.Failure:
    """The step failure that names every failed SKU (the run page shows the table)."""
    table = "\n".join(f"| {f.sku} | {f.asset} | {f.message} |" for f in failures)
    return dg.Failure(
        description=f"{len({f.sku for f in failures})} SKU(s) failed: "
                    + "; ".join(f"{f.sku} {f.asset}: {f.message}" for f in failures[:10]),
        metadata={"failures": dg.MetadataValue.md(
            "| SKU | asset | reason |\n|---|---|---|\n" + table)},
        allow_retries=False)


async def _run(resources: Resources, prices: PriceBook, settings: BatchSettings,
               work: Callable[[BatchRunner], Awaitable[T]],
               on_outcome: Callable[[Outcome], None] = lambda outcome: None,
               runners: list[BatchRunner] | None = None) -> T:
    """``work`` on a BatchRunner with an open client; ``runners`` gets the runner, so that a
    caller can read what it withdrew after the run was interrupted."""
    ledger = resources.ledger.ledger
    async with resources.dashscope.get_async_client(ledger) as client:
        runner = BatchRunner(client, ledger, resources.media_store.get_store(),
                             prices, settings, on_outcome)
        if runners is not None:
            runners.append(runner)
        try:
            return await work(runner)
        except StoreMismatch as mismatch:  # a clear refusal, not a traceback; never retried
            raise dg.Failure(str(mismatch), allow_retries=False) from None


def collect_attempt(context: dg.OpExecutionContext, attempt_id: int, wait_timeout_s: float,
                    resources: Resources) -> None:
    """Collect one attempt another run left behind (the task sensor's collect runs): store its
    result and materialize its SKU with full cost metadata."""
    ledger = resources.ledger.ledger
    attempt = ledger.get(attempt_id)
    if attempt is None:
        raise dg.Failure(f"attempt {attempt_id} is not in the ledger {ledger!r}",
                         allow_retries=False)
    if not attempt.in_flight:
        context.log.info(f"{attempt.asset} {attempt.sku}: attempt {attempt_id} is already "
                         f"{attempt.status}; nothing to collect")
        return
    prices = PriceBook.load()
    settings = BatchSettings(run_id=context.run.run_id, wait_timeout=wait_timeout_s)
    outcome = asyncio.run(_run(resources, prices, settings,
                               lambda runner: runner.collect(attempt)))
    if outcome.ok:
        context.log_event(_materialization(outcome, prices, resources.media_store))
        context.log.info(f"{outcome.asset} {outcome.sku}: collected task "
                         f"{outcome.attempt.task_id} into {outcome.stored.uri}")
    elif outcome.attempt is not None and outcome.attempt.status == Status.CANCELED:
        context.log.info(f"{outcome.asset} {outcome.sku}: {outcome.error}; its next run "
                         "submits it afresh")
    else:
        raise dg.Failure(f"{outcome.asset} {outcome.sku}: {outcome.error}",
                         metadata={"sku": outcome.sku, "asset": outcome.asset,
                                   "code": outcome.code or ""}, allow_retries=False)


def _products(catalog: Catalog, skus: list[str],
              assets: set[str]) -> tuple[list[Product], list[SkuFailure]]:
    """The valid products for ``skus``, and a failure for every other SKU and selected asset
    (a row that turned invalid after its SKU became a partition, or one no longer there)."""
    products, failures = [], []
    for sku in skus:
        if sku in catalog.by_sku:
            products.append(catalog.by_sku[sku])
        elif errors := catalog.invalid_skus.get(sku) or [e for e in catalog.errors
                                                         if e.sku == sku]:
            why = "invalid catalog row: " + "; ".join(str(e) for e in errors)
            failures += [SkuFailure(sku, asset, why, "InvalidCatalogRow", errors[0].row,
                                    errors[0].column) for asset in sorted(assets)]
        else:
            failures += [SkuFailure(sku, asset, f"SKU not in the catalog {catalog.source}",
                                    "NotInCatalog") for asset in sorted(assets)]
    return products, failures


def _not_applicable(asset: str, product: Product) -> dg.AssetMaterialization:
    """Marks a partition the asset has nothing to make for: Dagster counts a partition planned
    in a failed run and not materialized as FAILED, which would make "retry failed" select every
    bag and accessory for ``model_shot`` forever."""
    return dg.AssetMaterialization(
        asset_key=asset, partition=product.sku,
        description=f"Does not apply: the recipe gives category {product.category!r} (or this "
                    f"row) no {asset}.",
        metadata={"applies": False, "category": product.category})


def unmarked(instance: dg.DagsterInstance,
             marks: list[dg.AssetMaterialization]) -> list[dg.AssetMaterialization]:
    """The does-not-apply ``marks`` the partitions do not carry yet: each write costs as much
    as a result's, and re-runs of the same SKUs would repeat them. A partition keeps its mark
    when its latest materialization is the same mark and no run planned it since (a failed run
    that planned it and wrote no materialization paints it FAILED; this run's own plan counts).
    Three queries per asset, whatever the number of partitions."""
    storage = instance.event_log_storage
    by_asset: dict[dg.AssetKey, dict[str, dg.AssetMaterialization]] = defaultdict(dict)
    for mark in marks:
        by_asset[mark.asset_key][str(mark.partition)] = mark
    kept: set[tuple[dg.AssetKey, str]] = set()
    for key, wanted in by_asset.items():
        latest = storage.get_latest_storage_id_by_partition(
            key, dg.DagsterEventType.ASSET_MATERIALIZATION, set(wanted))
        planned = storage.get_latest_storage_id_by_partition(
            key, dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, set(wanted))
        ids = [sid for partition, sid in latest.items() if planned.get(partition, 0) < sid]
        if not ids:
            continue
        for record in instance.fetch_materializations(
                dg.AssetRecordsFilter(key, storage_ids=ids), limit=len(ids)).records:
            found = record.asset_materialization
            mark = wanted.get(str(found.partition)) if found is not None else None
            if mark is not None and (found.description, found.metadata) == (mark.description,
                                                                              mark.metadata):
                kept.add((key, str(found.partition)))
    return [m for m in marks if (m.asset_key, str(m.partition)) not in kept]


def _materialization(outcome: Outcome, prices: PriceBook,
                     media_store: MediaStoreResource) -> dg.AssetMaterialization:
    attempt, stored = outcome.attempt, outcome.stored
    assert attempt is not None and stored is not None
    spec = REGISTRY.get(attempt.model)
    usage = attempt.usage or {}
    cost = float(attempt.cost) if attempt.cost is not None else None
    parsed = Usage.parse(usage)
    quantity = None if parsed is None else \
        parsed.image_count if spec.billing_unit == BillingUnit.IMAGE else parsed.seconds
    metadata: dict[str, object] = {
        "applies": True,
        "dashscope/task_id": attempt.task_id,
        "dashscope/model": attempt.model,
        "dashscope/prompt": prompt_of(attempt.request_body),
        "dashscope/parameters": dg.MetadataValue.json(attempt.request_body.get("parameters", {})),
        "dashscope/usage": dg.MetadataValue.json(usage),
        "dashscope/billed_units": float(quantity) if quantity is not None else None,
        "dashscope/billing_unit": str(spec.billing_unit),
        "dashscope/unit_price_cny": float(Decimal(str(cost)) / Decimal(str(quantity)))
        if cost is not None and quantity else None,
        "dashscope/cost_cny": cost,
        "dashscope/free_trial": trial_terms(attempt.model),  # its 0 CNY is not a price
        f"dashscope.{attempt.model}.cost_cny": cost,
        "dashscope/paid_in_this_run": not outcome.reused,
        "media/uri": dg.MetadataValue.url(stored.uri) if stored.uri.startswith("s3://")
        else stored.key,  # relative to the media store's root: the same on every machine
        "media/size_bytes": stored.size,
        "media/sha256": stored.sha256,
        **{f"media/{k}": v for k, v in outcome.media.items()},
        "media/variants": dg.MetadataValue.json([v.key for v in outcome.variants])
        if len(outcome.variants) > 1 else None,
    }
    return dg.AssetMaterialization(
        asset_key=outcome.asset, partition=outcome.sku,
        description=_thumbnail(media_store.get_store(), stored),
        metadata={k: v for k, v in metadata.items() if v is not None})


def _thumbnail(store: MediaStore, stored: StoredMedia) -> str:
    """A small inline image (a video's first frame) as the event's markdown description, which
    the UI shows as it is; metadata markdown would hide behind "Show Markdown"."""
    data = thumbnail_jpeg(store.get_bytes(stored.key), video=stored.key.endswith(".mp4"))
    return f"![preview](data:image/jpeg;base64,{base64.b64encode(data).decode()})"


def _log_summary(context: dg.OpExecutionContext, outcomes: list[Outcome],
                 failures: list[SkuFailure]) -> None:
    by_model: dict[str, Decimal] = defaultdict(Decimal)
    for o in outcomes:
        if o.ok and not o.reused and o.attempt and o.attempt.cost is not None:
            by_model[o.attempt.model] += o.attempt.cost
    ok = sum(1 for o in outcomes if o.ok)
    lines = [f"{ok} generations stored ({sum(1 for o in outcomes if o.reused)} reused from "
             f"earlier runs), {len(failures)} failed"]
    lines += [f"  {model}: {amount} CNY" for model, amount in sorted(by_model.items())]
    lines += [f"  FAILED {f.sku} {f.asset}: {f.message}" for f in failures]
    context.log.info("Run summary:\n" + "\n".join(lines))


def estimate(products: Iterable[Product], assets: set[str], defaults: VideoDefaults,
             prices: PriceBook, ledger: Ledger | None = None,
             recipe: Recipe = DEFAULT_RECIPE) -> list[dict]:
    """What a batch would cost, from the catalog alone (nothing is built or sent). With the
    ledger, a generation already stored for the same inputs is reused and costs nothing."""
    rows = []
    for p in products:
        for asset, (model, params) in priced_outputs(p, recipe, defaults).items():
            if asset not in assets:
                continue
            latest = ledger.latest(asset, p.sku, p.input_fingerprints[asset]) if ledger else None
            reused = latest is not None and latest.status == Status.STORED
            cost = None if reused else prices.estimate(REGISTRY.get(model),
                                                       {"parameters": params})
            rows.append({"sku": p.sku, "asset": asset, "model": model, "reused": reused,
                         "cost_cny": 0.0 if reused else float(cost.amount) if cost else None})
    return rows


def _log_dry_run(context: dg.OpExecutionContext, products: list[Product], assets: set[str],
                 defaults: VideoDefaults, ledger: Ledger, recipe: Recipe) -> None:
    """Logs and records (one observation per asset, a table per SKU) what the batch would pay."""
    rows = estimate(products, assets, defaults, PriceBook.load(), ledger, recipe)
    known = sum(r["cost_cny"] for r in rows if r["cost_cny"] is not None)
    unknown = [r for r in rows if r["cost_cny"] is None]
    reused = [r for r in rows if r["reused"]]
    summary = (f"Dry run: {len(rows) - len(reused)} generations to pay for {len(products)} SKUs "
               f"would cost {known:.2f} CNY" + (f" plus {len(unknown)} of unknown price"
                                                 if unknown else "")
               + f"; {len(reused)} reused for free; nothing was submitted")
    lines = [f"  {r['sku']:24s} {r['asset']:18s} {r['model']:28s} "
             + ("reused" if r["reused"] else cost_text(r["model"], r["cost_cny"])) for r in rows]
    context.log.info(summary + "\n" + "\n".join(lines))
    columns = [dg.TableColumn("sku"), dg.TableColumn("model"),
               dg.TableColumn("reused", "bool"), dg.TableColumn("would_pay_cny", "float")]
    for asset in sorted(assets):
        mine = [r for r in rows if r["asset"] == asset]
        context.log_event(dg.AssetObservation(asset_key=asset, description=summary, metadata={
            "dry_run/would_pay_cny": sum(r["cost_cny"] or 0.0 for r in mine),
            "dry_run/generations_to_pay": sum(1 for r in mine if not r["reused"]),
            "dry_run/reused": sum(1 for r in mine if r["reused"]),
            "dry_run/unpriced": sum(1 for r in mine if r["cost_cny"] is None),
            "dry_run/by_sku": dg.MetadataValue.table(
                [dg.TableRecord({"sku": r["sku"], "model": r["model"], "reused": r["reused"],
                                 "would_pay_cny": r["cost_cny"]}) for r in mine],
                schema=dg.TableSchema(columns)),
        }))
