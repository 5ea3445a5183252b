"""Jobs and the schedule: the partitioned media job (what the sensor and backfills run), a job
for "everything for these SKUs" launched from the UI with a SKU list, and a nightly refresh."""


import dagster as dg

from .assets import generation_costs, media_handoff, product_catalog, review_gallery
from ..core.batch import ASSETS
from .generation import (POOL, GenerationConfig, Resources, collect_attempt, failure_of,
                         run_generation)
from ..core.ledger import Status
from .resources import CatalogResource, DashScopeResource, LedgerResource, MediaStoreResource
from .sensors import fingerprints, register_skus

# The checks run in the media step itself, on the run's SKUs. The config is spelled out so the
# launchpad opens with every choice (budget, dry run, video settings) and its default.
media_job = dg.define_asset_job(
    "media_job", selection=dg.AssetSelection.assets(*ASSETS),
    description="Generate backgrounds, model shots and videos for a batch of SKU partitions, "
                "and decode each SKU's current files.",
    config=dg.RunConfig(ops={"generate_media": GenerationConfig()}),
    run_tags={"wan/api": "dashscope"})


class SkuListConfig(GenerationConfig):
    skus: list[str]
    assets: list[str] = list(ASSETS)
    register_partitions: bool = True


@dg.op(description="Everything for the given SKUs: registers them as partitions if needed and "
                   "generates the chosen assets, materializing each SKU on its own.", pool=POOL)
def generate_for_skus(context: dg.OpExecutionContext, config: SkuListConfig,
                      dashscope: DashScopeResource, catalog: CatalogResource,
                      ledger: LedgerResource, media_store: MediaStoreResource) -> None:
    unknown = set(config.assets) - set(ASSETS)
    if unknown:
        raise dg.Failure(f"unknown asset(s) {sorted(unknown)}; choose from {list(ASSETS)}")
    if config.register_partitions:
        register_skus(context.instance, config.skus)
    failures = run_generation(context, config.skus, set(config.assets), config,
                              Resources(dashscope, catalog, ledger, media_store))
    if failures:
        raise failure_of(failures)


@dg.job(description="Generate media for a list of SKUs (launch from the UI with their SKUs).",
        tags={"wan/api": "dashscope"})
def sku_list_job():
    generate_for_skus()


class RefreshConfig(GenerationConfig):
    """The nightly refresh generates what is new or changed since the ledger last stored it."""


@dg.op(description="Loads the catalog, registers new SKUs and generates every asset whose "
                   "inputs changed (the ledger decides: unchanged SKUs cost nothing).", pool=POOL)
def refresh_catalog_media(context: dg.OpExecutionContext, config: RefreshConfig,
                          dashscope: DashScopeResource, catalog: CatalogResource,
                          ledger: LedgerResource, media_store: MediaStoreResource) -> None:
    cat = catalog.load()
    skus = list(fingerprints(cat))
    new = register_skus(context.instance, skus)
    todo = [sku for sku in skus if _needs_work(ledger, cat, sku)]
    context.log.info(f"{len(skus)} SKUs in the catalog, {len(new)} new partition(s), "
                     f"{len(todo)} SKU(s) to generate")
    failures = run_generation(context, todo, set(ASSETS), config,
                              Resources(dashscope, catalog, ledger, media_store))
    if failures:
        raise failure_of(failures)


def _needs_work(ledger: LedgerResource, cat, sku: str) -> bool:
    """True unless every asset of a valid SKU is stored for its current inputs."""
    product = cat.by_sku.get(sku)
    if product is None:
        return True  # an invalid row: the run reports it
    return any((attempt := ledger.ledger.latest(asset, sku, fp)) is None
               or attempt.status != Status.STORED
               for asset, fp in product.input_fingerprints.items())


@dg.job(description="Nightly: refresh the catalog and generate what is new or changed.",
        tags={"wan/api": "dashscope"})
def nightly_refresh_job():
    refresh_catalog_media()


nightly_refresh = dg.ScheduleDefinition(
    name="nightly_refresh", job=nightly_refresh_job, cron_schedule="0 2 * * *",
    execution_timezone="Asia/Shanghai", default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Stopped until a user starts it: media for new or changed products at 02:00.")


class CollectConfig(dg.Config):
    attempt_id: int  # the ledger attempt whose task to collect
    wait_timeout_s: float = 3600.0  # a recovered task may still be running


@dg.op(description="Collects one task another run left behind: downloads, stores and "
                   "materializes its SKU with full cost metadata (launched by the task sensor).",
       retry_policy=dg.RetryPolicy(max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL),
       pool=POOL)
def collect_task(context: dg.OpExecutionContext, config: CollectConfig,
                 dashscope: DashScopeResource, ledger: LedgerResource,
                 media_store: MediaStoreResource) -> None:
    collect_attempt(context, config.attempt_id, config.wait_timeout_s,
                    Resources(dashscope, None, ledger, media_store))


@dg.job(description="Collect one finished DashScope task (the task sensor launches these, one "
                    "per task id).", tags={"wan/api": "dashscope"})
def collect_job():
    collect_task()


catalog_job = dg.define_asset_job("catalog_job", selection=[product_catalog])

media_check_job = dg.define_asset_job(
    "media_check_job", selection=dg.AssetSelection.checks_for_assets(*ASSETS),
    description="Decode the current file of every SKU with real decoders.")

review_job = dg.define_asset_job(
    "review_job", selection=[generation_costs, review_gallery, media_handoff],
    description="After a batch: the cost rollup, the review gallery and the hand-off export.")
