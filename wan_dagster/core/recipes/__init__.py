"""Recipes: what media a catalog gets, as data (no Dagster imports).

A ``Recipe`` is a list of ``RecipeOutput``s; each becomes one asset. ``check_recipe`` validates
one against the registry when definitions load; ``DEFAULT_RECIPE`` is what the sample gets.
"""

from .defaults import DEFAULT_RECIPE
from .model import KINDS, Recipe, RecipeOutput, When
from .validate import RecipeError, check_recipe

__all__ = ["DEFAULT_RECIPE", "KINDS", "Recipe", "RecipeError", "RecipeOutput", "When",
           "check_recipe"]
