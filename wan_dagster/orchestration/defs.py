"""Builds the project's Definitions; ``definitions.py``, the main command and the tests all use
this one function, so they run exactly the same assets, jobs, sensor and schedule."""

import os

import dagster as dg

from ..core.recipes import DEFAULT_RECIPE, Recipe
from .assets import build_recipe_assets
from .jobs import build_jobs, collect_job
from .resources import (LEDGER_URL_ENV, CatalogResource, DashScopeResource, LedgerResource,
                        MediaStoreResource)
from .progress import progress_logger
from .sensors import build_catalog_sensor
from .task_sensor import build_task_sensor


def default_dashscope() -> DashScopeResource:
    """EnvVar keeps the key out of the UI and the event log; with no key the resource starts
    the embedded emulator instead of failing, so a fresh checkout runs without paying."""
    key = dg.EnvVar("DASHSCOPE_API_KEY") if os.environ.get("DASHSCOPE_API_KEY") else ""
    return DashScopeResource(api_key=key)


def default_ledger() -> LedgerResource:
    """EnvVar is read where the resource is used (the run worker, the sensor's code server), so
    runs and sensors take the URL from their own environment, and the UI shows only its name."""
    return LedgerResource(url=dg.EnvVar(LEDGER_URL_ENV)) if os.environ.get(LEDGER_URL_ENV) \
        else LedgerResource()


def build_defs(*, dashscope: DashScopeResource | None = None,
               catalog: CatalogResource | None = None, ledger: LedgerResource | None = None,
               media_store: MediaStoreResource | None = None,
               executor: dg.ExecutorDefinition | None = None,
               recipe: Recipe = DEFAULT_RECIPE) -> dg.Definitions:
    """Everything for ``recipe`` (one asset per output; validated here, so a bad recipe fails
    when definitions load). ``executor``: how runs execute their steps, e.g.
    ``dg.multiprocess_executor`` or ``dagster_celery.celery_executor`` (None: Dagster's
    default, multiprocess)."""
    jobs = build_jobs(recipe)
    return dg.Definitions(
        executor=executor,
        loggers={**dg.default_loggers(), "progress": progress_logger},
        assets=build_recipe_assets(recipe),
        jobs=jobs.all,
        schedules=[jobs.nightly_refresh],
        sensors=[build_catalog_sensor(jobs.media_job), build_task_sensor(collect_job)],
        resources={
            "dashscope": dashscope or default_dashscope(),
            "catalog": with_recipe(catalog or CatalogResource(), recipe),
            "ledger": ledger or default_ledger(),
            "media_store": media_store or MediaStoreResource(),
        },
    )


def with_recipe(catalog: CatalogResource, recipe: Recipe) -> CatalogResource:
    """``catalog`` checking and fingerprinting rows for ``recipe``, so the catalog sensor, the
    catalog asset and the review assets see the rows the media assets make."""
    # A new resource, not ``model_copy``: Dagster rebuilds a resource from the configuration
    # it was constructed with, so a copied-in field would be lost when the resource is used.
    return type(catalog)(**{**catalog._get_non_default_public_field_values(),
                            "recipe_json": recipe.model_dump_json()})
