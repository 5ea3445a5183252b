"""Jobs and the schedule: the partitioned media job (what the sensor and backfills run), a job
for "everything for these SKUs" launched from the UI with a SKU list, and a nightly refresh.
``build_jobs`` makes them for a recipe's outputs."""

from dataclasses import dataclass

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from ..core.recipes import Recipe
from .generation import (POOL, GenerationConfig, Resources, collect_attempt, failure_of,
                         run_generation)
from ..core.ledger import Status
from .resources import CatalogResource, DashScopeResource, LedgerResource, MediaStoreResource
from .sensors import fingerprints, register_skus

class SkuListConfig(GenerationConfig):
    skus: list[str]
    assets: list[str] = []  # empty: every output of the recipe
    register_partitions: bool = True


class RefreshConfig(GenerationConfig):
    """The nightly refresh generates what is new or changed since the ledger last stored it."""


@dataclass(frozen=True)
class Jobs:
    """The recipe's jobs and schedule, for ``dg.Definitions``."""

    media_job: UnresolvedAssetJobDefinition
    sku_list_job: dg.JobDefinition
    nightly_refresh_job: dg.JobDefinition
    nightly_refresh: dg.ScheduleDefinition
    media_check_job: UnresolvedAssetJobDefinition

    @property
    def all(self) -> list:
        return [self.media_job, self.sku_list_job, self.nightly_refresh_job, catalog_job,
                self.media_check_job, collect_job, review_job]


def build_jobs(recipe: Recipe) -> Jobs:
    names = list(recipe.names)
    # The checks run in the media step itself, on the run's SKUs. The config is spelled out so
    # the launchpad opens with every choice (budget, dry run, video settings) and its default.
    media_job = dg.define_asset_job(
        "media_job", selection=dg.AssetSelection.assets(*names),
        description=f"Generate {', '.join(names)} for a batch of SKU partitions, and decode "
                    "each SKU's current files.",
        config=dg.RunConfig(ops={"generate_media": GenerationConfig()}),
        run_tags={"wan/api": "dashscope"})

    @dg.op(description="Everything for the given SKUs: registers them as partitions if needed "
                       "and generates the chosen outputs (all when none are chosen), "
                       "materializing each SKU on its own.", pool=POOL)
    def generate_for_skus(context: dg.OpExecutionContext, config: SkuListConfig,
                          dashscope: DashScopeResource, catalog: CatalogResource,
                          ledger: LedgerResource, media_store: MediaStoreResource) -> None:
        unknown = set(config.assets) - set(names)
        if unknown:
            raise dg.Failure(f"unknown asset(s) {sorted(unknown)}; choose from {names}")
        if config.register_partitions:
            register_skus(context.instance, config.skus)
        failures = run_generation(context, config.skus, set(config.assets or names), config,
                                  Resources(dashscope, catalog, ledger, media_store), recipe)
        if failures:
            raise failure_of(failures)

    @dg.job(name="sku_list_job", tags={"wan/api": "dashscope"},
            description="Generate media for a list of SKUs (launch from the UI with their SKUs).")
    def sku_list_job():
        generate_for_skus()

    @dg.op(description="Loads the catalog, registers new SKUs and generates every output "
                       "whose inputs changed (the ledger decides: unchanged SKUs cost nothing).",
           pool=POOL)
    def refresh_catalog_media(context: dg.OpExecutionContext, config: RefreshConfig,
                              dashscope: DashScopeResource, catalog: CatalogResource,
                              ledger: LedgerResource, media_store: MediaStoreResource) -> None:
        cat = catalog.load(config.video_defaults(), recipe)
        skus = list(fingerprints(cat))
        new = register_skus(context.instance, skus)
        todo = [sku for sku in skus if _needs_work(ledger, cat, sku)]
        context.log.info(f"{len(skus)} SKUs in the catalog, {len(new)} new partition(s), "
                         f"{len(todo)} SKU(s) to generate")
        failures = run_generation(context, todo, set(names), config,
                                  Resources(dashscope, catalog, ledger, media_store), recipe)
        if failures:
            raise failure_of(failures)

    @dg.job(name="nightly_refresh_job", tags={"wan/api": "dashscope"},
            description="Nightly: refresh the catalog and generate what is new or changed.")
    def nightly_refresh_job():
        refresh_catalog_media()

    nightly_refresh = dg.ScheduleDefinition(
        name="nightly_refresh", job=nightly_refresh_job, cron_schedule="0 2 * * *",
        execution_timezone="Asia/Shanghai", default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Stopped until a user starts it: media for new or changed products at "
                    "02:00.")
    media_check_job = dg.define_asset_job(
        "media_check_job", selection=dg.AssetSelection.checks_for_assets(*names),
        description="Decode the current file of every SKU with real decoders.")
    return Jobs(media_job, sku_list_job, nightly_refresh_job, nightly_refresh, media_check_job)


def _needs_work(ledger: LedgerResource, cat, sku: str) -> bool:
    """True unless every output of a valid SKU is stored for its current inputs."""
    product = cat.by_sku.get(sku)
    if product is None:
        return True  # an invalid row: the run reports it
    return any((attempt := ledger.ledger.latest(asset, sku, fp)) is None
               or attempt.status != Status.STORED
               for asset, fp in product.input_fingerprints.items())


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


catalog_job = dg.define_asset_job("catalog_job", selection=["product_catalog"])

review_job = dg.define_asset_job(
    "review_job", selection=["generation_costs", "review_gallery", "media_handoff"],
    description="After a batch: the cost rollup, the review gallery and the hand-off export.")
