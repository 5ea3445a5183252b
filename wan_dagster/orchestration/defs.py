"""Builds the project's Definitions; ``definitions.py``, the main command and the tests all use
this one function, so they run exactly the same assets, jobs, sensor and schedule."""

import os

import dagster as dg

from .assets import (generate_media, generation_costs, media_handoff, product_catalog,
                     review_gallery)
from .jobs import (catalog_job, collect_job, media_check_job, media_job, nightly_refresh,
                   nightly_refresh_job, review_job, sku_list_job)
from .resources import CatalogResource, DashScopeResource, LedgerResource, MediaStoreResource
from .sensors import build_catalog_sensor
from .task_sensor import build_task_sensor


def default_dashscope() -> DashScopeResource:
    """EnvVar keeps the key out of the UI and the event log; with no key the resource starts
    the embedded emulator instead of failing, so a fresh checkout runs without paying."""
    key = dg.EnvVar("DASHSCOPE_API_KEY") if os.environ.get("DASHSCOPE_API_KEY") else ""
    return DashScopeResource(api_key=key)


def build_defs(*, dashscope: DashScopeResource | None = None,
               catalog: CatalogResource | None = None, ledger: LedgerResource | None = None,
               media_store: MediaStoreResource | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=[product_catalog, generate_media, generation_costs, review_gallery, media_handoff],
        jobs=[media_job, sku_list_job, nightly_refresh_job, catalog_job, media_check_job,
              collect_job, review_job],
        schedules=[nightly_refresh],
        sensors=[build_catalog_sensor(media_job), build_task_sensor(collect_job)],
        resources={
            "dashscope": dashscope or default_dashscope(),
            "catalog": catalog or CatalogResource(),
            "ledger": ledger or LedgerResource(),
            "media_store": media_store or MediaStoreResource(),
        },
    )
