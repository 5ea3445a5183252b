"""wan_dagster: product media from a catalog through Alibaba DashScope Wan models, as Dagster
assets.

Declare what each row gets as a ``Recipe`` of ``RecipeOutput``s, then either call
``build_defs(recipe=...)`` in a ``definitions.py`` or put a ``WanRecipeComponent`` in a
``defs.yaml`` (README "Recipes"). Everything not listed here is private to the package.

The names are imported on first use, so that ``wan_dagster.dashscope`` (the client) and the
emulator stay free of Dagster when used on their own.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    # recipes (core: no Dagster)
    "Recipe": "core.recipes", "RecipeOutput": "core.recipes", "When": "core.recipes",
    "RecipeError": "core.recipes", "check_recipe": "core.recipes",
    "DEFAULT_RECIPE": "core.recipes",
    # Dagster: the definitions, the asset factory, the YAML component, resources and config
    "build_defs": "orchestration.defs", "build_recipe_assets": "orchestration.assets",
    "WanRecipeComponent": "orchestration.component",
    "GenerationConfig": "orchestration.generation",
    "CatalogResource": "orchestration.resources", "DashScopeResource": "orchestration.resources",
    "LedgerResource": "orchestration.resources", "MediaStoreResource": "orchestration.resources",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from .core.recipes import (DEFAULT_RECIPE, Recipe, RecipeError, RecipeOutput, When,
                               check_recipe)
    from .orchestration.assets import build_recipe_assets
    from .orchestration.component import WanRecipeComponent
    from .orchestration.defs import build_defs
    from .orchestration.generation import GenerationConfig
    from .orchestration.resources import (CatalogResource, DashScopeResource, LedgerResource,
                                          MediaStoreResource)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'wan_dagster' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)


def __dir__() -> list[str]:
    return __all__
