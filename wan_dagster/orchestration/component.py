"""The recipe as a YAML Dagster Component: a ``defs.yaml`` of ``type:
wan_dagster.WanRecipeComponent`` in a project's defs folder gets the whole pipeline for its
outputs, exactly as ``build_defs(recipe=...)`` builds it in Python."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from ..core.recipes import Recipe, RecipeOutput
from .defs import build_defs
from .resources import CatalogResource, MediaStoreResource


class WanRecipeComponent(dg.Component, dg.Model, dg.Resolvable):
    """Media for a product catalog, declared as a recipe (see README "Recipes").

    Relative paths are resolved against the folder of the ``defs.yaml``. Resources left out
    are the project's defaults (DashScope from ``DASHSCOPE_API_KEY``, else the emulator; the
    ledger from ``WAN_DAGSTER_LEDGER_URL``, else SQLite under DAGSTER_HOME)."""

    outputs: list[RecipeOutput] = Field(description="The recipe's outputs, one asset each.")
    catalog_path: str | None = Field(default=None, description="CSV or Parquet, local or s3://.")
    media_root: str | None = Field(default=None, description="Local folder media are stored "
                                   "in (S3: configure MediaStoreResource in Python).")

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        here = Path(context.path)
        catalog = CatalogResource(path=_resolved(here, self.catalog_path)) \
            if self.catalog_path else None
        store = MediaStoreResource(root=_resolved(here, self.media_root)) \
            if self.media_root else None
        return build_defs(recipe=Recipe(outputs=self.outputs), catalog=catalog,
                          media_store=store)


def _resolved(folder: Path, path: str) -> str:
    return path if "://" in path or Path(path).is_absolute() else str(folder / path)
