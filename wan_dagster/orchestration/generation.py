"""Dagster glue around the batch scheduler: runs a batch of SKUs inside a step, turns each
outcome into its own materialization (or a failure reason), prices dry runs, and summarises."""

from __future__ import annotations

import asyncio
import base64
import io
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Awaitable, Callable, Iterable, TypeVar

import dagster as dg
from PIL import Image

from ..core.batch import ASSETS, BACKGROUND, VIDEO, BatchRunner, BatchSettings, Outcome, Withdrawn
from ..core.catalog import Catalog, Product
from ..dashscope import REGISTRY, PriceBook, Usage
from ..dashscope.registry import BillingUnit
from ..core.ledger import Ledger, Status
from ..core.plan import BACKGROUND_MODEL, VideoDefaults, model_shot_model, video_settings
from .resources import CatalogResource, DashScopeResource, LedgerResource, MediaStoreResource


T = TypeVar("T")

#: Every op that calls DashScope runs in this Dagster pool: an optional cap on such steps at
#: once. The account's own limits are kept in the ledger's database whatever the pool allows.
POOL = "dashscope"


class GenerationConfig(dg.Config):
    """Per-run choices a merchandiser can make in the launchpad."""

    budget_cny: float | None = None  # stop new submissions once this much is committed
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


