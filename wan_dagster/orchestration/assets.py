"""Software-defined assets: the validated catalog, per-SKU media (one asset per recipe output)
with their checks, the cost rollup, the hand-off export and the review gallery.

``build_recipe_assets`` makes them for a recipe; the recipe is validated first, so a bad one
fails when definitions load."""

import functools
from collections.abc import Iterator

import pandas as pd

import dagster as dg

from ..core.export import export_current
from ..core.gallery import build_gallery
from ..core.ledger import Attempt, Ledger, Status
from ..core.recipes import Recipe, RecipeOutput, check_recipe
from ..core.recipes.kinds import kind_of, on_target
from ..core.recipes.validate import sources_of
from ..core.review import review
from ..core.store import MediaStore, media_key, portable_uri
from ..dashscope.mediainfo import MediaError, probe_image, probe_video
from ..dashscope.pricing import cost_text
from ..dashscope.registry import REGISTRY, TIER_PIXELS, Output
from .ledger_report import ledger_report
from .generation import POOL, GenerationConfig, Resources, failure_of, run_generation
from .resources import CatalogResource, DashScopeResource, LedgerResource, MediaStoreResource

sku_partitions = dg.DynamicPartitionsDefinition(name="sku")
CHECKED_PER_ASSET = 500
MEDIA_DECODES = "media_decodes"


@dg.asset(group_name="catalog", kinds={"pandas"},
          description="The product catalog, validated row by row before anything is paid for.")
def product_catalog(context: dg.AssetExecutionContext, catalog: CatalogResource) -> dg.Output:
    cat = catalog.load()
    frame = pd.DataFrame([{"sku": p.sku, "category": p.category, "title": p.title,
                           "fingerprint": p.fingerprint} for p in cat.products])
    errors = "\n".join(f"- {e}" for e in cat.errors) or "none"
    if cat.errors:
        context.log.warning(f"{len(cat.errors)} catalog problem(s); these rows are not "
                            f"partitions and nothing is generated for them:\n{errors}")
    return dg.Output(frame, metadata={
        "source": cat.source,
        "rows": cat.row_count,
        "valid_skus": len(cat.products),
        "invalid_skus": len(cat.invalid_skus),
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, str(dtype)) for name, dtype in cat.columns.items()]),
        "preview": dg.MetadataValue.md(cat.preview_markdown()),
        "invalid_rows": dg.MetadataValue.table(
            [dg.TableRecord({"row": e.row, "sku": e.sku or "", "column": e.column,
                             "rule": e.rule}) for e in cat.errors],
            schema=dg.TableSchema([dg.TableColumn("row", "int"), dg.TableColumn("sku"),
                                   dg.TableColumn("column"), dg.TableColumn("rule")])),
    })


def build_recipe_assets(recipe: Recipe) -> list[dg.AssetsDefinition]:
    """The project's assets for ``recipe``: the catalog, one media asset per output (all in one
    multi-asset step, so a SKU's outputs run together), the cost rollup and the review assets,
    which depend on every output. Raises RecipeError naming output, field and rule."""
    check_recipe(recipe)
    names = list(recipe.names)
    return [product_catalog, _media_assets(recipe), _costs_asset(names),
            *_review_assets(names)]


def _spec(output: RecipeOutput, recipe: Recipe) -> dg.AssetSpec:
    kind = kind_of(output)
    model = kind.model(output)
    video = REGISTRY.get(model).output is Output.VIDEO
    sources = [ref for refs in sources_of(output).values() for ref in refs
               if ref in recipe.names]
    return dg.AssetSpec(
        output.name, deps=[product_catalog.key, *dict.fromkeys(sources)], skippable=True,
        group_name="media", kinds={"dashscope", "video" if video else "image"},
        description=output.description or f"{output.kind} by {model}"
                    + (f" from {', '.join(sources)}" if sources else ""),
        metadata={"recipe/kind": output.kind, "recipe/model": model,
                  "recipe/variants": output.variants})


def _media_assets(recipe: Recipe) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name="generate_media",
        specs=[_spec(output, recipe) for output in recipe.outputs],
        # The checks live in the step that makes the media: a check in its own step would be
        # skipped in every run whose SKUs materialize one by one (the step yields no output).
        check_specs=[dg.AssetCheckSpec(MEDIA_DECODES, asset=name, description=(
            "Decodes the current file of each SKU of the run (of every SKU when run on its "
            f"own, at most {CHECKED_PER_ASSET}) with a real decoder: image mode and the "
            "recipe's aspect or size; video codec, resolution tier and duration."))
            for name in recipe.names],
        partitions_def=sku_partitions,
        can_subset=True,
        pool=POOL,
        backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=100),
        retry_policy=dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL),
    )
    def generate_media(context: dg.AssetExecutionContext, config: GenerationConfig,
                       dashscope: DashScopeResource, catalog: CatalogResource,
                       ledger: LedgerResource, media_store: MediaStoreResource):
        """Runs a batch of SKUs in one step: each model's slots kept busy, an output started as
        soon as the stills it starts from are stored, each SKU materialized on its own; failed
        SKUs fail the step at the end so that "retry failed" re-runs just those. A crash is
        retried by the RetryPolicy and resumes from the ledger without paying twice."""
        assets = {key.to_user_string() for key in context.selected_asset_keys}
        checked = {key.asset_key.to_user_string() for key in context.selected_asset_check_keys}
        partitioned = context.has_partition_key_range or context.has_partition_key
        skus = list(context.partition_keys) if partitioned else None  # None: every SKU
        failures = run_generation(context, skus or [], assets, config,
                                  Resources(dashscope, catalog, ledger, media_store), recipe) \
            if assets else []
        if checked and not config.dry_run:
            yield from media_decodes(ledger.ledger, media_store.get_store(), recipe,
                                     sorted(checked), skus)
        if failures:
            raise failure_of(failures)

    return generate_media


