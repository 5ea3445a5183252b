"""Recipes and recipe assets that several tests share (not a test module)."""

import dagster as dg

from wan_dagster import DEFAULT_RECIPE, Recipe, RecipeOutput, When, build_recipe_assets


def recipe_asset(node: str, recipe: Recipe = DEFAULT_RECIPE) -> dg.AssetsDefinition:
    """The asset (or multi-asset) whose op is ``node``, e.g. ``generate_media``."""
    (found,) = [a for a in build_recipe_assets(recipe) if a.node_def.name == node]
    return found


#: The free-trial-only model shots, opted into: they read the model photo, mask, face prompt
#: and shoe template, cells no purchasable default reads.
TRIAL_SHOTS = Recipe(outputs=[
    RecipeOutput(name="virtual_shot", kind="model_shot", model="virtualmodel-v2",
                 allow_trial_models=True, prompt="{model_prompt}",
                 params={"short_side_size": "1024"},
                 source={"image": "model_image", "mask": "model_mask"},
                 when=When(categories=["apparel"])),
    RecipeOutput(name="shoe_shot", kind="model_shot", model="shoemodel-v1",
                 allow_trial_models=True, source={"image": "cutout_image",
                                                  "template": "shoe_template"},
                 when=When(categories=["shoes"])),
])
#: The fixed plan before recipes (background; virtual or shoe model shot; the video from the
#: shot where there is one), for the bad-input corpus whose rows break every one of its cells.
WITH_TRIAL_SHOTS = Recipe(outputs=[
    DEFAULT_RECIPE.output("background_image"), *TRIAL_SHOTS.outputs,
    RecipeOutput(name="product_video", kind="image_to_video",
                 source=["virtual_shot", "shoe_shot", "background_image"])])
