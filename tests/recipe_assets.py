"""One asset of a recipe's definitions, for tests that materialize it alone (not a test module)."""

import dagster as dg

from wan_dagster import DEFAULT_RECIPE, Recipe, build_recipe_assets


def recipe_asset(node: str, recipe: Recipe = DEFAULT_RECIPE) -> dg.AssetsDefinition:
    """The asset (or multi-asset) whose op is ``node``, e.g. ``generate_media``."""
    (found,) = [a for a in build_recipe_assets(recipe) if a.node_def.name == node]
    return found