def run_generation(context: dg.OpExecutionContext, skus: Iterable[str], assets: set[str],
                   config: GenerationConfig, resources: Resources) -> None:
    """Generate ``assets`` for ``skus``; one materialization per successful SKU and asset.
    Raises Failure listing each failed SKU with its reason, so the UI marks exactly those."""
    assert resources.catalog is not None
    catalog = resources.catalog.load(config.video_defaults())
    skus = list(skus)
    products, missing = _products(catalog, skus)
    if config.dry_run:
        _log_dry_run(context, products, assets, config.video_defaults())
        return
    prices = PriceBook.load()
    total = sum(len([a for a in assets if a in p.input_fingerprints]) for p in products)
    progress = Counter[str]()

    def on_outcome(outcome: Outcome) -> None:
        progress["done"] += 1
        verdict = "reused" if outcome.reused else "stored" if outcome.ok else "FAILED"
        context.log.info(f"[{progress['done']}/{total}] {outcome.asset} {outcome.sku}: {verdict}"
                         + (f" ({outcome.error})" if outcome.error else ""))
        if outcome.ok and outcome.asset in assets:
            context.log_event(_materialization(outcome, prices))

    settings = BatchSettings(run_id=context.run.run_id,
                             budget=Decimal(str(config.budget_cny)) if config.budget_cny else None,
                             video_defaults=config.video_defaults(),
                             wait_timeout=config.wait_timeout_s,
                             regenerate_expired=config.regenerate_expired)
    runners: list[BatchRunner] = []
    try:
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
    failures = missing + [(o.sku, o.asset, o.error or "failed") for o in outcomes if not o.ok]
    _log_summary(context, outcomes, failures, resources.ledger.ledger)
    if failures:
        table = "\n".join(f"| {sku} | {asset} | {why} |" for sku, asset, why in failures)
        raise dg.Failure(
            description=f"{len({f[0] for f in failures})} SKU(s) failed: "
                        + "; ".join(f"{s} {a}: {w}" for s, a, w in failures[:10]),
            metadata={"failures": dg.MetadataValue.md("| SKU | asset | reason |\n|---|---|---|\n"
                                                      + table)},
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
        return await work(runner)


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
        context.log_event(_materialization(outcome, prices))
        context.log.info(f"{outcome.asset} {outcome.sku}: collected task "
                         f"{outcome.attempt.task_id} into {outcome.stored.uri}")
    elif outcome.attempt is not None and outcome.attempt.status == Status.CANCELED:
        context.log.info(f"{outcome.asset} {outcome.sku}: {outcome.error}; its next run "
                         "submits it afresh")
    else:
        raise dg.Failure(f"{outcome.asset} {outcome.sku}: {outcome.error}",
                         metadata={"sku": outcome.sku, "asset": outcome.asset,
                                   "code": outcome.code or ""}, allow_retries=False)


def _products(catalog: Catalog, skus: list[str]) -> tuple[list[Product], list[tuple[str, str, str]]]:
    """The valid products for ``skus``, and a failure reason for every other SKU."""
    products, failures = [], []
    for sku in skus:
        if sku in catalog.by_sku:
            products.append(catalog.by_sku[sku])
        elif errors := catalog.invalid_skus.get(sku) or [e for e in catalog.errors
                                                         if e.sku == sku]:
            why = "; ".join(str(e) for e in errors)
            failures.append((sku, "catalog", f"invalid catalog row: {why}"))
        else:
            failures.append((sku, "catalog", f"SKU not in the catalog {catalog.source}"))
    return products, failures


def _materialization(outcome: Outcome, prices: PriceBook) -> dg.AssetMaterialization:
    attempt, stored = outcome.attempt, outcome.stored
    assert attempt is not None and stored is not None
    spec = REGISTRY.get(attempt.model)
    usage = attempt.usage or {}
    cost = float(attempt.cost) if attempt.cost is not None else None
    parsed = Usage.parse(usage)
    quantity = None if parsed is None else \
        parsed.image_count if spec.billing_unit == BillingUnit.IMAGE else parsed.seconds
    metadata: dict[str, object] = {
        "dashscope/task_id": attempt.task_id,
        "dashscope/model": attempt.model,
        "dashscope/parameters": dg.MetadataValue.json(attempt.request_body.get("parameters", {})),
        "dashscope/usage": dg.MetadataValue.json(usage),
        "dashscope/billed_units": float(quantity) if quantity is not None else None,
        "dashscope/billing_unit": str(spec.billing_unit),
        "dashscope/unit_price_cny": float(Decimal(str(cost)) / Decimal(str(quantity)))
        if cost is not None and quantity else None,
        "dashscope/cost_cny": cost,
        f"dashscope.{attempt.model}.cost_cny": cost,
        "dashscope/paid_in_this_run": not outcome.reused,
        "media/uri": dg.MetadataValue.url(stored.uri) if stored.uri.startswith("s3://")
        else dg.MetadataValue.path(stored.uri.removeprefix("file://")),
        "media/size_bytes": stored.size,
        "media/sha256": stored.sha256,
        **{f"media/{k}": v for k, v in outcome.media.items()},
    }
    preview = _preview(outcome)
    if preview:
        metadata["preview"] = dg.MetadataValue.md(preview)
    return dg.AssetMaterialization(asset_key=outcome.asset, partition=outcome.sku,
                                   metadata={k: v for k, v in metadata.items() if v is not None})


def _preview(outcome: Outcome) -> str | None:
    """A small inline thumbnail for stills (the UI renders markdown images)."""
    path = outcome.stored and outcome.stored.uri.startswith("file://") and \
        outcome.stored.uri.removeprefix("file://")
    if not path or outcome.asset == VIDEO:
        return None
    with Image.open(path) as img:
        img.thumbnail((160, 160))
        buf = io.BytesIO()
        img.convert("RGB").save(buf, "JPEG", quality=70)
    return f"![{outcome.asset} {outcome.sku}](data:image/jpeg;base64," \
           f"{base64.b64encode(buf.getvalue()).decode()})"


def _log_summary(context: dg.OpExecutionContext, outcomes: list[Outcome],
                 failures: list[tuple[str, str, str]], ledger: Ledger) -> None:
    by_model: dict[str, Decimal] = defaultdict(Decimal)
    for o in outcomes:
        if o.ok and not o.reused and o.attempt and o.attempt.cost is not None:
            by_model[o.attempt.model] += o.attempt.cost
    ok = sum(1 for o in outcomes if o.ok)
    lines = [f"{ok} generations stored ({sum(1 for o in outcomes if o.reused)} reused from "
             f"earlier runs), {len(failures)} failed"]
    lines += [f"  {model}: {amount} CNY" for model, amount in sorted(by_model.items())]
    lines += [f"  FAILED {sku} {asset}: {why}" for sku, asset, why in failures]
    context.log.info("Run summary:\n" + "\n".join(lines))


def estimate(products: Iterable[Product], assets: set[str], defaults: VideoDefaults,
             prices: PriceBook) -> list[dict]:
    """What a batch would cost, from the catalog alone (nothing is built or sent)."""
    rows = []
    for p in products:
        for asset in ASSETS:
            if asset not in assets or asset not in p.input_fingerprints:
                continue
            if asset == VIDEO:
                settings = video_settings(p, defaults)
                model = settings["model"]
                params = {k: v for k, v in settings.items() if k != "model" and v is not None}
            else:
                model = BACKGROUND_MODEL if asset == BACKGROUND else model_shot_model(p)
                params = {"n": 1}
            cost = prices.estimate(REGISTRY.get(model), {"parameters": params})
            rows.append({"sku": p.sku, "asset": asset, "model": model,
                         "cost_cny": float(cost.amount) if cost else None})
    return rows


def _log_dry_run(context: dg.OpExecutionContext, products: list[Product], assets: set[str],
                 defaults: VideoDefaults) -> None:
    rows = estimate(products, assets, defaults, PriceBook.load())
    known = sum(r["cost_cny"] for r in rows if r["cost_cny"] is not None)
    unknown = [r for r in rows if r["cost_cny"] is None]
    context.log.info(f"Dry run: {len(rows)} generations for {len(products)} SKUs would cost "
                     f"{known:.2f} CNY" + (f" plus {len(unknown)} of unknown price" if unknown
                                            else "") + "; nothing was submitted")

