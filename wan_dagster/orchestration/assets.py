"""Software-defined assets: the validated catalog, per-SKU media, the cost rollup, media checks."""


import pandas as pd

import dagster as dg

from ..core.batch import ASSETS, BACKGROUND, MODEL_SHOT, VIDEO
from .generation import POOL, GenerationConfig, Resources, run_generation
from ..dashscope.registry import TIER_PIXELS
from ..core.ledger import Status
from ..dashscope.mediainfo import MediaError, probe_image, probe_video
from .resources import CatalogResource, DashScopeResource, LedgerResource, MediaStoreResource

sku_partitions = dg.DynamicPartitionsDefinition(name="sku")
CHECKED_PER_ASSET = 500


@dg.asset(group_name="catalog", kinds={"pandas"},
          description="The product catalog, validated row by row before anything is paid for.")
def product_catalog(context: dg.AssetExecutionContext, catalog: CatalogResource) -> dg.Output:
    cat = catalog.load()
    frame = pd.DataFrame([{"sku": p.sku, "category": p.category, "title": p.title,
                           "fingerprint": p.fingerprint} for p in cat.products])
    errors = "\n".join(f"- {e}" for e in cat.errors) or "none"
    if cat.errors:
        context.log.warning(f"{len(cat.errors)} catalog problem(s):\n{errors}")
    return dg.Output(frame, metadata={
        "source": cat.source,
        "rows": cat.row_count,
        "valid_skus": len(cat.products),
        "invalid_skus": len(cat.invalid_skus),
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, str(dtype)) for name, dtype in cat.columns.items()]),
        "preview": dg.MetadataValue.md(cat.preview_markdown()),
        "problems": dg.MetadataValue.md(errors),
    })


@dg.multi_asset(
    name="generate_media",
    specs=[
        dg.AssetSpec(BACKGROUND, deps=[product_catalog], skippable=True, group_name="media",
                     kinds={"dashscope", "image"},
                     description="Product on a generated background (wanx-background-generation-v2)."),
        dg.AssetSpec(MODEL_SHOT, deps=[product_catalog], skippable=True, group_name="media",
                     kinds={"dashscope", "image"},
                     description="Virtual model (apparel) or shoe model (shoes); none for other "
                                 "categories."),
        dg.AssetSpec(VIDEO, deps=[BACKGROUND, MODEL_SHOT], skippable=True, group_name="media",
                     kinds={"dashscope", "video"},
                     description="Image-to-video from the model shot where there is one, else "
                                 "from the background."),
    ],
    partitions_def=sku_partitions,
    can_subset=True,
    pool=POOL,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=100),
    retry_policy=dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL),
)
def generate_media(context: dg.AssetExecutionContext, config: GenerationConfig,
                   dashscope: DashScopeResource, catalog: CatalogResource,
                   ledger: LedgerResource, media_store: MediaStoreResource):
    """Runs a batch of SKUs in one step: each model's slots kept busy, a SKU's video started as
    soon as its still is stored, each SKU materialized on its own; failed SKUs fail the step at
    the end so that "retry failed" re-runs just those. A crash is retried by the RetryPolicy and
    resumes from the ledger without paying twice."""
    selected = {key.to_user_string() for key in context.selected_asset_keys}
    run_generation(context, context.partition_keys, selected, config,
                   Resources(dashscope, catalog, ledger, media_store))
    yield from ()  # outputs are the per-SKU materializations logged above


@dg.asset(group_name="costs", kinds={"pandas"}, deps=[BACKGROUND, MODEL_SHOT, VIDEO],
          description="What every stored generation cost, rolled up by SKU, asset, model and day "
                      "(from the ledger, i.e. from the usage the service returned).")
def generation_costs(ledger: LedgerResource) -> dg.Output:
    frame = pd.DataFrame(ledger.ledger.cost_rows(),
                         columns=["sku", "asset", "model", "day", "cost", "currency"])
    # A model without a published price has cost None: counted, never summed as zero.
    frame["cost"] = pd.to_numeric(frame["cost"].astype(object), errors="coerce")
    frame = (frame.groupby(["sku", "asset", "model", "day"], dropna=False)
             .agg(cost_cny=("cost", lambda c: c.sum(min_count=1)),
                  generations=("cost", "size"), unpriced=("cost", lambda c: int(c.isna().sum())))
             .reset_index())
    by_model = frame.groupby("model").agg(cost_cny=("cost_cny", lambda c: c.sum(min_count=1)),
                                          generations=("generations", "sum"),
                                          unpriced=("unpriced", "sum"))
    table = "| model | CNY | generations | unpriced |\n|---|---|---|---|\n" + "\n".join(
        f"| {m} | {'unknown' if pd.isna(r.cost_cny) else f'{r.cost_cny:.2f}'} | "
        f"{r.generations} | {r.unpriced} |" for m, r in by_model.iterrows())
    return dg.Output(frame, metadata={
        "total_cny": float(frame["cost_cny"].sum()),
        "generations": int(frame["generations"].sum()),
        "unpriced_generations": int(frame["unpriced"].sum()),
        "by_model": dg.MetadataValue.md(table),
    })


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec("media_decodes", asset=key) for key in ASSETS],
    description=f"Decodes the newest {CHECKED_PER_ASSET} stored media of each asset with a real "
                "decoder: image mode; video codec, resolution tier and duration.",
)
def media_decodes(ledger: LedgerResource, media_store: MediaStoreResource):
    store = media_store.get_store()
    stored = ledger.ledger.attempts(status=Status.STORED)
    for asset in ASSETS:
        problems, checked = [], 0
        for attempt in [a for a in stored if a.asset == asset][-CHECKED_PER_ASSET:]:
            checked += 1
            why = _media_problem(store, attempt)
            if why:
                problems.append(f"{attempt.sku}: {why}")
        yield dg.AssetCheckResult(
            asset_key=asset, check_name="media_decodes", passed=not problems,
            metadata={"checked": checked, "problems": dg.MetadataValue.md(
                "\n".join(f"- {p}" for p in problems) or "none")})


def _media_problem(store, attempt) -> str | None:
    """Why a stored file is not what its request asked for, or None."""
    from ..core.store import media_key

    ext = "mp4" if attempt.output_uri.endswith(".mp4") else "png"
    key = media_key(attempt.asset, attempt.sku, attempt.output_sha256, ext)
    try:
        data = store.get_bytes(key)
    except FileNotFoundError:
        return f"missing from the store ({attempt.output_uri})"
    try:
        if ext == "mp4":
            info = probe_video(data)
            params = attempt.request_body.get("parameters", {})
            expected = params.get("duration")
            tier = params.get("resolution")
            if info.codec != "h264":
                return f"codec {info.codec}, expected h264"
            if expected and abs(info.duration_s - expected) > 0.1:
                return f"duration {info.duration_s:.2f}s, expected {expected}s"
            if tier and not 0.8 <= info.width * info.height / TIER_PIXELS[tier] <= 1.0:
                return f"{info.width}x{info.height} is not a {tier} frame"
        else:
            info = probe_image(data)
            if info.mode not in ("RGB", "RGBA"):
                return f"mode {info.mode}"
    except MediaError as exc:
        return f"does not decode: {exc}"
    return None