def _costs_asset(outputs: list[str]) -> dg.AssetsDefinition:
    # In the pool: it lists the account's tasks to find billed tasks no SKU owns.
    return dg.asset(name="generation_costs", group_name="costs", kinds={"pandas"}, deps=outputs,
                    pool=POOL,
                    description="What every stored generation cost, rolled up by SKU, asset, "
                                "model and day (from the ledger, i.e. from the usage the "
                                "service returned).")(generation_costs)


def generation_costs(ledger: LedgerResource, dashscope: DashScopeResource) -> dg.Output:
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
    table = "| model | cost | generations | unpriced |\n|---|---|---|---|\n" + "\n".join(
        f"| {m} | {cost_text(m, None if pd.isna(r.cost_cny) else r.cost_cny)} | "
        f"{r.generations} | {r.unpriced} |" for m, r in by_model.iterrows())
    return dg.Output(frame, metadata={
        "total_cny": float(frame["cost_cny"].sum()),
        "generations": int(frame["generations"].sum()),
        "unpriced_generations": int(frame["unpriced"].sum()),
        "by_model": dg.MetadataValue.md(table),
        **ledger_report(ledger.ledger, dashscope),  # ambiguous creates, billed tasks unowned
    })


def _review_assets(outputs: list[str]) -> list[dg.AssetsDefinition]:
    """The review assets read every SKU's current media; refreshed after each batch."""
    review_asset = functools.partial(
        dg.asset, group_name="review", deps=outputs,
        automation_condition=(dg.AutomationCondition.any_deps_updated().since_last_handled()
                              & ~dg.AutomationCondition.any_deps_in_progress()
                              & ~dg.AutomationCondition.in_progress()))
    return [
        review_asset(name="review_gallery", kinds={"html"}, description=(
            "One HTML page to review every SKU: cutout, stills, videos (poster and player), "
            "prompt, model, cost and status, failed and invalid SKUs with their reason; filter "
            "by status and category. Refreshed after each batch."))(review_gallery),
        review_asset(name="media_handoff", kinds={"csv", "parquet"}, description=(
            "Hand-off for e-commerce systems: each SKU's current media under "
            "handoff/<sku>/<asset>.<ext> and a manifest (CSV and Parquet) with SKU, asset, URI, "
            "size, duration, cost, task id, model and prompt."))(media_handoff),
    ]


def review_gallery(catalog: CatalogResource, ledger: LedgerResource,
                   media_store: MediaStoreResource) -> dg.MaterializeResult:
    gallery = build_gallery(review(catalog.load(), ledger.ledger), media_store.get_store())
    return dg.MaterializeResult(metadata={
        "page": portable_uri(gallery.page),
        "skus": gallery.skus, "images": gallery.images, "videos": gallery.videos,
        **{f"skus_{status}": n for status, n in gallery.by_status.items()},
    })


def media_handoff(catalog: CatalogResource, ledger: LedgerResource,
                  media_store: MediaStoreResource) -> dg.MaterializeResult:
    handoff = export_current(review(catalog.load(), ledger.ledger), media_store.get_store())
    manifest = handoff.manifest
    return dg.MaterializeResult(metadata={
        "files": len(manifest),
        "skus": manifest["sku"].nunique(),
        "manifest_csv": portable_uri(handoff.csv),
        "manifest_parquet": portable_uri(handoff.parquet),
        "total_cost_cny": float(manifest["cost_cny"].sum()),
        "preview": dg.MetadataValue.md(manifest.head(10).to_markdown(index=False)),
        "dagster/row_count": len(manifest),
    })


def media_decodes(ledger: Ledger, store: MediaStore, recipe: Recipe, assets: list[str],
                  skus: list[str] | None) -> Iterator[dg.AssetCheckResult]:
    """One result per asset over the current file of each SKU (older versions are history,
    not what the SKU shows): ``skus``, or the newest {CHECKED_PER_ASSET} SKUs when None."""
    for asset in assets:
        current: dict[str, Attempt] = {}
        for attempt in ledger.attempts(asset=asset):
            current[attempt.sku] = attempt  # creation order: the last one is the current one
        wanted = None if skus is None else set(skus)
        stored = sorted((a for sku, a in current.items()
                         if a.status == Status.STORED and (wanted is None or sku in wanted)),
                        key=lambda a: a.id)
        problems = [f"{a.sku}: {why}" for a in stored[-CHECKED_PER_ASSET:]
                    if (why := _media_problem(store, a, recipe.output(asset)))]
        yield dg.AssetCheckResult(
            asset_key=asset, check_name=MEDIA_DECODES, passed=not problems,
            metadata={"checked": len(stored[-CHECKED_PER_ASSET:]),
                      "problems": dg.MetadataValue.md(
                          "\n".join(f"- {p}" for p in problems) or "none")})


def _media_problem(store: MediaStore, attempt: Attempt, output: RecipeOutput) -> str | None:
    """Why a stored file is not what its request and recipe output asked for, or None."""
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
            if output.kind == "outpaint":
                return _target_problem(info.width, info.height, str(output.params["target"]))
    except MediaError as exc:
        return f"does not decode: {exc}"
    return None


def _target_problem(width: int, height: int, target: str) -> str | None:
    """Why an out-painted still does not have its target's aspect (or pixel size)."""
    return None if on_target((width, height), target) else \
        f"{width}x{height} does not have the target {target}"
